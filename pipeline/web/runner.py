"""Jobs started from the page: ingest and validation as child processes of the server, report builds in a
warm worker process (imports paid once, at server start). One job at a time: the database lock of
:mod:`pipeline.jobs` is shared with the CLI; a second request is told which job runs."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time

from pipeline import jobs
from pipeline.config import Config
from pipeline.lock import Busy

PRELOAD = ("pipeline.tasks",)  # added to pipeline.worker.PRELOAD
KEEP_ENDED = 200  # jobs whose end a status request can wait for


class Runner:
    def __init__(self, cfg: Config, warm: bool = False):
        self.cfg = cfg
        self.warm = warm
        self._lock = threading.Lock()
        self._busy = False
        self._worker = None
        self._worker_ready = threading.Event()  # set once the worker is warm (or failed to start)
        self._procs: list[subprocess.Popen] = []
        self._ended: dict[str, threading.Event] = {}  # per job started here: set once it has ended

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self.warm:
            threading.Thread(target=self._start_worker, name="esf-web-worker-start", daemon=True).start()
        else:
            self._worker_ready.set()

    def _start_worker(self) -> None:
        from pipeline import worker

        self._worker_ready.clear()
        try:
            self._worker = w = worker.start(1, preload=(*worker.PRELOAD, *PRELOAD))[0]
            try:  # its first build then costs what the later ones cost (pipeline.tasks.warm_up)
                w.submit("pipeline.tasks", "warm_up")
                w.result()
            except Exception:  # noqa: BLE001 - a cold worker still builds reports
                pass
        except OSError:
            self._worker = None  # reports then run in a thread of the server
        finally:
            self._worker_ready.set()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.close(timeout=5)
            self._worker = None
        for p in self._procs:
            if p.poll() is None:
                p.terminate()

    # --- starting jobs ------------------------------------------------------------------------------

    def _claim(self, wait: float = 5.0) -> None:
        """Reserve the single job slot; a job that is just finishing (its row done, its process ending) is
        waited for up to ``wait`` seconds; otherwise Busy names the running job."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if not self._busy and jobs.lock_is_free(self.cfg):
                    self._busy = True
                    return
            running = jobs.running(self.cfg)
            if (running is not None and running.outcome == "running") or time.monotonic() > deadline:
                raise Busy(jobs.busy_message(self.cfg))
            time.sleep(0.1)

    def _release(self) -> None:
        with self._lock:
            self._busy = False

    def busy(self) -> bool:
        return self._busy or not jobs.lock_is_free(self.cfg)

    def _create(self, kind: str) -> str:
        job_id = jobs.create(self.cfg, kind, "web")
        with self._lock:
            while len(self._ended) >= KEEP_ENDED:  # the oldest first (dicts keep insertion order)
                self._ended.pop(next(iter(self._ended)))
            self._ended[job_id] = threading.Event()
        return job_id

    def _ended_now(self, job_id: str) -> None:
        if (ev := self._ended.get(job_id)) is not None:
            ev.set()

    def wait_ended(self, job_id: str, timeout: float) -> bool | None:
        """Block until a job started here has ended (True) or ``timeout`` passed (False); None for a job this
        runner did not start (a CLI run, an earlier server): the caller then reads the job history."""
        ev = self._ended.get(job_id)
        return None if ev is None else ev.wait(timeout)

    def _child(self, kind: str, job_id: str) -> int:
        """Run ``python -m pipeline.tasks KIND`` for ``job_id`` and wait for it."""
        env = {**os.environ, jobs.JOB_ENV: job_id, "GX_ANALYTICS_ENABLED": "False"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.tasks", kind], stdin=subprocess.PIPE, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._procs.append(proc)
        proc.communicate(self.cfg.model_dump_json().encode("utf-8"))
        self._procs.remove(proc)
        if proc.returncode and (j := jobs.get(self.cfg, job_id)) is not None and j.outcome == "queued":
            jobs._finish_row(self.cfg, job_id, "failed", "Der Auftrag konnte nicht gestartet werden.")
        self._ended_now(job_id)
        return proc.returncode

    def ingest(self, then_validate: bool = False) -> str:
        """Start an ingest of the inbox (and, for re-validation, the validation outputs after it)."""
        self._claim()
        job_id = self._create("ingest")

        def work() -> None:
            try:
                if self._child("ingest", job_id) in (0, None) and then_validate:
                    self._child("validate", self._create("validate"))
            finally:
                self._release()

        threading.Thread(target=work, name=f"esf-web-job-{job_id}", daemon=True).start()
        return job_id

    def report(self, period: str, as_of: dt.date | None, audience: str) -> str:
        """Build one audience's report set in the warm worker (or a thread when there is none)."""
        self._claim()
        job_id = self._create("report")

        def work() -> None:
            from pipeline import tasks, worker

            try:
                self._worker_ready.wait(timeout=120)  # the worker is still warming up at server start
                if self._worker is not None:
                    try:
                        self._worker.submit("pipeline.tasks", "report_set", self.cfg, job_id, period, as_of, audience)
                        self._worker.result()
                    except worker.WorkerDied:
                        self._worker = None
                        self._worker_ready.clear()
                        threading.Thread(target=self._start_worker, daemon=True).start()
                else:
                    tasks.report_set(self.cfg, job_id, period, as_of, audience)
            except Exception:  # noqa: BLE001 - the job row holds the message
                pass
            finally:
                j = jobs.get(self.cfg, job_id)
                if j is not None and j.outcome == "queued":
                    jobs._finish_row(self.cfg, job_id, "failed", "Der Berichtsprozess wurde unerwartet beendet.")
                self._ended_now(job_id)
                self._release()

        threading.Thread(target=work, name=f"esf-web-job-{job_id}", daemon=True).start()
        return job_id
