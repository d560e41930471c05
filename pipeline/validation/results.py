"""Validation results of the SQL engine in the sanitized form of GX results (``gx_results``), without GX.

A file checked in DuckDB SQL (more than ``GX_MAX_ROWS`` rows) gets the same stored result as one checked by
Great Expectations: the expectation suite its checks stand for and, per expectation, success and counts
(``element_count``, ``unexpected_count``, ``missing_count`` and the percentages; never values or rows).
Data Docs are then built from stored results for every file, and nothing is validated a second time.
Built from plain dicts: a large file's ingest does not pay for importing GX.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from importlib import metadata

import duckdb

from pipeline import model
from pipeline.validation import checks as chk
from pipeline.validation.rules import rule

# expectations whose GX result carries no missing counts (nulls are what they look at)
NULL_TYPES = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
_ID_NAMESPACE = uuid.UUID("5b0c6a5e-4f0e-4d35-9a55-0f6f3b8e1c11")


def expectation_type(class_name: str) -> str:
    """``ExpectColumnValuesToBeInSet`` -> ``expect_column_values_to_be_in_set`` (GX's ``type``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def condition_sql(row_condition: str) -> str:
    """The pandas row conditions of :mod:`checks` as SQL over ``_vf``."""
    if m := re.fullmatch(r"([a-z_]+)\.notna\(\)", row_condition):
        return f"{m[1]} IS NOT NULL"
    if m := re.fullmatch(r"(cond__[a-z_]+) == True", row_condition):
        return f"coalesce({m[1]}, FALSE)"
    raise ValueError(f"row condition without an SQL form: {row_condition!r}")


def _frame_column(name: str) -> str:
    # norm__x (normalised label text) exists only in the GX frame; it is NULL exactly where raw__x is
    return "raw__" + name.removeprefix("norm__") if name.startswith("norm__") else name


def missing_sql(c: chk.Check) -> str | None:
    """Predicate of the rows GX counts as missing for this check (None: the expectation counts none)."""
    kw = c.gx_kwargs
    if expectation_type(c.gx_type) in NULL_TYPES:
        return None
    if "column_list" in kw:
        return " OR ".join(f"{_frame_column(x)} IS NULL" for x in kw["column_list"])
    if "column_A" in kw:
        return f"{_frame_column(kw['column_A'])} IS NULL OR {_frame_column(kw['column_B'])} IS NULL"
    return f"{_frame_column(kw['column'])} IS NULL"


def suite_json(table: model.Table, checks: list[chk.Check], snapshot_date: dt.date | None) -> dict:
    """The expectation suite of these checks as GX writes it (``ExpectationSuite.to_json_dict``)."""
    expectations = []
    for i, c in enumerate(checks):
        kwargs = {}
        for k, v in c.gx_kwargs.items():
            if v == "$snapshot_date":
                v = dt.datetime.combine(snapshot_date or dt.date.max, dt.time()).isoformat()
            elif k in ("min_value", "max_value") and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)  # GX keeps numeric bounds as floats
            if v is not None:  # GX leaves unset bounds out
                kwargs[k] = v
        if "row_condition" in kwargs:  # GX 1.x stores a pandas condition string as a pass-through filter
            kwargs["row_condition"] = {"pass_through_filter": kwargs["row_condition"], "type": "pass_through"}
        expectations.append(
            {
                "type": expectation_type(c.gx_type),
                "kwargs": kwargs,
                "meta": {"check": i, "column": c.column, "rule_id": c.rule_id, "severity": rule(c.rule_id).severity},
                "id": str(uuid.uuid5(_ID_NAMESPACE, f"{table.name}/{i}/{c.rule_id}/{c.column}")),
                "severity": "critical",
            }
        )
    meta = {"great_expectations_version": _gx_version()}
    return {"name": f"{table.name}_rows", "id": None, "expectations": expectations, "meta": meta, "notes": None}


def _gx_version() -> str | None:
    try:
        return metadata.version("great-expectations")
    except metadata.PackageNotFoundError:
        return None


def _counts(element: int, unexpected: int, missing: int | None) -> dict:
    out = {"element_count": element, "unexpected_count": unexpected}
    if missing is None:
        out["unexpected_percent"] = unexpected / element * 100 if element else None
    else:
        nonmissing = element - missing
        pct = unexpected / nonmissing * 100 if nonmissing else None
        out |= {
            "unexpected_percent": pct,
            "unexpected_percent_total": unexpected / element * 100 if element else None,
            "unexpected_percent_nonmissing": pct,
            "missing_count": missing,
            "missing_percent": missing / element * 100 if element else None,
        }
    out["partial_unexpected_list"] = []  # renderers look for it; empty, never values
    return out


def sql_result(con: duckdb.DuckDBPyConnection, table: model.Table, checks: list[chk.Check], sha_literal: str,
               suite: dict) -> dict:
    """The sanitized result of the SQL engine's run, from ``_fails`` (check_id, source_row) of this file.

    Passed expectations carry an empty ``result`` (as GX's BOOLEAN_ONLY pass leaves them); failed ones the
    counts of GX's COMPLETE pass, from one aggregate over the file's frame.
    """
    unexpected = dict(con.execute("SELECT check_id, count(DISTINCT source_row) FROM _fails GROUP BY 1").fetchall())
    failed = sorted(k for k in unexpected if unexpected[k])
    counts: dict[int, tuple[int, int | None]] = {}
    if failed:
        cols = []
        for k in failed:
            cond = checks[k].gx_kwargs.get("row_condition")
            domain = condition_sql(cond) if cond else "TRUE"
            miss = missing_sql(checks[k])
            cols.append(f"count(*) FILTER (WHERE {domain})")
            cols.append(f"count(*) FILTER (WHERE ({domain}) AND ({miss}))" if miss else "NULL")
        totals: list[int | None] = [0 if c != "NULL" else None for c in cols]
        for span in chk.row_ranges(con, table, sha_literal):  # joined in ranges, as the checks were (memory)
            row = con.execute(f"SELECT {', '.join(cols)} FROM ({chk.frame_sql(table, sha_literal, span=span)})")
            for j, v in enumerate(row.fetchone()):
                if totals[j] is not None:
                    totals[j] += v
        counts = {k: (totals[2 * i], totals[2 * i + 1]) for i, k in enumerate(failed)}
    results = []
    for i, exp in enumerate(suite["expectations"]):
        config = {**exp, "kwargs": {"batch_id": f"pipeline-{table.name}", **exp["kwargs"]}}
        result = _counts(counts[i][0], unexpected[i], counts[i][1]) if i in counts else {}
        results.append(
            {
                "success": i not in counts,
                "expectation_config": config,
                "result": result,
                "meta": {},
                "exception_info": {"raised_exception": False, "exception_traceback": None, "exception_message": None},
            }
        )
    n = len(results)
    return {
        "success": not counts,
        "results": results,
        "suite_name": suite["name"],
        "suite_parameters": {},
        "statistics": {
            "evaluated_expectations": n,
            "successful_expectations": n - len(counts),
            "unsuccessful_expectations": len(counts),
            "success_percent": (n - len(counts)) / n * 100 if n else None,
        },
        "meta": {
            "great_expectations_version": _gx_version(),
            "batch_spec": {"batch_data": "DuckDB SQL"},
            "active_batch_definition": {
                "datasource_name": "pipeline",
                "data_connector_name": "duckdb-sql",
                "data_asset_name": table.name,
                "batch_identifiers": {},
            },
            "engine": "sql",
        },
        "id": None,
    }
