"""Übersicht, Aufträge (with the status fragment every job page polls) and Kennzahlen."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pandas as pd
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pipeline import api, catalogue, jobs, summary
from pipeline.config import Config
from pipeline.web import common

KEY_FIGURES = ("K01", "K02", "K05", "K09", "K10", "K20")
HEARTBEAT_STUCK_SECONDS = 8  # heartbeat every 2 s: four missed beats mean the job is stuck or gone
SVG = "image/svg+xml"


def _newest_cycle(cfg: Config) -> str | None:
    try:
        return api.newest_cycle(cfg.database, cfg)
    except (LookupError, api.DatabaseNotFound):
        return None


def indicator_table(cfg: Config, period: str, as_of: dt.date | None, audience: str):
    return api.indicators(period, as_of, audience, db=cfg.database, config=cfg)


def _pull_status(cfg: Config) -> dict | None:
    """Next and last pull (issue 13): filled when the pull scheduler provides ``pipeline.pull.status``."""
    last = jobs.history(cfg, limit=1, kind="pull")
    try:
        from pipeline import pull  # noqa: PLC0415 - optional: issue 13
    except ImportError:
        pull = None
    status = getattr(pull, "status", None)
    info = {"last": last[0] if last else None, "next": None}
    if callable(status):
        try:
            info.update(status(cfg) or {})
        except Exception:  # noqa: BLE001 - a broken pull setup must not break the overview
            pass
    return info if (info["last"] or info["next"]) else None


async def overview(request: Request):
    cfg = common.cfg_of(request)
    state = await common.cached(cfg, "data_state", summary.data_state)
    cycle = await common.cached(cfg, "newest_cycle", _newest_cycle) if state.exists else None
    figures, error = [], ""
    if cycle:
        try:
            df = await common.cached(cfg, "indicators", indicator_table, cycle, None, "foerdergeber")
            tot = df[df["dimension"] == "total"].set_index("indicator_id")
            for k in KEY_FIGURES:
                if k in tot.index:
                    row = tot.loc[k]
                    figures.append((k, row["label"], common.fmt_value(row["value"], row["unit"])))
        except Exception as exc:  # noqa: BLE001 - the overview shows the rest
            error = f"Kennzahlen nicht berechenbar ({type(exc).__name__})."
    vanished = await common.cached(cfg, "vanished", summary.vanished_records) if state.exists else []
    return common.render(
        request, "overview.html", "uebersicht", title="Übersicht", state=state, cycle=cycle, figures=figures,
        error=error, vanished=vanished, cycles=cfg.cycles, runs=await run_in_threadpool(jobs.history, cfg, 8),
        pull=await run_in_threadpool(_pull_status, cfg), **await busy_context(request),
    )  # fmt: skip


async def overview_chart(request: Request):
    """Active households per month of the newest cycle (K01 by month) as SVG."""
    from pipeline.reports import charts

    cfg = common.cfg_of(request)
    cycle = await common.cached(cfg, "newest_cycle", _newest_cycle)
    if not cycle:
        raise HTTPException(404)
    df = await common.cached(cfg, "indicators", indicator_table, cycle, None, "foerdergeber")
    m = df[(df["indicator_id"] == "K01") & (df["dimension"] == "month")]
    svg = await run_in_threadpool(
        charts.horizontal_bars, [f"{c[5:]}/{c[:4]}" for c in m["category"]], list(m["value"]),
        "aktive Bedarfsgemeinschaften", False, "k01-month",
    )  # fmt: skip
    return Response(svg, media_type=SVG)


async def jobs_page(request: Request):
    cfg = common.cfg_of(request)
    history = await run_in_threadpool(jobs.history, cfg, 100)
    return common.render(
        request, "jobs.html", "auftraege", title="Aufträge", jobs=history,
        pull=await run_in_threadpool(_pull_status, cfg),
    )


def heartbeat_text(job: jobs.Job) -> tuple[str, bool]:
    """(German sentence, stuck?) telling a slow job from a stuck one by the age of its heartbeat."""
    now = dt.datetime.now()
    if job.outcome == "queued":
        age = (now - job.created).total_seconds()
        return (f"Wartet auf den Start ({age:.0f} s).", age > 30)
    if job.outcome != "running":
        return ("", False)
    age = (now - (job.heartbeat or job.started or job.created)).total_seconds()
    if age > HEARTBEAT_STUCK_SECONDS:
        return (f"Keine Rückmeldung seit {age:.0f} s: der Auftrag hängt möglicherweise.", True)
    return (f"Läuft seit {job.seconds or 0:.0f} s; letzte Rückmeldung vor {age:.0f} s.", False)


def busy_text(cfg: Config) -> str:
    """One stable German sentence on the running job (no ticking seconds: a screen reader reads it once)."""
    job = jobs.running(cfg)
    if job is None:
        what = "Ein Auftrag"
    else:
        face = {"web": "über diese Seite", "cli": "über die Kommandozeile", "watch": "durch die Überwachung"}
        what = (f"{job.kind_label} (gestartet {job.started or job.created:%H:%M:%S} "
                f"{face.get(job.face, job.face)})")  # fmt: skip
    return (f"{what} läuft gerade. Bis er fertig ist, kann kein neuer Auftrag starten; die Schaltflächen werden "
            "danach von selbst wieder frei.")  # fmt: skip


async def busy_context(request: Request) -> dict:
    """``busy`` and ``busy_text`` for the pages that include ``_busy.html``."""
    cfg = common.cfg_of(request)
    busy = request.app.state.runner.busy()
    return {"busy": busy, "busy_text": await run_in_threadpool(busy_text, cfg) if busy else ""}


async def busy_note(request: Request):
    """The busy note alone: 200 while a job runs (polled again), 286 once none runs (polling stops)."""
    ctx = await busy_context(request)
    return common.render(request, "_busy.html", "auftraege", status=200 if ctx["busy"] else 286, **ctx)


WAIT_AT_MOST = 1.0  # seconds a status request waits for its job to end (the page asks again at once)
WAIT_STEP = 0.1  # reading the job history, for a job another process started


async def job_status(request: Request):
    """The status fragment of one job; 286 stops the page's polling once the job is done.

    With ``?warten=1`` (what the page asks) a request for a running job waits up to :data:`WAIT_AT_MOST` for it
    to end, and the page asks again as soon as the answer arrives: the end shows at once, not up to a polling
    interval later, and progress is still shown every second."""
    cfg = common.cfg_of(request)
    job = await run_in_threadpool(jobs.get, cfg, request.path_params["job_id"])
    if job is None:
        raise HTTPException(404)
    if request.query_params.get("warten") == "1" and job.outcome in ("queued", "running"):
        # a job of this server: woken when it ends; any other (a CLI run): its history row, read now and then
        if await run_in_threadpool(request.app.state.runner.wait_ended, job.id, WAIT_AT_MOST) is None:
            deadline = time.monotonic() + WAIT_AT_MOST
            while job.outcome in ("queued", "running") and time.monotonic() < deadline:
                await asyncio.sleep(WAIT_STEP)
                job = await run_in_threadpool(jobs.get, cfg, job.id) or job
        else:
            job = await run_in_threadpool(jobs.get, cfg, job.id) or job
    done = job.outcome not in ("queued", "running")
    expected = request.app.state.uploads.get(job.id, [])
    files = []
    if job.kind == "ingest" and not done:
        seen = job.files
        for name in [*seen, *(f for f in expected if f not in seen)]:
            if name not in seen:
                files.append((name, "wartet"))
            elif name == seen[-1]:
                files.append((name, "wird eingelesen …"))
            else:
                files.append((name, "eingelesen, wird geprüft und geladen"))
    beat, stuck = heartbeat_text(job)
    report_set, extra = None, {"fresh_sets": None}
    if done and job.kind == "report":
        from pipeline.web import pages_reports as pr

        sets = await run_in_threadpool(pr.report_sets, cfg)
        if request.headers.get("hx-request"):  # the page's list of sets is refreshed along (out of band)
            extra = {"fresh_sets": sets, "labels": pr.FILE_LABELS, "fmt_period": pr.fmt_period, "fmt_iso": pr.fmt_iso}
        sid = pr.set_id_for(cfg, job.summary["folder"]) if job.summary.get("folder") else None
        found = [s for s in sets if s.id == sid]
        if found:
            labels = [(f, pr.FILE_LABELS.get(f.rsplit("/", 1)[-1], f)) for f in found[0].files]
            report_set = {"id": sid, "files": labels}
    return common.render(
        request, "_job_status.html", "auftraege", status=286 if done else 200, job=job, done=done, files=files,
        beat=beat, stuck=stuck, report_set=report_set, **extra,
    )  # fmt: skip


# --- Kennzahlen --------------------------------------------------------------------------------------


def _period_from(request: Request, cfg: Config) -> tuple[str | None, dt.date | None, str, str]:
    """(period, as_of, audience, error) from the query: cycle or range (von/bis), Stand, Zielgruppe."""
    q = request.query_params
    audience = q.get("zielgruppe", "intern")
    if audience not in common.AUDIENCES:
        audience = "intern"
    try:
        as_of = common.parse_day(q.get("stand"))
        start, end = common.parse_day(q.get("von")), common.parse_day(q.get("bis"))
    except ValueError as exc:
        return None, None, audience, str(exc)
    if start or end:
        if not (start and end):
            return None, as_of, audience, "Für einen Zeitraum bitte Beginn und Ende angeben."
        return f"{start.isoformat()}..{end.isoformat()}", as_of, audience, ""
    cycle = q.get("zyklus") or ""
    if cycle and cfg.cycle(cycle) is None:
        return None, as_of, audience, f"Zyklus {cycle[:20]!r} ist nicht konfiguriert."
    return cycle or None, as_of, audience, ""


async def indicators_page(request: Request):
    cfg = common.cfg_of(request)
    period, as_of, audience, error = _period_from(request, cfg)
    if period is None and not error and cfg.database.exists():
        period = await common.cached(cfg, "newest_cycle", _newest_cycle)
    rows, breakdowns, meta = [], {}, {}
    if period and not error:
        try:
            df = await common.cached(cfg, "indicators", indicator_table, period, as_of, audience)
        except Exception as exc:  # noqa: BLE001 - PeriodError, a missing database …: said on the page
            error = str(exc) if type(exc).__name__ in ("PeriodError", "DatabaseNotFound", "ConfigError") else (
                f"Die Kennzahlen konnten nicht berechnet werden ({type(exc).__name__}).")
        else:
            meta = df.attrs
            by_id = {i.id: i for i in catalogue.indicators()}
            for _, r in df[df["dimension"] == "total"].iterrows():
                ind = by_id[r["indicator_id"]]
                rows.append((ind, common.fmt_value(r["value"], ind.unit), common.fmt_value(r["numerator"], "count"),
                             common.fmt_value(r["denominator"], "count")))  # fmt: skip
            for (ind_id, dim), part in df[df["dimension"] != "total"].groupby(["indicator_id", "dimension"],
                                                                              sort=False):  # fmt: skip
                unit = by_id[ind_id].unit
                breakdowns.setdefault(ind_id, []).append(
                    (dim, [(c, common.fmt_value(v, unit))
                           for c, v in zip(part["category"], part["value"], strict=True)])
                )
    return common.render(
        request, "indicators.html", "kennzahlen", title="Kennzahlen", period=period, as_of=as_of,
        audience=audience, error=error, rows=rows, breakdowns=breakdowns, meta=meta, cycles=cfg.cycles,
        query=request.url.query, dimension_labels=DIMENSIONS, labels={ind.id: ind.label for ind, *_ in rows},
        period_start=request.query_params.get("von", "")[:10], period_end=request.query_params.get("bis", "")[:10],
        has_data=cfg.database.exists(),
    )  # fmt: skip


DIMENSIONS = {
    "jobcenter_site": "Jobcenter-Standort", "household_type": "BG-Typ", "month": "Monat", "gender": "Geschlecht",
    "help_group": "Hilfebereich", "statistic": "Kennwert", "exit_reason": "Austrittsgrund",
    "keine_angabe": "„keine Angabe“",
}  # fmt: skip


async def indicator_chart(request: Request):
    """Bars of one indicator's breakdown (the first non-total dimension) as SVG."""
    from pipeline.reports import charts

    cfg = common.cfg_of(request)
    period, as_of, audience, error = _period_from(request, cfg)
    if not period and not error:
        period = await common.cached(cfg, "newest_cycle", _newest_cycle)
    if error or not period:
        raise HTTPException(404)
    ind_id = request.path_params["indicator_id"]
    try:
        ind = catalogue.get(ind_id)
        df = await common.cached(cfg, "indicators", indicator_table, period, as_of, audience)
    except Exception:  # noqa: BLE001 - unknown id or period: nothing to draw
        raise HTTPException(404) from None
    part = df[(df["indicator_id"] == ind_id) & (df["dimension"] != "total")]
    if part.empty:
        raise HTTPException(404)
    dim = request.query_params.get("dimension") or part["dimension"].iloc[0]
    part = part[part["dimension"] == dim]
    if part.empty:
        raise HTTPException(404)
    svg = await run_in_threadpool(
        charts.horizontal_bars, list(part["category"]), [0 if pd.isna(v) else v for v in part["value"]],
        DIMENSIONS.get(dim, dim) if ind.unit != "share" else "Anteil", ind.unit == "share", f"chart-{ind_id}",
    )  # fmt: skip
    return Response(svg, media_type=SVG)
