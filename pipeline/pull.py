"""Pull: take complete new export files from the ``[ingest]`` source folders into the inbox.

A step in three parts. :func:`scan` lists the export files of every source (only the five name patterns of
exports.md; office temp and lock files, hidden and partial files never match) and leaves out what an earlier
pull already handled. :func:`settle` watches the rest until each has kept its size and mtime for
``settle_seconds``: this process observes it, it does not trust an mtime alone (a copy may carry the
original's old mtime while it is still being written); a file still changing after ``max_wait`` is left for
the next pull. :func:`take` (under the database lock) copies each settled file into the inbox atomically
(a temp file in ``inbox/.pull/``, fsync, ``os.replace``, fsync of the folder), unless its content is already
there: a file is identified by table and content hash, so the same bytes under another name of the same table
are a duplicate (reported once), under another table's name a separate delivery. ``move = true`` deletes a
source file only once its content is safely in the inbox (or was already ingested). A file that cannot be
read is reported and left where it is.

Crash safety: a pull killed after copying leaves complete files in the inbox (the next ingest loads them;
the next pull finds their hash there and copies nothing again); killed during a copy it leaves a temp file
under ``inbox/.pull/`` that ingest never reads and the next pull removes.

What is already held (database, inbox) and the hash cache: :mod:`pipeline.pull_index`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline import read
from pipeline.config import Config
from pipeline.pull_index import Known, State, inbox_pending, known_content, signature
from pipeline.read import FileProblem
from pipeline.wording import count

__all__ = ["PullReport", "Seen", "State", "inbox_pending", "scan", "settle", "take"]

WORK_DIR = ".pull"  # inside the inbox: same file system for os.replace; a hidden folder ingest skips


@dataclass
class Seen:
    """An export file in a source folder as last observed."""

    path: Path
    source: Path
    table: str
    snapshot_date: dt.date
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def signature(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)


@dataclass
class PullReport:
    """What a pull did, per file (file names follow the export patterns: no personal data)."""

    sources: list[str] = field(default_factory=list)
    taken: list[dict] = field(default_factory=list)  # {"file", "source"}
    duplicates: list[dict] = field(default_factory=list)  # {"file", "source", "same_as"}
    waiting: list[dict] = field(default_factory=list)  # {"file", "source", "reason"}
    failed: list[dict] = field(default_factory=list)  # {"file", "source", "message"}
    unreachable: list[dict] = field(default_factory=list)  # {"source", "message"}
    removed: list[str] = field(default_factory=list)  # source files deleted (move = true)
    already: int = 0  # files of an earlier pull, still in a source

    @property
    def problems(self) -> bool:
        return bool(self.failed or self.unreachable)

    def as_dict(self) -> dict:
        return asdict(self)

    def message(self) -> str:
        """A German one-liner; empty when there was nothing to say."""
        parts = []
        if self.taken:
            parts.append(f"{count(len(self.taken), 'Datei', 'Dateien')} abgeholt")
        if self.duplicates:
            parts.append(f"{count(len(self.duplicates), 'Duplikat', 'Duplikate')} nicht erneut abgeholt")
        if self.waiting:
            parts.append(f"{count(len(self.waiting), 'Datei', 'Dateien')} noch nicht fertig")
        if self.failed:
            parts.append(f"{count(len(self.failed), 'Datei', 'Dateien')} nicht lesbar")
        if self.unreachable:
            parts.append(f"{count(len(self.unreachable), 'Quelle', 'Quellen')} nicht erreichbar")
        return "Abholen: " + "; ".join(parts) + "." if parts else ""


# --- scan and settle -----------------------------------------------------------------------------------


def is_office_temp(name: str) -> bool:
    """Excel's owner file ``~$…`` and LibreOffice's ``.~lock.…#``."""
    return name.startswith("~$") or name.startswith(".~lock.")


def _opened_in_office(name: str, names: set[str]) -> bool:
    # Excel replaces the first two characters of a long name by ~$, LibreOffice wraps the whole name
    return bool({"~$" + name, "~$" + name[2:], f".~lock.{name}#"} & names)


