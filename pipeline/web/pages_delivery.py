"""Lieferung: upload export files into the inbox, then ingest them as a background job."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from pipeline import ingest, jobs
from pipeline.lock import Busy
from pipeline.web import common, pages, uploads


def _inbox_listing(cfg) -> list[str]:
    return [p.name for p in ingest.inbox_files(cfg.inbox) if p.is_file()]


async def delivery(request: Request, **ctx):
    cfg = common.cfg_of(request)
    job_id = ctx.pop("job_id", None) or request.query_params.get("auftrag")
    job = await run_in_threadpool(jobs.get, cfg, job_id) if job_id else None
    return common.render(
        request, "delivery.html", "lieferung", title="Lieferung", job=job,
        inbox=await run_in_threadpool(_inbox_listing, cfg),
        **await pages.busy_context(request), limits=cfg.web, **ctx,
    )  # fmt: skip


async def upload(request: Request):
    cfg = common.cfg_of(request)
    runner = request.app.state.runner
    if runner.busy():
        return await delivery(request, status_error=jobs.busy_message(cfg))
    try:
        form = await request.form(max_files=cfg.web.max_files, max_fields=cfg.web.max_files + 5)
    except HTTPException as exc:
        if exc.status_code == 400:  # too many files or fields
            return await delivery(
                request, status_error=f"Zu viele Dateien auf einmal: höchstens {cfg.web.max_files} je Lieferung."
            )
        raise
    try:
        files = [f for f in form.getlist("dateien") if isinstance(f, UploadFile)]
        results, seen = [], set()
        limit = cfg.web.max_upload_mb * 1024 * 1024
        cfg.inbox.mkdir(parents=True, exist_ok=True)
        for f in files:
            if not f.filename and not f.size:
                continue  # an empty file input
            name = f.filename or ""
            reason = uploads.check_name(name, seen)
            if not reason:
                head = await f.read(8)
                await f.seek(0)
                reason = uploads.check_content(name, head, f.size or 0, limit)
            if not reason:
                reason = uploads.target_problem(cfg.inbox, name)
            if not reason:
                try:
                    size = await run_in_threadpool(uploads.write_atomic, cfg.inbox, name, f.file, limit)
                except ValueError as exc:
                    reason = str(exc)
            shown = _printable(name) if reason else name
            if reason:
                results.append(uploads.Checked(shown, False, reason))
                common.log(request, "upload_refused", f"{shown}: {reason}")
            else:
                seen.add(name.lower())
                results.append(uploads.Checked(name, True, size=size))
                common.log(request, "upload", f"{name} ({size} Bytes)")
    finally:
        await form.close()
    if not results:
        return await delivery(request, status_error="Keine Datei ausgewählt.")
    accepted = [r.name for r in results if r.ok]
    job_id = None
    if accepted:
        try:
            job_id = runner.ingest(then_validate=True)
        except Busy as exc:
            return await delivery(request, results=results, status_error=str(exc))
        request.app.state.uploads[job_id] = accepted
        common.log(request, "job", f"Einlesen {job_id}")
    return await delivery(request, results=results, job_id=job_id)


def _printable(name: str) -> str:
    """A refused name as it may be shown: without path parts or control characters, at most 80 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:80] or "(ohne Namen)"


async def ingest_inbox(request: Request):
    """Read what is in the inbox already (files copied there by hand)."""
    try:
        job_id = request.app.state.runner.ingest(then_validate=True)
    except Busy as exc:
        return await delivery(request, status_error=str(exc))
    common.log(request, "job", f"Einlesen {job_id}")
    return await delivery(request, job_id=job_id)
