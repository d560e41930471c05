"""``run_manifest.json``: what a run read, what it wrote, and how long each step took (audit trail)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import subprocess
from importlib import metadata
from pathlib import Path

from pipeline import db, deliveries, files
from pipeline.config import Config
from pipeline.inbox import file_sha256


@functools.cache
def code_version() -> str:
    """The package version and git revision of the code this process runs (read once: a warm worker keeps
    running the code it imported even after a new commit)."""
    try:
        version = metadata.version("esf-pipeline")
    except metadata.PackageNotFoundError:
        version = "unknown"
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{version}+{rev}" if rev else version


def _inputs(cfg: Config, as_of: dt.date | None) -> tuple[list[dict], dict]:
    con = db.connect(cfg.database, read_only=True)
    try:
        snaps = db.snapshots_in_force(con, as_of)
        states = deliveries.as_json(deliveries.table_states(con, as_of))
        rows = con.execute(
            """SELECT file_name, coalesce(content_sha256, file_sha256), table_name, snapshot_date, rows_read,
                      rows_loaded, rows_quarantined,
                      status, rule_id FROM ingest_files ORDER BY table_name, snapshot_date, file_name"""
        ).fetchall()
        summary = dict(con.execute("SELECT severity, count(*) FROM problems GROUP BY ALL").fetchall())
    finally:
        con.close()
    inputs = [
        {
            "path": r[0],
            "sha256": r[1],
            "table": r[2],
            "snapshot_date": r[3].isoformat() if r[3] else None,
            "rows_read": r[4],
            "rows_loaded": r[5],
            "rows_quarantined": r[6],
            "status": r[7],
            "in_force": snaps.get(r[2]) == r[3] and r[7] == "loaded",
            "rule_id": r[8],
        }
        for r in rows
    ]
    return inputs, {
        "problems_by_severity": summary,
        "snapshots_in_force": {k: v.isoformat() for k, v in snaps.items()},
        "in_force": states,  # per table: snapshot in force, file, newer refused deliveries and why
    }


def write(
    cfg: Config,
    out_dir: Path,
    run_id: str,
    ingest_result=None,
    indicator_result=None,
    outputs: list[Path] | None = None,
    timings: dict | None = None,
) -> Path:
    as_of = None
    inputs, validation = _inputs(cfg, as_of)
    doc = {
        "run_id": run_id,
        "time": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "code_version": code_version(),
        "config_sha256": cfg.sha256,
        "period": indicator_result.period.id if indicator_result else None,
        "data_state": indicator_result.data_state.isoformat()
        if indicator_result and indicator_result.data_state
        else None,
        "inputs": inputs,
        "this_run": [
            {"path": f.file_name, "status": f.status, "rule_id": f.rule_id, "message": f.message or None}
            for f in (ingest_result.files if ingest_result else [])
        ],
        "validation": validation,
        "outputs": [
            {"path": str(p.relative_to(out_dir)) if p.is_relative_to(out_dir) else str(p), "sha256": file_sha256(p)}
            for p in (outputs or [])
            if p.is_file()
        ],
        "timings": timings or {},
    }
    return files.write_text(out_dir / "run_manifest.json", json.dumps(doc, indent=2, ensure_ascii=False))
