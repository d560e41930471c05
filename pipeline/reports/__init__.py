"""Reports: ``esf_submission.xlsx``, ``project_report.xlsx``, ``project_report.pdf`` for one audience, plus the Word
draft ``sachbericht.docx`` (``intern``, ``foerdergeber``) or the public text ``jahresrueckblick.txt`` (``oeffentlich``).

Entry point: :func:`render_reports`. The caller chooses ``out_dir`` (``outputs/<slug>/`` for ``foerdergeber``,
``outputs/<slug>/intern|oeffentlich/`` otherwise) and has created the temp views of the snapshots in force.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.reports.context import ReportContext
from pipeline.reports.disclosure import AUDIENCES


def render_reports(con, config, result, audience: str, out_dir: Path,
                   created: dt.date | None = None, helper=None) -> list[Path]:
    """Write the report files for ``audience`` into ``out_dir``; return their paths.

    Each file is written to a temp file in ``out_dir`` and then moved into place, so a failed run never
    leaves a half-written report in place of a good one.

    ``helper``: an idle :class:`pipeline.worker.Worker` on another core. It then writes the workbooks and the
    Word draft (:func:`render_office`) while this process writes the PDF, the longest part of the set.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"Unbekannte Zielgruppe / unknown audience {audience!r} (use {', '.join(AUDIENCES)})")
    from pipeline.reports import shared
    from pipeline.reports.pdf import write_pdf

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = ReportContext.build(config, result, audience)
    if created is not None:
        ctx.created = created
    office = None
    if helper is not None:
        from pipeline import worker

        # computed once here and handed over: the helper would otherwise compute every other cycle again
        seed = shared.seed(ctx, con)
        try:
            helper.submit("pipeline.reports", "render_office", config, result, audience, out_dir, ctx.created, seed)
        except worker.WorkerDied:
            helper = None
    try:
        pdf = write_pdf(ctx, con, out_dir)
    finally:
        if helper is not None:  # collect the helper's answer even when the PDF failed: it must end idle
            office = _office_result(helper)
    if office is None:
        office = _write_office(ctx, con, out_dir)
    return [office[0], office[1], pdf, *office[2:]]


def _office_result(helper) -> list[Path] | None:
    from pipeline import worker

    try:
        return helper.result()
    except worker.WorkerDied:
        return None  # written here instead


def render_office(config, result, audience: str, out_dir: Path, created: dt.date, seed: dict) -> list[Path]:
    """The files of the set other than the PDF, in a helper process: its own read-only connection with the
    views at the result's data state (as :func:`pipeline.runs.reports` opens it)."""
    from pipeline import db
    from pipeline.reports import shared

    ctx = ReportContext.build(config, result, audience)
    ctx.created = created
    shared.plant(ctx, seed)
    con = db.connect(config.database, read_only=True)
    try:
        db.create_current_views(con, result.data_state if result.data_state else None)
        return _write_office(ctx, con, Path(out_dir))
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


__all__ = ["AUDIENCES", "render_office", "render_reports"]
