"""Reports: ``esf_submission.xlsx``, ``project_report.xlsx``, ``project_report.pdf`` for one audience, plus the Word
draft ``sachbericht.docx`` (``intern``, ``foerdergeber``) or the public text ``jahresrueckblick.txt`` (``oeffentlich``).

Entry point: :func:`render_reports`. The caller chooses ``out_dir`` (``outputs/<slug>/`` for ``foerdergeber``,
``outputs/<slug>/intern|oeffentlich/`` otherwise) and has created the temp views of the snapshots in force.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

from pipeline import gc_pause
from pipeline.reports.context import ReportContext
from pipeline.reports.disclosure import AUDIENCES


def render_reports(con, config, result, audience: str, out_dir: Path,
                   created: dt.date | None = None, helper=None) -> list[Path]:
    """Write the report files for ``audience`` into ``out_dir``; return their paths.

    Each file is written to a temp file in ``out_dir`` and then moved into place, so a failed run never
    leaves a half-written report in place of a good one.

    ``helper``: an idle :class:`pipeline.worker.Worker` on another core. It then draws some of the charts (their
    SVGs come back for the PDF) and writes the workbooks and the Word draft (:func:`render_office`) while this
    process lays out the PDF, the longest part of the set.

    Python's cyclic garbage collector is paused meanwhile (:mod:`pipeline.gc_pause`).
    """
    if audience not in AUDIENCES:
        raise ValueError(f"Unbekannte Zielgruppe / unknown audience {audience!r} (use {', '.join(AUDIENCES)})")
    with gc_pause.paused():
        return _render(con, config, result, audience, Path(out_dir), created, helper)


def _render(con, config, result, audience: str, out_dir: Path, created: dt.date | None, helper) -> list[Path]:
    from pipeline.reports import pdf

    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = ReportContext.build(config, result, audience)
    if created is not None:
        ctx.created = created
    data = None
    if helper is not None:
        helper, data = _hand_over(helper, ctx, con, out_dir)
    office = None
    try:
        path = pdf.write_pdf(ctx, con, out_dir, data)
    finally:
        if helper is not None:  # collect the helper's answer even when the PDF failed: it must end idle
            office = _office_result(helper)
    if office is None:  # no helper, or it died: written here, with figures for the charts it drew
        from pipeline.reports import shared

        shared.unplant_charts(ctx)
        office = _write_office(ctx, con, out_dir)
    return [office[0], office[1], path, *office[2:]]


def _hand_over(helper, ctx: ReportContext, con, out_dir: Path) -> tuple:
    """Start the helper: it draws some of the charts (:data:`shared.HELPER_GROUPS`) while this process gathers
    the PDF's figures and draws the others, then it writes the office files. Returns (the helper, or None once
    it died; the PDF's figures without charts, or None)."""
    from pipeline import worker
    from pipeline.reports import pdf, shared

    # computed once here and handed over: the helper would otherwise compute every other cycle again
    args = (ctx.config, ctx.result, ctx.audience, out_dir, ctx.created, shared.seed(ctx, con))
    try:
        helper.submit("pipeline.reports", "draw_charts", *args, shared.HELPER_GROUPS)
    except worker.WorkerDied:
        return None, None
    try:
        data = pdf.report_data(ctx, con)
        mine = tuple(g for g in shared.CHART_GROUPS if g not in shared.HELPER_GROUPS)
        for chart in shared.report_charts(ctx, con, mine).values():
            chart.svg()
    finally:  # the helper's answer is collected whatever happened here: it must end idle
        try:
            svgs = helper.result()
        except worker.WorkerDied:
            svgs = None
    if svgs is None:
        return None, data
    shared.plant_charts(ctx, svgs)
    try:
        helper.submit("pipeline.reports", "render_office", *args)
    except worker.WorkerDied:
        return None, data
    return helper, data


def _office_result(helper) -> list[Path] | None:
    from pipeline import worker

    try:
        return helper.result()
    except worker.WorkerDied:
        return None  # written here instead


# the helper's side: the set whose charts it drew, kept for the office files that come next
_DRAWN: dict = {}


@gc_pause.after_answer
def draw_charts(config, result, audience: str, out_dir: Path, created: dt.date, seed: dict,
                groups: tuple[str, ...]) -> dict:
    """In the helper: the charts of ``groups`` as SVGs (:func:`shared.chart_svgs`); the figures are kept for
    the Word draft, which comes next."""
    from pipeline.reports import shared

    _DRAWN.clear()
    ctx = _helper_context(config, result, audience, created, seed)
    with gc_pause.paused(), _connection(config, result) as con:
        svgs = shared.chart_svgs(ctx, con, groups)
    _DRAWN.update(key=(audience, str(out_dir), created), ctx=ctx)
    return svgs


@gc_pause.after_answer
def render_office(config, result, audience: str, out_dir: Path, created: dt.date, seed: dict) -> list[Path]:
    """The files of the set other than the PDF, in a helper process: its own read-only connection with the
    views at the result's data state (as :func:`pipeline.runs.reports` opens it)."""
    kept = _DRAWN.get("ctx") if _DRAWN.get("key") == (audience, str(out_dir), created) else None
    _DRAWN.clear()
    ctx = kept or _helper_context(config, result, audience, created, seed)
    with gc_pause.paused(), _connection(config, result) as con:
        return _write_office(ctx, con, Path(out_dir))


def _helper_context(config, result, audience: str, created: dt.date, seed: dict) -> ReportContext:
    from pipeline.reports import shared

    ctx = ReportContext.build(config, result, audience)
    ctx.created = created
    shared.plant(ctx, seed)
    return ctx


@contextlib.contextmanager
def _connection(config, result):
    """A read-only connection for one task only: a connection kept open would stop the next ingest."""
    from pipeline import db

    con = db.connect(config.database, read_only=True)
    try:
        db.create_current_views(con, result.data_state if result.data_state else None)
        yield con
    finally:
        con.close()


def _write_office(ctx: ReportContext, con, out_dir: Path) -> list[Path]:
    """esf_submission.xlsx, project_report.xlsx, then sachbericht.docx or (public) jahresrueckblick.txt."""
    from pipeline import files
    from pipeline.reports import press, shared
    from pipeline.reports.esf_submission import write_esf_submission
    from pipeline.reports.project_workbook import write_project_workbook
    from pipeline.reports.word import write_docx

    paths = [write_esf_submission(ctx, out_dir), write_project_workbook(ctx, con, out_dir)]
    if ctx.public:
        paths.append(files.write_text(out_dir / press.FILE_NAME, shared.public_text(ctx, con).text()))
    else:
        paths.append(write_docx(ctx, con, out_dir))
    return paths


__all__ = ["AUDIENCES", "draw_charts", "render_office", "render_reports"]
