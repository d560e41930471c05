"""Great Expectations as the row-check engine: suites generated from :mod:`checks`, run on pandas.

GX is imported lazily (it is slow to import) with analytics off. Every expectation carries its rule
id, severity and check index in ``meta``; failures are mapped back to source rows through
``unexpected_index_list``. An expectation that raised is never read as "passed".
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from functools import cache

import pandas as pd

from pipeline import model
from pipeline.validation.checks import Check
from pipeline.validation.rules import rule


class ExpectationError(RuntimeError):
    """An expectation raised instead of evaluating (a broken check, not bad data)."""


@cache
def _gx():
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"great_expectations.*")
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


def context():
    """An ephemeral GX context without progress bars."""
    gx, _ = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def add_derived(frame: pd.DataFrame, table: model.Table) -> pd.DataFrame:
    """Columns the expectations read besides ``_vf``: normalised label text, unknown list items."""
    lists = model.label_lists()
    for col in table.columns:
        raw = f"raw__{col.name}"
        if col.type == "label":
            frame[f"norm__{col.name}"] = frame[raw].map(model.normalise, na_action="ignore")
        elif col.type == "list":
            known = {model.normalise(lbl) for lbl in lists[col.labels].labels.values()}

            def first_unknown(text: str, known: set[str] = known) -> str | None:
                bad = [i for i in (model.normalise(x) for x in text.split(",")) if i and i not in known]
                return bad[0] if bad else None

            frame[f"bad__{col.name}"] = frame[raw].map(first_unknown, na_action="ignore")
    return frame


def build_suite(name: str, checks: list[Check], snapshot_date: dt.date | None):
    """Expectation suite for one table: one expectation per check, rule id and severity in meta."""
    gx, gxe = _gx()
    suite = gx.ExpectationSuite(name=name)
    for i, chk in enumerate(checks):
        kwargs = dict(chk.gx_kwargs)
        for k, v in kwargs.items():
            if v == "$snapshot_date":
                kwargs[k] = dt.datetime.combine(snapshot_date or dt.date.max, dt.time())
        meta = {"rule_id": chk.rule_id, "severity": rule(chk.rule_id).severity, "check": i, "column": chk.column}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            suite.add_expectation(getattr(gxe, chk.gx_type)(**kwargs, meta=meta))
    return suite


def run_suite(ctx, table_name: str, suite, frame: pd.DataFrame, result_format: dict | None = None):
    """Validate ``frame`` against ``suite`` in ``ctx``; returns the GX validation result."""
    gx, _ = _gx()
    try:
        source = ctx.data_sources.get("pipeline")
    except Exception:  # noqa: BLE001 - GX raises its own KeyError types
        source = ctx.data_sources.add_pandas("pipeline")
    try:
        asset = source.get_asset(table_name)
    except Exception:  # noqa: BLE001
        asset = source.add_dataframe_asset(table_name)
    try:
        batch_def = asset.get_batch_definition("whole")
    except Exception:  # noqa: BLE001
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    fmt = result_format or {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": ["source_row"],
        "partial_unexpected_count": 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return batch.validate(suite, result_format=fmt)


def failures(result) -> list[tuple[int, int]]:
    """(check index, source_row) of every failing row; raises if an expectation broke."""
    out = []
    for r in result.results:
        info = r.exception_info or {}
        if isinstance(info, dict) and "raised_exception" not in info:  # keyed by metric id
            info = next(iter(info.values()), {}) if info else {}
        if info.get("raised_exception"):
            raise ExpectationError(
                f"{r.expectation_config.type} {r.expectation_config.meta}: {info.get('exception_message')}"
            )
        if r.success:
            continue
        idx = r.result.get("unexpected_index_list")
        if idx is None:
            raise ExpectationError(f"{r.expectation_config.type}: no unexpected_index_list in result")
        check = int(r.expectation_config.meta["check"])
        out.extend((check, int(row["source_row"])) for row in idx)
    return out


def run_checks(frame: pd.DataFrame, table: model.Table, checks: list[Check], snapshot_date: dt.date | None):
    """Run the checks of one file through GX; returns (check index, source_row) failures."""
    ctx = context()
    suite = ctx.suites.add(build_suite(f"{table.name}_rows", checks, snapshot_date))
    result = run_suite(ctx, table.name, suite, add_derived(frame, table))
    return failures(result)
