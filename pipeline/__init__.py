"""BG-Coaching ESF reporting pipeline."""

# The analysts' API (pipeline/api.py), imported on first use so that the CLI does not pay for it. The API's
# ``indicators()`` and ``catalogue()`` share their names with the modules pipeline.indicators/pipeline.catalogue,
# so the package exposes them as ``indicator_table`` and ``indicator_catalogue`` (or use ``pipeline.api.…``).
_API = {
    "connect": "connect", "table": "table", "labels": "labels", "indicator_table": "indicators",
    "indicator_catalogue": "catalogue", "cycles_present": "cycles_present", "newest_cycle": "newest_cycle",
    "show": "show", "households_over_time": "households_over_time", "horizontal_bars": "horizontal_bars",
    "grouped_by_gender": "grouped_by_gender", "compare_cycles": "compare_cycles", "targets": "targets",
}


def __getattr__(name: str):
    if name in _API:
        from pipeline import api

        return getattr(api, _API[name])
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
