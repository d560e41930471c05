"""Berichte: build a report set (cycle or range, as-of date, audience) as a background job; list every set
built, from its ``run_manifest.json``, with downloads of each listed file and of the whole set as a zip.

Downloads go by set id (a hash of the set's folder under the outputs) and a file name that must be listed
in that set's manifest: never a path taken from the request."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from pipeline.config import Config
from pipeline.lock import Busy
from pipeline.web import common, pages

MEDIA = {
    ".pdf": "application/pdf",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
}
FILE_LABELS = {
    "indicators.csv": "Kennzahlen (CSV)",
    "esf_submission.xlsx": "ESF-Meldung (Excel)",
    "project_report.xlsx": "Projektbericht (Excel)",
    "project_report.pdf": "Sachbericht (PDF)",
    "sachbericht.docx": "Sachbericht (Word)",
    "validation_report.xlsx": "Prüfbericht (Excel)",
    "run_manifest.json": "Protokoll des Laufs (JSON)",
    "jahresrueckblick.txt": "Jahresrückblick (Text)",
}


@dataclass
class ReportSet:
    id: str
    folder: Path
    period: str
    audience: str
    data_state: str | None
    time: str
    run_id: str
    files: list[str] = field(default_factory=list)

    @property
    def audience_labels(self) -> list[str]:
        """The audiences whose reports the set holds: a whole run writes the intern set into its folder too."""
        subs = [a for a in ("intern", "oeffentlich")
                if a != self.audience and any(f.startswith(f"{a}/") for f in self.files)]  # fmt: skip
        return [common.AUDIENCES[a] for a in (self.audience, *subs)]


def set_id_for(cfg: Config, folder: Path | str) -> str:
    rel = Path(folder).resolve().relative_to(cfg.outputs.resolve()).as_posix()
    return hashlib.sha256(rel.encode("utf-8")).hexdigest()[:16]


def report_sets(cfg: Config) -> list[ReportSet]:
    """Every set with a manifest under the outputs (newest first); files as the manifest lists them."""
    out = []
    root = cfg.outputs
    if not root.is_dir():
        return []
    for path in [*root.glob("*/run_manifest.json"), *root.glob("*/*/run_manifest.json")]:
        if path.is_symlink() or not path.is_file():
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not doc.get("period"):
            continue  # an ingest manifest
        folder = path.parent
        audience = folder.name if folder.name in ("intern", "oeffentlich") else "foerdergeber"
        files = [o["path"] for o in doc.get("outputs", []) if isinstance(o, dict) and "path" in o]
        files = [f for f in files if not f.startswith("data_docs/")] + ["run_manifest.json"]
        out.append(ReportSet(set_id_for(cfg, folder), folder, doc["period"], audience, doc.get("data_state"),
                             doc.get("time", ""), doc.get("run_id", ""), files))  # fmt: skip
    return sorted(out, key=lambda s: s.time, reverse=True)


def _find(cfg: Config, set_id: str) -> ReportSet:
    for s in report_sets(cfg):
        if s.id == set_id:
            return s
    raise HTTPException(404)


async def reports(request: Request, **ctx):
    cfg = common.cfg_of(request)
    job_id = ctx.pop("job_id", None) or request.query_params.get("auftrag")
    if job_id and not re.fullmatch(r"[0-9A-Za-z-]{1,40}", job_id):
        job_id = None
    return common.render(
        request, "reports.html", "berichte", title="Berichte", sets=await run_in_threadpool(report_sets, cfg),
        cycles=cfg.cycles, period=ctx.pop("period", None), audience=ctx.pop("audience", "foerdergeber"),
        as_of=ctx.pop("as_of", None), job_id=job_id, labels=FILE_LABELS, **await pages.busy_context(request),
        empty_cycle_label="– bitte wählen –", fmt_period=fmt_period, fmt_iso=fmt_iso, audience_hint=AUDIENCE_HINT,
        **ctx,
    )  # fmt: skip


async def build(request: Request):
    from pipeline.period import resolve_period

    cfg = common.cfg_of(request)
    form = await request.form(max_files=0, max_fields=10)
    audience = form.get("zielgruppe") or "foerdergeber"
    # an answer with an error keeps what was entered (the date fields as typed, at most a date's length)
    kept = {"period": str(form.get("zyklus") or "")[:20] or None, "period_start": str(form.get("von") or "")[:10],
            "period_end": str(form.get("bis") or "")[:10], "audience": audience}  # fmt: skip

    async def again(status: int, error: str, as_of: dt.date | None = None):
        return await reports(request, status=status, error=error, as_of=as_of, **kept)

    if audience not in common.AUDIENCES:
        kept["audience"] = "foerdergeber"
        return await again(400, "Unbekannte Zielgruppe.")
    try:
        as_of = common.parse_day(form.get("stand"))
        start, end = common.parse_day(form.get("von")), common.parse_day(form.get("bis"))
    except ValueError as exc:
        return await again(400, str(exc))
    if start or end:
        if not (start and end):
            return await again(400, "Für einen Zeitraum bitte Beginn und Ende angeben.", as_of)
        period = f"{start.isoformat()}..{end.isoformat()}"
    else:
        period = form.get("zyklus") or ""
        if not period:
            return await again(400, "Bitte einen Projektzyklus oder einen Zeitraum wählen.", as_of)
    try:
        resolve_period(cfg, period)
    except Exception as exc:  # noqa: BLE001 - PeriodError: the user's input
        return await again(400, str(exc), as_of)
    if not cfg.database.exists():
        return await again(409, "Noch keine Datenbank: zuerst unter „Lieferung“ die Exportdateien einlesen.", as_of)
    try:
        job_id = request.app.state.runner.report(period, as_of, audience)
    except Busy as exc:
        return await again(409, str(exc), as_of)
    common.log(request, "job", f"Berichte {fmt_period(period)}, {common.AUDIENCES[audience]} (Auftrag {job_id})")
    return RedirectResponse(f"/berichte?auftrag={job_id}", status_code=303)


def _listed(s: ReportSet, name: str) -> Path:
    if name not in s.files:
        raise HTTPException(404)
    path = s.folder / name
    if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(s.folder.resolve()):
        raise HTTPException(404)
    return path


async def download_file(request: Request):
    cfg = common.cfg_of(request)
    s = await run_in_threadpool(_find, cfg, request.path_params["set_id"])
    name = request.path_params["name"]
    path = _listed(s, name)
    common.log(request, "download", f"Berichtssatz {s.id}: {name}")
    return FileResponse(path, media_type=MEDIA.get(path.suffix.lower(), "application/octet-stream"),
                        filename=f"{s.period}_{s.audience}_{path.name}".replace("..", "_bis_"))  # fmt: skip


def _zip(s: ReportSet) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in s.files:
            path = s.folder / name
            if path.is_file() and not path.is_symlink():
                zf.write(path, name)
    return buf.getvalue()


async def download_zip(request: Request):
    cfg = common.cfg_of(request)
    s = await run_in_threadpool(_find, cfg, request.path_params["set_id"])
    data = await run_in_threadpool(_zip, s)
    common.log(request, "download", f"Berichtssatz {s.id} (zip)")
    name = f"berichte_{s.period}_{s.audience}.zip".replace("..", "_bis_")
    disposition = {"content-disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type="application/zip", headers=disposition)


AUDIENCE_HINT = ("Fördergeber: ESF-Meldung, Projektbericht und Sachbericht mit genauen Zahlen. intern: zusätzlich "
                 "interne Kennzahlen. öffentlich: kleine Fallzahlen werden verdeckt (Geheimhaltung).")


def fmt_period(period: str) -> str:
    """A cycle id as it is; a date range (ISO ``a..b``) as ``TT.MM.JJJJ–TT.MM.JJJJ``."""
    if ".." not in period:
        return period
    try:
        a, b = (dt.date.fromisoformat(x) for x in period.split("..", 1))
    except ValueError:
        return period
    return f"{common.fmt_date(a)}–{common.fmt_date(b)}"


def fmt_iso(text: str | None) -> str:
    try:
        return common.fmt_time(dt.datetime.fromisoformat(text)) if text and "T" in text else common.fmt_date(
            dt.date.fromisoformat(text) if text else None)
    except ValueError:
        return text or "–"
