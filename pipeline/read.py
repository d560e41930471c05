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


def _first_line(path: Path, encoding: str) -> str:
    with path.open("r", encoding=encoding, newline="") as fh:
        return fh.readline(1 << 20)


def _has_data_row(path: Path, encoding: str) -> bool:
    with path.open("r", encoding=encoding, newline="") as fh:
        fh.readline(1 << 20)
        while line := fh.readline(1 << 20):
            if line.strip():
                return True
    return False


def detect_separator(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (";", ",", "\t")}
    sep = max(counts, key=lambda s: counts[s])
    return sep if counts[sep] else ";"


def _parse_header(line: str, sep: str) -> list[str]:
    row = next(csv.reader([line], delimiter=sep, quotechar='"'), [])
    return [h.strip().lstrip("\ufeff") for h in row]


def decode_csv(path: Path, workdir: Path) -> DecodedFile:
    if path.stat().st_size == 0:
        raise FileProblem("F03", "Datei ist leer")
    encoding = detect_encoding(path)
    first = _first_line(path, encoding)
    if not first.strip():
        raise FileProblem("F03", "Keine Kopfzeile gefunden")
    sep = detect_separator(first)
    headers = _parse_header(first, sep)
    if len(headers) > MAX_COLUMNS:
        raise FileProblem("F08", f"Zu viele Spalten ({len(headers)}); erwartet höchstens {MAX_COLUMNS}")
    if not _has_data_row(path, encoding):
        raise FileProblem(
            "F03", "Datei enthält nur die Kopfzeile, keine Datenzeilen; der bisherige Stand bleibt gültig"
        )
    if encoding == "cp1252":
        out = workdir / (path.stem + ".utf8.csv")
        with path.open("r", encoding="cp1252", newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
        return DecodedFile(out, encoding, sep, headers)
    return DecodedFile(path, encoding, sep, headers)


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
                malformed.append(i)
                row = (row + [""] * width)[:width]
            writer.writerow(row)
    return DecodedFile(out, decoded.encoding, ";", decoded.headers, malformed)


def decode_xlsx(path: Path, workdir: Path, sheet: str | None = None) -> DecodedFile:
    """``sheet`` (default: the first worksheet), header in row 1, as a UTF-8 CSV (see read_xlsx)."""
    from pipeline import read_xlsx

    return read_xlsx.decode_xlsx(path, workdir, sheet)


def decode(export: ExportFile, workdir: Path) -> DecodedFile:
    decoded = decode_xlsx(export.path, workdir) if export.file_format == "xlsx" else decode_csv(export.path, workdir)
    if len(decoded.headers) > MAX_COLUMNS:
        raise FileProblem("F08", f"Zu viele Spalten ({len(decoded.headers)}); erwartet höchstens {MAX_COLUMNS}")
    return decoded
