"""The scheduler: pulls at start, on the ``[ingest]`` schedule and when a source folder changes.

``esf-pipeline watch`` runs it in the foreground (:meth:`Scheduler.run`, each pull in the same process);
``esf-pipeline serve`` in a thread (:meth:`Scheduler.start` / :meth:`Scheduler.stop` with ``config_path``: each
pull then runs as ``esf-pipeline pull`` in a process of its own, because DuckDB refuses a second connection to
the same file with another mode inside one process, and the page reads while a pull writes).

Changes are seen with watchdog (inotify on Linux); ``poll=True`` uses its PollingObserver instead, for network
drives, where change notifications from other machines do not arrive. A source that is missing is looked for
again every tick; when it comes back, a pull follows.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import jobs
from pipeline.config import Config
from pipeline.lock import Busy
from pipeline.schedule import last_pull, next_pull, pull_job

log = logging.getLogger("esf_pipeline.watch")


def configured(cfg: Config) -> bool:
    """Whether there is anything to schedule: source folders or an ``every``/``at`` schedule in ``[ingest]``."""
    return bool(cfg.sources) or next_pull(cfg, dt.datetime.now()) is not None


class Scheduler:
    """Pulls at start, on the schedule and on changes in the sources, one at a time.

    ``on_result(job)`` gets each recorded pull job (:class:`pipeline.jobs.Job`); ``on_error(text)`` a German
    text when a pull could not run. ``request_stop()`` may be called from a signal handler: a running job
    finishes, then ``run()`` returns."""

    TICK = 1.0  # seconds between looks at the clock and at the watched folders
    DEBOUNCE = 1.0  # quiet seconds after a change before a pull (the pull itself waits for files to settle)
    RETRY = 30.0  # seconds until another try when the database was busy
    POLL_SECONDS = 2.0

    def __init__(
        self,
        cfg: Config,
        face: str = "watch",
        poll: bool = False,
        on_result: Callable[[jobs.Job], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        config_path: Path | None = None,
        pull_at_start: bool = True,
    ):
        self.cfg = cfg
        self.face = face
        self.poll = poll
        self.on_result = on_result
        self.on_error = on_error
        self.config_path = config_path
        self.pull_at_start = pull_at_start
        self.stopping = threading.Event()
        self.aborted = False  # a second signal: the running job was aborted (it rolls back)
        self.busy = threading.Event()  # a pull is under way
        self.next_due: dt.datetime | None = next_pull(cfg, dt.datetime.now())
        self._changed: float | None = None
        self._retry_at: float | None = None
        self._observers: dict[Path, object] = {}
        self._missing: set[Path] = set()
        self._thread: threading.Thread | None = None

    # -- in a thread ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="esf-pull-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the running pull (if any) has finished; wait up to ``timeout`` seconds."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def request_stop(self) -> None:
        self.stopping.set()

    def abort(self) -> None:
        """From a signal handler in the main thread (``watch``): abort the running job now."""
        self.aborted = True
        self.stopping.set()
        jobs.ABORT_REQUESTED.set()
        raise KeyboardInterrupt

    def last_pull(self) -> jobs.Job | None:
        return last_pull(self.cfg)

    # -- the loop -------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._watch_sources(initial=True)
            if self.pull_at_start:
                self._pull(record_empty=True)
            while not self.stopping.wait(self.TICK):
                self._watch_sources()
                now = time.monotonic()
                if self._retry_at is not None and now < self._retry_at:
                    continue
                if self.next_due is not None and dt.datetime.now() >= self.next_due:
                    self._pull(record_empty=True)
                    self.next_due = next_pull(self.cfg, max(dt.datetime.now(), self.next_due))
                elif self._retry_at is not None or (self._changed and now - self._changed >= self.DEBOUNCE):
                    self._pull(record_empty=self._retry_at is not None)
        finally:
            for obs in self._observers.values():
                _stop_observer(obs)
            self._observers.clear()

    def _pull(self, record_empty: bool) -> None:
        self._changed = self._retry_at = None
        if not jobs.lock_is_free(self.cfg):
            self._busy()
            return
        self.busy.set()
        try:
            before = last_pull(self.cfg)
            if self.config_path is not None:
                self._pull_in_child(record_empty)
            else:
                pull_job(self.cfg, self.face, stop=self.stopping, record_empty=record_empty)
        except Busy:
            self._busy()
            return
        except Exception as exc:  # recorded as failed in the history; the scheduler goes on
            if self.aborted:  # DuckDB turned the abort into its own error: still an abort
                raise KeyboardInterrupt from None
            if os.environ.get("ESF_PIPELINE_DEBUG"):
                log.exception("pull")
            self._error(_error_text(exc))
        finally:
            self.busy.clear()
        job = last_pull(self.cfg)
        if job is not None and (before is None or job.id != before.id) and self.on_result is not None:
            self.on_result(job)

    def _pull_in_child(self, record_empty: bool) -> None:
        cmd = [
            sys.executable, "-m", "pipeline", "pull", "--quiet", "--face", self.face,
            "--config", str(self.config_path), "--db", str(self.cfg.database), "--inbox", str(self.cfg.inbox),
        ]  # fmt: skip
        if not record_empty:
            cmd.append("--if-new")
        with tempfile.TemporaryFile() as err:
            # its own session: a Ctrl-C meant for the server does not abort the pull half-way
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)  # fmt: skip
            code = proc.wait()
            if code not in (0, 1):  # 1: the job's outcome (in the history) says why
                err.seek(0)
                self._error(err.read()[-500:].decode("utf-8", "replace").strip() or f"Status {code}")

    def _busy(self) -> None:
        self._retry_at = time.monotonic() + self.RETRY
        log.info("Datenbank belegt; neuer Versuch in %g s", self.RETRY)

    def _error(self, text: str) -> None:
        if self.on_error is not None:
            self.on_error(text)
        else:
            log.warning("Abholen fehlgeschlagen: %s", text)

    # -- watching the sources -------------------------------------------------------------------------

    def _event(self, event) -> None:
        self._changed = time.monotonic()

    def _watch_sources(self, initial: bool = False) -> None:
        """Attach an observer to every reachable source; drop dead ones; a source that comes back triggers
        a pull (files may have arrived while it was away)."""
        for source in self.cfg.sources:
            obs = self._observers.get(source)
            if obs is not None and _alive(obs) and source.is_dir():
                continue
            if obs is not None:
                _stop_observer(obs)
                del self._observers[source]
                self._missing.add(source)
            obs = self._observe(source)
            if obs is None:
                self._missing.add(source)
                continue
            self._observers[source] = obs
            if source in self._missing and not initial:
                self._changed = time.monotonic()
            self._missing.discard(source)

    def _observe(self, source: Path):
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        if not source.is_dir():
            return None
        handler = FileSystemEventHandler()
        handler.on_any_event = self._event
        obs = PollingObserver(timeout=self.POLL_SECONDS) if self.poll else Observer()
        try:
            obs.schedule(handler, str(source), recursive=False)
            obs.start()
        except OSError:
            _stop_observer(obs)
            return None
        return obs


def _error_text(exc: BaseException) -> str:
    known = ("UserError", "IngestAborted", "ConfigError", "PeriodError")
    return str(exc) if type(exc).__name__ in known else f"Interner Fehler ({type(exc).__name__})"


def _alive(obs) -> bool:
    return obs.is_alive() and all(e.is_alive() for e in obs.emitters)


def _stop_observer(obs) -> None:
    try:
        obs.stop()
        if obs.is_alive():
            obs.join(timeout=2)
    except (OSError, RuntimeError):
        pass
