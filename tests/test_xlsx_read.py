"""XLSX reading with python-calamine gives exactly the values of the openpyxl reader it replaced.

Every XLSX fixture (the generator's exports in every dialect, hand-made workbooks with every cell type, a
LibreOffice-written workbook with shared strings) is read both ways: through ``read.decode_xlsx`` (calamine)
and through ``old_decode_xlsx`` below, a verbatim copy of the openpyxl reader before calamine, the oracle.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from export_files import headers, household, rows_of, write_xlsx

from pipeline import read
from pipeline.config import load_config
from pipeline.generate import generate
from pipeline.read_xlsx import XlsxBook

ROOT = Path(__file__).resolve().parents[1]


# --- the oracle: the reader before calamine, unchanged ----------------------------------------------------


def _old_cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "ja" if value else "nein"
    return str(value)


def old_decode_xlsx(path: Path) -> tuple[list[str], list[list[str]]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        assert header is not None and not all(v is None for v in header)
        headers = [_old_cell_text(v).strip() for v in header]
        while headers and headers[-1] == "":
            headers.pop()
        width = len(headers)
        out = []
        for row in rows:
            cells = [_old_cell_text(v) for v in row[:width]]
            if not any(cells):
                continue
            out.append(cells + [""] * (width - len(cells)))
    finally:
        wb.close()
    return headers, out


def new_decode_xlsx(path: Path, workdir: Path) -> tuple[list[str], list[list[str]]]:
    decoded = read.decode_xlsx(path, workdir)
    with decoded.csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";", quotechar='"'))
    assert rows[0] == decoded.headers
    return decoded.headers, rows[1:]


def assert_same_both_ways(path: Path, workdir: Path, engine: str = "calamine") -> int:
    with XlsxBook(path, workdir) as book:
        assert book.engine == engine, path.name
    old_headers, old_rows = old_decode_xlsx(path)
    new_headers, new_rows = new_decode_xlsx(path, workdir)
    assert new_headers == old_headers, path.name
    assert len(new_rows) == len(old_rows), path.name
    for i, (new, old) in enumerate(zip(new_rows, old_rows, strict=True), start=2):
        for j, (n, o) in enumerate(zip(new, old, strict=True)):
            assert n == o, f"{path.name} row {i} column {old_headers[j]!r}: calamine {n!r}, openpyxl {o!r}"
    return len(new_rows)


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    cfg = load_config(ROOT / "config.toml")
    out = tmp_path_factory.mktemp("gen")
    generate(out, households=60, seed=11, cycles=["2024", "2025"], config=cfg, snapshot_date=dt.date(2026, 6, 30),
             defects=0.05)
    return sorted(out.glob("*.xlsx"))


def _every_cell_type(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Export"
    ws.append(headers("households") + ["Zahl", "Wahr", "Zeit", "Dauer", "Bemerkung", None])
    values = [
        household("BG-2019-001", **{"Zuweisung am": dt.datetime(2019, 1, 2), "Personen in BG": 3,
                                     "Gemeindeschlüssel": 7132001}),  # real date, AGS as number
        household("007", **{"Eintritt": dt.date(2019, 1, 15), "BG-Nummer": "07132BG0001234"}),  # leading zeros
        household("BG-3", **{"Eintritt": "15.01.19", "Austritt": "keine Angabe", "Coach": ""}),  # text dates
        household("BG-4", **{"Eintritt": dt.datetime(2019, 3, 4, 13, 45), "Gemeindeschlüssel": "07132001"}),
        household("BG-5", **{"Personen in BG": 2.0, "Projektjahr": 2019, "Status": None, "Austritt": None}),
    ]
    extras = [
        [1.5, True, dt.time(12, 30), dt.timedelta(hours=5), " Leer am Rand "],
        [-0.0, False, None, None, "Zeile\nmit Umbruch; und \"Anführung\""],
        [12345678901234.0, None, None, None, "äöüß €"],
        [0.1 + 0.2, None, None, None, None],
        [1e16, None, None, None, "=1+2"],  # a formula: no cached value from openpyxl, 3 from LibreOffice
    ]
    for h, extra in zip(values, extras, strict=True):
        ws.append(rows_of("households", [h])[0] + extra)
    ws.append([None] * 5)  # an empty row in the middle is left out
    ws.append(rows_of("households", [household("BG-6")])[0])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, dt.datetime | dt.date) and not isinstance(cell.value, dt.time):
                cell.number_format = "DD.MM.YYYY"
    wb.create_sheet("Zweites Blatt").append(["wird nicht gelesen"])
    wb.save(path)
    return path


def _starts_in_column_b(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate([["Kopf1", "Kopf2"], ["a", 1], [None, None], ["b", dt.date(2020, 2, 29)]], start=1):
        for c, v in enumerate(row, start=2):
            ws.cell(r, c, v)
    wb.save(path)
    return path


# --- equivalence ----------------------------------------------------------------------------------------


def test_generated_exports_read_the_same_both_ways(generated, tmp_path):
    names = {p.name.split("_")[0] for p in generated}
    assert {"haushalte", "nachbefragungen"} <= names  # real Excel dates, dates as text, AGS as number
    assert len(generated) >= 3
    for path in generated:
        assert assert_same_both_ways(path, tmp_path) > 0


def test_every_cell_type_reads_the_same_both_ways(tmp_path):
    path = _every_cell_type(tmp_path / "haushalte_20200131.xlsx")
    assert assert_same_both_ways(path, tmp_path) == 6
    _, rows = new_decode_xlsx(path, tmp_path)
    col = {h: i for i, h in enumerate(headers("households") + ["Zahl", "Wahr", "Zeit", "Dauer", "Bemerkung"])}
    # the values themselves, as the mapping step expects them (not only "equal to openpyxl")
    assert [r[col["BG-ID"]] for r in rows] == ["BG-2019-001", "007", "BG-3", "BG-4", "BG-5", "BG-6"]
    assert rows[0][col["Zuweisung am"]] == "2019-01-02" and rows[0][col["Gemeindeschlüssel"]] == "7132001"
    assert rows[1][col["Eintritt"]] == "2019-01-15" and rows[1][col["BG-Nummer"]] == "07132BG0001234"
    assert rows[2][col["Eintritt"]] == "15.01.19" and rows[2][col["Austritt"]] == "keine Angabe"
    assert rows[3][col["Eintritt"]] == "2019-03-04"
    assert rows[4][col["Personen in BG"]] == "2" and rows[4][col["Status"]] == ""
    assert rows[0][col["Zahl"]:] == ["1.5", "ja", "12:30:00", "5:00:00", " Leer am Rand "]
    assert rows[1][col["Zahl"]:col["Zeit"] + 1] == ["0", "nein", ""]
    assert rows[2][col["Zahl"]] == "12345678901234" and rows[4][col["Zahl"]] == "10000000000000000"


def test_sheet_starting_in_column_b_keeps_column_a(tmp_path):
    path = _starts_in_column_b(tmp_path / "kontakte_20200131.xlsx")
    assert assert_same_both_ways(path, tmp_path) == 2
    assert new_decode_xlsx(path, tmp_path) == (["", "Kopf1", "Kopf2"], [["", "a", "1"], ["", "b", "2020-02-29"]])


def test_hand_written_ingest_fixture_reads_the_same_both_ways(tmp_path):
    h = household("BG-2019-001", **{"Zuweisung am": dt.datetime(2019, 1, 2), "Gemeindeschlüssel": 7132001})
    path = write_xlsx(tmp_path / "haushalte_20200131.xlsx", headers("households"), rows_of("households", [h]))
    assert assert_same_both_ways(path, tmp_path) == 1


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_workbook_with_shared_strings_reads_the_same_both_ways(tmp_path):
    (tmp_path / "src").mkdir()
    src = _every_cell_type(tmp_path / "src" / "haushalte_20200131.xlsx")
    out = tmp_path / "lo"
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
         "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(src)],
        check=True, capture_output=True, timeout=180,
    )
    path = out / src.name
    with zipfile.ZipFile(path) as zf:
        assert "xl/sharedStrings.xml" in zf.namelist()  # the Excel way of storing text, unlike openpyxl
    assert assert_same_both_ways(path, tmp_path) == 6


# --- what calamine would get wrong goes to openpyxl; what is hostile never reaches either --------------------


def test_error_cells_are_read_with_openpyxl_and_keep_their_text(tmp_path):
    path = tmp_path / "haushalte_20200131.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(headers("households"))
    wb.active.append(rows_of("households", [household("B1", Coach="#N/A")])[0])  # openpyxl stores an error cell
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        assert b't="e"' in zf.read("xl/worksheets/sheet1.xml")
    assert assert_same_both_ways(path, tmp_path, engine="openpyxl") == 1
    _, rows = new_decode_xlsx(path, tmp_path)
    assert rows[0][headers("households").index("Coach")] == "#N/A"  # calamine would have made it empty


def test_sparse_sheet_is_refused_before_its_grid_is_allocated(tmp_path):
    path = tmp_path / "haushalte_20200131.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(headers("households"))
    wb.active["XFD1048576"] = "x"  # calamine would allocate 17 billion cells and abort the process
    wb.save(path)
    with pytest.raises(read.FileProblem) as e:
        read.decode_xlsx(path, tmp_path)
    assert e.value.rule_id == "F08" and "unplausibel groß" in e.value.message


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml"])
def test_doctype_in_any_part_is_refused(tmp_path, part):
    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active.append(["A"])
    wb.active.append(["x"])
    wb.save(buf)
    path = tmp_path / "haushalte_20200131.xlsx"
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == part:
                doctype = b'<!DOCTYPE x [<!ENTITY e "e">]>'
                data = data.replace(b"?>", b"?>" + doctype, 1) if b"?>" in data else doctype + data
            dst.writestr(item, data)
    with pytest.raises(read.FileProblem) as e:
        read.decode_xlsx(path, tmp_path)
    assert e.value.rule_id == "F01"


def test_private_copy_is_removed_and_book_lists_sheets(tmp_path):
    path = _every_cell_type(tmp_path / "haushalte_20200131.xlsx")
    work = tmp_path / "work"
    work.mkdir()
    with XlsxBook(path, work) as book:
        assert book.sheet_names() == ["Export", "Zweites Blatt"]
        assert book.first_row("Zweites Blatt") == ["wird nicht gelesen"]
        assert book.first_row("Export")[:2] == ["BG-ID", "BG-Nummer"]
    assert list(work.iterdir()) == []
