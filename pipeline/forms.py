"""Office forms of an export (exports.md, "Files an office produces", December 2026).

People open the exports in Excel or LibreOffice and save them again. The reader takes the unambiguous forms
(``sep=`` line, UTF-16 "Unicode-Text", a cover sheet before the one table sheet, separator-only lines, empty
trailing header cells); everything ambiguous is refused here with a rule of ``rules.toml`` whose message says
what was found and how to export correctly.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from pipeline import model
from pipeline.read import FileProblem

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, also a password-protected .xlsx
ZIP_MAGIC = b"PK\x03\x04"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
SEP_LINE = re.compile(r'^\ufeff?"?sep=(.)"?[;,\t]*\r?\n?$', re.IGNORECASE)
MARKUP = re.compile(rb"^\s*<(!doctype\s+html|html|table|\?xml)", re.IGNORECASE)
SPREADSHEET_XML = re.compile(rb"urn:schemas-microsoft-com:office:(spreadsheet|excel)|<workbook", re.IGNORECASE)
# Excel serial day numbers of 1927..2118 (43472 = 07.01.2019), optionally with a time fraction
SERIAL_DATE = r"[1-7][0-9]{4}([.,][0-9]+)?"
TITLE_SCAN_LINES = 20
HOW_TO = (
    "Bitte die Datei direkt aus der Fallverwaltung exportieren oder in Excel mit „Speichern unter“ als "
    "„CSV UTF-8 (durch Trennzeichen getrennt)“ bzw. „Excel-Arbeitsmappe (*.xlsx)“ speichern."
)


def refuse(rule_id: str, file_name: str, **params: object) -> FileProblem:
    """A FileProblem whose message is the rule's template of rules.toml."""
    from pipeline.validation.rules import render

    column = params.pop("column", None)
    return FileProblem(rule_id, render(rule_id, file_name=file_name, how_to=HOW_TO, **params), column=column)


def _head(path: Path, n: int = 4096) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _markup_kind(head: bytes) -> str | None:
    text = head
    for bom in (codecs.BOM_UTF8, *UTF16_BOMS):
        if text.startswith(bom):
            try:
                text = head.decode("utf-16" if bom in UTF16_BOMS else "utf-8-sig", "ignore").encode()
            except UnicodeDecodeError:
                return None
            break
    if not MARKUP.match(text):
        return None
    if text.lstrip().lower().startswith(b"<?xml") and not SPREADSHEET_XML.search(text):
        return None
    return "XML-Tabelle (Excel 2003)" if SPREADSHEET_XML.search(text) else "HTML-Seite"


def _zip_kind(path: Path) -> str:
    """'ods' for a LibreOffice spreadsheet, 'xlsx' for anything else that is a zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            if "mimetype" in zf.namelist() and b"opendocument" in zf.read("mimetype")[:100]:
                return "ods"
    except (zipfile.BadZipFile, OSError, KeyError):
        pass
    return "xlsx"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head or not head.strip():
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is still text
        if exc.start < len(head) - 4:
            return False
    return any(sep in head for sep in (b";", b",", b"\t"))


def sniff(path: Path, file_format: str) -> str | None:
    """Refuse a file whose content is another format than its name says; 'utf-16' for Unicode-Text, else None."""
    head = _head(path)
    name = path.name
    if head.startswith(OLE2_MAGIC):
        raise refuse("F10", name)
    kind = _markup_kind(head)
    if kind:
        raise refuse("F11", name, detail=kind)
    if file_format == "csv" and head.startswith(ZIP_MAGIC):
        found = "eine LibreOffice-Tabelle (.ods)" if _zip_kind(path) == "ods" else "eine Excel-Arbeitsmappe (.xlsx)"
        raise refuse("F15", name, detail=f"{found} mit der Endung .csv")
    if file_format == "xlsx":
        if head.startswith(ZIP_MAGIC) and _zip_kind(path) == "ods":
            raise refuse("F15", name, detail="eine LibreOffice-Tabelle (.ods) mit der Endung .xlsx")
        if head.startswith(UTF16_BOMS) or (not head.startswith(ZIP_MAGIC) and _looks_like_text(head)):
            raise refuse("F15", name, detail="eine Textdatei (CSV) mit der Endung .xlsx")
        return None
    return "utf-16" if head.startswith(UTF16_BOMS) else None


def check_mac_text(path: Path, encoding: str) -> None:
    """Refuse (F16) Excel for Mac's "CSV (Macintosh)": lines end in CR only and the text is Mac OS Roman, which
    decodes as Windows-1252 without an error but with wrong letters (``ü`` would arrive as ``Ÿ``)."""
    if encoding != "cp1252":
        return
    head = _head(path, 1 << 16)
    if b"\r" in head and b"\n" not in head:
        raise refuse("F16", path.name)


def sep_hint(first_line: str) -> str | None:
    """The separator named by Excel's ``sep=;`` first line, or None."""
    m = SEP_LINE.match(first_line)
    return m[1] if m else None


