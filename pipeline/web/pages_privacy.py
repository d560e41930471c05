"""Datenschutz (internal): retention status per funding period (what a purge would delete), erasure requests
with a confirmation step, and the audit log."""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pipeline import audit, runs, summary
from pipeline.lock import Busy
from pipeline.web import common

PERSON_ID = re.compile(r"[A-Za-z0-9_.-]{1,40}")
FUNDING = {"esf_2014_2020": "ESF 2014–2020", "esfplus_2021_2027": "ESF+ 2021–2027"}
HOW = {"link": "Anmeldelink", "password": "Passwort"}


def who_label(who: str) -> str:
    """``web/link/1a2b3c4d`` → „Webseite (Anmeldelink, Sitzung 1a2b3c4d)“, ``cli/root`` → „Kommandozeile (root)“."""
    face, _, rest = who.partition("/")
    if face == "web":
        how, _, sid = rest.partition("/")
        if how == "-":
            return "Webseite (nicht angemeldet)"
        return f"Webseite ({HOW.get(how, how)}{f', Sitzung {sid}' if sid and sid != '-' else ''})"
    if face == "cli":
        return f"Kommandozeile ({rest})" if rest not in ("", "-") else "Kommandozeile"
    if face == "watch":
        return f"Überwachung ({rest})" if rest not in ("", "-") else "Überwachung"
    return who


def what_label(entry: audit.Entry) -> str:
    return HOW.get(entry.what, entry.what) if entry.action == "login" else entry.what


async def privacy(request: Request, status: int = 200, **ctx):
    cfg = common.cfg_of(request)
    retention, report, requests = await common.cached(cfg, "retention", summary.retention_status)
    return common.render(
        request, "privacy.html", "datenschutz", status=status, title="Datenschutz", retention=retention,
        report=report, requests=requests, log=await run_in_threadpool(audit.entries, cfg, 200), funding=FUNDING,
        who_label=who_label, what_label=what_label, **ctx,
    )  # fmt: skip


async def _form(request: Request) -> tuple[str, str]:
    form = await request.form(max_files=0, max_fields=5)
    return str(form.get("person_id") or "").strip(), str(form.get("vermerk") or "").strip()[:200]


async def erasure_ask(request: Request):
    """Step 1: check the id, then ask for confirmation (nothing recorded yet)."""
    cfg = common.cfg_of(request)
    person_id, note = await _form(request)
    if not PERSON_ID.fullmatch(person_id):
        return await privacy(request, 400, erasure_error="Bitte eine Person-ID angeben (z. B. P00000012).")
    if not await run_in_threadpool(summary.person_known, cfg, person_id):
        message = f"Person-ID {person_id} ist nicht in der Datenbank; nichts erfasst."
        return await privacy(request, 404, erasure_error=message)
    return common.render(request, "erasure_confirm.html", "datenschutz", title="Löschersuchen bestätigen",
                         person_id=person_id, note=note)  # fmt: skip


async def erasure_confirm(request: Request):
    """Step 2: record the request (restricts processing at once; deletion with the end of retention)."""
    cfg = common.cfg_of(request)
    person_id, note = await _form(request)
    if not PERSON_ID.fullmatch(person_id):
        return await privacy(request, 400, erasure_error="Bitte eine Person-ID angeben.")
    try:
        await run_in_threadpool(runs.erase, cfg, person_id, note)
    except (runs.UserError, Busy) as exc:
        common.log(request, "erasure_refused", type(exc).__name__)
        return await privacy(request, 409, erasure_error=str(exc))
    common.log(request, "erasure", "1 Person (ID nicht protokolliert)")
    return await privacy(
        request,
        erasure_done=f"Löschersuchen für {person_id} erfasst. Die Person ist ab sofort von Auswertungen für Analysten "
        "ausgenommen (Art. 18 DSGVO); ihre Daten werden mit Ablauf der Aufbewahrungsfrist gelöscht "
        "(Art. 17 Abs. 3 lit. b DSGVO).",
    )
