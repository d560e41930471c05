"""Entry points of validation for the CLI and ingest (implementation in :mod:`pipeline.validation`)."""

from pipeline.validation import (  # noqa: F401
    CrossValidation,
    FileValidation,
    insert_problems,
    problem,
    rules,
    validate_cross_table,
    validate_file,
    write_validation_outputs,
)