def _required_keys(table: model.Table, remap: dict[str, str] | None) -> set[str]:
    ours = {model.normalise(v): model.normalise(k) for k, v in (remap or {}).items()}
    keys = (model.normalise(c.header) for c in table.columns if c.required == "yes")
    return {ours.get(k, k) for k in keys}


def holds_required_headers(cells: Iterable[object], table: model.Table, remap: dict[str, str] | None) -> bool:
    """Does this row hold every required header of the table (after [mapping])?"""
    present = {model.normalise("" if c is None else str(c)) for c in cells}
    return _required_keys(table, remap) <= present


def _split(line: str) -> list[str]:
    counts = {sep: line.count(sep) for sep in (";", ",", "\t")}
    sep = max(counts, key=lambda s: counts[s])
    try:
        return next(csv.reader([line], delimiter=sep, quotechar='"'), [])
    except csv.Error:  # e.g. a field over csv's size limit: such a line is no header
        return []


def check_title_rows(
    rows: Sequence[Sequence[object]], table: model.Table, remap: dict[str, str] | None, file_name: str
) -> None:
    """Refuse (F09) when the header is not the first row but one of the next rows holds it."""
    if not rows or holds_required_headers(rows[0], table, remap):
        return
    for i, row in enumerate(rows[1:TITLE_SCAN_LINES], start=2):
        if holds_required_headers(row, table, remap):
            raise refuse("F09", file_name, line=i, above=i - 1)


def check_title_lines(lines: Sequence[str], table: model.Table, remap: dict[str, str] | None, file_name: str) -> None:
    """:func:`check_title_rows` over text lines (each split at its own most frequent separator)."""
    if lines and holds_required_headers(_split(lines[0]), table, remap):
        return  # the usual case: the header is line 1, nothing else to split
    check_title_rows([_split(line) for line in lines], table, remap, file_name)


def choose_sheet(
    first_rows: Sequence[tuple[str, Sequence[object]]], table: model.Table, remap: dict[str, str] | None, file_name: str
) -> int:
    """Index of the one sheet whose first row holds the required headers (0 when none does: the first sheet
    then fails on its missing columns); F13 when several qualify."""
    fits = [i for i, (_, row) in enumerate(first_rows) if holds_required_headers(row, table, remap)]
    if len(fits) > 1:
        names = ", ".join(f"„{first_rows[i][0]}“" for i in fits)
        raise refuse("F13", file_name, sheets=names)
    return fits[0] if fits else 0


def serial_date_problem(con, table: model.Table, positions: dict[str, int], sha: str, file_name: str) -> None:
    """Refuse (F12) a file in which a date column holds mostly Excel serial numbers (e.g. 43472) as text."""
    cols = [c for c in table.columns if c.type == "date" and c.name in positions]
    if not cols:
        return
    parts = ", ".join(
        f"count({c.name}) FILTER (regexp_full_match(trim({c.name}), '{SERIAL_DATE}')), "
        f"count({c.name}) FILTER (trim({c.name}) <> ''), "
        f"min({c.name}) FILTER (regexp_full_match(trim({c.name}), '{SERIAL_DATE}'))"
        for c in cols
    )
    row = con.execute(f"SELECT {parts} FROM raw_{table.name} WHERE file_sha256 = ?", [sha]).fetchone()
    for k, c in enumerate(cols):
        serial, filled, example = row[3 * k : 3 * k + 3]
        if serial and serial * 2 >= filled:
            # a birth date is personal data: its serial number is not shown
            shown = "z. B. 43472" if c.date_kind == "birth" else f"z. B. {example.strip()}"
            raise refuse("F12", file_name, header=c.header, example=shown, count=serial, column=c.name)
