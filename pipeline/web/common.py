"""Helpers of the pages: rendering with the shared layout, who is acting (for the audit log), cached
read-only computations (keyed by the database file's state), number formatting in German."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

import pandas as pd
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pipeline import audit
from pipeline.config import Config
from pipeline.web.app import templates

NAV = (
    ("uebersicht", "/", "Übersicht"),
    ("lieferung", "/lieferung", "Lieferung"),
    ("pruefung", "/pruefung", "Prüfergebnis"),
    ("berichte", "/berichte", "Berichte"),
    ("kennzahlen", "/kennzahlen", "Kennzahlen"),
    ("datenschutz", "/datenschutz", "Datenschutz"),
    ("auftraege", "/auftraege", "Aufträge"),
)
AUDIENCES = {"foerdergeber": "Fördergeber", "intern": "intern", "oeffentlich": "öffentlich"}


def cfg_of(request: Request) -> Config:
    return request.app.state.cfg


def who(request: Request) -> str:
    s = request.session
    return f"web/{s.get('user', '?')}/{s.get('sid', '-')}"


def log(request: Request, action: str, what: str = "") -> None:
    audit.record(cfg_of(request), who(request), action, what)


def render(request: Request, template: str, page: str, status: int = 200, **ctx):
    cfg = cfg_of(request)
    base = {
        "page": page,
        "nav": NAV,
        "demo": request.app.state.demo,
        "project": cfg.project,
        "logged_in": bool(request.session.get("user")),
        "fmt_date": fmt_date,
        "fmt_time": fmt_time,
        "fmt_value": fmt_value,
        "audiences": AUDIENCES,
    }
    return templates.TemplateResponse(request, template, {**base, **ctx}, status_code=status)


def fmt_date(d) -> str:
    return f"{d:%d.%m.%Y}" if d else "–"


def fmt_time(t) -> str:
    return f"{t:%d.%m.%Y %H:%M:%S}" if t else "–"


def fmt_value(value, unit: str) -> str:
    """A figure as the reports print it: share in %, ratio with two decimals, counts and days whole."""
    if value is None or pd.isna(value):
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if unit == "share":
        return f"{v * 100:.1f} %".replace(".", ",")
    if unit == "ratio":
        return f"{v:.2f}".replace(".", ",")
    if unit == "days":
        return f"{v:g} Tage".replace(".", ",")
    return f"{v:g}".replace(".", ",")


def parse_day(text: str | None) -> dt.date | None:
    """A date from a form (JJJJ-MM-TT from a date input, or TT.MM.JJJJ); ValueError with a German text."""
    from pipeline.config import ConfigError
    from pipeline.runs import parse_date  # the one parser of a user's date (the command line's --as-of too)

    if not text or not text.strip():
        return None
    try:
        return parse_date(text)
    except ConfigError:
        raise ValueError(f"Kein gültiges Datum: {text[:20]!r} (TT.MM.JJJJ)") from None


# --- cache of read-only computations -------------------------------------------------------------------

_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 32


def db_state(cfg: Config) -> tuple:
    """Changes whenever the database (or its WAL) changes: the cache key of everything read from it."""
    out = []
    for p in (cfg.database, cfg.database.with_name(cfg.database.name + ".wal")):
        try:
            st = p.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


async def cached(cfg: Config, name: str, fn, *args):
    """``fn(cfg, *args)`` in a thread (the event loop stays free), remembered until the database changes."""
    key = (str(cfg.database), db_state(cfg), name, args)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = await run_in_threadpool(fn, cfg, *args)
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value
