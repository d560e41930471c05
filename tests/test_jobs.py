"""Jobs: the history of every job from any face, one at a time, a killed job shown as failed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from export_files import headers, household, rows_of, write_csv

from pipeline import jobs
from pipeline.config import load_config
from pipeline.lock import Busy

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "COLUMNS": "200"}


@pytest.fixture
def cfg(tmp_path):
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "inbox").mkdir()
    return load_config(tmp_path / "config.toml")


def _cli(cfg, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pipeline", *args, "--config", str(cfg.base_dir / "config.toml")]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV)


def test_cli_ingest_is_recorded_with_files_outcome_and_counts(cfg):
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", [household("B1")]))
    bad = household("B2", **{"Status": "unbekannt"})  # not in the label list: quarantined
    write_csv(
        cfg.inbox / "haushalte_20200229.csv", headers("households"), rows_of("households", [household("B1"), bad])
    )
    assert _cli(cfg, "ingest", "--quiet").returncode == 0
    [job] = jobs.history(cfg)
    assert (job.kind, job.face, job.outcome) == ("ingest", "cli", "warning")
    assert job.started <= job.ended
    assert job.files == ["haushalte_20200131.csv", "haushalte_20200229.csv"]
    assert job.summary["rows_quarantined"] == 1 and job.summary["files_loaded"] == 2
    assert set(job.summary["problems_by_rule"]) and "Quarantäne" in job.message
    # nothing new: a second job, ok
    assert _cli(cfg, "ingest", "--quiet").returncode == 0
    newest = jobs.history(cfg)[0]
    assert newest.outcome == "ok" and newest.message == "Keine neuen Dateien."
    listing = _cli(cfg, "jobs")
    assert listing.returncode == 0 and "Einlesen" in listing.stdout and "mit Hinweisen" in listing.stdout


def test_the_history_holds_no_personal_data(cfg):
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", [household("B1")]))
    assert _cli(cfg, "ingest", "--quiet").returncode == 0
    raw = jobs.store_path(cfg).read_bytes()
    # the fixture's BG number and the household id never reach the history (file names and counts only)
    assert b"07132BG0001234" not in raw and b"B1" not in raw


def test_a_second_job_is_refused_naming_the_running_one(cfg):
    with jobs.job(cfg, "report", "web") as handle:
        handle.progress("reports", "Berichte werden geschrieben")
        with pytest.raises(Busy, match="Berichte, gestartet .* über die Webseite"):
            with jobs.job(cfg, "ingest", "cli"):
                pass
        assert jobs.running(cfg).kind == "report"
        handle.finish("ok", "fertig")
    outcomes = {j.kind: j.outcome for j in jobs.history(cfg)}
    assert outcomes == {"report": "ok", "ingest": "failed"}
    assert "Nicht gestartet" in jobs.history(cfg, kind="ingest")[0].message
    assert jobs.running(cfg) is None


def test_a_failing_job_is_failed_with_its_message_and_the_lock_is_free(cfg):
    from pipeline.runs import UserError

    with pytest.raises(UserError):
        with jobs.job(cfg, "report", "cli"):
            raise UserError("Zeitraum ohne Daten.")
    [job] = jobs.history(cfg)
    assert job.outcome == "failed" and job.message == "Zeitraum ohne Daten."
    assert jobs.lock_is_free(cfg)
    with pytest.raises(RuntimeError):
        with jobs.job(cfg, "report", "cli"):
            raise RuntimeError("/home/someone/secret path")
    assert jobs.history(cfg)[0].message.startswith("Interner Fehler (RuntimeError)")  # no internals shown


def test_a_killed_job_shows_as_failed_after_a_restart(cfg):
    code = (
        "import sys, time; from pipeline import jobs; from pipeline.config import load_config\n"
        f"cfg = load_config({str(cfg.base_dir / 'config.toml')!r})\n"
        "with jobs.job(cfg, 'ingest', 'cli') as h:\n"
        "    h.progress('file', 'haushalte_20200131.csv'); print('started', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    assert jobs.history(cfg)[0].outcome == "running"
    assert not jobs.lock_is_free(cfg)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.1)
    [job] = jobs.history(cfg)
    assert job.outcome == "failed" and "Abgebrochen" in job.message
    assert job.files == ["haushalte_20200131.csv"]
    assert jobs.get(cfg, job.id).outcome == "failed"


def test_cli_jobs_and_erasure_requests_reach_the_shared_audit_log(cfg):
    from pipeline import audit

    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", [household("B1")]))
    assert _cli(cfg, "ingest", "--quiet").returncode == 0
    assert _cli(cfg, "erase", "--person-id", "P-UNKNOWN").returncode == 1
    entries = audit.entries(cfg)
    assert [e.action for e in entries] == ["erasure_refused", "job"]
    assert entries[1].who.startswith("cli/") and entries[1].what.startswith("Einlesen ")
    assert all("P-UNKNOWN" not in e.what for e in entries)
