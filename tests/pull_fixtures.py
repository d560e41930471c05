"""Real folders for the pull tests: a project folder with config.toml, a source folder, small exports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from export_files import headers, household, person, rows_of, write_csv

from pipeline import db
from pipeline.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "COLUMNS": "200", "ESF_PIPELINE_PARALLEL": "0"}


def toml_value(v) -> str:
    return json.dumps([str(x) for x in v]) if isinstance(v, list) else json.dumps(v)


def project(base: Path, **ingest) -> Config:
    """``base``/config.toml = the shipped config with an [ingest] block; sources default to ``export``."""
    base.mkdir(parents=True, exist_ok=True)
    ingest.setdefault("sources", ["export"])
    ingest.setdefault("settle_seconds", 0.3)
    block = "\n[ingest]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in ingest.items())
    text = (ROOT / "config.toml").read_text(encoding="utf-8") + block
    (base / "config.toml").write_text(text, encoding="utf-8")
    for s in ingest["sources"]:
        (base / s).mkdir(parents=True, exist_ok=True)
    return load_config(base / "config.toml")


def households_file(path: Path, *ids: str, bad: tuple[str, ...] = ()) -> Path:
    """A households export; ids in ``bad`` carry a status outside the label list (quarantined, rule R02)."""
    rows = [household(i) for i in ids] + [household(i, Status="unbekannt") for i in bad]
    return write_csv(path, headers("households"), rows_of("households", rows))


def persons_file(path: Path, *pairs: tuple[str, str]) -> Path:
    return write_csv(path, headers("persons"), rows_of("persons", [person(p, h) for p, h in pairs]))


def cli(cfg: Config | Path, *args: str, env: dict | None = None, cwd: Path | None = None):
    """``python -m pipeline ARGS --config`` (of a Config, or a config.toml path)."""
    config = cfg if isinstance(cfg, Path) else cfg.base_dir / "config.toml"
    cmd = [sys.executable, "-m", "pipeline", *args, "--config", str(config)]
    return subprocess.run(cmd, capture_output=True, text=True, env={**ENV, **(env or {})}, cwd=cwd, timeout=600)


def rows(cfg: Config, sql: str) -> list[tuple]:
    con = db.connect(cfg.database, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def ingested(cfg: Config) -> list[tuple]:
    """(file name, status) of every file the database recorded, by name."""
    if not cfg.database.exists():
        return []
    # a job aborted while it created the database leaves it without tables: nothing recorded
    if not rows(cfg, "SELECT 1 FROM information_schema.tables WHERE table_name = 'ingest_files'"):
        return []
    return rows(cfg, "SELECT file_name, status FROM ingest_files ORDER BY file_name")


def shared_dir() -> Path:
    """A folder another user can work in (the tests run as root; root reads files whatever their mode)."""
    d = Path(tempfile.mkdtemp(prefix="esf-pull-"))
    os.chmod(d, 0o777)
    return d


def as_nobody(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run as user nobody when we are root, so that file modes bind (else as ourselves)."""
    env = {**ENV, "HOME": str(cwd), "MPLCONFIGDIR": str(cwd / ".mpl")}
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def give_to_nobody(path: Path) -> None:
    if os.geteuid() != 0:
        return
    for p in [path, *path.rglob("*")]:
        os.chown(p, 65534, 65534, follow_symlinks=False)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
