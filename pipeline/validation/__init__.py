"""Validation: row rules per file (Great Expectations, DuckDB SQL for large files), cross-table SQL checks,
the validation workbook and Data Docs. Rules and German messages: ``pipeline/data/rules.toml``.

The names below are loaded on first use: importing ``pipeline.validation.rules`` (as ingest does for the
file rules) must not pull in the row engines and pandas.
"""

from __future__ import annotations

import importlib

# light, and bound here on purpose: importing the submodule ``rules`` would otherwise shadow the function
from pipeline.validation.rules import insert_problems, problem, rules

_LAZY = {
    "CrossValidation": "pipeline.validation.cross",
    "validate_cross_table": "pipeline.validation.cross",
    "FileValidation": "pipeline.validation.row",
    "validate_file": "pipeline.validation.row",
}

__all__ = [*_LAZY, "insert_problems", "problem", "rules", "write_validation_outputs"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_validation_outputs(con, out_dir, run_id=None, as_of=None):
    """Validation workbook and Data Docs into ``out_dir`` (see :mod:`pipeline.validation.outputs`)."""
    from pipeline.validation.outputs import write_validation_outputs as _write

    return _write(con, out_dir, run_id=run_id, as_of=as_of)
