"""Crash safety and concurrent runs: a killed ingest leaves the database as before; a second run stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from export_files import headers, household, rows_of, write_csv

from pipeline import db
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cfg(tmp_path):
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "inbox").mkdir()
    return load_config(tmp_path / "config.toml")


def _big_contacts(path: Path, n: int) -> None:
    head = ";".join(headers("contacts"))
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(head + "\n")
        for i in range(n):
            fh.write(f"K{i};BG-2019-001;;15.0{1 + i % 9}.2019;45;Hausbesuch;ja;C01;Wohnen, Finanzen/Schulden\n")


def _ingest_cmd(cfg) -> list[str]:
    return [sys.executable, "-m", "pipeline", "ingest", "--quiet", "--config", str(cfg.base_dir / "config.toml")]


def _state(cfg) -> tuple:
    con = db.connect(cfg.database, read_only=True)
    try:
        return (
            con.execute("SELECT count(*) FROM ingest_files").fetchall()[0][0],
            con.execute("SELECT count(*) FROM raw_contacts").fetchall()[0][0],
            con.execute("SELECT count(*) FROM core_contacts").fetchall()[0][0],
            con.execute("SELECT count(*) FROM core_households").fetchall()[0][0],
        )
    finally:
        con.close()


@pytest.mark.parametrize("delay", [0.9, 2.2])
def test_killed_ingest_leaves_database_as_before_and_inbox_intact(cfg, delay):
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", [household("B1")]))
    subprocess.run(_ingest_cmd(cfg), check=True, capture_output=True)
    before = _state(cfg)
    assert before == (1, 0, 0, 1)
    _big_contacts(cfg.inbox / "kontakte_20200131.csv", 400_000)
    proc = subprocess.Popen(_ingest_cmd(cfg), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # whatever moment the kill hit, the database holds either nothing of the new file or all of it
    after = _state(cfg)
    assert after in (before, (2, 400_000, 400_000, 1))
    assert (cfg.inbox / "kontakte_20200131.csv").exists()
    # and a retry completes
    subprocess.run(_ingest_cmd(cfg), check=True, capture_output=True)
    assert _state(cfg) == (2, 400_000, 400_000, 1)


def test_second_run_at_the_same_time_stops_with_clear_message(cfg):
    _big_contacts(cfg.inbox / "kontakte_20200131.csv", 300_000)
    first = subprocess.Popen(_ingest_cmd(cfg), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = cfg.database.with_name(cfg.database.name + ".lock")
    for _ in range(100):  # wait until the first run holds the lock
        if lock.exists():
            break
        time.sleep(0.05)
    time.sleep(0.3)
    second = subprocess.run(_ingest_cmd(cfg), capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 1
    assert "anderen Lauf" in second.stderr and "Traceback" not in second.stderr
    assert _state(cfg)[1:3] == (300_000, 300_000)


def test_ingest_waits_for_a_reader_that_holds_the_file_for_a_moment(cfg):
    """A page or notebook copying the database (api.connect) holds DuckDB's read lock briefly: the writer waits."""
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", [household("B1")]))
    subprocess.run(_ingest_cmd(cfg), check=True, capture_output=True)
    write_csv(cfg.inbox / "haushalte_20200229.csv", headers("households"), rows_of("households", [household("B1")]))
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); "
        "time.sleep(1.5); con.close()"
    )
    reader = subprocess.Popen([sys.executable, "-c", code, str(cfg.database)], stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "open"
    proc = subprocess.run(_ingest_cmd(cfg), capture_output=True, text=True)
    reader.wait()
    assert proc.returncode == 0, proc.stderr
    assert _state(cfg)[0] == 2
