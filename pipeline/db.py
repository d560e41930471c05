"""The DuckDB database: schema (generated from the data model), connections, views of what is in force.

Layers (PUDL-style names):

* ``ref_labels``, ``ref_eu27``        reference data from ``pipeline/data/labels.toml``
* ``ingest_files``                    one row per delivery ever seen: (table, snapshot date, content hash),
                                      its key ``file_sha256`` (lineage), counts, status
* ``raw_<table>``                     text as read, canonical column names, lineage, unknown extra columns
* ``core_<table>``                    typed canonical rows with lineage and a ``quarantined`` flag
* ``problems``                        every validation finding (rule id, severity, file, row, column, value)
* ``vanished_records``                records present in the previous snapshot and missing from the newer one
* ``gx_results``                      sanitized GX validation result per file (for Data Docs)
* views ``<table>`` (temporary)       the clean rows of the snapshot in force: what indicators read
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import duckdb

from pipeline import model

META_DDL = """
CREATE TABLE IF NOT EXISTS ref_labels (
    list_name VARCHAR, code VARCHAR, label VARCHAR, sort_order INTEGER, group_code VARCHAR,
    PRIMARY KEY (list_name, code));
CREATE TABLE IF NOT EXISTS ref_eu27 (code VARCHAR PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ingest_files (
    file_sha256 VARCHAR PRIMARY KEY,
    file_name VARCHAR, table_name VARCHAR, snapshot_date DATE,
    archive_path VARCHAR, file_format VARCHAR, encoding VARCHAR, separator VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
    status VARCHAR,          -- loaded | failed
    message VARCHAR,
    extra_columns VARCHAR[], -- headers not in the data model (kept in raw, reported)
    run_id VARCHAR, ingested_at TIMESTAMP,
    content_sha256 VARCHAR,  -- SHA-256 of the bytes (archive name); file_sha256 is the delivery's key
    rule_id VARCHAR);        -- why a failed file was refused
CREATE TABLE IF NOT EXISTS problems (
    run_id VARCHAR, severity VARCHAR,   -- file_error | row_error | warning
    rule_id VARCHAR, table_name VARCHAR, file_name VARCHAR, file_sha256 VARCHAR,
    source_row BIGINT, column_name VARCHAR, value VARCHAR, message VARCHAR);
CREATE TABLE IF NOT EXISTS erasure_requests (
    person_id VARCHAR, requested_at TIMESTAMP, note VARCHAR, purged_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS vanished_records (
    table_name VARCHAR, record_key VARCHAR, previous_snapshot DATE, snapshot_date DATE,
    file_sha256 VARCHAR);
"""

# Great Expectations result of each file validated by GX, sanitized (counts, no values or row lists): Data
# Docs are built from it without validating again (issue 7). Deleted with the file's rows (retention).
GX_RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS gx_results (
    file_sha256 VARCHAR PRIMARY KEY, table_name VARCHAR, suite_json VARCHAR, result_json VARCHAR);
"""


def _table_ddl(table: model.Table) -> str:
    lineage = "file_sha256 VARCHAR, source_row BIGINT, snapshot_date DATE"
    raw_cols = ", ".join(f"{n} VARCHAR" for n, _ in table.stored_columns)
    core_cols = ", ".join(f"{n} {t}" for n, t in table.stored_columns)
    return (
        f"CREATE TABLE IF NOT EXISTS raw_{table.name} ({lineage}, {raw_cols}, extra_columns MAP(VARCHAR, VARCHAR));\n"
        f"CREATE TABLE IF NOT EXISTS core_{table.name} ({lineage}, {core_cols}, quarantined BOOLEAN DEFAULT FALSE);\n"
    )


# Columns added to ingest_files after databases were in use: (name, type, value for the existing rows)
INGEST_FILES_ADDED = (("content_sha256", "VARCHAR", "file_sha256"), ("rule_id", "VARCHAR", "NULL"))


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring an older database's ``ingest_files`` up to the current columns (issue 16: file identity)."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'ingest_files' "
        "AND table_schema = current_schema()"
    ).fetchall()}
    for name, sql_type, fill in INGEST_FILES_ADDED:
        if name not in have:
            con.execute(f"ALTER TABLE ingest_files ADD COLUMN {name} {sql_type}")
            con.execute(f"UPDATE ingest_files SET {name} = {fill}")


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    # One transaction, reference rows in one statement each: in autocommit with executemany, every row was
    # its own commit (a new database cost ~1 s of a 30-household run, issue 15).
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(META_DDL)
        _migrate(con)
        con.execute(GX_RESULTS_DDL)
        con.execute("".join(_table_ddl(t) for t in model.tables().values()))
        rows = model.ref_label_rows()
        if con.execute("SELECT count(*) FROM ref_labels").fetchone()[0] != len(rows):
            con.execute("DELETE FROM ref_labels")
            con.execute(
                "INSERT INTO ref_labels SELECT unnest(?), unnest(?), unnest(?), unnest(?), unnest(?)",
                [list(column) for column in zip(*rows, strict=True)],
            )
            con.execute("DELETE FROM ref_eu27")
            con.execute("INSERT INTO ref_eu27 SELECT unnest(?)", [list(model.eu27())])
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # no transaction left to roll back: the original error counts
            pass
        raise


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database; a new file is created readable by the owner only."""
    path = Path(path)
    if read_only:
        return open_waiting(path, read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    is_new = not path.exists()
    con = open_waiting(path, read_only=False)
    if is_new:
        os.chmod(path, 0o600)
    create_schema(con)
    return con


LOCK_WAIT_SECONDS = 15.0


def open_waiting(path: Path, read_only: bool, wait: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open the file; while another process holds DuckDB's file lock for a moment (a page or notebook copying
    the database through the API holds a read lock for the copy), retry for up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def delivery_key(content_sha: str, table: str, snapshot: dt.date, taken: bool) -> str:
    """The lineage key of a delivery: its content hash, or, when another delivery (another table or snapshot
    date) already has the same bytes, a hash over table, snapshot date and content hash."""
    if not taken:
        return content_sha
    import hashlib

    return hashlib.sha256(f"{table}|{snapshot.isoformat()}|{content_sha}".encode()).hexdigest()


def snapshots_in_force(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> dict[str, dt.date]:
    """Per table, the newest loaded snapshot date (≤ as_of when given)."""
    rows = con.execute(
        """SELECT table_name, max(snapshot_date) FROM ingest_files
           WHERE status = 'loaded' AND ($as_of IS NULL OR snapshot_date <= $as_of)
           GROUP BY table_name""",
        {"as_of": as_of},
    ).fetchall()
    return dict(rows)


def data_state(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> dt.date | None:
    """Datenstand: the newest snapshot date among the snapshots in force, or as_of when given."""
    if as_of is not None:
        return as_of
    snaps = snapshots_in_force(con)
    return max(snaps.values()) if snaps else None


def create_current_views(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> dict[str, dt.date]:
    """Temporary views ``households``, ``persons``, … : clean rows of the snapshot in force.

    A table with no snapshot gets an empty view of the right shape. Returns the snapshots used.
    """
    snaps = snapshots_in_force(con, as_of)
    for name, table in model.tables().items():
        cols = ", ".join(n for n, _ in table.stored_columns)
        snap = snaps.get(name)
        cond = f"snapshot_date = DATE '{snap.isoformat()}'" if snap else "FALSE"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS "
            f"SELECT {cols}, file_sha256, source_row, snapshot_date FROM core_{name} "
            f"WHERE {cond} AND NOT quarantined"
        )
    return snaps
