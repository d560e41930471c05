"""Entry points of validation for the CLI and ingest (implementation in :mod:`pipeline.validation`).

Loaded on first use, so that an ingest with nothing new to load never imports the row engines (pandas, GX).
"""

from __future__ import annotations

import pipeline.validation as _validation

__all__ = list(_validation.__all__)


def __getattr__(name: str):
    if name in __all__:
        return getattr(_validation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
