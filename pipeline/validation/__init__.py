"""Validation: row rules per file (Great Expectations, DuckDB SQL for large files), cross-table SQL checks,
the validation workbook and Data Docs. Rules and German messages: ``pipeline/data/rules.toml``."""

from pipeline.validation.cross import CrossValidation, validate_cross_table
from pipeline.validation.row import FileValidation, validate_file
from pipeline.validation.rules import insert_problems, problem, rules

__all__ = [
    "CrossValidation",
    "FileValidation",
    "insert_problems",
    "problem",
    "rules",
    "validate_cross_table",
    "validate_file",
    "write_validation_outputs",
]


def write_validation_outputs(con, out_dir, run_id=None, as_of=None):
    """Validation workbook and Data Docs into ``out_dir`` (see :mod:`pipeline.validation.outputs`)."""
    from pipeline.validation.outputs import write_validation_outputs as _write

    return _write(con, out_dir, run_id=run_id, as_of=as_of)
