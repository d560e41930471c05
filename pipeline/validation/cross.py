"""Rules across tables on the snapshots in force: the SQL files in ``sql/checks/``.

Each file ``<rule id>_<name>.sql`` returns failing rows with the columns ``table_name, file_sha256,
source_row, column_name, value`` and optionally message placeholders (``other_value``, ``household_id``,
``name_hash``, ``ref_snapshot``). It reads the temporary views ``chk_<table>``: every row of the snapshot in
force (quarantined or not). A header line ``-- requires: <table>`` skips the check when that table has no
snapshot (a missing households file must not turn every reference into an error).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline import db, model
from pipeline.validation.row import update_quarantine
from pipeline.validation.rules import placeholders, rule, rules, sql_literal

CHECKS_DIR = Path(__file__).resolve().parents[2] / "sql" / "checks"


@dataclass
class CrossValidation:
    problems: dict[str, int] = field(default_factory=dict)  # rule id -> count
    by_severity: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)  # table -> rows quarantined (all rules)
    skipped: list[str] = field(default_factory=list)  # checks skipped for a missing table
    seconds: dict[str, float] = field(default_factory=dict)


def check_files(directory: Path = CHECKS_DIR) -> list[tuple[str, Path]]:
    out = []
    for path in sorted(directory.glob("*.sql")):
        rule_id = path.stem.split("_", 1)[0]
        if rule_id not in rules():
            raise ValueError(f"{path.name}: rule {rule_id} is not in rules.toml")
        out.append((rule_id, path))
    return out


def files_in_force(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> dict[str, list[str]]:
    """table -> file hashes of the snapshot in force."""
    out: dict[str, list[str]] = {}
    for table, snap in db.snapshots_in_force(con, as_of).items():
        rows = con.execute(
            "SELECT file_sha256 FROM ingest_files WHERE table_name = ? AND snapshot_date = ? AND status = 'loaded'",
            [table, snap],
        ).fetchall()
        out[table] = [r[0] for r in rows]
    return out


def create_check_views(con: duckdb.DuckDBPyConnection, in_force: dict[str, list[str]]) -> None:
    for name in model.tables():
        shas = ", ".join(sql_literal(s) for s in in_force.get(name, [])) or "NULL"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW chk_{name} AS SELECT * FROM core_{name} WHERE file_sha256 IN ({shas})"
        )


def _insert(con: duckdb.DuckDBPyConnection, rule_id: str, run_id: str) -> int:
    """Render the rows of ``_xfail`` as problems of ``rule_id``."""
    cols = {r[0] for r in con.execute("DESCRIBE _xfail").fetchall()}
    r = rule(rule_id)
    msg = sql_literal(r.message)
    for name in placeholders(r.message):
        if name == "table":
            expr = "coalesce(l.label, x.table_name)"
        elif name in cols:
            expr = f"CAST(x.{name} AS VARCHAR)"
        else:
            expr = "NULL"
        msg = f"replace({msg}, '{{{name}}}', coalesce({expr}, ''))"
    labels = " UNION ALL ".join(
        f"SELECT {sql_literal(t.name)} AS name, {sql_literal(t.label)} AS label" for t in model.tables().values()
    )
    con.execute(
        f"""INSERT INTO problems (run_id, severity, rule_id, table_name, file_name, file_sha256, source_row,
                column_name, value, message)
            SELECT {sql_literal(run_id)}, {sql_literal(r.severity)}, {sql_literal(rule_id)}, x.table_name,
                   f.file_name, x.file_sha256, x.source_row, x.column_name, CAST(x.value AS VARCHAR), {msg}
            FROM _xfail x LEFT JOIN ingest_files f USING (file_sha256)
            LEFT JOIN ({labels}) l ON l.name = x.table_name"""
    )
    return con.execute("SELECT count(*) FROM _xfail").fetchone()[0]


def validate_cross_table(
    con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.date | None = None, checks_dir: Path = CHECKS_DIR
) -> CrossValidation:
    """Run every ``sql/checks`` file on the snapshots in force; broken references quarantine their rows.

    Re-running with the same ``run_id`` replaces that run's cross-table problems. Quarantine flags and
    ingest_files counts of the files in force are recomputed (row rules + this run's cross rules).
    """
    result = CrossValidation()
    in_force = files_in_force(con, as_of)
    create_check_views(con, in_force)
    con.execute("DELETE FROM problems WHERE run_id = ? AND rule_id LIKE 'X%'", [run_id])
    for rule_id, path in check_files(checks_dir):
        sql = path.read_text(encoding="utf-8")
        required = re.findall(r"^--\s*requires:\s*(\w+)", sql, flags=re.M)
        if any(t not in in_force for t in required):
            result.skipped.append(path.stem)
            continue
        t0 = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE _xfail AS {sql}")
        n = _insert(con, rule_id, run_id)
        result.seconds[path.stem] = round(time.perf_counter() - t0, 3)
        if n:
            result.problems[rule_id] = result.problems.get(rule_id, 0) + n
            sev = rule(rule_id).severity
            result.by_severity[sev] = result.by_severity.get(sev, 0) + n
    con.execute("DROP TABLE IF EXISTS _xfail")
    for table, shas in in_force.items():
        counts = update_quarantine(con, table, shas, cross_run_id=run_id)
        result.quarantined[table] = sum(q for _, q in counts.values())
    return result
