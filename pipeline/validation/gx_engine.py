"""Great Expectations as the row-check engine: suites generated from :mod:`checks`, run on pandas.

GX is imported lazily (it is slow to import) with analytics off. Every expectation carries its rule
id, severity and check index in ``meta``; failures are mapped back to source rows through
``unexpected_index_list``. An expectation that raised is never read as "passed".

Two passes (issue 7): the whole suite runs with ``BOOLEAN_ONLY`` (no per-row bookkeeping), then only the
expectations that failed run again with ``COMPLETE`` to get their rows. The run also yields a sanitized
validation result (counts, no values or row lists) that Data Docs are built from without re-validating.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import sys
import types
import warnings
from dataclasses import dataclass
from functools import cache

import pandas as pd

from pipeline import gc_pause, model
from pipeline.validation.checks import Check
from pipeline.validation.rules import rule


class ExpectationError(RuntimeError):
    """An expectation raised instead of evaluating (a broken check, not bad data)."""


BOOLEAN_ONLY = {"result_format": "BOOLEAN_ONLY"}
COMPLETE = {"result_format": "COMPLETE", "unexpected_index_column_names": ["source_row"], "partial_unexpected_count": 0}
# what a stored result keeps of an expectation's ``result``: counts only, never values or row lists
SAFE_RESULT_KEYS = (
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_percent_total",
    "unexpected_percent_nonmissing",
    "missing_count",
    "missing_percent",
)


# Imported by GX at start-up only for expectations the pipeline never uses (KL divergence, KS tests: their
# metrics and charts), about 40 % of ``import great_expectations`` (issue 15): imported on first use instead.
DEFERRED_IMPORTS = ("scipy.stats", "altair")


class _DeferredModule(types.ModuleType):
    """Stands in for a module in ``sys.modules`` until an attribute of it is used, then imports the module and
    hands every access over to it. (``importlib.util.LazyLoader`` does not do here: on Python 3.11 the
    ``import altair as alt`` statement itself reads ``__spec__`` and so loads the module at once.)"""

    def __getattr__(self, attr: str):
        name = self.__name__
        if sys.modules.get(name) is self:
            sys.modules.pop(name, None)
        real = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        if parent and getattr(sys.modules[parent], child, None) is self:
            setattr(sys.modules[parent], child, real)
        return getattr(real, attr)


def _defer_import(name: str) -> None:
    """Put a stand-in for ``name`` into ``sys.modules`` (see :class:`_DeferredModule`), unless it is loaded."""
    if name in sys.modules:
        return
    parent, _, child = name.rpartition(".")
    if parent:
        try:
            importlib.import_module(parent)
        except ImportError:
            return
    proxy = _DeferredModule(name)
    sys.modules[name] = proxy
    if parent:  # ``from scipy import stats`` finds the attribute without asking scipy's lazy loader
        setattr(sys.modules[parent], child, proxy)


@cache
def _gx():
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"great_expectations.*")
    if "great_expectations" not in sys.modules:
        for name in DEFERRED_IMPORTS:
            _defer_import(name)
    import great_expectations as gx
    import great_expectations.expectations as gxe

    # GX's modules out of the garbage collector's sight: the collections that validation's many small objects
    # trigger no longer walk them (about 6 % of an ingest's CPU at 30 000 households)
    gc_pause.freeze_imports()
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


def build_suite(name: str, checks: list[Check], snapshot_date: dt.date | None, only: set[int] | None = None):
    """Expectation suite for one table: one expectation per check, rule id, severity and check index in meta.

    ``only``: the check indices to include (the others are left out, indices stay those of ``checks``).
    """
    gx, gxe = _gx()
    expectations = []
    for i, chk in enumerate(checks):
        if only is not None and i not in only:
            continue
        kwargs = dict(chk.gx_kwargs)
        for k, v in kwargs.items():
            if v == "$snapshot_date":
                kwargs[k] = dt.datetime.combine(snapshot_date or dt.date.max, dt.time())
        meta = {"rule_id": chk.rule_id, "severity": rule(chk.rule_id).severity, "check": i, "column": chk.column}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            expectations.append(getattr(gxe, chk.gx_type)(**kwargs, meta=meta))
    # all at once: add_expectation compares each new one with every earlier one (persons: ~0.1 s of 54)
    return gx.ExpectationSuite(name=name, expectations=expectations)


def needed_columns(checks: list[Check]) -> list[str]:
    """Frame columns the expectations read (plus ``source_row``): a narrow frame makes GX's row-condition
    filters (``DataFrame.query``) and ``take`` cheaper."""
    cols = {"source_row"}
    for chk in checks:
        kw = chk.gx_kwargs
        cols.update(kw[k] for k in ("column", "column_A", "column_B") if k in kw)
        cols.update(kw.get("column_list", ()))
        if "row_condition" in kw:
            cols.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", kw["row_condition"]))
    return sorted(cols)


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return batch.validate(suite, result_format=result_format or COMPLETE)


def raise_broken(result) -> None:
    """Raise ExpectationError if an expectation raised instead of evaluating."""
    for r in result.results:
        info = r.exception_info or {}
        if isinstance(info, dict) and "raised_exception" not in info:  # keyed by metric id
            info = next(iter(info.values()), {}) if info else {}
        if info.get("raised_exception"):
            raise ExpectationError(
                f"{r.expectation_config.type} {r.expectation_config.meta}: {info.get('exception_message')}"
            )


def failures(result) -> list[tuple[int, int]]:
    """(check index, source_row) of every failing row; raises if an expectation broke."""
    raise_broken(result)
    out = []
    for r in result.results:
        if r.success:
            continue
        idx = r.result.get("unexpected_index_list")
        if idx is None:
            raise ExpectationError(f"{r.expectation_config.type}: no unexpected_index_list in result")
        check = int(r.expectation_config.meta["check"])
        out.extend((check, int(row["source_row"])) for row in idx)
    return out


def sanitize(result: dict) -> dict:
    """A validation result (JSON dict) fit for storing and Data Docs: counts only.

    Every value and row list (``unexpected_list``, ``unexpected_index_list``, ``partial_unexpected_*``,
    ``unexpected_index_query``, observed values, details) and the data fingerprint are dropped.
    """
    out = dict(result)
    out["results"] = []
    for r in result.get("results", []):
        r = dict(r)
        r["result"] = {k: r["result"][k] for k in SAFE_RESULT_KEYS if k in (r.get("result") or {})}
        if "unexpected_count" in r["result"]:
            r["result"]["partial_unexpected_list"] = []  # renderers look for it; empty, never values
        # only results without a raised exception are ever stored (see raise_broken)
        r["exception_info"] = {"raised_exception": False, "exception_traceback": None, "exception_message": None}
        r["meta"] = {}
        out["results"].append(r)
    meta = dict(result.get("meta") or {})
    meta.pop("batch_markers", None)  # holds a fingerprint of the data frame
    meta.pop("batch_parameters", None)
    out["meta"] = meta
    return out


@dataclass
class GxRun:
    failures: list[tuple[int, int]]  # (check index, source_row)
    suite: dict  # the expectation suite (JSON)
    result: dict  # sanitized validation result (JSON), see :func:`sanitize`


def validate_frame(
    frame: pd.DataFrame, table: model.Table, checks: list[Check], snapshot_date: dt.date | None
) -> GxRun:
    """Run the checks of one file through GX in two passes (BOOLEAN_ONLY, then COMPLETE for the failed ones)."""
    ctx = context()
    suite = ctx.suites.add(build_suite(f"{table.name}_rows", checks, snapshot_date))
    frame = add_derived(frame, table)
    frame = frame[[c for c in needed_columns(checks) if c in frame.columns]]
    first = run_suite(ctx, table.name, suite, frame, BOOLEAN_ONLY)
    raise_broken(first)
    failed = {int(r.expectation_config.meta["check"]) for r in first.results if not r.success}
    result = first.to_json_dict()
    fails: list[tuple[int, int]] = []
    if failed:
        again = ctx.suites.add(build_suite(f"{table.name}_rows_failed", checks, snapshot_date, only=failed))
        second = run_suite(ctx, table.name, again, frame, COMPLETE)
        fails = failures(second)
        detail = {int(r["expectation_config"]["meta"]["check"]): r for r in second.to_json_dict()["results"]}
        still = set(detail)
        if still != failed:
            raise ExpectationError(f"{table.name}: second pass checked {sorted(still)}, expected {sorted(failed)}")
        merged = []
        for r in result["results"]:
            check = int(r["expectation_config"]["meta"]["check"])
            merged.append({**detail[check], "expectation_config": r["expectation_config"]} if check in detail else r)
        result["results"] = merged
    return GxRun(fails, suite.to_json_dict(), sanitize(result))
