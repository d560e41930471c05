"""Jobs: one writer at a time (the database lock shared by every face) and the job history.

A job is one pull, ingest, run, report build, validation, retention or erasure, started from any face. Its
row in the history (an SQLite file next to the database, ``<db>.jobs.sqlite``: a separate file so that the
history can be written while DuckDB is locked by the job itself, and read while a job runs) holds start,
end, outcome, file names, a message and a summary: never personal data (file names follow the export
patterns, messages are the pipeline's own). A job whose process died shows as failed once its lock is free.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.lock import Busy, exclusive

KINDS = {
    "ingest": "Einlesen",
    "pull": "Abholen und Einlesen",
    "run": "Gesamtlauf",
    "report": "Berichte",
    "validate": "Prüfung",
    "demo": "Demo",
    "retention": "Aufbewahrung/Löschung",
    "erase": "Löschersuchen",
}
OUTCOMES = {
    "queued": "wartet",
    "running": "läuft",
    "ok": "erfolgreich",
    "warning": "mit Hinweisen",
    "failed": "fehlgeschlagen",
}
JOB_ENV = "ESF_PIPELINE_JOB_ID"  # a job row created by a face that started this process (the web page)

_DDL = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    face TEXT NOT NULL,
    created TEXT NOT NULL,
    started TEXT,
    ended TEXT,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    files TEXT NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL DEFAULT '{}',
    step TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    heartbeat TEXT,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
"""


@dataclass
class Job:
    id: str
    kind: str
    face: str
    created: dt.datetime
    started: dt.datetime | None
    ended: dt.datetime | None
    outcome: str
    message: str = ""
    files: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    step: str = ""
    detail: str = ""
    heartbeat: dt.datetime | None = None
    pid: int | None = None

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome, self.outcome)

    @property
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        return ((self.ended or dt.datetime.now()) - self.started).total_seconds()

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("created", "started", "ended", "heartbeat"):
            d[k] = d[k].isoformat(timespec="seconds") if d[k] else None
        return d


def store_path(cfg: Config) -> Path:
    db = cfg.database
    return db.with_name(db.stem + ".jobs.sqlite")


def _open(cfg: Config) -> sqlite3.Connection:
    path = store_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    if fresh:
        os.chmod(path, 0o600)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(_DDL)
    return con


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="milliseconds")


