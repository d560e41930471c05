"""Set-up shared by the tests: a project folder with the repository's config.toml, and a read-only query."""

from __future__ import annotations

from pathlib import Path

from pipeline import db
from pipeline.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]


def project_config(base: Path, extra: str = "") -> Config:
    """``base/config.toml`` = the repository's config.toml + ``extra`` (TOML appended), with an empty inbox."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8") + extra, encoding="utf-8")
    (base / "inbox").mkdir(exist_ok=True)
    return load_config(base / "config.toml")


def query(cfg: Config, sql: str, params=None) -> list[tuple]:
    """All rows of ``sql`` on the project's database, opened read-only."""
    con = db.connect(cfg.database, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
