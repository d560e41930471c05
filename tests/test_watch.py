"""Watch and schedule (issue 13): the schedule's arithmetic, the scheduler a web page runs in a thread, and
``esf-pipeline watch`` stopped with SIGTERM in the middle of a job."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb
from pull_fixtures import ENV, cli, households_file, ingested, project, rows

from pipeline import db, jobs, schedule, watch


def test_next_pull_every_counts_from_midnight_and_at_is_a_time_of_day(tmp_path):
    cfg = project(tmp_path, every="15m")
    now = dt.datetime(2026, 12, 2, 10, 7, 30)
    assert schedule.next_pull(cfg, now) == dt.datetime(2026, 12, 2, 10, 15)  # 10:00 + 15 min
    assert schedule.next_pull(cfg, dt.datetime(2026, 12, 2, 10, 15)) == dt.datetime(2026, 12, 2, 10, 30)  # after
    cfg = project(tmp_path, every="7h")  # 00:00, 07:00, 14:00, 21:00, then midnight again
    assert schedule.next_pull(cfg, dt.datetime(2026, 12, 2, 21, 30)) == dt.datetime(2026, 12, 3, 0, 0)
    assert schedule.next_pull(cfg, dt.datetime(2026, 12, 2, 8, 0)) == dt.datetime(2026, 12, 2, 14, 0)
    cfg = project(tmp_path, at=["13:00", "06:00"])
    assert schedule.next_pull(cfg, now) == dt.datetime(2026, 12, 2, 13, 0)
    assert schedule.next_pull(cfg, dt.datetime(2026, 12, 2, 13, 0)) == dt.datetime(2026, 12, 3, 6, 0)
    cfg = project(tmp_path, every="1h", at=["06:20"])  # both: whichever comes first
    assert schedule.next_pull(cfg, dt.datetime(2026, 12, 2, 6, 5)) == dt.datetime(2026, 12, 2, 6, 20)
    assert schedule.next_pull(cfg, dt.datetime(2026, 12, 2, 6, 25)) == dt.datetime(2026, 12, 2, 7, 0)
    assert schedule.next_pull(project(tmp_path), now) is None  # no schedule
    assert watch.configured(project(tmp_path)) and not watch.configured(project(tmp_path, sources=[]))
    assert watch.configured(project(tmp_path, sources=[], at=["06:00"]))


def _finished(job):
    return job if job is not None and job.outcome not in ("queued", "running") else None


def _finished_with(cfg, name: str):
    """The newest finished pull job, when it took ``name`` (read from the history: the database stays free)."""
    job = _finished(schedule.last_pull(cfg))
    return job if job is not None and name in job.files else None


def _wait(predicate, seconds: float = 240, what: str = ""):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_scheduler_of_the_web_page_pulls_new_files_on_the_schedule_and_when_a_source_comes_back(tmp_path):
    cfg = project(tmp_path, settle_seconds=0.5)
    src = cfg.sources[0]
    results = []
    # as the web page runs it: in a thread, each pull in a process of its own
    sched = watch.Scheduler(cfg, face="web", on_result=results.append, config_path=cfg.base_dir / "config.toml")
    sched.TICK = 0.2
    assert sched.next_due is None and sched.last_pull() is None
    sched.start()
    try:
        first = _wait(lambda: _finished(schedule.last_pull(cfg)), 60, "the pull at start")
        assert first.face == "web" and first.message == "Keine neuen Dateien."
        # a delivery arrives: pulled without anybody running a command (file event)
        households_file(src / "haushalte_20200131.csv", "B1")
        pulled = _wait(lambda: _finished_with(cfg, "haushalte_20200131.csv"), what="the delivery pulled")
        assert pulled.outcome == "ok" and "1 Datei abgeholt" in pulled.message
        assert pulled.face == "web" and pulled.summary["files_loaded"] == 1
        _wait(lambda: not sched.busy.is_set(), 60, "idle")
        assert results[-1].id == pulled.id
        assert ingested(cfg) == [("haushalte_20200131.csv", "loaded")]
        # the drive goes away and comes back with a new file
        shutil.move(src, tmp_path / "unmounted")
        time.sleep(1.0)
        (tmp_path / "unmounted").rename(src)
        households_file(src / "haushalte_20200229.csv", "B1", "B2")
        _wait(lambda: _finished_with(cfg, "haushalte_20200229.csv"), what="the file after the return")
        # the schedule: a due time in the past is pulled at once, then the next one is computed
        _wait(lambda: not sched.busy.is_set(), 60, "idle")
        n = len(jobs.history(cfg, kind="pull"))
        sched.next_due = dt.datetime.now() - dt.timedelta(seconds=1)
        _wait(lambda: len(jobs.history(cfg, kind="pull")) > n, 60, "the scheduled pull")
        _wait(lambda: not sched.busy.is_set() and _finished(schedule.last_pull(cfg)), 120, "its end")
        assert sched.next_due is None  # no every/at: nothing further scheduled
    finally:
        sched.stop(timeout=120)
    assert not sched._thread.is_alive()
    assert rows(cfg, "SELECT count(*) FROM core_households WHERE snapshot_date = DATE '2020-02-29'") == [(2,)]


def _watch(cfg, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pipeline", "watch", *args, "--config", str(cfg.base_dir / "config.toml")]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def _running_pull(cfg):
    found = jobs.history(cfg, limit=1, kind="pull") if jobs.store_path(cfg).exists() else []
    job = found[0] if found else None
    return job if job and job.outcome == "running" and job.step in ("ingest", "file") else None


def test_watch_stopped_with_sigterm_in_the_middle_of_a_job_finishes_it_and_exits_0(tmp_path):
    cfg = project(tmp_path)
    households_file(cfg.sources[0] / "haushalte_20200131.csv", *[f"B{i}" for i in range(1, 31)])
    proc = _watch(cfg)  # the file is there already: the pull at start takes it
    try:
        job = _wait(lambda: _running_pull(cfg), what="a running ingest")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Meldungen" in out and "Überwachung beendet." in out
    assert "der laufende Auftrag wird noch abgeschlossen" in err and "Traceback" not in err
    done = jobs.get(cfg, job.id)
    assert done.outcome == "ok" and done.ended is not None
    assert ingested(cfg) == [("haushalte_20200131.csv", "loaded")]
    assert rows(cfg, "SELECT count(*) FROM core_households") == [(30,)]
    assert jobs.lock_is_free(cfg)


def test_watch_polling_takes_a_new_file_as_it_appears_and_a_second_sigterm_aborts_the_job_which_rolls_back(tmp_path):
    cfg = project(tmp_path)
    db.connect(cfg.database).close()
    # A reader (as a page copying the database) holds DuckDB's file lock: the job then waits for it (up to
    # 15 s) and is surely still running when the signals come, however fast the ingest is.
    reader = duckdb.connect(str(cfg.database), read_only=True)
    proc = _watch(cfg, "--poll")  # watchdog's PollingObserver, as for a network drive
    try:
        assert "Überwachung läuft (Abfrage)" in proc.stdout.readline()
        _wait(lambda: schedule.last_pull(cfg), 60, "the pull at start")
        households_file(cfg.sources[0] / "haushalte_20200131.csv", *[f"B{i}" for i in range(1, 31)])
        job = _wait(lambda: _running_pull(cfg), what="the pull of the new file")
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
        reader.close()
    assert proc.returncode == 1 and "Abgebrochen" in err and "Traceback" not in err, out + err
    aborted = jobs.get(cfg, job.id)
    assert aborted.outcome == "failed" and aborted.message == "Abgebrochen."
    assert ingested(cfg) == []  # rolled back
    assert jobs.lock_is_free(cfg)
    # nothing lost: the next pull loads it once
    again = cli(cfg, "pull", "--quiet", env={"ESF_PIPELINE_DEBUG": "1"})  # a failure shows its traceback
    assert again.returncode == 0, again.stderr
    assert ingested(cfg) == [("haushalte_20200131.csv", "loaded")]
    assert rows(cfg, "SELECT count(*) FROM core_households") == [(30,)]


def test_watch_without_sources_or_schedule_is_a_configuration_error(tmp_path):
    cfg = project(tmp_path, sources=[])
    proc = cli(cfg, "watch")
    assert proc.returncode == 2 and "ingest.sources" in proc.stderr and "Traceback" not in proc.stderr
    assert os.environ.get("ESF_PIPELINE_DEBUG") is None