def _ts(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _row_to_job(r: tuple) -> Job:
    return Job(
        id=r[0], kind=r[1], face=r[2], created=_ts(r[3]), started=_ts(r[4]), ended=_ts(r[5]), outcome=r[6],
        message=r[7], files=json.loads(r[8]), summary=json.loads(r[9]), step=r[10], detail=r[11],
        heartbeat=_ts(r[12]), pid=r[13],
    )  # fmt: skip


_COLS = "id, kind, face, created, started, ended, outcome, message, files, summary, step, detail, heartbeat, pid"


def lock_is_free(cfg: Config) -> bool:
    """True when no process holds the database lock (tested without keeping it)."""
    lock_path = cfg.database.with_name(cfg.database.name + ".lock")
    if not lock_path.exists():
        return True
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases the probe's lock
    return True


def history(cfg: Config, limit: int = 50, kind: str | None = None) -> list[Job]:
    """The newest jobs first. A job still marked running whose lock is free died: it is marked failed."""
    if not store_path(cfg).exists():
        return []
    con = _open(cfg)
    try:
        where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
        rows = con.execute(f"SELECT {_COLS} FROM jobs {where} ORDER BY created DESC LIMIT ?", [*args, limit]).fetchall()
        jobs = [_row_to_job(r) for r in rows]
        # a job is marked running only while it holds the lock, and finished before it lets go of it
        if any(j.outcome == "running" for j in jobs) and lock_is_free(cfg):
            for j in jobs:
                if j.outcome == "running":
                    _mark_died(con, j)
        return jobs
    finally:
        con.close()


def _mark_died(con: sqlite3.Connection, j: Job) -> None:
    j.outcome, j.ended = "failed", j.heartbeat or j.started or j.created
    j.message = "Abgebrochen: der Prozess wurde beendet, bevor der Auftrag fertig war. Die Datenbank ist unverändert."
    con.execute(
        "UPDATE jobs SET outcome = ?, ended = ?, message = ? WHERE id = ? AND outcome = 'running'",
        [j.outcome, j.ended.isoformat(timespec="milliseconds"), j.message, j.id],
    )


def get(cfg: Config, job_id: str) -> Job | None:
    """One job by id (died jobs marked as in :func:`history`)."""
    if not store_path(cfg).exists():
        return None
    con = _open(cfg)
    try:
        row = con.execute(f"SELECT {_COLS} FROM jobs WHERE id = ?", [job_id]).fetchone()
        if row is None:
            return None
        j = _row_to_job(row)
        if j.outcome == "running" and lock_is_free(cfg):
            _mark_died(con, j)
        return j
    finally:
        con.close()


def running(cfg: Config) -> Job | None:
    """The job that holds the database now, if the history knows it."""
    if lock_is_free(cfg):
        return None
    return next((j for j in history(cfg, limit=20) if j.outcome == "running"), None)


def busy_message(cfg: Config) -> str:
    job = running(cfg)
    if job is None:
        return "Die Datenbank wird gerade von einem anderen Lauf benutzt; bitte warten, bis er fertig ist."
    face = {"web": "über die Webseite", "cli": "über die Kommandozeile", "watch": "durch die Überwachung"}.get(
        job.face, job.face
    )
    return (
        f"Die Datenbank wird gerade von einem anderen Lauf benutzt: {job.kind_label}, gestartet "
        f"{job.started or job.created:%d.%m.%Y %H:%M:%S} {face} (Schritt: {job.detail or job.step or '–'}). "
        "Bitte warten, bis er fertig ist."
    )


def create(cfg: Config, kind: str, face: str) -> str:
    """A queued job row (a face that starts the work in another process creates it first)."""
    job_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    con = _open(cfg)
    try:
        con.execute(
            "INSERT INTO jobs (id, kind, face, created, outcome) VALUES (?, ?, ?, ?, 'queued')",
            [job_id, kind, face, _now()],
        )
    finally:
        con.close()
    return job_id


class Handle:
    """The running job's side: progress, files and the outcome."""

    def __init__(self, cfg: Config, job_id: str):
        self.cfg = cfg
        self.id = job_id
        self.files: list[str] = []
        self.summary: dict = {}
        self.outcome = "ok"
        self.message = ""
        self._last = 0.0

    def _update(self, **cols) -> None:
        con = _open(self.cfg)
        try:
            sets = ", ".join(f"{k} = ?" for k in cols)
            con.execute(f"UPDATE jobs SET {sets} WHERE id = ?", [*cols.values(), self.id])
        finally:
            con.close()

    def progress(self, step: str, detail: str = "") -> None:
        """Record the step (throttled to 5 writes a second; a step change is always written)."""
        new_file = step == "file" and detail and detail not in self.files
        if new_file:
            self.files.append(detail)
        now = time.monotonic()
        if now - self._last < 0.2 and step == getattr(self, "_step", None) and not new_file:
            return
        self._last, self._step = now, step
        self._update(step=step, detail=detail[:300], heartbeat=_now(), files=json.dumps(self.files))

    def finish(self, outcome: str, message: str = "", summary: dict | None = None) -> None:
        self.outcome, self.message = outcome, message
        if summary is not None:
            self.summary = summary


@contextlib.contextmanager
def job(cfg: Config, kind: str, face: str, job_id: str | None = None):
    """Run the body as a job: takes the database lock (Busy names the running job), records the history.

    The body may call ``handle.finish(outcome, message, summary)``; an exception marks the job failed with
    its message and is raised again (the face maps it to its exit code or page)."""
    job_id = job_id or os.environ.get(JOB_ENV) or create(cfg, kind, face)
    try:
        lock = exclusive(cfg.database)
        lock.__enter__()
    except Busy:
        message = busy_message(cfg)
        _finish_row(cfg, job_id, "failed", "Nicht gestartet. " + message)
        raise Busy(message) from None
    handle = Handle(cfg, job_id)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(cfg, job_id, stop), name="esf-job-heartbeat", daemon=True)
    try:
        con = _open(cfg)
        try:
            con.execute(
                "UPDATE jobs SET outcome = 'running', started = ?, heartbeat = ?, pid = ?, kind = ? WHERE id = ?",
                [_now(), _now(), os.getpid(), kind, job_id],
            )
        finally:
            con.close()
        beat.start()
        try:
            yield handle
        except BaseException as exc:
            stop.set()
            _finish_row(cfg, job_id, "failed", _failure_text(exc), handle)
            raise
        stop.set()
        _finish_row(cfg, job_id, handle.outcome, handle.message, handle)
    finally:
        stop.set()
        lock.__exit__(None, None, None)
        if cfg.ingest.after_job:
            _after_job(cfg, job_id)


