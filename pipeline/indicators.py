"""Compute the indicator catalogue for one report period with the SQL files under ``sql/``.

The SQL reads only the temp views of the snapshots in force (``db.create_current_views``) and three small temp
tables written here: ``period_params`` (one row: period, data state, capacity, configured open questions),
``cycle_funding_periods`` (cycle id → funding period) and ``indicator_catalogue`` (ids, order, unit, family,
funding period, whether the period reports it and whether its data are in force). Python only orders and
formats the result.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipeline import catalogue, db, files
from pipeline.config import Config
from pipeline.period import Period, resolve_period

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SQL_FILES = ("populations.sql", "project_indicators.sql", "esf_outputs.sql", "esf_results.sql")
OUTPUT_VIEWS = ("out_project_indicators", "out_esf_outputs", "out_esf_results")
COLUMNS = ["indicator_id", "dimension", "category", "numerator", "denominator", "value"]
# order of the breakdown dimensions inside one indicator
DIMENSION_ORDER = ("total", "gender", "jobcenter_site", "household_type", "help_group", "exit_reason", "statistic",
                   "month", "keine_angabe")
AUDIENCES = ("intern", "foerdergeber", "oeffentlich")
# Without these no report can be made; a missing optional table leaves the indicators it feeds empty.
REQUIRED_TABLES = ("households", "persons")
OPTIONAL_TABLE_INDICATORS = {
    "contacts": ("K11", "K12"),
    "helps": ("K05", "K06", "K07", "K08", "K16"),
    "followups": ("EECR05", "CR06"),
}


class MissingSnapshot(Exception):
    """Households or persons have no snapshot in force (at ``--as-of``): no report can be made (exit 1)."""


@dataclass
class IndicatorResult:
    period: Period
    funding_period: str
    data_state: dt.date | None  # Datenstand
    snapshots: dict[str, dt.date]  # table -> snapshot date used
    audience: str
    table: pd.DataFrame = field(repr=False)  # COLUMNS, rows in catalogue order
    # optional tables with no snapshot in force -> their earliest snapshot date (None: never delivered)
    missing_tables: dict[str, dt.date | None] = field(default_factory=dict)

    @property
    def funding_periods(self) -> tuple[str, ...]:
        """The funding periods whose ESF set the table holds (both for a range across the change-over)."""
        return self.period.funding_periods

    def notes(self) -> list[str]:
        """German notes on optional tables without a snapshot in force, naming the indicators left empty."""
        from pipeline import model

        shown = set(self.table["indicator_id"])
        out = []
        for t, first in self.missing_tables.items():
            label = model.tables()[t].label
            empty = [i for i in OPTIONAL_TABLE_INDICATORS.get(t, ()) if i in shown]
            if first is None:
                head = f"Keine Lieferung der {label}"
            else:
                when = f" bis zum {self.data_state:%d.%m.%Y}" if self.data_state else ""
                head = f"Kein Stand der {label}{when} (erster Stand: {first:%d.%m.%Y})"
            verb = "bleibt" if len(empty) == 1 else "bleiben"
            out.append(f"{head}: {', '.join(empty)} {verb} leer." if empty else f"{head}.")
        return out


def _write_params(con: duckdb.DuckDBPyConnection, config: Config, period: Period, data_state: dt.date | None) -> None:
    if period.kind == "cycle":
        cyc = period.cycle
        place_days = cyc.places * cyc.days
        coach_fte = cyc.coach_fte
        period_days = cyc.days
    else:
        # places and FTE of the cycles overlapping P, weighted by their overlapping days; days of P that no
        # cycle covers carry neither (indicators.md, Clarifications)
        place_days = sum(c.places * period.overlap_days(c) for c in period.overlapping_cycles)
        period_days = period.covered_days
        coach_fte = sum(c.coach_fte * period.overlap_days(c) for c in period.overlapping_cycles) / period_days
    con.execute(
        """CREATE OR REPLACE TEMP TABLE period_params AS SELECT
             $report_kind::VARCHAR AS report_kind, $cycle_id::VARCHAR AS cycle_id,
             $p_start::DATE AS p_start, $p_end::DATE AS p_end, $data_state::DATE AS data_state,
             $p_start::DATE AS capacity_start, $p_end::DATE AS capacity_end,
             $period_days::INTEGER AS capacity_period_days, $place_days::BIGINT AS place_days,
             $coach_fte::DOUBLE AS coach_fte,
             $ltu_u25::INTEGER AS ltu_months_under_25, $ltu_25p::INTEGER AS ltu_months_25_plus,
             $eecr01::BOOLEAN AS eecr01_inactive_at_entry_only,
             $statuses::VARCHAR[] AS counted_help_statuses, $rural::VARCHAR[] AS rural_municipalities""",
        {
            "report_kind": period.kind,
            "cycle_id": period.cycle.id if period.cycle else None,
            "p_start": period.start,
            "p_end": period.end,
            "data_state": data_state,
            "period_days": period_days,
            "place_days": place_days,
            "coach_fte": coach_fte,
            "ltu_u25": config.esf.ltu_months_under_25,
            "ltu_25p": config.esf.ltu_months_25_plus,
            "eecr01": config.esf.eecr01_inactive_at_entry_only,
            "statuses": list(config.indicators.counted_help_statuses),
            "rural": list(config.esf.rural_municipalities),
        },
    )
    _create_table(con, "cycle_funding_periods", {"cycle_id": "VARCHAR", "funding_period": "VARCHAR"},
                  [(c.id, c.funding_period) for c in config.cycles])


def _create_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
    """A small temp table from Python rows in one statement (one list per column, unnested side by side):
    ``executemany`` ran one INSERT per row, a noticeable fixed cost of every computation."""
    cols = list(columns.items())
    lists = {f"c{i}": [row[i] for row in rows] for i in range(len(cols))}
    select = ", ".join(f"unnest(${k}::{t}[]) AS {n}" for k, (n, t) in zip(lists, cols, strict=True))
    defs = ", ".join(f"{n} {t}" for n, t in cols)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({defs})")
    if rows:
        con.execute(f"INSERT INTO {name} SELECT {select}", lists)


def _write_catalogue(
    con: duckdb.DuckDBPyConnection, funding_periods: tuple[str, ...], audience: str, missing: set[str]
) -> None:
    """``esf_funding_period``: an ESF indicator counts only the participants of that funding period's cycles."""
    unavailable = {i for t in missing for i in OPTIONAL_TABLE_INDICATORS.get(t, ())}
    rows = [
        (
            ind.id,
            i,
            ind.unit,
            ind.family,
            "esfplus_2021_2027" in ind.funding_periods,
            ind.funding_periods[0] if ind.family != "project" else None,
            any(fp in ind.funding_periods for fp in funding_periods)
            and (ind.audience == "all" or audience == "intern"),
            ind.id not in unavailable,
        )
        for i, ind in enumerate(catalogue.indicators())
    ]
    _create_table(con, "indicator_catalogue", {
        "indicator_id": "VARCHAR", "sort_order": "INTEGER", "unit": "VARCHAR", "family": "VARCHAR",
        "reports_non_binary": "BOOLEAN", "esf_funding_period": "VARCHAR", "selected": "BOOLEAN", "available": "BOOLEAN",
    }, rows)


