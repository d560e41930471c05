"""``esf-pipeline serve`` pulls by itself (issue 13): a delivery dropped into the source folder is loaded while the
page runs, recorded as a job of the page; the page's status hook gives the next scheduled pull."""

from __future__ import annotations

import datetime as dt
import time

from pull_fixtures import households_file, ingested, project
from web_server import Server

from pipeline import jobs, pull, schedule


def test_pull_status_gives_the_next_scheduled_pull(tmp_path):
    cfg = project(tmp_path, at=["06:00"])
    nxt = pull.status(cfg)["next"]
    assert nxt.time() == dt.time(6, 0) and nxt > dt.datetime.now()
    assert pull.status(project(tmp_path / "b"))["next"] is None


def test_serve_pulls_a_delivery_dropped_into_the_source_folder(tmp_path):
    cfg = project(tmp_path)
    server = Server(cfg.base_dir / "config.toml", tmp_path / "serve.log")
    try:
        households_file(cfg.sources[0] / "haushalte_20200131.csv", "B1")
        end = time.monotonic() + 300
        job = None
        while time.monotonic() < end:
            job = schedule.last_pull(cfg) if jobs.store_path(cfg).exists() else None
            if job and job.outcome not in ("queued", "running") and "haushalte_20200131.csv" in job.files:
                break
            time.sleep(0.5)
        assert job is not None and job.face == "web" and job.outcome == "ok", server.log_text()
    finally:
        server.stop()
    assert ingested(cfg) == [("haushalte_20200131.csv", "loaded")]
