"""Prüfergebnis: the problems of the snapshots in force (filters, pages), a page per rule with its guidance,
the validation workbook, the Data Docs, and re-validation of the next delivery."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse

from pipeline import model, summary
from pipeline.config import Config
from pipeline.lock import Busy
from pipeline.validation.rules import rules
from pipeline.web import common
from pipeline.web.pages import busy_context

PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The Data Docs are Great Expectations' own pages with inline script: shown sandboxed (an opaque origin
# without cookies or access to this site), never with the rights of the app's pages.
DOCS_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'none'; base-uri 'none'"
)
GUIDANCE = {
    "file_error": "Die Datei wurde nicht geladen; der vorherige Stand der Tabelle bleibt gültig. Die Datei in der "
    "Fallverwaltung neu exportieren (richtiger Name, CSV oder XLSX, alle Pflichtspalten) und erneut liefern.",
    "row_error": "Die Zeile steht in Quarantäne und zählt in keiner Kennzahl. Den Datensatz (ID siehe Tabelle) in "
    "der Fallverwaltung korrigieren, neu exportieren und liefern; dann „Prüfung erneut ausführen“.",
    "warning": "Die Zeile wird verwendet und nur gemeldet. Bitte prüfen, ob die Angabe stimmt, und sie bei Bedarf "
    "in der Fallverwaltung ergänzen.",
}


COUNT_LABELS = {"file_error": "Dateifehler", "row_error": "Zeilenfehler", "warning": "Warnungen"}


def column_label(p: summary.Problem) -> str:
    """The column as the export names it (its German header), not the canonical name of the data model."""
    if not p.column:
        return "–"
    return model.column_label(p.table, p.column)


def validation_folder(cfg: Config) -> Path | None:
    """The folder of the newest validation_report.xlsx (``validate`` or a run), never a path from a request."""
    found = [p for p in [cfg.outputs / "validation" / "validation_report.xlsx",
                         *cfg.outputs.glob("*/validation_report.xlsx")] if p.is_file()]  # fmt: skip
    return max(found, key=lambda p: p.stat().st_mtime).parent if found else None


def _job_id(text: str | None) -> str | None:
    return text if text and re.fullmatch(r"[0-9A-Za-z-]{1,40}", text) else None


def _filter(problems: list[summary.Problem], q) -> tuple[list, dict]:
    chosen = {k: q.get(k, "") for k in ("tabelle", "regel", "schwere", "datei")}
    fields = {"tabelle": "table", "regel": "rule_id", "schwere": "severity", "datei": "file_name"}
    out = [p for p in problems if all(not chosen[k] or getattr(p, a) == chosen[k] for k, a in fields.items())]
    return out, chosen


async def checks(request: Request):
    cfg = common.cfg_of(request)
    problems = await common.cached(cfg, "problems", summary.problems)
    shown, chosen = _filter(problems, request.query_params)
    pages = max(1, math.ceil(len(shown) / PER_PAGE))
    try:
        page = min(max(1, int(request.query_params.get("seite", "1"))), pages)
    except ValueError:
        page = 1
    facets = {
        "tabelle": sorted({(p.table, p.table_label) for p in problems if p.table}),
        "regel": sorted({(p.rule_id, f"{p.rule_id} {p.rule_title}") for p in problems}),
        "schwere": [(k, v) for k, v in summary.SEVERITY_DE.items() if any(p.severity == k for p in problems)],
        "datei": sorted({(p.file_name, p.file_name) for p in problems if p.file_name}),
    }
    counts = {k: sum(1 for p in problems if p.severity == k) for k in summary.SEVERITY_DE}
    query = "&".join(f"{k}={v}" for k, v in chosen.items() if v)
    folder = await run_in_threadpool(validation_folder, cfg)
    return common.render(
        request, "checks.html", "pruefung", title="Prüfergebnis",
        problems=shown[(page - 1) * PER_PAGE: page * PER_PAGE],
        total=len(shown), all_total=len(problems), page_no=page, pages=pages, facets=facets, chosen=chosen, query=query,
        counts=counts, count_labels=COUNT_LABELS, column_label=column_label, has_report=folder is not None,
        has_data=cfg.database.exists(),
        has_docs=folder is not None and (folder / "data_docs" / "index.html").is_file(),
        **await busy_context(request), job_id=_job_id(request.query_params.get("auftrag")),
    )  # fmt: skip


async def rule_page(request: Request):
    rule = rules().get(request.path_params["rule_id"])
    if rule is None:
        raise HTTPException(404)
    cfg = common.cfg_of(request)
    problems = [p for p in await common.cached(cfg, "problems", summary.problems) if p.rule_id == rule.id]
    guidance = getattr(rule, "guidance", "") or GUIDANCE[rule.severity]
    return common.render(
        request, "rule.html", "pruefung", title=f"Regel {rule.id}", rule=rule, guidance=guidance, count=len(problems),
        severity=summary.SEVERITY_DE[rule.severity], tables={n: t.label for n, t in model.tables().items()},
        files=sorted({p.file_name for p in problems if p.file_name}),
    )  # fmt: skip


async def report_download(request: Request):
    cfg = common.cfg_of(request)
    folder = await run_in_threadpool(validation_folder, cfg)
    if folder is None:
        raise HTTPException(404)
    common.log(request, "download", "validation_report.xlsx")
    return FileResponse(folder / "validation_report.xlsx", media_type=XLSX, filename="validation_report.xlsx")


def _docs_files(root: Path) -> set[str]:
    """Relative paths of the regular files under ``root`` (links not followed): what may be served."""
    out = set()
    for dirpath, _dirs, names in os.walk(root, followlinks=False):
        for n in names:
            p = Path(dirpath) / n
            if p.is_file() and not p.is_symlink():
                out.add(p.relative_to(root).as_posix())
    return out


async def data_docs(request: Request):
    cfg = common.cfg_of(request)
    folder = await run_in_threadpool(validation_folder, cfg)
    rel = request.path_params["path"] or "index.html"
    if folder is None:
        raise HTTPException(404)
    root = folder / "data_docs"
    if rel not in await run_in_threadpool(_docs_files, root):
        raise HTTPException(404)
    response = FileResponse(root / rel)
    response.headers["content-security-policy"] = DOCS_CSP
    if rel.startswith("static/"):  # library assets only; fonts load with CORS from the sandboxed pages
        response.headers["access-control-allow-origin"] = "*"
    return response


async def revalidate(request: Request):
    """Read the next delivery in the inbox and write the validation outputs again."""
    try:
        job_id = request.app.state.runner.ingest(then_validate=True)
    except Busy as exc:
        cfg = common.cfg_of(request)
        problems = await common.cached(cfg, "problems", summary.problems)
        return common.render(request, "checks.html", "pruefung", title="Prüfergebnis", status=409, problems=[],
                             total=0, all_total=len(problems), page_no=1, pages=1, facets={}, chosen={}, query="",
                             counts={}, count_labels=COUNT_LABELS, busy_error=str(exc),
                             **await busy_context(request))  # fmt: skip
    common.log(request, "job", f"Prüfung erneut {job_id}")
    from starlette.responses import RedirectResponse

    return RedirectResponse(f"/pruefung?auftrag={job_id}", status_code=303)
