"""Ingest: take the new export files of the inbox, archive them, read, map, validate and load them.

The whole ingest is one DuckDB transaction: killed half-way, the database is as before, and the
inbox files (never moved) are still there to retry. A delivery is (table, snapshot date, content hash): the
same file twice is loaded once, the same bytes under another table's name or date are another delivery.
Listing, hashing, archiving and decoding a file before the load: :mod:`pipeline.inbox`.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline import db, deliveries, load, pseudonym, read
from pipeline.config import Config
from pipeline.inbox import Prepared, archive_copy, inbox_files, newest_snapshots, prepare
from pipeline.read import FileProblem
from pipeline.validation.rules import rules as rule_catalogue

# DuckDB's default memory limit is 80 % of RAM: an ingest of 100,000 households (16 M contact rows) then
# peaked at 6.6 GB. With a cap it spills joins and temp tables to ``<database>.tmp/`` instead (issue 7:
# peak < 4 GB; the Python side, e.g. Great Expectations frames, comes on top). Override with the variable.
MEMORY_LIMIT_ENV = "ESF_PIPELINE_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"


class IngestAborted(Exception):
    """The ingest had to stop; the transaction is rolled back and the message says which file."""


@dataclass
class FileOutcome:
    file_name: str
    sha256: str | None  # the delivery's key (lineage): its content hash unless those bytes came before
    table: str | None
    snapshot_date: dt.date | None
    status: str  # loaded | skipped | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rule_id: str | None = None
    message: str = ""
    vanished: int = 0
    extra_columns: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    run_id: str
    files: list[FileOutcome]
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def loaded(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "loaded"]


INGEST_COLUMNS = (
    "file_sha256, file_name, table_name, snapshot_date, archive_path, file_format, encoding, separator, rows_read, "
    "rows_loaded, rows_quarantined, status, message, extra_columns, run_id, ingested_at, content_sha256, rule_id"
)

# files prepared ahead of the load (a small file loads faster than a large one is hashed and copied)
LOOKAHEAD = 3


def _record_problem(
    con,
    run_id: str,
    severity: str,
    rule_id: str,
    table: str | None,
    file_name: str,
    sha: str | None,
    row: int | None,
    column: str | None,
    value: str | None,
    message: str,
) -> None:
    con.execute(
        "INSERT INTO problems VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, severity, rule_id, table, file_name, sha, row, column, value, message],
    )


def _validator():
    """The validation step, when present (pipeline.validate); None keeps ingest usable without it."""
    try:
        from pipeline import validate
    except ImportError:
        return None
    return validate


def ingest(
    config: Config,
    inbox: Path | None = None,
    db_path: Path | None = None,
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> IngestResult:
    inbox = inbox or config.inbox
    db_path = db_path or config.database
    run_id = run_id or uuid.uuid4().hex[:12]
    started = dt.datetime.now()
    con = db.connect(db_path)
    try:
        limit = os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
        con.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
        pseudonym.register(con, pseudonym.load_key(db_path.parent))
        outcomes: list[FileOutcome] = []
        validate = _validator()
        con.execute("BEGIN TRANSACTION")
        known = set(con.execute("SELECT content_sha256, table_name, snapshot_date FROM ingest_files").fetchall())
        files = inbox_files(inbox)
        newest = newest_snapshots(files)
        with (
            tempfile.TemporaryDirectory(prefix="esf-ingest-") as tmp,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="esf-prepare") as pool,
        ):
            # The next file is hashed, archived and decoded while DuckDB loads this one (issue 7: hashing,
            # copying, UTF-8 checks and XLSX conversion ran serially with both cores of the load waiting).
            ahead = [pool.submit(prepare, f, config, Path(tmp), known) for f in files[:LOOKAHEAD]]
            for i, path in enumerate(files):
                prep = ahead.pop(0).result()
                ahead += [
                    pool.submit(prepare, f, config, Path(tmp), known)
                    for f in files[i + LOOKAHEAD : i + LOOKAHEAD + 1]
                ]
                if progress:
                    progress(path.name)
                outcomes.append(_ingest_one(con, config, prep, Path(tmp), run_id, validate, newest))
        if validate is not None and any(o.status == "loaded" for o in outcomes):
            validate.validate_cross_table(con, run_id)
            _refresh_counts(con, outcomes)
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    finally:
        con.close()
    return IngestResult(run_id, outcomes, (dt.datetime.now() - started).total_seconds())


def _refresh_counts(con, outcomes: list[FileOutcome]) -> None:
    for o in outcomes:
        if o.status == "loaded":
            o.rows_loaded, o.rows_quarantined = con.execute(
                "SELECT rows_loaded, rows_quarantined FROM ingest_files WHERE file_sha256 = ?", [o.sha256]
            ).fetchone()


def _ingest_one(
    con, config: Config, prep: Prepared, workdir: Path, run_id: str, validate, newest: dict[str, dt.date]
) -> FileOutcome:
    path = prep.path
    name = path.name
    if path.is_symlink() or not path.is_file():
        msg = "Verknüpfung oder Ordner im Eingangsordner wird nicht gelesen; bitte die Datei selbst ablegen."
        _record_problem(con, run_id, "file_error", "F01", None, name, None, None, None, None, msg)
        return FileOutcome(name, None, None, None, "failed", rule_id="F01", message=msg)
    if prep.problem:
        p = prep.problem
        _record_problem(con, run_id, "file_error", p.rule_id, None, name, None, None, None, None, p.message)
        return FileOutcome(name, None, None, None, "failed", rule_id=p.rule_id, message=p.message)
    export, sha = prep.export, prep.sha
    table = export.table.name
    seen = con.execute(
        "SELECT status FROM ingest_files WHERE content_sha256 = ? AND table_name = ? AND snapshot_date = ?",
        [sha, table, export.snapshot_date],
    ).fetchone()
    if seen:
        return FileOutcome(
            name,
            sha,
            table,
            export.snapshot_date,
            "skipped",
            message="bereits eingelesen" if seen[0] == "loaded" else "bereits als fehlerhaft gemeldet",
        )
    archived = prep.archived or archive_copy(path, sha, config.archive)
    content_sha = sha
    taken = con.execute("SELECT count(*) FROM ingest_files WHERE file_sha256 = ?", [sha]).fetchone()[0] > 0
    sha = db.delivery_key(content_sha, table, export.snapshot_date, taken)
    outcome = FileOutcome(name, sha, table, export.snapshot_date, "failed")
    decoded = None
    try:
        clash = con.execute(
            "SELECT file_name FROM ingest_files WHERE table_name = ? AND snapshot_date = ? AND status = 'loaded'",
            [table, export.snapshot_date],
        ).fetchone()
        if clash:
            raise FileProblem(
                "F05",
                f"Für {export.table.label} mit Exportdatum {export.snapshot_date:%d.%m.%Y} ist bereits die Datei "
                f"{clash[0]} mit anderem Inhalt eingelesen; bitte nur einen Export je Tag und Tabelle ablegen.",
            )
        if prep.decode_problem:
            raise prep.decode_problem
        decoded = prep.decoded or read.decode(export, workdir, config.mapping.get(table))
        parses = prep.parses if prep.decoded else None
        try:
            loaded = load.load_file(con, export, decoded, sha, config.mapping.get(table), workdir, parses)
        except duckdb.Error:
            # only a very large file skips the parser pre-check; its error aborts the transaction
            raise IngestAborted(
                f"{name} konnte nicht gelesen werden (CSV-Struktur defekt). Der Lauf wurde abgebrochen, die "
                "Datenbank ist unverändert. Bitte die Datei prüfen oder aus dem Eingangsordner entfernen."
            ) from None
        outcome.rows_read = loaded.rows_read
        outcome.extra_columns = loaded.extra_columns
        if decoded.sheet:  # a cover sheet came first: say which sheet was read
            outcome.message = rule_catalogue()["W03"].message.format(file_name=name, sheet=decoded.sheet)
    except FileProblem as p:
        load.discard_file(con, table, sha)
        outcome.rule_id, outcome.message = p.rule_id, p.message
        _record_problem(con, run_id, "file_error", p.rule_id, table, name, sha, None, p.column, None, p.message)
    con.execute(
        f"INSERT INTO ingest_files ({INGEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            sha,
            name,
            table,
            export.snapshot_date,
            str(archived),
            export.file_format,
            decoded.encoding if decoded else None,
            decoded.separator if decoded else None,
            outcome.rows_read,
            outcome.rows_read,
            0,
            "failed" if outcome.rule_id else "loaded",
            outcome.message or None,
            outcome.extra_columns,
            run_id,
            dt.datetime.now(),
            content_sha,
            outcome.rule_id,
        ],
    )
    if outcome.rule_id:
        return outcome
    outcome.status = "loaded"
    for header in loaded.extra_columns:
        _record_problem(
            con,
            run_id,
            "warning",
            "W01",
            table,
            name,
            sha,
            None,
            header,
            None,
            f"Unbekannte Spalte '{header}' wird nur in der Rohdatenschicht aufbewahrt.",
        )
    if decoded.sheet:
        _record_problem(con, run_id, "warning", "W03", table, name, sha, None, None, None, outcome.message)
    for col in loaded.missing_optional:
        _record_problem(
            con,
            run_id,
            "warning",
            "W02",
            table,
            name,
            sha,
            None,
            col.name,
            None,
            f"Spalte '{col.header}' fehlt; ihre Werte gelten als leer.",
        )
    for row in loaded.malformed_rows:
        _record_problem(
            con,
            run_id,
            "row_error",
            "R00",
            table,
            name,
            sha,
            row,
            None,
            None,
            rule_catalogue()["R00"].message,
        )
    if loaded.malformed_rows:
        con.execute(
            f"UPDATE core_{table} SET quarantined = TRUE WHERE file_sha256 = ? AND source_row IN "
            f"(SELECT unnest(?::BIGINT[]))",
            [sha, loaded.malformed_rows],
        )
    if validate is not None:
        # A snapshot superseded within this run is checked by the same rules in DuckDB SQL (same rows and
        # messages, test_gx_and_sql_engines_report_the_same); GX validates what will be in force and what the
        # Data Docs show (issue 7: a first run with two snapshots per table spent ~1 s in GX on the older ones).
        superseded = export.snapshot_date < newest.get(table, export.snapshot_date)
        validate.validate_file(
            con, table, sha, run_id, cycles=[c.id for c in config.cycles], engine="sql" if superseded else None
        )
    else:
        q = con.execute(
            f"SELECT count(*) FILTER (quarantined) FROM core_{table} WHERE file_sha256 = ?", [sha]
        ).fetchone()[0]
        con.execute(
            "UPDATE ingest_files SET rows_loaded = rows_read - ?, rows_quarantined = ? WHERE file_sha256 = ?",
            [q, q, sha],
        )
    outcome.rows_loaded, outcome.rows_quarantined = con.execute(
        "SELECT rows_loaded, rows_quarantined FROM ingest_files WHERE file_sha256 = ?", [sha]
    ).fetchone()
    if deliveries.refuse_if_mostly_bad(con, config, outcome, run_id):
        return outcome
    outcome.vanished = load.record_vanished(con, export.table, export.snapshot_date, sha)
    return outcome
