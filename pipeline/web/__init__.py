"""The local web page (issue 12): a face over :mod:`pipeline.runs` and :mod:`pipeline.jobs`.

``create_app(cfg)`` returns the Starlette app and the one-time login token (see ``README.md`` here).
"""

from pipeline.web.app import create_app

__all__ = ["create_app"]