def _export(path: Path) -> read.ExportFile | None:
    if path.name.startswith(".") or is_office_temp(path.name):
        return None
    try:
        return read.recognise(path)
    except FileProblem:
        return None  # not an export name: other files in a source are not ours


def scan(cfg: Config, report: PullReport, state: State) -> list[Seen]:
    """Export files in the sources that no earlier pull finished with (unchanged since)."""
    out: list[Seen] = []
    own = {cfg.inbox.resolve(), cfg.archive.resolve()}
    for source in cfg.sources:
        report.sources.append(str(source))
        if source.resolve() in own:
            report.unreachable.append({"source": str(source), "message": "ist der Eingangs- oder Archivordner"})
            continue
        try:
            with os.scandir(source) as it:
                entries = list(it)
        except FileNotFoundError:
            report.unreachable.append({"source": str(source), "message": "Ordner nicht gefunden"})
            continue
        except NotADirectoryError:
            report.unreachable.append({"source": str(source), "message": "ist kein Ordner"})
            continue
        except PermissionError:
            report.unreachable.append({"source": str(source), "message": "kein Zugriff (Berechtigung)"})
            continue
        except OSError as exc:
            report.unreachable.append({"source": str(source), "message": f"nicht lesbar ({exc.strerror})"})
            continue
        names = {e.name for e in entries}
        for e in sorted(entries, key=lambda e: e.name):
            export = _export(Path(e.path))
            if export is None:
                continue
            try:
                if not e.is_file(follow_symlinks=False):
                    continue
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished meanwhile
            f = Seen(Path(e.path), source, export.table.name, export.snapshot_date, st.st_size, st.st_mtime_ns)
            if state.is_done(f):
                report.already += 1
            elif _opened_in_office(e.name, names):
                report.waiting.append(waiting_entry(f, "in einem Office-Programm geöffnet (Sperrdatei daneben)"))
            else:
                out.append(f)
    return out


def status(cfg: Config) -> dict:
    """For the web page (pages._pull_status): the next scheduled pull, None without a schedule."""
    from pipeline.schedule import next_pull

    return {"next": next_pull(cfg, dt.datetime.now())}


def waiting_entry(f: Seen, reason: str) -> dict:
    return {"file": f.name, "source": str(f.source), "reason": reason}


def settle(
    found: list[Seen], seconds: float, max_wait: float | None = None, stop: threading.Event | None = None
) -> tuple[list[Seen], list[Seen]]:
    """(complete, still changing): complete = size and mtime unchanged for ``seconds``, observed here."""
    max_wait = max(3 * seconds, seconds + 5) if max_wait is None else max_wait
    interval = min(1.0, max(seconds / 5, 0.05))
    start = time.monotonic()
    since = {f.path: start for f in found}
    pending = list(found)
    complete: list[Seen] = []
    while True:
        now = time.monotonic()
        still = []
        for f in pending:
            try:
                sig = signature(f.path)
            except OSError:
                continue  # gone: nothing to take
            if sig != f.signature:
                f.size, f.mtime_ns = sig
                since[f.path] = now
            if now - since[f.path] >= seconds:
                complete.append(f)
            else:
                still.append(f)
        pending = still
        if not pending or now - start >= max_wait:
            return complete, pending
        if stop is not None and stop.wait(interval):
            return complete, pending
        if stop is None:
            time.sleep(interval)


# --- take ----------------------------------------------------------------------------------------------


def _copy(src: Path, work: Path) -> tuple[Path, str]:
    """Copy into a temp file (hashing on the way), synced to disk; removed again on any failure."""
    fd, tmp = tempfile.mkstemp(prefix="pull-", suffix=".tmp", dir=work)
    h = hashlib.sha256()
    try:
        with src.open("rb") as fin, os.fdopen(fd, "wb") as fout:
            while chunk := fin.read(1 << 20):
                h.update(chunk)
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        os.chmod(tmp, 0o600)  # exports hold personal data, like the archive
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), h.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_source(f: Seen, report: PullReport) -> None:
    try:
        f.path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        report.failed.append(
            {"file": f.name, "source": str(f.source), "message": f"abgeholt, aber nicht gelöscht ({exc.strerror})"}
        )
        return
    _fsync_dir(f.source)
    report.removed.append(f.name)


