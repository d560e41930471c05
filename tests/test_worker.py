"""``run`` on two cores: the worker processes write the same files as a run in one process, and a failure in
a worker reaches the user as the same clear message (no traceback) as one in the main process."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline import gc_pause, tasks, worker
from pipeline.config import ConfigError, load_config
from pipeline.generate import generate

ROOT = Path(__file__).resolve().parents[1]


@gc_pause.after_answer
def _collector_on() -> bool:
    return gc.isenabled()


def test_a_report_task_leaves_its_collecting_until_after_its_answer():
    """The page learns that a set is ready before its garbage is collected: marked tasks run with the
    collector paused, and the worker turns it on again (and collects) once the answer went back."""
    assert tasks.report_set.gc_after_answer
    mine, theirs = multiprocessing.Pipe()
    loop = threading.Thread(target=worker._run_tasks, args=(theirs,), daemon=True)
    loop.start()
    try:
        mine.send((__name__, "_collector_on", (), {}))
        assert mine.recv() == ("ok", False)
        mine.send(("gc", "isenabled", (), {}))  # the next, unmarked task: on again
        assert mine.recv() == ("ok", True)
    finally:
        mine.send(None)
        loop.join(5)
    assert gc.isenabled()


def test_workers_return_values_and_raise_the_tasks_exception():
    workers = worker.start(2, preload=("pipeline.runs",))
    try:
        for w in workers:
            w.submit("os", "getpid")
        pids = [w.result() for w in workers]
        assert len(set(pids)) == 2 and os.getpid() not in pids  # the second one is a fork of the first
        for w in workers:
            w.submit("pipeline.runs", "parse_date", "31.12.2025")
        assert [str(w.result()) for w in workers] == ["2025-12-31"] * 2
        workers[1].submit("pipeline.runs", "parse_date", "kein Datum")
        with pytest.raises(ConfigError, match="kein Datum"):
            workers[1].result()
        workers[1].submit("pipeline.runs", "parse_date", None)  # still serving after a failed task
        assert workers[1].result() is None
    finally:
        worker.close_all(workers)
    assert workers[0]._proc.poll() is not None


@pytest.mark.parametrize("which", [0, 1])
def test_worker_that_dies_is_reported(which):
    workers = worker.start(2, preload=())
    try:
        workers[which].submit("os", "_exit", 3)
        with pytest.raises(worker.WorkerDied, match="unerwartet beendet"):
            workers[which].result()
    finally:
        worker.close_all(workers)


def test_busy_workers_are_stopped_on_close():
    workers = worker.start(2, preload=())
    for w in workers:
        w.submit("time", "sleep", 60)
    t = time.perf_counter()
    worker.close_all(workers)
    assert time.perf_counter() - t < 10
    assert workers[0]._proc.poll() is not None


def _run(base: Path, **env) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pipeline", "run", "--period", "2025", "--quiet"]
    cmd += ["--config", str(base / "config.toml")]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200", **env})


def _project(base: Path) -> Path:
    base.mkdir()
    (base / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(base / "config.toml")
    generate(cfg.inbox, households=12, seed=5, cycles=["2025"], defects=0.05, config=cfg, snapshots=1)
    return cfg.outputs / "2025"


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout


@pytest.mark.slow
def test_run_with_workers_writes_the_same_files_as_one_process(tmp_path):
    outs = {}
    for mode in ("0", "1"):
        out = _project(tmp_path / f"parallel{mode}")
        proc = _run(out.parents[1], ESF_PIPELINE_PARALLEL=mode)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        outs[mode] = out
    manifests = {m: json.loads((o / "run_manifest.json").read_text(encoding="utf-8")) for m, o in outs.items()}
    listed = {m: [o["path"] for o in man["outputs"]] for m, man in manifests.items()}
    assert listed["1"] == listed["0"]
    assert {"indicators.csv", "intern/indicators.csv", "intern/project_report.pdf", "data_docs/index.html"} <= set(
        listed["1"]
    )
    for rel in listed["1"]:
        assert (outs["1"] / rel).is_file(), rel
    # every output is listed with the hash of the file on disk
    from pipeline.inbox import file_sha256

    for o in manifests["1"]["outputs"]:
        assert o["sha256"] == file_sha256(outs["1"] / o["path"])
    for rel in ("indicators.csv", "intern/indicators.csv"):
        assert (outs["1"] / rel).read_bytes() == (outs["0"] / rel).read_bytes(), rel
    for rel in ("project_report.pdf", "intern/project_report.pdf"):
        assert _pdf_text(outs["1"] / rel) == _pdf_text(outs["0"] / rel), rel
    timings = manifests["1"]["timings"]
    for step in ("ingest", "validation_outputs", "reports_foerdergeber", "reports_intern", "indicators_intern"):
        assert step in timings, step


@pytest.mark.slow
def test_failure_in_a_worker_is_one_clear_message(tmp_path):
    out = _project(tmp_path / "p")
    out.mkdir(parents=True)
    (out / "intern").write_text("kein Ordner", encoding="utf-8")  # the intern worker cannot create its folder
    proc = _run(out.parents[1])
    assert proc.returncode == 1
    assert "Interner Fehler (FileExistsError)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "run_manifest.json").exists()
    # with ESF_PIPELINE_DEBUG=1 the traceback from inside the worker is shown
    proc = _run(out.parents[1], ESF_PIPELINE_DEBUG="1")
    assert proc.returncode != 0 and "Im Berichtsprozess" in proc.stderr


def test_worker_does_not_run_the_callers_script_again(tmp_path):
    """A script without a ``__main__`` guard (an analyst's) must not be executed a second time by the worker."""
    script = tmp_path / "script.py"
    script.write_text(
        "from pipeline import worker\n"
        "print('script ran', flush=True)\n"
        "ws = worker.start(2, preload=())\n"
        "for w in ws:\n"
        "    w.submit('os', 'getpid')\n"
        "print(len({w.result() for w in ws}), 'workers', flush=True)\n"
        "worker.close_all(ws)\n",
        encoding="utf-8",
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["script ran", "2 workers"]
