"""Shared workbook helpers: one table per sheet, safe text, number formats, frozen header, filters, print setup.

Conventions (gptables style): no merged cells, units in headings, notes below a table after one blank row,
one symbol for suppressed values explained in a footnote. Every save goes to a temp file first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import files
from pipeline.reports.disclosure import Suppressed

FMT_COUNT = "0"
FMT_SHARE = "0.0 %"
FMT_SHARE_PUBLIC = "0 %"
FMT_DECIMAL = "0.0"
FMT_DATE = "DD.MM.YYYY"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TITLE_FONT = Font(bold=True, size=13)
NOTE_FONT = Font(italic=True, size=9)
THIN = Side(style="thin", color="BFBFBF")


def set_text(cell: Cell, text: str) -> None:
    """Write ``text`` as a string cell, never a formula (input data may start with = + - @)."""
    cell.value = text
    cell.data_type = "s"  # openpyxl would otherwise mark a leading '=' as a formula


def set_value(cell: Cell, value, number_format: str | None = None) -> None:
    """Write one value with its type: numbers stay numbers, dates get TT.MM.JJJJ, text is always text."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN: empty cell
        cell.value = None
        return
    if isinstance(value, Suppressed):
        set_text(cell, str(value))
        cell.alignment = Alignment(horizontal="right")
        return
    if isinstance(value, bool):
        set_text(cell, "ja" if value else "nein")
        return
    if isinstance(value, (dt.date, dt.datetime)):
        cell.value = value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
        cell.number_format = FMT_DATE
        return
    if isinstance(value, (int, float)) or hasattr(value, "__float__") and not isinstance(value, str):
        v = float(value)
        cell.value = int(v) if v.is_integer() and number_format in (None, FMT_COUNT) else v
        cell.number_format = number_format or FMT_COUNT
        return
    set_text(cell, str(value))


@dataclass
class Column:
    header: str
    width: float = 14
    number_format: str | None = None
    wrap: bool = False
    align: str | None = None  # horizontal alignment for the whole column (None: by value type)


@dataclass
class SheetTable:
    """One table on one sheet: a title line, a header row, data rows, notes below."""

    sheet_name: str
    title: str
    columns: list[Column]
    rows: list[Sequence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # per-row number formats override the column's (e.g. a share row in a table of counts)
    row_formats: list[dict[int, str]] | None = None


def add_table_sheet(wb: Workbook, table: SheetTable, project_name: str) -> Worksheet:
    """Write ``table`` on a new sheet with frozen header, filter, widths and print setup."""
    ws = wb.create_sheet(safe_sheet_name(table.sheet_name))
    set_text(ws.cell(row=1, column=1), table.title)
    ws.cell(row=1, column=1).font = TITLE_FONT
    header_row = 3
    for j, col in enumerate(table.columns, start=1):
        c = ws.cell(row=header_row, column=j)
        set_text(c, col.header)
        c.font = HEADER_FONT
        c.fill = HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(j)].width = col.width
    ws.row_dimensions[header_row].height = row_height([c.header for c in table.columns], table.columns, wrap_all=True)
    for i, row in enumerate(table.rows, start=header_row + 1):
        ws.row_dimensions[i].height = row_height(row, table.columns)
        fmts = table.row_formats[i - header_row - 1] if table.row_formats else {}
        for j, (col, value) in enumerate(zip(table.columns, row, strict=True), start=1):
            c = ws.cell(row=i, column=j)
            set_value(c, value, fmts.get(j - 1, col.number_format))
            c.border = Border(bottom=THIN)
            # top-aligned: in a row that wraps elsewhere, a label must stay on the line of its value
            c.alignment = Alignment(wrap_text=col.wrap, vertical="top",
                                    horizontal=col.align or c.alignment.horizontal)
    last_row = header_row + max(len(table.rows), 1)
    last_col = get_column_letter(len(table.columns))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.auto_filter.ref = f"A{header_row}:{last_col}{last_row}"
    note_row = last_row + 2
    for note in table.notes:
        c = ws.cell(row=note_row, column=1)
        set_text(c, note)
        c.font = NOTE_FONT
        note_row += 1
    ws.print_title_rows = f"{header_row}:{header_row}"
    print_setup(ws, project_name)
    return ws


def row_height(values: Sequence, columns: Sequence[Column], wrap_all: bool = False) -> float:
    """Points for a row whose wrapped texts need several lines (neither Excel nor LibreOffice grow rows on open)."""
    lines = 1
    for col, v in zip(columns, values, strict=False):
        if (col.wrap or wrap_all) and isinstance(v, str):
            per_line = max(int(col.width * 1.1), 1)
            lines = max(lines, sum(-(-max(len(part), 1) // per_line) for part in v.split("\n")))
    return 15.0 * lines


def add_key_value_sheet(wb: Workbook, sheet_name: str, title: str, pairs: list[tuple[str, object]],
                        project_name: str, notes: Sequence[str] = ()) -> Worksheet:
    """A cover sheet: title, then two columns 'Angabe' / 'Wert' (no merged cells)."""
    table = SheetTable(sheet_name, title, [Column("Angabe", 34), Column("Wert", 80, wrap=True, align="left")],
                       [list(p) for p in pairs], list(notes))
    return add_table_sheet(wb, table, project_name)


def print_setup(ws: Worksheet, project_name: str) -> None:
    """A4 landscape, fit to page width, header with the project name, footer with the page number."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.5
    # header/footer codes: &P page, &N pages; text must not contain a lone '&'
    name = project_name.replace("&", "&&")
    ws.oddHeader.left.text = name
    ws.oddHeader.right.text = ws.title.replace("&", "&&")
    ws.oddFooter.center.text = "Seite &P von &N"
    ws.evenHeader.left.text = name
    ws.evenFooter.center.text = "Seite &P von &N"


def safe_sheet_name(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, "-")
    return name[:31]


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def atomic_save(wb: Workbook, path: Path) -> Path:
    """Save to a temp file in the same directory, then replace: a half-written file never replaces a good one."""
    path = Path(path)
    with files.replacing(path) as tmp:
        wb.save(tmp)
    return path


def atomic_write_bytes(data: bytes, path: Path) -> Path:
    return files.write_bytes(path, data)
