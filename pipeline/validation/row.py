"""Row-level validation of one loaded file: problems, quarantine flags, row counts."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from pipeline import model
from pipeline.validation import checks as chk
from pipeline.validation import gx_engine, results
from pipeline.validation.rules import rule, rules, sql_literal

# Larger files are checked by the same rules in DuckDB SQL (issue 7; both engines report the same rows, see
# test_gx_and_sql_engines_report_the_same). GX costs ~0.25 ms per row and rule set (persons: 25 s for 96,000
# rows, SQL 0.4 s); 50,000 keeps every file of a real project (tens of households per cycle) on GX.
GX_MAX_ROWS = 50_000
ROW_RULE_PREFIXES = ("R", "P")


@dataclass
class FileValidation:
    table_name: str
    file_sha256: str
    rows: int = 0
    quarantined: int = 0
    problems: dict[str, int] = field(default_factory=dict)  # severity -> count
    engine: str = ""  # "gx" | "sql"
    seconds: float = 0.0


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _template(c: chk.Check) -> str:
    params = {"table": model.tables()[c.table].label, **c.params}
    return rule(c.rule_id).message.format_map(_Keep(params))


def _render_sql(c: chk.Check, k: int, run_id: str, file_name: str | None, sha: str) -> str:
    """SELECT producing the problems rows of check k from _fails joined to _vf."""
    msg = sql_literal(_template(c))
    subs = {"value": c.value_sql, "other_value": c.other_value_sql or "NULL", **c.row_params_sql}
    for name, expr in subs.items():
        msg = f"replace({msg}, '{{{name}}}', coalesce({expr}, ''))"
    return (
        f"SELECT {sql_literal(run_id)}, {sql_literal(rule(c.rule_id).severity)}, {sql_literal(c.rule_id)}, "
        f"{sql_literal(c.table)}, {sql_literal(file_name or '')}, {sql_literal(sha)}, v.source_row, "
        f"{sql_literal(c.column)}, {c.value_sql}, {msg} "
        f"FROM _fails f JOIN _vf v USING (source_row) WHERE f.check_id = {k}"
    )


def sql_failures(con: duckdb.DuckDBPyConnection, table: model.Table, checks: list[chk.Check], sha: str) -> None:
    """``_fails`` (check_id, source_row) of one file in one pass over the frame, without materialising it.

    Row predicates are evaluated together per row (one join of raw and core per range of rows, see
    checks.JOIN_CHUNK_ROWS); window predicates (R06) read the core rows alone. Materialising the whole frame first cost
    ~3x more (issue 7: 7.4 M contacts 6.3 s -> 2.3 s).
    """
    row = [(k, c) for k, c in enumerate(checks) if not c.window]
    parts = []
    con.execute("CREATE OR REPLACE TEMP TABLE _fails (check_id INTEGER, source_row BIGINT)")
    if row:
        flags = ", ".join(f"CASE WHEN {c.sql} THEN {k} END" for k, c in row)
        # the list of flags is built only for rows that fail some check: building a list for every row of a
        # clean file cost more than the predicates themselves (one OR filter is cheap, and equivalent:
        # a row is kept iff some predicate is TRUE)
        any_fails = " OR ".join(f"({c.sql})" for _, c in row)
        for lo, hi in chk.row_ranges(con, table, sha):
            con.execute(
                f"INSERT INTO _fails SELECT unnest(f) AS check_id, source_row FROM (SELECT source_row, "
                f"list_filter([{flags}], lambda x: x IS NOT NULL) AS f "
                f"FROM ({chk.frame_sql(table, sha, span=(lo, hi))}) WHERE {any_fails}) WHERE len(f) > 0"
            )
    core = f"SELECT * FROM core_{table.name} WHERE file_sha256 = {sha}"
    for k, c in enumerate(checks):
        if c.window:
            parts.append(
                f"SELECT {k} AS check_id, source_row FROM (SELECT source_row, ({c.sql}) AS bad FROM ({core})) WHERE bad"
            )
    if parts:
        con.execute("INSERT INTO _fails " + " UNION ALL ".join(parts))


def validate_file(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    file_sha256: str,
    run_id: str,
    cycles: tuple[str, ...] | list[str] | None = None,
    engine: str | None = None,
    gx_max_rows: int = GX_MAX_ROWS,
) -> FileValidation:
    """Check the rows of one loaded file; write problems, quarantine row errors, update ingest_files counts.

    ``cycles``: the cycle ids of config.toml (checks Projektjahr, R13) — pass ``[c.id for c in config.cycles]``.
    ``engine``: force "gx" or "sql"; by default GX up to ``gx_max_rows`` rows, DuckDB SQL above.
    Idempotent: re-validating a file replaces its earlier row-level problems.
    """
    t0 = time.perf_counter()
    table = model.tables()[table_name]
    checks = chk.checks_for(table_name, tuple(cycles) if cycles is not None else None)
    sha = sql_literal(file_sha256)
    file_name = con.execute("SELECT file_name FROM ingest_files WHERE file_sha256 = ?", [file_sha256]).fetchone()
    file_name = file_name[0] if file_name else None

    n_rows, snapshot = con.execute(
        f"SELECT count(*), max(snapshot_date) FROM core_{table_name} WHERE file_sha256 = {sha}"
    ).fetchone()
    use = engine or ("gx" if n_rows <= gx_max_rows else "sql")
    if use == "gx" and n_rows:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _vf AS {chk.frame_sql(table, sha)}")
        frame = con.execute("SELECT * FROM _vf").df()
        run = gx_engine.validate_frame(frame, table, checks, snapshot)
        fails_df = pd.DataFrame(run.failures, columns=["check_id", "source_row"]).astype("int64")  # noqa: F841
        con.execute("CREATE OR REPLACE TEMP TABLE _fails AS SELECT DISTINCT check_id, source_row FROM fails_df")
        store_gx_result(con, file_sha256, table_name, run)
    else:
        sql_failures(con, table, checks, sha)
        suite = results.suite_json(table, checks, snapshot)
        store_result(con, file_sha256, table_name, suite, results.sql_result(con, table, checks, sha, suite))
        # the frame of the failing rows only: their values go into the problem messages
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _vf AS {chk.frame_sql(table, sha, 'SELECT source_row FROM _fails')}"
        )

    # R00 (wrong field count) is the reader's finding, not a value check: re-validating keeps it
    row_rules = [r for r in rules() if r.startswith(ROW_RULE_PREFIXES) and r != "R00"]
    con.execute(
        f"DELETE FROM problems WHERE file_sha256 = {sha} AND rule_id IN ({', '.join(map(sql_literal, row_rules))})"
    )
    if checks:
        # One problem per rule, row and column even where two expectations of a rule both fail.
        con.execute(
            "INSERT INTO problems (run_id, severity, rule_id, table_name, file_name, file_sha256, source_row, "
            "column_name, value, message) SELECT DISTINCT * FROM ("
            + " UNION ALL ".join(_render_sql(c, k, run_id, file_name, file_sha256) for k, c in enumerate(checks))
            + ")"
        )
    counts = update_quarantine(con, table_name, [file_sha256])
    by_sev = dict(
        con.execute(
            f"SELECT severity, count(*) FROM problems WHERE file_sha256 = {sha} AND rule_id IN "
            f"({', '.join(map(sql_literal, row_rules))}) GROUP BY severity"
        ).fetchall()
    )
    con.execute("DROP TABLE IF EXISTS _vf; DROP TABLE IF EXISTS _fails")
    rows, quarantined = counts.get(file_sha256, (n_rows, 0))
    return FileValidation(table_name, file_sha256, rows, quarantined, by_sev, use, time.perf_counter() - t0)


def store_gx_result(con: duckdb.DuckDBPyConnection, sha: str, table_name: str, run: gx_engine.GxRun) -> None:
    """Keep the sanitized GX result of a file for Data Docs (replaces an earlier one of the same file)."""
    store_result(con, sha, table_name, run.suite, run.result)


def store_result(con: duckdb.DuckDBPyConnection, sha: str, table_name: str, suite: dict, result: dict) -> None:
    """Keep a file's suite and sanitized result (either engine) for Data Docs, replacing an earlier one."""
    con.execute("DELETE FROM gx_results WHERE file_sha256 = ?", [sha])
    con.execute(
        "INSERT INTO gx_results VALUES (?, ?, ?, ?)",
        [sha, table_name, json.dumps(suite, default=str), json.dumps(result, default=str)],
    )


