"""The streaming XLSX reader (issue 7) gives exactly what openpyxl gives, on every kind of cell."""

from __future__ import annotations

import datetime as dt
import io
import warnings
import zipfile

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from pipeline import read


def _openpyxl_lines(path) -> list[list[str]]:
    """Reference: openpyxl read-only values through the same cell formatting, empty rows left out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hand-built packages have no default style
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    header = [read._cell_text(v).strip() for v in rows[0]]
    while header and header[-1] == "":
        header.pop()
    out = [header]
    for row in rows[1:]:
        cells = [read._cell_text(v) for v in row[: len(header)]]
        cells += [""] * (len(header) - len(cells))
        if any(cells):
            out.append(cells)
    return out


def _decoded_lines(path, tmp_path) -> list[list[str]]:
    import csv

    decoded = read.decode_xlsx(path, tmp_path)
    with decoded.csv_path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter=";"))


def _mixed_workbook(path, write_only: bool = False):
    wb = openpyxl.Workbook(write_only=write_only)
    ws = wb.create_sheet("Export") if write_only else wb.active
    ws.append(["BG-ID", "Zahl", "Datum", "Bool", "Leer", "Text", ""])
    ws.append(["B1", 1.5, dt.date(2019, 2, 3), True, None, 'Müller; "x"\nzeile'])
    ws.append(["B2", 3.0, dt.datetime(2019, 2, 3, 14, 30), False, None, "  spaced  "])
    ws.append([])
    ws.append(["B3", 7, "03.02.19", None, None, "0042"])
    ws.append(["B4", 0.1, dt.date(1999, 12, 31), None, None, "€ – „Anführung“"])
    if not write_only:
        ws["F3"] = CellRichText(["a", TextBlock(InlineFont(b=True), "fett")])
        ws["H5"] = "rechts außerhalb der Kopfzeile"
        c = ws.cell(row=7, column=3, value=45000)
        c.number_format = "DD.MM.YYYY"
        ws.cell(row=7, column=1, value="B5")
        c = ws.cell(row=7, column=2, value=1.25)
        c.number_format = "[h]:mm"
    wb.save(path)
    return path


def test_cells_as_openpyxl_reads_them(tmp_path):
    path = _mixed_workbook(tmp_path / "haushalte_20200131.xlsx")
    lines = _decoded_lines(path, tmp_path)
    assert lines == _openpyxl_lines(path)
    # hand-checked: dates as ISO, whole floats as integers, booleans as ja/nein, rich text joined, text kept
    assert lines[0] == ["BG-ID", "Zahl", "Datum", "Bool", "Leer", "Text"]
    assert lines[1] == ["B1", "1.5", "2019-02-03", "ja", "", 'Müller; "x"\nzeile']
    assert lines[2] == ["B2", "3", "2019-02-03", "nein", "", "afett"]
    assert lines[3] == ["B3", "7", "03.02.19", "", "", "0042"]
    assert lines[4] == ["B4", "0.1", "1999-12-31", "", "", "€ – „Anführung“"]
    assert lines[5] == ["B5", "1 day, 6:00:00", "2023-03-15", "", "", ""]  # 45000 = 15.03.2023
    assert len(lines) == 6  # the empty row 4 is left out


def test_write_only_inline_strings_and_1904_dates(tmp_path):
    path = _mixed_workbook(tmp_path / "a.xlsx", write_only=True)
    assert _decoded_lines(path, tmp_path) == _openpyxl_lines(path)

    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    wb.active.append(["A", "B"])
    wb.active.append(["x", dt.date(2020, 1, 1)])
    wb.save(tmp_path / "mac.xlsx")
    assert _decoded_lines(tmp_path / "mac.xlsx", tmp_path) == [["A", "B"], ["x", "2020-01-01"]]


NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _excel_like(path, shared_strings: str, sheet_rows: str, prefix: str = ""):
    """A package as Excel writes it: shared strings, a style with a date format, a <dimension>, a prefix."""
    p = f"{prefix}:" if prefix else ""
    ns = NS.replace("xmlns=", f"xmlns:{prefix}=") if prefix else NS
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {NS} xmlns:r="{REL}"><sheets>'
        '<sheet name="Export" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships '
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet {NS}><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
        '</numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs>'
        "</styleSheet>",
        "xl/sharedStrings.xml": shared_strings,
        "xl/worksheets/sheet1.xml": f'<{p}worksheet {ns}><{p}dimension ref="A1:C4"/><{p}sheetData>'
        f"{sheet_rows}</{p}sheetData></{p}worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


SST = (
    f'<sst {NS} count="5" uniqueCount="5"><si><t>BG-ID</t></si><si><t>Eintritt</t></si>'
    '<si><r><t>Kom</t></r><r><rPr><b/></rPr><t xml:space="preserve">mentar </t></r></si>'
    '<si><t>Jürgen_x005F_x</t><rPh sb="0" eb="1"><t>PHONETIC</t></rPh></si><si><t>&amp;&lt;ok&gt;</t></si></sst>'
)
ROWS = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
    '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" s="1"><v>43497</v></c><c r="C2" t="s"><v>4</v></c></row>'
    '<row r="4"><c r="A4" t="str"><f>A2</f><v>B-7</v></c><c r="B4" s="2"><v>43831.5</v></c>'
    '<c r="C4" t="b"><v>1</v></c></row>'
)


def _prefixed(rows: str, prefix: str) -> str:
    for tag in ("row", "c", "v", "f"):
        rows = rows.replace(f"<{tag}>", f"<{prefix}:{tag}>").replace(f"<{tag} ", f"<{prefix}:{tag} ")
        rows = rows.replace(f"</{tag}>", f"</{prefix}:{tag}>")
    return rows


@pytest.mark.parametrize("prefix", ["", "x"])
def test_shared_strings_styles_and_prefixed_sheet(tmp_path, prefix):
    rows = _prefixed(ROWS, prefix) if prefix else ROWS
    path = _excel_like(tmp_path / "e.xlsx", SST, rows, prefix=prefix)
    lines = _decoded_lines(path, tmp_path)
    assert lines == _openpyxl_lines(path)
    # 43497 = 01.02.2019 (built-in date style 14), 43831.5 = 01.01.2020 12:00 (custom date format) -> date only;
    # rich-text runs joined, the phonetic run left out, "x005F_" (an escaped underscore) removed as openpyxl does
    assert lines == [
        ["BG-ID", "Eintritt", "Kommentar"],
        ["Jürgen_x", "2019-02-01", "&<ok>"],
        ["B-7", "2020-01-01", "ja"],
    ]


def test_entity_declarations_in_shared_strings_are_refused(tmp_path):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + SST.replace("<t>BG-ID</t>", "<t>&b;</t>")
    )
    path = _excel_like(tmp_path / "b.xlsx", bomb, ROWS)
    with pytest.raises(read.FileProblem) as exc:
        read.decode_xlsx(path, tmp_path)
    assert exc.value.rule_id == "F01"


def test_missing_worksheet_is_a_broken_file(tmp_path):
    path = _mixed_workbook(tmp_path / "c.xlsx")
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            if not item.filename.startswith("xl/worksheets/"):
                dst.writestr(item, src.read(item.filename))
    path.write_bytes(out.getvalue())
    with pytest.raises(read.FileProblem) as exc:
        read.decode_xlsx(path, tmp_path)
    assert exc.value.rule_id == "F01" and "beschädigt" in exc.value.message


def test_header_beyond_column_limit(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["A"])
    wb.active.cell(row=1, column=read.MAX_COLUMNS + 5, value="zu weit")
    wb.active.append(["x"])
    wb.save(tmp_path / "d.xlsx")
    with pytest.raises(read.FileProblem) as exc:
        read.decode_xlsx(tmp_path / "d.xlsx", tmp_path)
    assert exc.value.rule_id == "F08"