def take(cfg: Config, found: list[Seen], report: PullReport, state: State, progress=None) -> None:
    """Copy the settled files into the inbox (caller holds the database lock)."""
    inbox = cfg.inbox
    work = inbox / WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    for leftover in work.glob("pull-*.tmp"):  # a copy killed half-way
        leftover.unlink(missing_ok=True)
    known = known_content(cfg, state)
    try:
        for f in found:
            _take_one(cfg, f, report, state, known, work)
            if progress and report.taken and report.taken[-1]["file"] == f.name:
                progress("file", f.name)
    finally:
        state.save()


def _take_one(cfg: Config, f: Seen, report: PullReport, state: State, known: Known, work: Path) -> None:
    try:
        sig = signature(f.path)
    except FileNotFoundError:
        return
    except OSError as exc:
        report.failed.append({"file": f.name, "source": str(f.source), "message": f"nicht lesbar ({exc.strerror})"})
        return
    if sig != f.signature:
        report.waiting.append(waiting_entry(f, "wird noch geschrieben"))
        return
    if _opened_in_office(f.name, _siblings(f)):
        report.waiting.append(waiting_entry(f, "in einem Office-Programm geöffnet (Sperrdatei daneben)"))
        return
    tmp = None
    sha = state.sha(f.path, sig)
    if sha is None or (f.table, sha) not in known.held:
        try:
            tmp, sha = _copy(f.path, work)
        except OSError as exc:
            why = "keine Leseberechtigung" if isinstance(exc, PermissionError) else exc.strerror or str(exc)
            report.failed.append({"file": f.name, "source": str(f.source), "message": f"nicht lesbar ({why})"})
            return
        try:
            changed = signature(f.path) != sig
        except OSError:
            changed = True
        if changed:  # written to while we copied: not complete after all
            tmp.unlink(missing_ok=True)
            report.waiting.append(waiting_entry(f, "wurde während des Kopierens verändert"))
            return
        state.remember(f.path, sig, sha)
    if (f.table, sha) in known.held:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        same = known.held[(f.table, sha)]
        if not any(date == f.snapshot_date for date, _ in same):
            names = sorted({n for _, n in same if n}) or ["bereits eingelesen"]
            report.duplicates.append({"file": f.name, "source": str(f.source), "same_as": ", ".join(names)})
        else:
            report.already += 1
        state.mark_done(f)
        if cfg.ingest.move:
            _remove_source(f, report)
        return
    target = cfg.inbox / f.name
    if target.exists() and not _replaceable(cfg, target, state, known):
        tmp.unlink(missing_ok=True)
        report.waiting.append(waiting_entry(f, "gleichnamige, noch nicht eingelesene Datei im Eingangsordner"))
        return
    os.replace(tmp, target)
    _fsync_dir(cfg.inbox)
    state.remember(target, signature(target), sha)
    known.add(f.table, sha, f.snapshot_date, f.name)
    state.mark_done(f)
    report.taken.append({"file": f.name, "source": str(f.source)})
    if cfg.ingest.move:
        _remove_source(f, report)


def _siblings(f: Seen) -> set[str]:
    try:
        return {n for n in os.listdir(f.source) if is_office_temp(n)}
    except OSError:
        return set()


def _replaceable(cfg: Config, target: Path, state: State, known: Known) -> bool:
    """An inbox file of the same name may be replaced once the database has recorded it (the archive keeps it)."""
    from pipeline.inbox import file_sha256

    export = _export(target)
    try:
        sha = state.sha(target, signature(target)) or file_sha256(target)
    except OSError:
        return False
    return export is not None and (export.table.name, export.snapshot_date, sha) in known.ingested
