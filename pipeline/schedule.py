"""Pull jobs and when they run: once (``esf-pipeline pull``), on the ``[ingest]`` schedule and whenever a file
appears in a source (:class:`pipeline.watch.Scheduler`: ``esf-pipeline watch``, or a thread of the web page).

A pull job = :mod:`pipeline.pull` (sources → inbox) + ingest + the validation report, as one job of the history
(kind ``pull``). Its outcome is ``warning`` when a file failed, a source was unreachable or rows were
quarantined (the message counts them per rule), so that ``pull`` can exit 1 for cron and systemd.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from dataclasses import dataclass

from pipeline import jobs, pull, runs
from pipeline.config import Config
from pipeline.lock import Busy
from pipeline.wording import count


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
    if found and progress is not None and cfg.ingest.settle_seconds:
        new = count(len(found), "neue Datei", "neue Dateien")
        progress("settle", f"{new}: warte {cfg.ingest.settle_seconds:g} s, ob sie fertig sind")
    complete, changing = pull.settle(found, cfg.ingest.settle_seconds, max_wait, stop)
    for f in changing:
        report.waiting.append(pull.waiting_entry(f, "wird noch geschrieben"))
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
            outcome, message = "ok", "Keine neuen Dateien."
            summary = {"run_id": None, "files": [], "files_loaded": 0, "files_failed": 0, "rows_quarantined": 0,
                       "problems_by_rule": {}}  # fmt: skip
        if report.problems:
            outcome = "warning"
        message = " ".join(m for m in (report.message(), message) if m)
        summary["pull"] = report.as_dict()
        handle.finish(outcome, message, summary)
    recorded = jobs.get(cfg, handle.id)  # the after_job hook may have added a note
    return PullResult(handle.id, outcome, recorded.message if recorded else message, summary, report, ing)


@contextlib.contextmanager
def _quiet_lock(cfg: Config):
    """Hold the database lock briefly without a job row (to look at the inbox); yields False when busy."""
    from pipeline.lock import exclusive

    lock = exclusive(cfg.database)
    try:
        lock.__enter__()
    except Busy:
        yield False
        return
    try:
        yield True
    finally:
        lock.__exit__(None, None, None)


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
