"""The analysts' API, first step: the private read-only copy of the database and its pseudonymous views
(:func:`connect`); :mod:`pipeline.api` builds its data frames on it and re-exports these names."""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from pathlib import Path

import duckdb

from pipeline import db as _db
from pipeline import model
from pipeline.config import Config, load_config

VIEWS = ("households", "persons", "contacts", "helps", "followups")
TABLES = (*VIEWS, "quarantine", "problems", "ingest_files")
# columns that never leave the database through this API (hashes of direct identifiers, birth date)
HIDDEN_COLUMNS = ("name_hash", "bg_number_hash", "birth_date")
# problem values of these columns are not shown (direct identifiers; GDPR Art. 9 special categories)
MASKED_VALUE_COLUMNS = (
    "first_name", "last_name", "jobcenter_bg_number", "name_hash", "bg_number_hash",
    "disability", "minority", "refugee_background", "foreign_background",
)
# age bands fine enough for every ESF age indicator (EECO06–08: <18, 18–29, ≥55; CO06/CO07: <25, >54)
AGE_BANDS = ((0, 17, "0-17"), (18, 24, "18-24"), (25, 29, "25-29"), (30, 44, "30-44"), (45, 54, "45-54"),
             (55, 200, "55+"))
LOCK_WAIT_SECONDS = 30.0

_leftover_copies: list[Path] = []


class DatabaseNotFound(FileNotFoundError):
    """The database file does not exist (run an ingest or ``esf-pipeline demo`` first)."""


# --- locating config and database ----------------------------------------------------------------------


def _load(config: Path | str | Config) -> Config:
    return config if isinstance(config, Config) else load_config(Path(config))


def _db_path(db: Path | str | None, config: Path | str | Config) -> Path:
    path = Path(db) if db is not None else _load(config).database
    if not path.exists():
        raise DatabaseNotFound(
            f"Datenbank {path} gibt es nicht: erst einlesen (esf-pipeline ingest) oder die Demo erzeugen "
            f"(esf-pipeline demo, dann db='demo/data/esf.duckdb'). / database not found"
        )
    return path


# --- the read-only copy --------------------------------------------------------------------------------


def _open_source(path: Path, wait: float) -> duckdb.DuckDBPyConnection:
    """Open the real file read-only; while a writer holds it, retry until ``wait`` seconds have passed."""
    try:
        return _db.open_waiting(path, read_only=True, wait=wait)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise RuntimeError(
            f"Die Datenbank {path.name} wird gerade geschrieben (Einlesen/Lauf); bitte gleich noch einmal "
            f"versuchen. / The database is being written; try again in a moment."
        ) from exc


def copy_database(path: Path, copy: Path, wait: float = LOCK_WAIT_SECONDS) -> None:
    """Copy the database file (and its WAL) to ``copy`` while holding DuckDB's read lock: a consistent copy."""
    source = _open_source(path, wait)
    try:
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    finally:
        source.close()


def _private_copy(path: Path, wait: float) -> duckdb.DuckDBPyConnection:
    """Copy the database (and its WAL) while holding a read lock, then open the copy read-only.

    DuckDB's read lock makes the copy consistent (no writer can be half-way through) and is held only for
    the copy itself. The copy is unlinked right after opening (POSIX keeps it readable through the open
    handle), so nothing with birth dates lingers in the temp directory once the connection is closed.
    """
    tmp_dir = Path(tempfile.mkdtemp(prefix="esf-api-"))  # 0700
    copy = tmp_dir / path.name
    copy_database(path, copy, wait)
    con = duckdb.connect(str(copy), read_only=True)
    try:
        for f in tmp_dir.iterdir():
            f.unlink()
        tmp_dir.rmdir()
    except OSError:  # a platform that cannot unlink open files: remove at interpreter exit
        _leftover_copies.append(tmp_dir)
    return con


@atexit.register
def _remove_leftovers() -> None:
    for d in _leftover_copies:
        shutil.rmtree(d, ignore_errors=True)


def _age_band_sql(age: str) -> str:
    whens = " ".join(f"WHEN {age} BETWEEN {lo} AND {hi} THEN '{label}'" for lo, hi, label in AGE_BANDS)
    return f"CASE {whens} ELSE NULL END"


def _in_force(snaps: dict[str, dt.date], name: str, alias: str) -> str:
    snap = snaps.get(name)
    return f"{alias}.snapshot_date = DATE '{snap.isoformat()}'" if snap else "FALSE"


