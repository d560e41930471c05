"""Load one decoded export file into the raw and core layers, with lineage and snapshot bookkeeping."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from pipeline import forms, model
from pipeline import map as mapping
from pipeline.read import DecodedFile, ExportFile, FileProblem


@dataclass
class Loaded:
    rows_read: int
    extra_columns: list[str]
    missing_optional: list[model.Column]
    malformed_rows: list[int]


def _read_csv_sql(decoded: DecodedFile, width: int, rejects: bool = False) -> str:
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    sep = decoded.separator.replace("'", "''")
    # bad records go to a rejects table instead of raising: an error would abort the ingest transaction
    opts = ", store_rejects=true, rejects_table='_rejects', rejects_scan='_rejects_scan'" if rejects else ""
    return (
        f"read_csv($path, delim='{sep}', quote='\"', escape='\"', header=true, auto_detect=false, "
        f"max_line_size=16777216, columns={{{columns}}}{opts})"
    )


class RejectedRecords(Exception):
    """DuckDB rejected some records (field count, quoting): take the record-by-record path."""


PRECHECK_MAX_BYTES = 64 << 20


def parses_cleanly(decoded: DecodedFile, width: int) -> bool:
    """Parse the file once in a separate in-memory DuckDB: a parser error there cannot abort the ingest
    transaction. Only for files up to PRECHECK_MAX_BYTES (the cost is a second scan)."""
    if decoded.csv_path.stat().st_size > PRECHECK_MAX_BYTES:
        return True
    side = duckdb.connect()
    try:
        side.execute(
            f"SELECT count(*) FROM {_read_csv_sql(decoded, width, rejects=True)}", {"path": str(decoded.csv_path)}
        ).fetchall()
        return side.execute("SELECT count(*) FROM _rejects").fetchall()[0][0] == 0
    except duckdb.Error:
        return False
    finally:
        side.close()


def insert_raw(
    con: duckdb.DuckDBPyConnection,
    export: ExportFile,
    decoded: DecodedFile,
    hmap: mapping.HeaderMap,
    sha: str,
    parses: bool | None = None,
) -> int:
    """``parses``: result of :func:`parses_cleanly` when the caller ran it already (ingest does, ahead)."""
    if not (parses if parses is not None else parses_cleanly(decoded, len(decoded.headers))):
        raise RejectedRecords()
    table = export.table
    cols = [n for n, _ in table.stored_columns]
    source = f"FROM {_read_csv_sql(decoded, len(decoded.headers), rejects=True)}"
    insert = f"INSERT INTO raw_{table.name} (file_sha256, source_row, snapshot_date, {', '.join(cols)}, extra_columns) "
    params = {"sha": sha, "snap": export.snapshot_date, "path": str(decoded.csv_path)}
    con.execute("DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _rejects_scan")
    # Rows are numbered from their rowid after a parallel, order-preserving insert: row_number() OVER () made
    # the CSV parse single-threaded (issue 7: 7.4 M contacts 9.9 s -> 6.5 s on 2 cores).
    con.execute(insert + f"SELECT $sha, NULL, $snap, {mapping.raw_select(table, hmap)} {source}", params)
    if con.execute("SELECT count(*) FROM _rejects").fetchone()[0]:
        raise RejectedRecords()
    n, first, last = con.execute(
        f"SELECT count(*), min(rowid), max(rowid) FROM raw_{table.name} WHERE file_sha256 = ?", [sha]
    ).fetchone()
    if n and last - first + 1 == n:
        con.execute(
            f"UPDATE raw_{table.name} SET source_row = rowid - {int(first)} + 2 WHERE file_sha256 = ?", [sha]
        )
    elif n:  # not one contiguous block (never seen): number by reading the file again, in order
        con.execute(f"DELETE FROM raw_{table.name} WHERE file_sha256 = ?", [sha])
        con.execute(insert + f"SELECT $sha, row_number() OVER () + 1, $snap, {mapping.raw_select(table, hmap)} "
                    f"{source}", params)
    return n


def load_file(
    con: duckdb.DuckDBPyConnection,
    export: ExportFile,
    decoded: DecodedFile,
    sha: str,
    remap: dict[str, str] | None,
    workdir,
    parses: bool | None = None,
) -> Loaded:
    """Raw rows (text, lineage) then typed core rows. Raises FileProblem for file errors."""
    from pipeline import read

    hmap = mapping.map_headers(export.table, decoded.headers, remap)
    try:
        n = insert_raw(con, export, decoded, hmap, sha, parses)
    except RejectedRecords:
        # wrong field counts or stray quotes: re-read record by record, keep every row
        discard_file(con, export.table.name, sha)
        decoded = read.normalise_records(decoded, workdir)
        try:
            n = insert_raw(con, export, decoded, hmap, sha)
        except RejectedRecords:
            discard_file(con, export.table.name, sha)
            raise FileProblem(
                "F01", "Datei kann nicht als CSV gelesen werden (Trennzeichen/Anführungszeichen)"
            ) from None
    n -= drop_blank_rows(con, export.table, sha)
    forms.serial_date_problem(con, export.table, hmap.positions, sha, export.path.name)
    mapping.build_label_map(con, export.table, sha)
    con.execute(mapping.typed_insert(export.table), {"sha": sha})
    return Loaded(n, _reported_extra(con, export.table, hmap, sha), hmap.missing_optional, decoded.malformed_rows)


def drop_blank_rows(con: duckdb.DuckDBPyConnection, table: model.Table, sha: str) -> int:
    """Delete raw rows of a line that held only separators (``;;;;``, Excel writes them after a table)."""
    cols = [n for n, _ in table.stored_columns]
    empty = " AND ".join(f"nullif(trim({c}), '') IS NULL" for c in cols)
    extra = "(extra_columns IS NULL OR list_bool_and(list_transform(map_values(extra_columns), "
    extra += "lambda v: nullif(trim(v), '') IS NULL)))"
    # DELETE answers with the number of rows it deleted (counting before and after cost two scans of the file)
    delete = f"DELETE FROM raw_{table.name} WHERE file_sha256 = ? AND {empty} AND {extra}"
    return con.execute(delete, [sha]).fetchone()[0]


def _reported_extra(con: duckdb.DuckDBPyConnection, table: model.Table, hmap: mapping.HeaderMap, sha: str) -> list:
    """Unknown headers to report (W01): an empty trailing header cell only when its column holds a value."""
    out = []
    for header in hmap.extra:
        if header in hmap.unnamed:
            filled = con.execute(
                f"SELECT count(*) FROM raw_{table.name} WHERE file_sha256 = ? AND extra_columns[?] <> ''",
                [sha, header],
            ).fetchone()[0]
            if not filled:
                continue
        out.append(header)
    return out


def discard_file(con: duckdb.DuckDBPyConnection, table: str, sha: str) -> None:
    con.execute(f"DELETE FROM raw_{table} WHERE file_sha256 = ?", [sha])
    con.execute(f"DELETE FROM core_{table} WHERE file_sha256 = ?", [sha])


def record_key_sql(table: model.Table) -> str:
    key = table.key or ("person_id", "survey_date")
    return " || '|' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in key)


def record_vanished(con: duckdb.DuckDBPyConnection, table: model.Table, snapshot: dt.date, sha: str) -> int:
    """Records of the previous loaded snapshot that the new one no longer has (reported, not forgotten)."""
    prev = con.execute(
        "SELECT max(snapshot_date) FROM ingest_files WHERE table_name = ? AND status = 'loaded' AND snapshot_date < ?",
        [table.name, snapshot],
    ).fetchone()[0]
    if prev is None:
        return 0
    key = record_key_sql(table)
    # EXCEPT is already a set difference; DISTINCT on both sides first made it ~4x slower (issue 7)
    q = f"""
        INSERT INTO vanished_records
        SELECT ?, k, ?, ?, ? FROM (
            SELECT {key} AS k FROM core_{table.name} WHERE snapshot_date = ?
            EXCEPT
            SELECT {key} AS k FROM core_{table.name} WHERE file_sha256 = ?)"""
    before = con.execute("SELECT count(*) FROM vanished_records").fetchone()[0]
    con.execute(q, [table.name, prev, snapshot, sha, prev, sha])
    return con.execute("SELECT count(*) FROM vanished_records").fetchone()[0] - before
