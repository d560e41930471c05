"""Office forms of a generated export set (exports.md, "Files an office produces", December 2026).

What Excel or LibreOffice make of the exports when someone opens them and saves them again. Each form is a
copy of a clean inbox in its own folder ``<root>/<form>/``: the readable forms rewrite every file (they must
give the very same indicators as the clean set), the refused forms rewrite the households file only (its
rule is expected, the other files stay clean). ``<root>/forms.json`` lists each form with what to expect.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from pipeline.generate import files
from pipeline.generate.files import de_date

READABLE = (
    "sep_line",
    "utf8_without_bom",
    "utf16_unicode_text",
    "separator_only_lines",
    "trailing_empty_headers",
    "cover_sheet",
    "excel_resave",
)
# form -> rule of rules.toml the households file is refused with
REFUSED = {
    "title_line": "F09",
    "legacy_xls": "F10",
    "html_table": "F11",
    "serial_dates": "F12",
    "two_table_sheets": "F13",
    "xlsx_under_csv_name": "F15",
}
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EXCEL_EPOCH = dt.date(1899, 12, 30)
COVER = [["BG-Coaching: Export aus der Fallverwaltung"], ["Stand", "siehe Dateiname"], [], ["vertraulich"]]

Table = tuple[list[str], list[list[str]]]  # header, rows (text cells)


def read_table(path: Path) -> Table:
    """Header and text rows of a clean generated file (CSV in any generator dialect, or XLSX)."""
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            rows = [[_text(v) for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
        return rows[0], [r for r in rows[1:] if any(r)]
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    first = text.split("\n", 1)[0]
    sep = max((";", ",", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"'))
    return rows[0], [r for r in rows[1:] if r]


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime | dt.date):
        return de_date(v.date() if isinstance(v, dt.datetime) else v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _csv(header: list[str], rows: list[list[str]], sep: str = ";", newline: str = "\r\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, quotechar='"', lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def workbook_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """An XLSX file with these sheets (title -> rows), in order, as bytes."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return files.reproducible(buf.getvalue())  # same seed, same bytes


def _blank(n: int, sep: str = ";") -> str:
    return sep * (n - 1)


# --- readable forms: (stem, header, rows) -> (file name, bytes) -------------------------------------------


def _sep_line(stem, h, rows):
    return f"{stem}.csv", ("sep=;\r\n" + _csv(h, rows)).encode("utf-8-sig")


def _utf8_without_bom(stem, h, rows):
    return f"{stem}.csv", _csv(h, rows, newline="\n").encode("utf-8")


def _utf16(stem, h, rows):
    return f"{stem}.csv", _csv(h, rows, sep="\t").encode("utf-16")  # BOM, little endian: Excel "Unicode-Text"


def _separator_only_lines(stem, h, rows):
    text = _csv(h, rows[:1]) + _blank(len(h)) + "\r\n" + _csv(h, rows[1:]).split("\r\n", 1)[1]
    return f"{stem}.csv", (text + (_blank(len(h)) + "\r\n") * 3).encode("utf-8-sig")


def _trailing_empty_headers(stem, h, rows):
    return f"{stem}.csv", _csv([*h, "", ""], [[*r, "", ""] for r in rows]).encode("utf-8-sig")


def _cover_sheet(stem, h, rows):
    return f"{stem}.xlsx", workbook_bytes({"Deckblatt": COVER, "Export": [h, *rows]})


def _excel_resave(stem, h, rows):
    text = "sep=;\r\n" + _csv([*h, ""], [[*r, ""] for r in rows]) + (_blank(len(h) + 1) + "\r\n") * 2
    return f"{stem}.csv", text.encode("utf-8-sig")


FORMS: dict[str, Callable] = {
    "sep_line": _sep_line,
    "utf8_without_bom": _utf8_without_bom,
    "utf16_unicode_text": _utf16,
    "separator_only_lines": _separator_only_lines,
    "trailing_empty_headers": _trailing_empty_headers,
    "cover_sheet": _cover_sheet,
    "excel_resave": _excel_resave,
}


# --- refused forms (households only) ----------------------------------------------------------------------


def _serial(cell: str) -> str:
    try:
        d = dt.datetime.strptime(cell, "%d.%m.%Y").date()
    except ValueError:
        return cell
    return str((d - EXCEL_EPOCH).days)


def _refused(form: str, stem: str, h: list[str], rows: list[list[str]], clean: Path) -> tuple[str, bytes]:
    if form == "title_line":
        return f"{stem}.csv", ("Haushalte – Export BG-Coaching\r\n\r\n" + _csv(h, rows)).encode("utf-8-sig")
    if form == "legacy_xls":  # the OLE2 container of Excel 97-2003 (the header block; the body does not matter)
        return f"{stem}.xlsx", OLE2_MAGIC + b"\x00" * 504 + _csv(h, rows).encode("cp1252", "replace")
    if form == "html_table":  # Excel "Webseite" saved under the old name
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in [h, *rows]
        )
        return f"{stem}.xlsx", f"<html><body><table>{cells}</table></body></html>".encode()
    if form == "serial_dates":  # date columns formatted as numbers in Excel, then saved as CSV
        return f"{stem}.csv", _csv(h, [[_serial(c) for c in r] for r in rows]).encode("utf-8-sig")
    if form == "two_table_sheets":
        return f"{stem}.xlsx", workbook_bytes({"Deckblatt": COVER, "Export": [h, *rows], "Kopie": [h, *rows]})
    if form == "xlsx_under_csv_name":
        return f"{stem}.csv", clean.read_bytes() if clean.suffix == ".xlsx" else workbook_bytes({"Export": [h, *rows]})
    raise ValueError(f"unknown office form {form!r}")


def write_forms(inbox: Path, root: Path, forms: list[str] | None = None) -> dict[str, Path]:
    """Write each office form of the export files in ``inbox`` into ``root/<form>/``; returns form -> folder."""
    forms = forms or [*READABLE, *REFUSED]
    files = sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".xlsx"))
    out: dict[str, Path] = {}
    for form in forms:
        target = root / form
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in files:
            households = path.name.startswith("haushalte_")
            if form in FORMS or (form in REFUSED and households):
                header, rows = read_table(path)
                if form in FORMS:
                    name, data = FORMS[form](path.stem, header, rows)
                else:
                    name, data = _refused(form, path.stem, header, rows, path)
                (target / name).write_bytes(data)
            elif form in REFUSED:
                shutil.copyfile(path, target / path.name)
            else:
                raise ValueError(f"unknown office form {form!r}")
        out[form] = target
    expect = {f: ("gelesen" if f in FORMS else REFUSED[f]) for f in forms}
    (root / "forms.json").write_text(json.dumps(expect, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