def _pseudonymous_views(con: duckdb.DuckDBPyConnection, snaps: dict[str, dt.date]) -> None:
    """Replace ``households`` and ``persons`` of the snapshots in force by views without hashes/birth dates."""
    tables = model.tables()

    def in_force(name: str, alias: str) -> str:
        return _in_force(snaps, name, alias)

    def cols(name: str, alias: str) -> str:
        names = [n for n, _ in tables[name].stored_columns if n not in HIDDEN_COLUMNS]
        return ", ".join(f"{alias}.{n}" for n in [*names, "file_sha256", "source_row", "snapshot_date"])

    # full years at entry: ESF entry for participants, household entry for everyone else (indicators.md)
    entry = ("CASE WHEN p.is_esf_participant AND p.esf_entry_date IS NOT NULL THEN p.esf_entry_date "
             "ELSE h.entry_date END")
    age = (f"(year({entry}) - year(p.birth_date) - CASE WHEN month({entry}) < month(p.birth_date) OR "
           f"(month({entry}) = month(p.birth_date) AND day({entry}) < day(p.birth_date)) THEN 1 ELSE 0 END)")
    con.execute(f"CREATE OR REPLACE TEMP VIEW households AS SELECT {cols('households', 'h')} "
                f"FROM core_households AS h WHERE {in_force('households', 'h')} AND NOT h.quarantined")
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW persons AS
            SELECT {cols('persons', 'p')}, {_age_band_sql(age)} AS age_band_at_entry
            FROM core_persons AS p LEFT JOIN households AS h USING (household_id)
            WHERE {in_force('persons', 'p')} AND NOT p.quarantined
            -- an open erasure request restricts processing (Art. 18 GDPR): hidden from analysts
            AND p.person_id NOT IN (SELECT person_id FROM erasure_requests WHERE purged_at IS NULL)"""
    )


def _quarantine_view(con: duckdb.DuckDBPyConnection, snaps: dict[str, dt.date]) -> None:
    """``quarantine``: quarantined rows of the snapshots in force joined to their problems (values masked)."""
    keys = {
        "households": ("c.household_id", "c.household_id", "NULL"),
        "persons": ("c.person_id", "c.household_id", "c.person_id"),
        "contacts": ("c.contact_id", "c.household_id", "c.person_id"),
        "helps": ("c.help_id", "c.household_id", "c.person_id"),
        "followups": ("c.person_id", "NULL", "c.person_id"),
    }
    parts = [
        f"""SELECT '{name}' AS table_name, {rec}::VARCHAR AS record_id, {hh}::VARCHAR AS household_id,
                   {pe}::VARCHAR AS person_id, c.snapshot_date, c.file_sha256, c.source_row
            FROM core_{name} AS c WHERE c.quarantined AND {_in_force(snaps, name, 'c')}"""
        for name, (rec, hh, pe) in keys.items()
    ]
    masked = ", ".join(f"'{c}'" for c in MASKED_VALUE_COLUMNS)
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW quarantine AS
            WITH rows_ AS ({' UNION ALL '.join(parts)})
            SELECT DISTINCT r.table_name, r.record_id, r.household_id, r.person_id, r.snapshot_date,
                   f.file_name, r.source_row, pr.severity, pr.rule_id, pr.column_name,
                   CASE WHEN pr.column_name = 'birth_date' THEN nullif(regexp_extract(pr.value, '(\\d{{4}})', 1), '')
                        WHEN pr.column_name IN ({masked}) THEN NULL ELSE pr.value END AS value,
                   pr.message
            FROM rows_ AS r
            LEFT JOIN ingest_files AS f USING (file_sha256)
            LEFT JOIN problems AS pr ON pr.file_sha256 = r.file_sha256 AND pr.source_row = r.source_row
            ORDER BY r.table_name, r.source_row, pr.rule_id"""
    )


def connect(
    db: Path | str | None = None,
    config: Path | str | Config = "config.toml",
    as_of: dt.date | str | None = None,
    *,
    pseudonymous: bool = True,
    wait: float = LOCK_WAIT_SECONDS,
) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to a private copy of the database, with the views of the snapshots in force.

    ``db`` defaults to the config's ``[paths].database``; pass ``db="demo/data/esf.duckdb"`` for the demo.
    ``as_of`` (date or ``"YYYY-MM-DD"``) picks the snapshots dated up to that day, like ``--as-of``.

    Temp views: ``households``, ``persons``, ``contacts``, ``helps``, ``followups`` (the clean rows of the
    snapshot in force, as ``pipeline.db.create_current_views``) and ``quarantine`` (quarantined rows of the
    snapshots in force with their problems: table, record id, file, row, rule, column, message). With
    ``pseudonymous=True`` (default) the views hold no ``name_hash``/``bg_number_hash`` and ``persons`` has
    ``age_band_at_entry`` instead of ``birth_date``; ``pseudonymous=False`` gives exactly the views the
    indicator SQL reads (birth dates included: for reproducing ``sql/`` only, never print them).

    Why a copy: DuckDB lets one process write, and an open reader blocks that writer. This function holds the
    read lock only while it copies the file (milliseconds for this project's size), then works on the copy,
    so a notebook kernel left open never blocks ``esf-pipeline ingest``/``run``. The copy is a snapshot of
    that moment: call ``connect()`` again to see a newer ingest. Close it when done (the copy is deleted then)::

        with pipeline.connect() as con:
            df = con.sql("SELECT * FROM households").df()

    While a run is writing, this waits up to ``wait`` seconds for it to finish.
    """
    path = _db_path(db, config)
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    con = _private_copy(path, wait)
    try:
        snaps = _db.create_current_views(con, as_of)
        if pseudonymous:
            _pseudonymous_views(con, snaps)
        _quarantine_view(con, snaps)
    except BaseException:
        con.close()
        raise
    return con