def require_snapshots(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> dict[str, dt.date | None]:
    """Raise :class:`MissingSnapshot` unless households and persons have a snapshot in force (≤ ``as_of``).

    Returns the optional tables without one, each with its earliest snapshot date (None: never delivered).
    """
    from pipeline import model

    snapshots = db.snapshots_in_force(con, as_of)
    first = dict(con.execute(
        "SELECT table_name, min(snapshot_date) FROM ingest_files WHERE status = 'loaded' GROUP BY table_name"
    ).fetchall())
    missing = [t for t in REQUIRED_TABLES if t not in snapshots]
    if not missing:
        return {t: first.get(t) for t in OPTIONAL_TABLE_INDICATORS if t not in snapshots}
    labels = model.tables()
    parts = [
        f"der {labels[t].label} (erster Stand: {first[t]:%d.%m.%Y})" if t in first
        else f"der {labels[t].label} (noch keine Lieferung)"
        for t in missing
    ]
    where = f"Zum Datenstand {as_of:%d.%m.%Y} gibt es" if as_of else "Es gibt"
    text = f"{where} keinen Stand {' und '.join(parts)}; damit kann kein Bericht erstellt werden."
    dated = [first[t] for t in missing if t in first]
    if as_of and len(dated) == len(missing):
        text += f" Bitte --as-of auf den {max(dated):%d.%m.%Y} oder später setzen."
    else:
        text += " Bitte die Exportdatei in den Eingangsordner legen und 'esf-pipeline ingest' ausführen."
    english = ", ".join(f"{t} (earliest {first[t].isoformat()})" if t in first else f"{t} (never delivered)"
                        for t in missing)
    raise MissingSnapshot(f"{text} / no snapshot{' on or before ' + as_of.isoformat() if as_of else ''}: {english}")




def compute(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    period: Period | str,
    as_of: dt.date | None = None,
    audience: str = "foerdergeber",
) -> IndicatorResult:
    """Every indicator of the period's funding periods (K18 only for ``audience="intern"``), exact figures.

    Raises :class:`MissingSnapshot` when households or persons have no snapshot in force; the indicators of an
    optional table without one are empty (``IndicatorResult.missing_tables``, ``IndicatorResult.notes()``).
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r} (use {AUDIENCES})")
    if isinstance(period, str):
        period = resolve_period(config, period)
    missing = require_snapshots(con, as_of)
    snapshots = db.create_current_views(con, as_of)
    data_state = db.data_state(con, as_of)
    _write_params(con, config, period, data_state)
    _write_catalogue(con, period.funding_periods, audience, set(missing))
    for name in SQL_FILES:
        con.execute((SQL_DIR / name).read_text(encoding="utf-8"))
    union = " UNION ALL ".join(f"SELECT * FROM {v}" for v in OUTPUT_VIEWS)
    dim_order = "CASE o.dimension " + " ".join(f"WHEN '{d}' THEN {i}" for i, d in enumerate(DIMENSION_ORDER)) + " END"
    table = con.execute(
        f"""SELECT o.indicator_id, o.dimension, o.category,
                   CASE WHEN c.available THEN o.numerator END AS numerator,
                   CASE WHEN c.available THEN o.denominator END AS denominator,
                   CASE WHEN c.available THEN o.value END AS value
            FROM ({union}) AS o JOIN indicator_catalogue AS c USING (indicator_id)
            WHERE c.selected
            ORDER BY c.sort_order, {dim_order}, o.cat_order, o.category"""
    ).df()
    table["numerator"] = table["numerator"].astype("Int64")
    table["denominator"] = table["denominator"].astype("Int64")
    table["value"] = table["value"].astype("Float64")
    return IndicatorResult(period, period.funding_period, data_state, snapshots, audience, table.reset_index(drop=True),
                           missing)


def format_decimal(value: float) -> str:
    """At least 4 decimals and no rounding below 10 (``0.8571428571``, ``0.5000``, ``45.5000``)."""
    text = f"{value:.10f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(4, '0')}"


def _cell(value, integer: bool) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if integer:
        return str(int(round(float(value))))
    return format_decimal(float(value))


def csv_text(result: IndicatorResult) -> str:
    """indicators.csv content: ``,`` separator, ``.`` decimals, counts as integers, empty cells for empty."""
    units = {ind.id: ind.unit for ind in catalogue.indicators()}
    lines = [",".join(COLUMNS)]
    for row in result.table.itertuples(index=False):
        is_count = units[row.indicator_id] == "count"
        cells = [row.indicator_id, row.dimension, _quote(row.category),
                 _cell(row.numerator, True), _cell(row.denominator, True), _cell(row.value, is_count)]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(result: IndicatorResult, path: Path) -> Path:
    """Write indicators.csv atomically (UTF-8 without BOM, LF line ends)."""
    return files.write_text(path, csv_text(result))
