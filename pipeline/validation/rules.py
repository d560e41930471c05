"""Rule catalogue (``pipeline/data/rules.toml``) and the one form every problem takes.

``problem(rule_id, **fields)`` builds a row of the ``problems`` table; the reader uses it for the
file-level rules (F01–F08, W01, W02), validation for everything else.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import duckdb

from pipeline import model

SEVERITIES = ("file_error", "row_error", "warning")
PROBLEM_COLUMNS = (
    "run_id",
    "severity",
    "rule_id",
    "table_name",
    "file_name",
    "file_sha256",
    "source_row",
    "column_name",
    "value",
    "message",
)
FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    message: str
    defect_kinds: tuple[str, ...] = ()
    guidance: str = ""  # what to do about it, for the web page's rule pages


@cache
def rules() -> dict[str, Rule]:
    with resources.files("pipeline.data").joinpath("rules.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    out = {}
    for rule_id, r in raw.items():
        if r["severity"] not in SEVERITIES:
            raise ValueError(f"rules.toml: {rule_id} has unknown severity {r['severity']!r}")
        out[rule_id] = Rule(
            rule_id, r["severity"], r["title"], r["message"], tuple(r.get("defect_kinds", ())), r.get("guidance", "")
        )
    return out


def rule(rule_id: str) -> Rule:
    return rules()[rule_id]


class _Blank(dict):
    """format_map helper: a placeholder without a value renders empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def placeholders(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def render(rule_id: str, **params: object) -> str:
    """The German message of a rule with its placeholders filled (missing ones empty)."""
    params = {k: ("" if v is None else v) for k, v in params.items()}
    if "table" not in params and params.get("table_name") in model.tables():
        params["table"] = model.tables()[params["table_name"]].label
    return rule(rule_id).message.format_map(_Blank(params))


def problem(
    rule_id: str,
    *,
    table_name: str | None = None,
    file_name: str | None = None,
    file_sha256: str | None = None,
    source_row: int | None = None,
    column_name: str | None = None,
    value: str | None = None,
    run_id: str | None = None,
    **params: object,
) -> dict:
    """One ``problems`` row for ``rule_id``; extra keyword arguments fill the message placeholders.

    Example (reader, missing required column)::

        problem("F04", table_name="households", file_name="haushalte_20190301.csv",
                file_sha256=sha, column_name="household_id", header="BG-ID", run_id=run_id)

    ``value`` must already be safe to show (no names, BG numbers, full birth dates).
    """
    r = rule(rule_id)
    msg = render(rule_id, table_name=table_name, file_name=file_name, value=value, **params)
    return {
        "run_id": run_id,
        "severity": r.severity,
        "rule_id": rule_id,
        "table_name": table_name,
        "file_name": file_name,
        "file_sha256": file_sha256,
        "source_row": source_row,
        "column_name": column_name,
        "value": value,
        "message": msg,
    }


def insert_problems(con: duckdb.DuckDBPyConnection, problems: list[dict]) -> None:
    """Append problem dicts (from :func:`problem`) to the ``problems`` table."""
    if problems:
        con.executemany(
            f"INSERT INTO problems ({', '.join(PROBLEM_COLUMNS)}) VALUES ({', '.join('?' * len(PROBLEM_COLUMNS))})",
            [tuple(p[c] for c in PROBLEM_COLUMNS) for p in problems],
        )


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
