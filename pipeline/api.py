"""A small Python API for analysts and notebooks: pseudonymous tables, the indicators, the catalogue, charts.

Every function reads a **private read-only copy** of the database (see :func:`connect`), so a notebook left
open never blocks an ingest or a report run::

    import pipeline
    with pipeline.connect(db="demo/data/esf.duckdb") as con:
        con.sql("SELECT household_type, count(*) FROM households GROUP BY ALL").df()
    persons = pipeline.table("persons", db="demo/data/esf.duckdb")        # age band, no birth date
    k = pipeline.indicators("2025", db="demo/data/esf.duckdb")            # the numbers of indicators.csv

Privacy (outputs.md): the API shows pseudonymous ids, age bands and codes, never names, BG numbers or birth
dates. The views of :func:`connect` leave out the keyed hashes and replace ``birth_date`` by
``age_band_at_entry``; the ``core_*`` tables of the copy still hold birth dates, so never print them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd

from pipeline import catalogue as _catalogue
from pipeline import model
from pipeline.api_copy import (  # the copy and its views; re-exported: pipeline.api is the public module
    AGE_BANDS,
    HIDDEN_COLUMNS,
    MASKED_VALUE_COLUMNS,
    TABLES,
    DatabaseNotFound,
    _load,
    connect,
)
from pipeline.config import Config

# --- data frames ---------------------------------------------------------------------------------------


def table(
    name: str,
    as_of: dt.date | str | None = None,
    *,
    db: Path | str | None = None,
    config: Path | str | Config = "config.toml",
) -> pd.DataFrame:
    """One table as a pandas DataFrame, pseudonymous.

    ``name``: ``households``, ``persons``, ``contacts``, ``helps``, ``followups`` (clean rows of the snapshot in
    force), ``quarantine`` (quarantined rows with their problems), ``problems`` (every finding ever recorded,
    ``in_force`` = of a file of a snapshot in force; values of personal and special-category columns hidden,
    birth dates as year) or ``ingest_files``.
    Codes stay codes (``labels()`` has the German labels). No ``name_hash``/``bg_number_hash``; ``persons``
    has ``age_band_at_entry`` (full years at ESF entry, at household entry for non-participants) instead of
    ``birth_date``.
    """
    if name not in TABLES:
        raise ValueError(f"Unbekannte Tabelle {name!r}; erlaubt: {', '.join(TABLES)}")
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    params: dict = {}
    with connect(db, config, as_of) as con:
        if name == "problems":
            masked = ", ".join(f"'{c}'" for c in MASKED_VALUE_COLUMNS)
            # in_force: the finding belongs to a file of a snapshot in force (what the indicators read)
            sql = f"""WITH in_force AS (
                          SELECT f.file_sha256 FROM ingest_files AS f
                          JOIN (SELECT table_name, max(snapshot_date) AS snapshot_date FROM ingest_files
                                WHERE status = 'loaded' AND ($as_of IS NULL OR snapshot_date <= $as_of)
                                GROUP BY table_name) AS s USING (table_name, snapshot_date)
                          WHERE f.status = 'loaded')
                      SELECT p.run_id, p.severity, p.rule_id, p.table_name, p.file_name, p.source_row,
                        p.column_name,
                        CASE WHEN p.column_name = 'birth_date'
                                  THEN nullif(regexp_extract(p.value, '(\\d{{4}})', 1), '')
                             WHEN p.column_name IN ({masked}) THEN NULL ELSE p.value END AS value, p.message,
                        p.file_sha256 IN (SELECT file_sha256 FROM in_force) AS in_force
                      FROM problems AS p ORDER BY p.table_name, p.file_name, p.source_row, p.rule_id"""
            params = {"as_of": as_of}
        elif name == "ingest_files":
            sql = """SELECT file_sha256, file_name, table_name, snapshot_date, file_format, rows_read, rows_loaded,
                            rows_quarantined, status, message, run_id, ingested_at
                     FROM ingest_files ORDER BY table_name, snapshot_date"""
        else:
            sql = f"SELECT * FROM {name}"
        df = con.execute(sql, params).df()
    return df.drop(columns=[c for c in HIDDEN_COLUMNS if c in df.columns])


def labels(list_name: str | None = None) -> pd.DataFrame:
    """The label lists (code → German label, sort order, group), e.g. ``labels("household_type")``."""
    rows = [
        (name, code, label, i, lst.groups.get(code))
        for name, lst in model.label_lists().items()
        if list_name in (None, name)
        for i, (code, label) in enumerate(lst.labels.items())
    ]
    if list_name is not None and not rows:
        raise ValueError(f"Unbekannte Liste {list_name!r}")
    return pd.DataFrame(rows, columns=["list_name", "code", "label", "sort_order", "group_code"])


def indicators(
    period: str,
    as_of: dt.date | str | None = None,
    audience: str = "foerdergeber",
    *,
    db: Path | str | None = None,
    config: Path | str | Config = "config.toml",
) -> pd.DataFrame:
    """The indicator table of ``period`` (cycle id or ``YYYY-MM-DD..YYYY-MM-DD``): the numbers of indicators.csv.

    Computed by ``pipeline.indicators.compute`` (the same SQL as the reports) on a private copy. Columns
    ``indicator_id, dimension, category, numerator, denominator, value`` plus ``label`` and ``unit`` from the
    catalogue. ``df.attrs`` holds ``period``, ``funding_period``, ``data_state`` and ``snapshots``.
    ``audience="intern"`` adds K18. Exact figures: no disclosure control, so do not publish them as they are.
    """
    from pipeline import indicators as _indicators

    cfg = _load(config)
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    with connect(db, cfg, as_of, pseudonymous=False) as con:
        result = _indicators.compute(con, cfg, period, as_of=as_of, audience=audience)
    df = result.table.copy()
    by_id = {i.id: i for i in _catalogue.indicators()}
    df["label"] = df["indicator_id"].map(lambda i: by_id[i].label)
    df["unit"] = df["indicator_id"].map(lambda i: by_id[i].unit)
    df.attrs.update(period=result.period.id, funding_period=result.funding_period, data_state=result.data_state,
                    snapshots=dict(result.snapshots), audience=audience)
    return df


def compare_cycles(
    as_of: dt.date | str | None = None,
    *,
    db: Path | str | None = None,
    config: Path | str | Config = "config.toml",
) -> pd.DataFrame:
    """Every cycle in the database side by side (the reports' chapter "Projektjahre im Vergleich"), exact figures.

    Long form, one row per cycle × figure: ``cycle, funding_period, status, final, indicator, source_id, label,
    unit, numerator, denominator, value``. ``indicator`` is K01, K02, K03, K05, K06, K09, K10, K13, K15, K19, K20,
    ``ESF_TOTAL`` (EECO01; 2014-20: K02) or ``ESF_JOB`` (EECR04; 2014-20: CR04); ``source_id`` names the indicator
    the value comes from. ``status``: ``final``, ``running`` (the cycle has not ended, or households or participants
    are still in the project) or ``followups_pending`` (the six-month follow-up of the last leaver is not due yet);
    only ``final`` cycles compare as final results. ``df.attrs["data_state"]`` holds the data state. Wide view::

        cmp = api.compare_cycles(db="demo/data/esf.duckdb")
        cmp.pivot(index="cycle", columns="indicator", values="value")
    """
    from pipeline import db as _database
    from pipeline.reports import comparison

    cfg = _load(config)
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    with connect(db, cfg, as_of, pseudonymous=False) as con:
        state = _database.data_state(con, as_of)
        return comparison.compare_cycles(con, cfg, state).to_frame()


def targets(
    period: str,
    as_of: dt.date | str | None = None,
    *,
    db: Path | str | None = None,
    config: Path | str | Config = "config.toml",
) -> pd.DataFrame:
    """The targets of ``period`` (``[[cycles]] targets`` of config.toml) against its results, exact figures.

    One row per target: ``indicator_id, label, unit, direction`` (``at_least``/``at_most``), ``target`` (a share
    as a fraction: 0.65), ``result``, ``numerator``, ``denominator``, ``met`` (True/False, None when the result is
    empty, e.g. a share with denominator 0), ``difference`` (result − target) and ``status`` (German).
    """
    from pipeline.period import resolve_period
    from pipeline.reports.disclosure import Rules
    from pipeline.reports.figures import Lookup
    from pipeline.reports.targets import target_rows, targets_for

    cfg = _load(config)
    ind = indicators(period, as_of, db=db, config=cfg)
    rows = target_rows(Lookup(ind), targets_for(cfg, resolve_period(cfg, period)), Rules.for_audience(cfg, "intern"))
    cols = ["indicator_id", "label", "unit", "direction", "target", "result", "numerator", "denominator", "met",
            "difference", "status"]
    return pd.DataFrame([[r.id, r.label, r.unit, r.direction, r.target, r.result, r.numerator, r.denominator,
                          r.met, r.difference, r.status] for r in rows], columns=cols)


def catalogue(funding_period: str | None = None) -> pd.DataFrame:
    """The indicator catalogue: id, label, definition, unit, family, funding_periods, audience, special_category,
    sql_file (catalogue order; only one funding period's indicators when ``funding_period`` is given)."""
    inds = _catalogue.for_funding_period(funding_period) if funding_period else _catalogue.indicators()
    fields = [f.name for f in dataclasses.fields(_catalogue.Indicator)]
    return pd.DataFrame([dataclasses.asdict(i) for i in inds], columns=fields)


def cycles_present(
    db: Path | str | None = None, config: Path | str | Config = "config.toml", as_of: dt.date | str | None = None
) -> list[str]:
    """Configured cycles with at least one started household in the snapshot in force, oldest first."""
    cfg = _load(config)
    with connect(db, cfg, as_of) as con:
        present = {r[0] for r in con.execute(
            "SELECT DISTINCT project_cycle FROM households WHERE status IS DISTINCT FROM 'not_started'").fetchall()}
    return [c.id for c in sorted(cfg.cycles, key=lambda c: c.start) if c.id in present]


def newest_cycle(
    db: Path | str | None = None, config: Path | str | Config = "config.toml", as_of: dt.date | str | None = None
) -> str:
    """The newest cohort present (the notebooks' default cycle)."""
    cycles = cycles_present(db, config, as_of)
    if not cycles:
        raise LookupError("Keine Haushalte in der Datenbank / no households in the database")
    return cycles[-1]


# --- charts --------------------------------------------------------------------------------------------
# The report charts of pipeline/reports/charts.py, re-exported (they return SVG text; show one in a notebook
# with :func:`show`). Imported on first use: that module switches matplotlib to the Agg backend, which a
# notebook should not get just by importing the API.
CHARTS = ("households_over_time", "horizontal_bars", "grouped_by_gender")


def __getattr__(name: str):
    if name in CHARTS:
        from pipeline.reports import charts

        return getattr(charts, name)
    raise AttributeError(f"module 'pipeline.api' has no attribute {name!r}")


def show(svg: str):
    """Display an SVG string of a report chart in a notebook."""
    from IPython.display import SVG

    return SVG(svg)


__all__ = [  # noqa: F822 - the chart names resolve through __getattr__
    "AGE_BANDS", "DatabaseNotFound", "catalogue", "compare_cycles", "connect", "cycles_present", "grouped_by_gender",
    "horizontal_bars", "households_over_time", "indicators", "labels", "newest_cycle", "show", "table", "targets",
]
