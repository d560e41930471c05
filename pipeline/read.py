"""Read one export file: recognise it, decode it, and hand DuckDB a clean UTF-8 CSV.

DuckDB's CSV reader knows no Windows-1252 and its Excel reader needs an extension we cannot
download, so decoding (streaming) happens here and XLSX reading (python-calamine) in read_xlsx. The result
is always a UTF-8 CSV with a known separator and one record per data row, plus the header list.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import model

FILE_NAME = re.compile(r"^(?P<prefix>[a-z]+)_(?P<date>\d{8})\.(?P<ext>csv|xlsx)$", re.IGNORECASE)
CHUNK = 1 << 22
MAX_COLUMNS = 1000
# cp1252 leaves these bytes undefined: a file containing them is not Windows-1252 either
CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
CP1252_UNDEFINED_BYTES = bytes(sorted(CP1252_UNDEFINED))
# UTF-8 encodings of German letters: seen in a file that is not valid UTF-8, the file mixes encodings
UTF8_UMLAUTS = tuple(c.encode("utf-8") for c in "äöüÄÖÜß")


class FileProblem(Exception):
    """A file-level error: the file is not loaded. Carries the rule id of rules.toml."""

    def __init__(self, rule_id: str, message: str, column: str | None = None):
        super().__init__(message)
        self.rule_id = rule_id
        self.message = message
        self.column = column


@dataclass(frozen=True)
class ExportFile:
    path: Path
    table: model.Table
    snapshot_date: dt.date
    file_format: str  # csv | xlsx


@dataclass
class DecodedFile:
    csv_path: Path  # UTF-8 (BOM allowed), one header line
    encoding: str
    separator: str
    headers: list[str]
    malformed_rows: list[int] = field(default_factory=list)  # spreadsheet row numbers with a wrong field count
    sheet: str | None = None  # XLSX: the worksheet read, when it is not the first one (a cover sheet before it)


def recognise(path: Path) -> ExportFile:
    """Table, snapshot date and format from the file name, or FileProblem F06."""
    m = FILE_NAME.match(path.name)
    table = model.table_for_prefix(m["prefix"]) if m else None
    if not m or table is None:
        raise FileProblem(
            "F06",
            f"Dateiname nicht erkannt: erwartet z. B. haushalte_JJJJMMTT.csv (Tabellen: "
            f"{', '.join(t.file_prefix for t in model.tables().values())})",
        )
    try:
        snap = dt.datetime.strptime(m["date"], "%Y%m%d").date()
    except ValueError:
        raise FileProblem("F06", f"Dateiname enthält kein gültiges Exportdatum: {m['date']}") from None
    return ExportFile(path, table, snap, m["ext"].lower())


def detect_encoding(path: Path) -> str:
    """'utf-8-sig', 'utf-8' or 'cp1252'; FileProblem F02 for anything that decodes as neither."""
    with path.open("rb") as fh:
        head = fh.read(3)
        if head == codecs.BOM_UTF8:
            encoding = "utf-8-sig"
        else:
            encoding = "utf-8"
        fh.seek(0)
        dec = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            while chunk := fh.read(CHUNK):
                if b"\x00" in chunk:
                    raise FileProblem(
                        "F01", "Datei ist keine Textdatei (Binärdaten); bitte den CSV-Export erneut erzeugen"
                    )
                dec.decode(chunk)
            dec.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            pass
        if encoding == "utf-8-sig":
            raise FileProblem("F02", "Datei beginnt als UTF-8 (BOM), enthält aber ungültige UTF-8-Zeichen")
        fh.seek(0)
        while chunk := fh.read(CHUNK):
            # bytes.translate deletes in C; a Python loop over every byte took ~45 ns/byte (issue 7)
            if len(chunk.translate(None, CP1252_UNDEFINED_BYTES)) != len(chunk):
                raise FileProblem("F02", "Zeichenkodierung nicht lesbar (weder UTF-8 noch Windows-1252)")
            if any(u in chunk for u in UTF8_UMLAUTS):
                raise FileProblem("F02", "Datei mischt Zeichenkodierungen (UTF-8 und Windows-1252)")
    return "cp1252"


def _lines(path: Path, encoding: str, n: int) -> list[str]:
    out = []
    with path.open("r", encoding=encoding, newline="") as fh:
        while len(out) < n and (line := fh.readline(1 << 20)):
            out.append(line)
    return out


def _has_data_row(path: Path, encoding: str, skip: int, sep: str) -> bool:
    """A line after the header holding more than separators and white space (``;;;;`` is a blank line)."""
    with path.open("r", encoding=encoding, newline="") as fh:
        for _ in range(skip + 1):
            fh.readline(1 << 20)
        while line := fh.readline(1 << 20):
            if line.strip().replace(sep, "").strip():
                return True
    return False


def detect_separator(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (";", ",", "\t")}
    sep = max(counts, key=lambda s: counts[s])
    return sep if counts[sep] else ";"


def _parse_header(line: str, sep: str) -> list[str]:
    row = next(csv.reader([line], delimiter=sep, quotechar='"'), [])
    return [h.strip().lstrip("\ufeff") for h in row]


def _transcode(path: Path, encoding: str, out: Path, skip_lines: int) -> None:
    """Stream ``path`` into a UTF-8 file, without its first ``skip_lines`` lines (Excel's ``sep=`` line)."""
    try:
        with path.open("r", encoding=encoding, newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
            for _ in range(skip_lines):
                src.readline()
            while chunk := src.read(CHUNK):
                dst.write(chunk)
    except UnicodeDecodeError:
        raise FileProblem("F02", "Datei beginnt als UTF-16 (Unicode-Text), enthält aber ungültige Zeichen") from None


def decode_csv(
    path: Path, workdir: Path, table: model.Table | None = None, remap: dict[str, str] | None = None
) -> DecodedFile:
    """Decode a text export into a UTF-8 CSV with the header in line 1 (office forms: :mod:`pipeline.forms`)."""
    from pipeline import forms

    if path.stat().st_size == 0:
        raise FileProblem("F03", "Datei ist leer")
    source, label = path, None
    if forms.sniff(path, "csv") == "utf-16":  # Excel "Unicode-Text": UTF-16 with BOM, tab-separated
        source, label = workdir / (path.stem + ".utf16.csv"), "utf-16"
        _transcode(path, "utf-16", source, 0)
    encoding = detect_encoding(source)
    forms.check_mac_text(source, encoding)
    head = _lines(source, encoding, forms.TITLE_SCAN_LINES + 1)
    hint = forms.sep_hint(head[0]) if head else None
    skip = 1 if hint else 0
    head = head[skip:]
    if table is not None:
        forms.check_title_lines(head, table, remap, path.name)
    if not head or not head[0].strip():
        raise FileProblem("F03", "Keine Kopfzeile gefunden")
    sep = hint or detect_separator(head[0])
    headers = _parse_header(head[0], sep)
    if len(headers) > MAX_COLUMNS:
        raise FileProblem("F08", f"Zu viele Spalten ({len(headers)}); erwartet höchstens {MAX_COLUMNS}")
    if not _has_data_row(source, encoding, skip, sep):
        raise FileProblem(
            "F03", "Datei enthält nur die Kopfzeile, keine Datenzeilen; der bisherige Stand bleibt gültig"
        )
    if encoding == "cp1252" or skip:
        out = workdir / (path.stem + ".utf8.csv")
        _transcode(source, encoding, out, skip)
        return DecodedFile(out, label or encoding, sep, headers)
    return DecodedFile(source, label or encoding, sep, headers)


def normalise_records(decoded: DecodedFile, workdir: Path) -> DecodedFile:
    """Slow path for files DuckDB rejects: rewrite with a fixed field count, remember malformed rows."""
    width = len(decoded.headers)
    out = workdir / (decoded.csv_path.stem + ".fixed.csv")
    malformed = []
    enc = "utf-8-sig" if decoded.encoding == "utf-8-sig" else "utf-8"
    with (
        decoded.csv_path.open("r", encoding=enc, newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        reader = csv.reader(src, delimiter=decoded.separator, quotechar='"')
        # "\r\n" as terminator makes csv quote every field holding \r or \n (DuckDB then reads it back)
        writer = csv.writer(dst, delimiter=";", quotechar='"', lineterminator="\r\n")
        next(reader, None)
        writer.writerow(decoded.headers)
        for i, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != width:
                if any(f.strip() for f in row):  # a line of separators only is a blank line, not malformed
                    malformed.append(i)
                row = (row + [""] * width)[:width]
            writer.writerow(row)
    return DecodedFile(out, decoded.encoding, ";", decoded.headers, malformed)


def _table_sheet(book, names: list[str], path: Path, table: model.Table | None, remap: dict[str, str] | None) -> str:
    """The worksheet holding the table: the one whose first row has the required headers (a cover or notes
    sheet may come first; several candidates: F13). None fits: a title row above the header is F09, else the
    first sheet (which then fails on its missing columns). Engine-independent: ``book`` is a read_xlsx.XlsxBook."""
    from pipeline import forms

    if table is None:
        return names[0]
    firsts = [(name, book.first_row(name)) for name in names]
    index = forms.choose_sheet(firsts, table, remap, path.name)
    if not forms.holds_required_headers(firsts[index][1], table, remap):
        for name in names:
            rows = book.rows(name)
            head = [next(rows, []) for _ in range(forms.TITLE_SCAN_LINES)]
            forms.check_title_rows(head, table, remap, path.name)
    return names[index]


def decode_xlsx(
    path: Path, workdir: Path, table: model.Table | None = None, remap: dict[str, str] | None = None
) -> DecodedFile:
    """The table's worksheet (:func:`_table_sheet`), header in row 1, as a UTF-8 CSV (see read_xlsx)."""
    from pipeline import read_xlsx

    with read_xlsx.XlsxBook(path, workdir) as book:
        names = book.sheet_names()
        if not names:
            raise FileProblem("F03", "Keine Kopfzeile im ersten Tabellenblatt")
        sheet = _table_sheet(book, names, path, table, remap)
        decoded = read_xlsx.write_csv(book, sheet, workdir / (path.stem + ".xlsx.csv"))
    decoded.sheet = sheet if sheet != names[0] else None
    return decoded


def decode(export: ExportFile, workdir: Path, remap: dict[str, str] | None = None) -> DecodedFile:
    """``remap``: the table's ``[mapping]`` of the config (to find the header row or sheet)."""
    from pipeline import forms

    if export.file_format == "xlsx":
        forms.sniff(export.path, "xlsx")
        decoded = decode_xlsx(export.path, workdir, export.table, remap)
    else:
        decoded = decode_csv(export.path, workdir, export.table, remap)
    if len(decoded.headers) > MAX_COLUMNS:
        raise FileProblem("F08", f"Zu viele Spalten ({len(decoded.headers)}); erwartet höchstens {MAX_COLUMNS}")
    return decoded
