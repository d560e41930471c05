"""``sachbericht.docx``: an editable Word draft of the Sachbericht (python-docx), for ``intern`` and ``foerdergeber``.

Why python-docx and not docxtpl: the document's shape follows the data (chapters with or without tables, one flagged
place per missed target, one column per cycle), which is code either way; docxtpl would add a binary Word template
to maintain beside it. python-docx builds real Word tables and pictures, and the tests read the file back with it.

The text of the chapters comes from :mod:`pipeline.reports.narrative` (pure functions); this module only lays it
out. Drafted paragraphs carry the paragraph style ``Textentwurf``, the places for the lead's own words the style
``Eigene Ausführungen`` (highlighted), flagged missed targets the style ``Begründung erforderlich``.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from pipeline.reports import shared
from pipeline.reports.context import ReportContext, definitions, settings_notes
from pipeline.reports.figures import FUNDING_PERIOD_LABELS, GENDER_LABELS, breakdowns, esf_tables
from pipeline.reports.german import de_date, fmt_number
from pipeline.reports.xlsx import atomic_write_bytes

FILE_NAME = "sachbericht.docx"
DRAFT_STYLE = "Textentwurf"
OWN_STYLE = "Eigene Ausführungen"
FLAG_STYLE = "Begründung erforderlich"
BLUE = RGBColor(0x1F, 0x4E, 0x79)
TEXT_WIDTH_CM = 16.6  # A4 minus 2 × 2.2 cm margins
# which charts and tables follow the drafted text of a chapter
CHAPTER_CHARTS = {"umsetzung": ["households"], "hilfen": ["help_groups"], "austritte": ["destinations"],
                  "ziele": ["cycles"]}
CHART_CAPTIONS = {
    "households": "Betreute Bedarfsgemeinschaften im Zeitverlauf",
    "help_groups": "Eingeleitete Hilfen nach Hilfebereich (K06)",
    "destinations": "Verbleib der ESF-Teilnehmenden bei Austritt",
    "cycles": "Projektjahre im Vergleich (vorläufige Projektjahre schraffiert)",
}


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10.5)
    rpr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "de-DE")  # spelling and hyphenation in German
    rpr.append(lang)
    for name in ("Title", "Heading 1", "Heading 2"):
        doc.styles[name].font.color.rgb = BLUE
        doc.styles[name].font.name = "Arial"
    draft = doc.styles.add_style(DRAFT_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    draft.base_style = normal
    draft.paragraph_format.space_after = Pt(6)
    own = doc.styles.add_style(OWN_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    own.base_style = normal
    own.font.italic = True
    own.font.highlight_color = WD_COLOR_INDEX.YELLOW
    own.paragraph_format.space_after = Pt(10)
    flag = doc.styles.add_style(FLAG_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    flag.base_style = normal
    flag.font.bold = True
    flag.font.color.rgb = RGBColor(0xA0, 0x00, 0x00)


def _field(paragraph, instr: str) -> None:
    """A Word field (PAGE, NUMPAGES): Word and LibreOffice fill it in."""
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instr)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def _header_footer(doc, ctx: ReportContext) -> None:
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)
    sec.left_margin = sec.right_margin = Cm(2.2)
    head = sec.header.paragraphs[0]
    head.text = f"{ctx.project.name} – Sachbericht {ctx.period_label} – ENTWURF"
    head.runs[0].font.size = Pt(8)
    foot = sec.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    foot.add_run(f"{ctx.audience_label} · Seite ").font.size = Pt(8)
    _field(foot, "PAGE")
    foot.add_run(" von ").font.size = Pt(8)
    _field(foot, "NUMPAGES")


def _repeat_header(row) -> None:
    """Mark a table row as header row (repeats on each page; screen readers announce it as header)."""
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def table(doc, headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset(),
          widths: list[float] | None = None, highlight: set[int] = frozenset()):
    """A real Word table: bold header row marked as such, numbers right-aligned; ``highlight``: rows to flag."""
    t = doc.add_table(rows=1, cols=len(headers))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    _repeat_header(t.rows[0])
    for i, h in enumerate(headers):
        cell = t.rows[0].cells[i]
        cell.text = h
        run = cell.paragraphs[0].runs[0]
        run.bold = True
        run.font.size = Pt(9)
        if i in numeric:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for r, values in enumerate(rows):
        cells = t.add_row().cells
        for i, v in enumerate(values):
            cells[i].text = str(v)
            par = cells[i].paragraphs[0]
            if par.runs:
                par.runs[0].font.size = Pt(9)
            if i in numeric:
                par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if r in highlight and par.runs:
                par.runs[0].font.color.rgb = RGBColor(0xA0, 0x00, 0x00)
                par.runs[0].bold = True
    widths = widths or _widths(headers, numeric)
    t.autofit = False
    for col, w in zip(t.columns, widths, strict=True):
        col.width = Cm(w)  # the grid (LibreOffice) ...
    for row in t.rows:
        for cell, w in zip(row.cells, widths, strict=True):
            cell.width = Cm(w)  # ... and each cell (Word)
    doc.add_paragraph()
    return t


def _widths(headers: list[str], numeric: set[int], text_width: float = TEXT_WIDTH_CM) -> list[float]:
    """Numbers get a narrow column (2.4 cm or their longest header word, at most 60 % of the page together),
    text columns share the rest; a first column of ids (Kennung) stays narrow."""
    # wide enough for the longest header word in bold 9 pt (about 0.2 cm a letter plus cell margins)
    longest = max((len(w) for i in numeric for w in headers[i].split()), default=0)
    num_w = min(max(2.4, 0.2 * longest + 0.5), text_width * 0.6 / max(len(numeric), 1))
    narrow = {0} if headers and headers[0] == "Kennung" else set()
    text_cols = [i for i in range(len(headers)) if i not in numeric and i not in narrow]
    rest = text_width - num_w * len(numeric) - 2.0 * len(narrow)
    return [num_w if i in numeric else 2.0 if i in narrow else rest / max(len(text_cols), 1)
            for i in range(len(headers))]


def picture(doc, chart, caption: str) -> None:
    """The chart as a PNG picture with its alternative text (docPr ``descr``: python-docx has no API for it)."""
    doc.add_paragraph(caption, style="Caption").paragraph_format.keep_with_next = True
    shape = doc.add_picture(io.BytesIO(chart.png()), width=Cm(16))
    shape._inline.docPr.set("descr", chart.alt)
    shape._inline.docPr.set("title", caption)
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _cover(doc, ctx: ReportContext) -> None:
    doc.add_paragraph("Sachbericht – Entwurf", style="Title")
    doc.add_paragraph(f"{ctx.project.name} · {ctx.period_label}", style="Subtitle")
    p, c = ctx.period, getattr(ctx.period, "cycle", None)
    cycles = [c] if c is not None else list(getattr(p, "overlapping_cycles", ()) or ())
    term = f"{de_date(min(x.start for x in cycles))} bis {de_date(max(x.end for x in cycles))}" if cycles else "–"
    rows = [["Träger", ctx.project.carrier], ["Projekt", ctx.project.name],
            ["Aktenzeichen / Bewilligung", ctx.project.file_number or "–"], ["Laufzeit", term],
            ["Berichtszeitraum", ctx.period_label], ["Datenstand", de_date(ctx.result.data_state)],
            ["Fassung", ctx.audience_label]]
    table(doc, ["Angabe", "Wert"], rows, widths=[5.5, 11.1])
    for label in ("Ort, Datum", "Unterschrift (Projektleitung)"):
        doc.add_paragraph(f"{label}: " + "_" * 40)
    note = doc.add_paragraph(
        f"Dieser Entwurf wurde am {de_date(ctx.created)} aus den Kennzahlen des Laufs erstellt (indicators.csv, "
        f"Datenstand {de_date(ctx.result.data_state)}). Die Absätze am Anfang jedes Kapitels sind aus den Zahlen "
        "formuliert und frei bearbeitbar; gelb markierte Stellen sind für eigene Ausführungen vorgesehen, rot "
        "markierte verlangen eine Begründung.")
    note.runs[0].italic = True
    note.runs[0].font.size = Pt(9)


def _targets_table(doc, ctx: ReportContext) -> None:
    rows = shared.target_rows(ctx)
    if not rows:
        return
    doc.add_heading("Ziele und Ergebnisse", level=2)
    table(doc, ["Kennung", "Indikator", "Ziel", "Ergebnis", "Abweichung", "Bewertung"],
          [[t.id, t.label, t.target_label, fmt_number(t.result, t.unit), t.difference_label,
            ("⚠ " if t.missed else "") + t.status] for t in rows],
          numeric={3, 4}, highlight={i for i, t in enumerate(rows) if t.missed}, widths=[2.0, 4.3, 3.3, 2.0, 2.7, 2.5])


def _comparison_table(doc, ctx: ReportContext, con) -> None:
    comp = shared.cycle_comparison(ctx, con)
    if not comp.rows:
        return
    doc.add_heading("Projektjahre im Vergleich", level=2)
    headers = ["Kennzahl"] + [f"{r.cycle_id} ({r.status_label})" for r in comp.rows]
    body = [["Förderperiode"] + ["ESF+" if r.funding_period == "esfplus_2021_2027" else "ESF" for r in comp.rows]]
    for col in comp.columns:
        label = f"{col.key} {col.label}" if col.key.startswith("K") else col.label
        body.append([label] + [fmt_number(r.cells[col.key].value, col.unit) for r in comp.rows])
    n = len(comp.rows)
    table(doc, headers, body, numeric=set(range(1, len(headers))),
          widths=[TEXT_WIDTH_CM - min(3.4, 10.6 / n) * n] + [min(3.4, 10.6 / n)] * n)
    note = doc.add_paragraph("Nicht abgeschlossene Projektjahre (laufend oder Nachbefragung noch nicht fällig) sind "
                             "vorläufig und nicht wie abgeschlossene zu vergleichen.")
    note.runs[0].font.size = Pt(8.5)


def _esf_table(doc, ctx: ReportContext) -> None:
    tables = [t for t in esf_tables(ctx.lk, ctx.funding_periods, ctx.rules) if t.rows]
    for esf in tables:  # two for a range across the change-over
        title = "ESF-Indikatoren nach Geschlecht"
        if len(tables) > 1:
            title += f" – {FUNDING_PERIOD_LABELS.get(esf.funding_period, esf.funding_period)}"
        doc.add_heading(title, level=2)
        headers = ["Kennung", "Indikator", "Insgesamt"] + [GENDER_LABELS[g] for g in esf.gender_columns]
        rows = [[r.id, r.label, fmt_number(r.cells["total"])] + [fmt_number(r.cells[g]) for g in esf.gender_columns]
                for r in esf.rows if r.unit == "count"]
        table(doc, headers, rows, numeric=set(range(2, len(headers))))


def _breakdown_table(doc, ctx: ReportContext, ind: str, dim: str, title: str, head: str) -> None:
    bds = breakdowns(ctx.lk, ctx.rules, ids=[ind], dims=(dim,))
    if bds and any(r[3] for r in bds[0].rows):
        doc.add_heading(title, level=2)
        table(doc, [head, "Anzahl"], [[r[0], fmt_number(r[3])] for r in bds[0].rows], numeric={1})


def _annex(doc, ctx: ReportContext) -> None:
    doc.add_page_break()
    doc.add_heading("Anhang: Definitionen", level=1)
    esf_ids = [r.id for t in esf_tables(ctx.lk, ctx.funding_periods, ctx.rules) for r in t.rows]
    ids = [i for i in ctx.lk.indicator_ids() if i.startswith("K") and (ctx.show_coach or i != "K18")] + esf_ids
    table(doc, ["Kennung", "Indikator", "Definition"],
          [[i, f"{label} ({unit})", d] for i, label, unit, d in definitions(ids, ctx.config)],
          widths=[2.0, 4.5, 10.1])
    for s in settings_notes(ctx.config):
        doc.add_paragraph(s).runs[0].font.size = Pt(8.5)
    doc.add_heading("Anhang: Datengrundlage", level=1)
    table(doc, ["Tabelle", "Stand der Lieferung"], [list(x) for x in ctx.snapshot_lines()], widths=[8.0, 8.6])


def build(ctx: ReportContext, con):
    """The Word document of the Sachbericht draft (not yet saved)."""
    doc = Document()
    _styles(doc)
    _header_footer(doc, ctx)
    doc.core_properties.title = f"Sachbericht {ctx.project.name} – {ctx.period_label} (Entwurf)"
    doc.core_properties.author = ctx.project.carrier
    doc.core_properties.language = "de-DE"
    doc.core_properties.comments = f"Erstellt von esf-pipeline, Datenstand {de_date(ctx.result.data_state)}"
    _cover(doc, ctx)
    drawn = shared.report_charts(ctx, con)
    for n, ch in enumerate(shared.chapters(ctx, con), start=1):
        doc.add_heading(f"{n} {ch.title}", level=1)
        for text in ch.paragraphs:
            doc.add_paragraph(text, style=DRAFT_STYLE)
        if ch.key == "zielgruppe":
            _esf_table(doc, ctx)
        if ch.key == "ziele":
            _targets_table(doc, ctx)
            for note in ch.notes:  # one marked place per missed target
                doc.add_paragraph("⚠ " + note, style=FLAG_STYLE)
                doc.add_paragraph("[Begründung hier eintragen.]", style=OWN_STYLE)
            _comparison_table(doc, ctx, con)
        if ch.key == "hilfen":
            _breakdown_table(doc, ctx, "K06", "help_group", "Eingeleitete Hilfen nach Hilfebereich", "Hilfebereich")
        if ch.key == "austritte":
            _breakdown_table(doc, ctx, "K14", "exit_reason", "Austritte nach Grund", "Austrittsgrund")
        for key in CHAPTER_CHARTS.get(ch.key, []):
            if key in drawn:
                picture(doc, drawn[key], CHART_CAPTIONS[key])
        doc.add_paragraph(f"[Eigene Ausführungen: {ch.prompt}]", style=OWN_STYLE)
    _annex(doc, ctx)
    return doc


def write_docx(ctx: ReportContext, con, out_dir: Path) -> Path:
    buf = io.BytesIO()
    build(ctx, con).save(buf)
    return atomic_write_bytes(buf.getvalue(), Path(out_dir) / FILE_NAME)
