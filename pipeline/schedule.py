"""Pull jobs and when they run: once (``esf-pipeline pull``), on the ``[ingest]`` schedule and whenever a file
appears in a source (``esf-pipeline watch`` in the foreground, :class:`Scheduler` in a thread of the web page).

A pull job = :mod:`pipeline.pull` (sources → inbox) + ingest + the validation report, as one job of the history
(kind ``pull``). Its outcome is ``warning`` when a file failed, a source was unreachable or rows were
quarantined (the message counts them per rule), so that ``pull`` can exit 1 for cron and systemd.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline import jobs, pull, runs
from pipeline.config import Config
from pipeline.lock import Busy

log = logging.getLogger("esf_pipeline.schedule")


@dataclass
class PullResult:
    job_id: str
    outcome: str  # ok | warning
    message: str
    summary: dict
    report: pull.PullReport
    ingest: object | None  # IngestResult, when an ingest ran


def pull_job(
    cfg: Config,
    face: str,
    progress: runs.Progress | None = None,
    stop: threading.Event | None = None,
    record_empty: bool = True,
    max_wait: float | None = None,
) -> PullResult | None:
    """Take what is complete from the sources, then ingest; one job of the history.

    The settle wait happens before the job takes the database lock. With ``record_empty=False`` (a pull
    triggered by a file event) nothing is recorded when there is nothing to take and nothing to ingest."""
    state = pull.State.load(cfg)
    report = pull.PullReport()
    found = pull.scan(cfg, report, state)
    complete, changing = pull.settle(found, cfg.ingest.settle_seconds, max_wait, stop)
    for f in changing:
        report.waiting.append(pull._waiting(f, "wird noch geschrieben"))
    if stop is not None and stop.is_set():
        return None
    if not record_empty and not complete and not report.problems:
        with _quiet_lock(cfg) as free:
            if free and not pull.inbox_pending(cfg, state):
                return None
    with jobs.job(cfg, "pull", face) as handle:

        def say(step: str, detail: str = "") -> None:
            handle.progress(step, detail)
            if progress is not None:
                progress(step, detail)

        say("pull", "Quellordner werden gelesen")
        pull.take(cfg, complete, report, state, say)
        ing, timings = None, {}
        if pull.inbox_pending(cfg, state):
            ing = runs.ingest(cfg, say, timings, locked=True)
            outcome, message, summary = runs.ingest_summary(cfg, ing)
            _write_outputs(cfg, ing, timings, say)
            state.save()
        else:
            outcome, message, summary = "ok", "Keine neuen Dateien.", {"files": [], "problems_by_rule": {}}
        if report.problems:
            outcome = "warning"
        message = " ".join(m for m in (report.message(), message) if m)
        summary["pull"] = report.as_dict()
        handle.finish(outcome, message, summary)
    recorded = jobs.get(cfg, handle.id)  # the after_job hook may have added a note
    return PullResult(handle.id, outcome, recorded.message if recorded else message, summary, report, ing)


class _quiet_lock:
    """Hold the database lock briefly without a job row (to look at the inbox); yields False when busy."""

    def __init__(self, cfg: Config):
        from pipeline.lock import exclusive

        self._cm = exclusive(cfg.database)

    def __enter__(self) -> bool:
        try:
            self._cm.__enter__()
        except Busy:
            self._cm = None
            return False
        return True

    def __exit__(self, *exc) -> None:
        if self._cm is not None:
            self._cm.__exit__(*exc)


def _write_outputs(cfg: Config, ing, timings: dict, say) -> None:
    """The ingest manifest (as ``esf-pipeline ingest`` writes it) and, when files were loaded, the validation
    report (where ``esf-pipeline validate`` writes it): a delivery shows there without anyone running a command."""
    from pipeline import manifest

    if ing.loaded:
        say("validation", "Prüfbericht wird geschrieben")
        runs.validation_outputs(cfg, cfg.outputs / "validation", timings)
    manifest.write(cfg, cfg.outputs / "ingest", ing.run_id, ingest_result=ing, timings=timings)


# --- the schedule --------------------------------------------------------------------------------------


def next_pull(cfg: Config, now: dt.datetime) -> dt.datetime | None:
    """The next scheduled pull after ``now`` (local time): ``every`` counted from midnight, and each ``at``
    time of day; None without a schedule."""
    ing = cfg.ingest
    due: list[dt.datetime] = []
    now = now.replace(tzinfo=None)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if ing.every:
        steps = (now - midnight) // ing.every + 1
        due.append(min(midnight + steps * ing.every, midnight + dt.timedelta(days=1)))
    for t in ing.at:
        at = dt.datetime.combine(now.date(), t)
        due.append(at if at > now else at + dt.timedelta(days=1))
    return min(due) if due else None


def last_pull(cfg: Config) -> jobs.Job | None:
    """The newest pull job of the history (whatever its outcome)."""
    found = jobs.history(cfg, limit=1, kind="pull")
    return found[0] if found else None


class Scheduler:
    """Pulls at start, on the schedule, and when a source folder changes (watchdog; with ``poll`` its
    PollingObserver, for network drives where change notifications do not arrive).

    ``run()`` blocks (``esf-pipeline watch``); ``start()``/``stop()`` run it in a thread (``serve``).
    ``request_stop()`` may be called from a signal handler: a running job finishes, then ``run()`` returns."""

    TICK = 1.0  # seconds between looks at the clock and at the watched folders
    DEBOUNCE = 1.0  # quiet seconds after a change before a pull (the pull itself waits for files to settle)
    RETRY = 30.0  # seconds until another try when the database was busy
    POLL_SECONDS = 2.0

    def __init__(
        self,
        cfg: Config,
        face: str = "watch",
        poll: bool = False,
        on_result: Callable[[PullResult], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        pull_at_start: bool = True,
    ):
        self.cfg = cfg
        self.face = face
        self.poll = poll
        self.on_result = on_result
        self.on_error = on_error
        self.pull_at_start = pull_at_start
        self.stopping = threading.Event()
        self.busy = threading.Event()  # a pull is under way
        self._changed: float | None = None
        self._retry_at: float | None = None
        self._observers: dict[Path, object] = {}
        self._missing: set[Path] = set()
        self._thread: threading.Thread | None = None
        self.next_due: dt.datetime | None = next_pull(cfg, dt.datetime.now())

    # -- the thread ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="esf-pull-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the running job (if any) has finished; wait up to ``timeout`` seconds."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def request_stop(self) -> None:
        self.stopping.set()

    def last_pull(self) -> jobs.Job | None:
        return last_pull(self.cfg)

    # -- the loop -----------------------------------------------------------------------------------

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
        self.busy.set()
        try:
            result = pull_job(self.cfg, self.face, stop=self.stopping, record_empty=record_empty)
        except Busy:
            self._retry_at = time.monotonic() + self.RETRY
            log.info("Datenbank belegt; neuer Versuch in %g s", self.RETRY)
            return
        except Exception as exc:  # recorded as failed in the history; the watch goes on
            if self.on_error is not None:
                self.on_error(exc)
            else:
                log.warning("Abholen fehlgeschlagen: %s", type(exc).__name__)
            return
        finally:
            self.busy.clear()
        if result is not None and self.on_result is not None:
            self.on_result(result)

    # -- watching the sources -----------------------------------------------------------------------

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

        handler = FileSystemEventHandler()
        handler.on_any_event = self._event
        obs = PollingObserver(timeout=self.POLL_SECONDS) if self.poll else Observer()
        try:
            if not source.is_dir():
                return None
            obs.schedule(handler, str(source), recursive=False)
            obs.start()
        except OSError:
            _stop_observer(obs)
            return None
        return obs


def _alive(obs) -> bool:
    return obs.is_alive() and all(e.is_alive() for e in obs.emitters)


def _stop_observer(obs) -> None:
    try:
        obs.stop()
        if obs.is_alive():
            obs.join(timeout=2)
    except (OSError, RuntimeError):
        pass