def sql_stored_result(
    con: duckdb.DuckDBPyConnection, table_name: str, sha: str, cycles: tuple[str, ...] | None = None
) -> tuple[str, str]:
    """(suite JSON, result JSON) of a file from the SQL engine, without storing it or touching problems.

    For a file without a stored result (a database from before results were stored for every file).
    """
    table = model.tables()[table_name]
    checks = chk.checks_for(table_name, cycles)
    lit = sql_literal(sha)
    snapshot = con.execute(f"SELECT max(snapshot_date) FROM core_{table_name} WHERE file_sha256 = {lit}").fetchone()[0]
    sql_failures(con, table, checks, lit)
    suite = results.suite_json(table, checks, snapshot)
    result = results.sql_result(con, table, checks, lit, suite)
    con.execute("DROP TABLE IF EXISTS _fails")
    return json.dumps(suite, default=str), json.dumps(result, default=str)


def update_quarantine(
    con: duckdb.DuckDBPyConnection, table_name: str, shas: list[str], cross_run_id: str | None = None
) -> dict[str, tuple[int, int]]:
    """Set ``quarantined`` from the row errors of these files and update ingest_files counts.

    A row is quarantined when a row-level rule (any run) or a cross-table rule of ``cross_run_id`` found a row
    error in it. Returns sha -> (rows, quarantined); rows_loaded = rows - quarantined.
    """
    out = {}
    for sha in shas:
        s = sql_literal(sha)
        cross = f"OR (p.rule_id LIKE 'X%' AND p.run_id = {sql_literal(cross_run_id)})" if cross_run_id else ""
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _q AS SELECT DISTINCT source_row FROM problems p "
            f"WHERE p.file_sha256 = {s} AND p.severity = 'row_error' "
            f"AND (p.rule_id LIKE 'R%' {cross})"
        )
        con.execute(
            f"UPDATE core_{table_name} SET quarantined = FALSE WHERE file_sha256 = {s} AND quarantined "
            f"AND source_row NOT IN (SELECT source_row FROM _q)"
        )
        con.execute(
            f"UPDATE core_{table_name} SET quarantined = TRUE WHERE file_sha256 = {s} "
            f"AND NOT coalesce(quarantined, FALSE) AND source_row IN (SELECT source_row FROM _q)"
        )
        rows, q = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE quarantined) FROM core_{table_name} WHERE file_sha256 = {s}"
        ).fetchone()
        con.execute(
            "UPDATE ingest_files SET rows_loaded = ?, rows_quarantined = ? WHERE file_sha256 = ?", [rows - q, q, sha]
        )
        out[sha] = (rows, q)
    con.execute("DROP TABLE IF EXISTS _q")
    return out