def _after_job(cfg: Config, job_id: str) -> None:
    """The ``after_job`` hook, after the lock is free; its failure is added to the job's message."""
    from pipeline import hooks

    try:
        j = get(cfg, job_id)
        problem = hooks.run_after_job(cfg, j.as_dict()) if j else None
        if problem:
            _update_message(cfg, job_id, f"{j.message} Hinweis: {problem}.".strip())
    except Exception as exc:  # never let the hook break the job that has finished
        hooks.log.warning("after_job: %s", type(exc).__name__)


def _update_message(cfg: Config, job_id: str, message: str) -> None:
    con = _open(cfg)
    try:
        con.execute("UPDATE jobs SET message = ? WHERE id = ?", [message, job_id])
    finally:
        con.close()


HEARTBEAT_SECONDS = 2.0


def _heartbeat(cfg: Config, job_id: str, stop: threading.Event) -> None:
    """Every few seconds while the job's process lives: a page can tell a slow job (fresh heartbeat, same
    step) from a stuck or dead one (heartbeat growing old)."""
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            con = _open(cfg)
            try:
                con.execute("UPDATE jobs SET heartbeat = ? WHERE id = ? AND outcome = 'running'", [_now(), job_id])
            finally:
                con.close()
        except sqlite3.Error:
            pass  # a busy store: the next beat tries again


# set by a face that aborts the running job on purpose (watch's second signal): whatever exception the
# interrupted library then raises (DuckDB, pandas, GX wrap it differently), the job was aborted, not broken
ABORT_REQUESTED = threading.Event()


def _failure_text(exc: BaseException) -> str:
    # DuckDB turns a signal that arrives during a query into its own "Query interrupted" error
    if ABORT_REQUESTED.is_set() or isinstance(exc, KeyboardInterrupt | SystemExit) or str(exc) == "Query interrupted":
        return "Abgebrochen."
    known = ("UserError", "Busy", "IngestAborted", "ConfigError", "PeriodError", "WorkerDied")
    name = getattr(exc, "type_name", type(exc).__name__)
    if type(exc).__name__ in known:
        return str(exc)
    return f"Interner Fehler ({name}). Der Auftrag wurde abgebrochen; die Datenbank ist unverändert."


def _finish_row(cfg: Config, job_id: str, outcome: str, message: str, handle: Handle | None = None) -> None:
    con = _open(cfg)
    try:
        cols = {"outcome": outcome, "ended": _now(), "message": message, "heartbeat": _now()}
        if handle is not None:
            cols["files"] = json.dumps(handle.files)
            cols["summary"] = json.dumps(handle.summary, ensure_ascii=False, default=str)
        con.execute(
            "UPDATE jobs SET " + ", ".join(f"{k} = ?" for k in cols) + ", started = coalesce(started, ?) WHERE id = ?",
            [*cols.values(), _now(), job_id],
        )
    finally:
        con.close()
