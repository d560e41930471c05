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

    ``helper``: an idle :class:`pipeline.worker.Worker` on another core. It then draws the charts (their SVGs come
    back for the PDF) and writes the workbooks and the Word draft (:func:`render_office`) while this process lays
    out the PDF, the longest part of the set.

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
    charts = _hand_over(helper, ctx, con, out_dir) if helper is not None else _FromHelper(None, ctx, con)
    try:
        path = pdf.write_pdf(ctx, con, out_dir, charts.svg)
    finally:  # the helper's answers are collected even when the PDF failed: it must end idle
        office = charts.office()
    if office is None:  # no helper, or it died: written here (charts the helper did not send are drawn here)
        office = _write_office(ctx, con, out_dir)
    return [office[0], office[1], path, *office[2:]]


class _FromHelper:
    """What the helper sends for one set: first the SVGs of all charts, then the office files' paths.

    The PDF asks for a chart's SVG only when WeasyPrint draws it (after the whole layout). Without a helper, or
    should it have died or failed, the chart is drawn here then, from the set's own (not yet drawn) charts, and
    the office files are written here: the PDF is the same either way."""

    def __init__(self, helper, ctx: ReportContext, con):
        self.helper, self.ctx, self.con = helper, ctx, con
        self._svgs: dict | None = None

    def _charts(self) -> dict:
        if self._svgs is None:
            self._svgs = {}
            if self.helper is not None:
                try:
                    self._svgs = self.helper.result()
                except Exception:  # noqa: BLE001 - died or failed: the charts are drawn here
                    self._svgs = {}
        return self._svgs

    def svg(self, key: str) -> str:
        from pipeline.reports import shared

        svg = self._charts().get(key)
        return svg if svg is not None else shared.report_charts(self.ctx, self.con)[key].svg()

    def office(self) -> list[Path] | None:
        """The office files' paths, or None when the helper died (then they are written here)."""
        from pipeline import worker

        self._charts()  # its first answer, if the PDF never asked for a chart
        if self.helper is None:
            return None
        try:
            return self.helper.result()
        except worker.WorkerDied:
            return None


def _hand_over(helper, ctx: ReportContext, con, out_dir: Path) -> _FromHelper:
    """Start the helper on all charts and, queued right behind, the office files: this process lays out the PDF
    meanwhile, with the charts' sizes only (known before drawing), and takes their SVGs when it draws them."""
    from pipeline import worker
    from pipeline.reports import shared

    # computed once here and handed over: the helper would otherwise compute every other cycle again
    args = (ctx.config, ctx.result, ctx.audience, out_dir, ctx.created, shared.seed(ctx, con))
    try:
        helper.submit("pipeline.reports", "draw_charts", *args, shared.CHART_GROUPS)
    except worker.WorkerDied:
        return _FromHelper(None, ctx, con)
    try:
        helper.submit("pipeline.reports", "render_office", *args, queue=True)
    except worker.WorkerDied:
        pass  # its first answer fails too: charts and office files are made here
    return _FromHelper(helper, ctx, con)


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
