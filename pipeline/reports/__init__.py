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
                   created: dt.date | None = None) -> list[Path]:
    """Write the report files for ``audience`` into ``out_dir``; return their paths.

    Each file is written to a temp file in ``out_dir`` and then moved into place, so a failed run never
    leaves a half-written report in place of a good one.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"Unbekannte Zielgruppe / unknown audience {audience!r} (use {', '.join(AUDIENCES)})")
    from pipeline import files
    from pipeline.reports import press, shared
    from pipeline.reports.esf_submission import write_esf_submission
    from pipeline.reports.pdf import write_pdf
    from pipeline.reports.project_workbook import write_project_workbook
    from pipeline.reports.word import write_docx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = ReportContext.build(config, result, audience)
    if created is not None:
        ctx.created = created
    paths = [
        write_esf_submission(ctx, out_dir),
        write_project_workbook(ctx, con, out_dir),
        write_pdf(ctx, con, out_dir),
    ]
    if ctx.public:
        paths.append(files.write_text(out_dir / press.FILE_NAME, shared.public_text(ctx, con).text()))
    else:
        paths.append(write_docx(ctx, con, out_dir))
    return paths


__all__ = ["AUDIENCES", "render_reports"]
