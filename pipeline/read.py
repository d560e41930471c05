"""Read one export file: recognise it, decode it, and hand DuckDB a clean UTF-8 CSV.

DuckDB's CSV reader knows no Windows-1252 and its Excel reader needs an extension we cannot
download, so decoding (streaming) and XLSX reading (openpyxl read-only) happen here. The result
is always a UTF-8 CSV with a known separator and one record per data row, plus the header list.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import model

FILE_NAME = re.compile(r"^(?P<prefix>[a-z]+)_(?P<date>\d{8})\.(?P<ext>csv|xlsx)$", re.IGNORECASE)
CHUNK = 1 << 22
MAX_COLUMNS = 1000
MAX_XLSX_UNCOMPRESSED = 2 << 30  # 2 GiB: beyond that an .xlsx is treated as a zip bomb
MAX_XLSX_RATIO = 200
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


def _cell_text(value) -> str:
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


def _guard_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileProblem("F01", "Excel-Datei ist beschädigt oder keine .xlsx-Datei") from None
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_XLSX_UNCOMPRESSED or total / packed > MAX_XLSX_RATIO and total > (64 << 20):
        raise FileProblem("F08", "Excel-Datei entpackt sich auf eine unplausible Größe (Zip-Bombe?)")


class _XlsxError(Exception):
    """Structure of the package not as expected (missing part, bad reference, forbidden XML)."""


_LOCAL_NAMES: dict[str, str] = {}


def _local(name: str) -> str:
    """Local name of an expat ``namespace local`` name (memoised: called twice per XML element)."""
    local = _LOCAL_NAMES.get(name)
    if local is None:
        local = name.rsplit(" ", 1)[-1]
        if len(_LOCAL_NAMES) < 256:  # a hostile sheet with endless distinct tags must not grow it
            _LOCAL_NAMES[name] = local
    return local


def _expat(handlers: dict):
    """An expat parser (C, streaming) that refuses DTDs and entity declarations (no entity bombs, no XXE)."""
    from xml.parsers import expat

    def forbidden(*_args):
        raise _XlsxError("DTD or entity declaration in an Excel part")

    p = expat.ParserCreate(namespace_separator=" ")
    p.StartDoctypeDeclHandler = forbidden
    p.EntityDeclHandler = forbidden
    p.UnparsedEntityDeclHandler = forbidden
    p.ExternalEntityRefHandler = forbidden
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    for name, fn in handlers.items():
        setattr(p, name, fn)
    return p


def _small_part(zf: zipfile.ZipFile, name: str):
    """A small package part (workbook, relationships, styles) as an element tree, parsed safely."""
    from defusedxml import ElementTree

    try:
        data = zf.read(name)
    except KeyError:
        raise _XlsxError(f"missing part {name}") from None
    return ElementTree.fromstring(data)


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target path inside the package) of one part."""
    folder, _, name = part.rpartition("/")
    rels_name = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    out = {}
    for rel in _small_part(zf, rels_name):
        target = rel.get("Target", "")
        if target.startswith("/"):
            path = target[1:]
        else:
            parts = (folder.split("/") if folder else []) + target.split("/")
            stack: list[str] = []
            for x in parts:
                if x == "..":
                    if stack:
                        stack.pop()
                elif x and x != ".":
                    stack.append(x)
            path = "/".join(stack)
        out[rel.get("Id", "")] = (rel.get("Type", ""), path)
    return out


def _date_styles(zf: zipfile.ZipFile, path: str | None) -> tuple[set[int], set[int]]:
    """Cell style indexes whose number format is a date, and those that are durations (as openpyxl decides)."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    if not path or path not in zf.namelist():
        return set(), set()
    root = _small_part(zf, path)
    custom = {}
    dates, durations = set(), set()
    for el in root:
        if _local_tag(el.tag) == "numFmts":
            for f in el:
                custom[int(f.get("numFmtId", "-1"))] = f.get("formatCode", "")
    for el in root:
        if _local_tag(el.tag) != "cellXfs":
            continue
        for idx, xf in enumerate(x for x in el if _local_tag(x.tag) == "xf"):
            fid = int(xf.get("numFmtId", "0"))
            fmt = custom.get(fid, BUILTIN_FORMATS.get(fid, "General"))
            if is_date_format(fmt):
                dates.add(idx)
            if is_timedelta_format(fmt):
                durations.add(idx)
    return dates, durations


def _local_tag(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _shared_strings(zf: zipfile.ZipFile, path: str | None) -> list[str]:
    """Shared strings: plain text plus rich-text runs, phonetic runs left out (as openpyxl reads them)."""
    if not path or path not in zf.namelist():
        return []
    out: list[str] = []
    state = {"depth_rph": 0, "in_t": False, "buf": []}

    def start(name, _attrs):
        tag = _local(name)
        if tag == "si":
            state["buf"] = []
        elif tag == "rPh":
            state["depth_rph"] += 1
        elif tag == "t" and not state["depth_rph"]:
            state["in_t"] = True

    def end(name):
        tag = _local(name)
        if tag == "si":
            out.append("".join(state["buf"]).replace("x005F_", ""))
        elif tag == "rPh":
            state["depth_rph"] -= 1
        elif tag == "t":
            state["in_t"] = False

    def chars(text):
        if state["in_t"]:
            state["buf"].append(text)

    p = _expat({"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": chars})
    with zf.open(path) as fh:
        p.ParseFile(fh)
    return out


def _column_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            n = n * 26 + ord(ch) - 96
        else:
            break
    return n


def _row_index(ref: str) -> int:
    digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return int(digits) if digits.isdigit() else 0


def xlsx_rows(path: Path):
    """Rows of the first worksheet as (row number, {column number: value}), values as openpyxl gives them
    (``read_only=True, data_only=True``): str, int, float, bool, datetime/date/time/timedelta, or None.

    A streaming expat parser instead of openpyxl: openpyxl's read-only mode parses every sheet twice when
    the sheet has no <dimension> element (streaming writers leave it out) and costs ~20 µs per cell through
    the pure-Python XML parser of defusedxml; this reads ~10× faster (issue 7). Raises _XlsxError (or an
    XML/zip error) for broken packages.
    """
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

    with zipfile.ZipFile(path) as zf:
        try:
            root_rels = _rels(zf, "")
        except _XlsxError:  # no package relationships: the workbook sits where every writer puts it
            root_rels = {}
        office = next((t for typ, t in root_rels.values() if typ.endswith("/officeDocument")), "xl/workbook.xml")
        workbook = _small_part(zf, office)
        wb_rels = _rels(zf, office)
        epoch = CALENDAR_WINDOWS_1900
        sheet_path = None
        for el in workbook.iter():
            tag = _local_tag(el.tag)
            if tag == "workbookPr" and el.get("date1904") in ("1", "true"):
                epoch = CALENDAR_MAC_1904
            elif tag == "sheet" and sheet_path is None:
                rid = next((v for k, v in el.attrib.items() if _local_tag(k) == "id"), None)
                typ, target = wb_rels.get(rid, ("", ""))
                if typ.endswith("/worksheet"):
                    sheet_path = target
        if sheet_path is None:
            raise _XlsxError("no worksheet")
        shared_path = next((t for typ, t in wb_rels.values() if typ.endswith("/sharedStrings")), None)
        strings = _shared_strings(zf, shared_path)
        dates, durations = _date_styles(zf, next((t for typ, t in wb_rels.values() if typ.endswith("/styles")), None))

        rows: list[tuple[int, dict[int, object]]] = []
        st = {"row": 0, "col": 0, "cells": {}, "type": "n", "style": 0, "text": None, "in_value": False, "rph": 0}

        def start(name, attrs):
            tag = _local(name)
            if tag == "c":
                ref = attrs.get("r")
                st["col"] = _column_index(ref) if ref else st["col"] + 1
                st["type"] = attrs.get("t", "n")
                s = attrs.get("s")
                st["style"] = int(s) if s else 0
                st["text"] = None
            elif tag == "v" or (tag == "t" and st["type"] == "inlineStr"):
                if not st["rph"]:  # phonetic runs of inline strings are not part of the value
                    st["in_value"] = True
                    if st["text"] is None:
                        st["text"] = []
            elif tag == "row":
                ref = attrs.get("r")
                st["row"] = int(ref) if ref and ref.isdigit() else st["row"] + 1
                st["col"] = 0
                st["cells"] = {}
            elif tag == "rPh":
                st["rph"] += 1

        def end(name):
            tag = _local(name)
            if tag in ("v", "t"):
                st["in_value"] = False
            elif tag == "rPh":
                st["rph"] -= 1
            elif tag == "c":
                text = None if st["text"] is None else "".join(st["text"])
                st["cells"][st["col"]] = _xlsx_value(
                    st["type"], text, st["style"], strings, dates, durations, epoch, from_excel, from_ISO8601
                )
            elif tag == "row":
                rows.append((st["row"], st["cells"]))

        def chars(text):
            if st["in_value"]:
                st["text"].append(text)

        p = _expat({"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": chars})
        with zf.open(sheet_path) as fh:
            while chunk := fh.read(1 << 20):
                p.Parse(chunk, False)
                yield from rows
                rows.clear()
            p.Parse(b"", True)
            yield from rows


def _xlsx_value(typ, text, style, strings, dates, durations, epoch, from_excel, from_iso):
    if typ == "inlineStr":
        return text
    if text is None or text == "":
        return None
    if typ == "n":
        value = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
        if style in dates:
            try:
                return from_excel(value, epoch, timedelta=style in durations)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return value
    if typ == "s":
        return strings[int(text)]
    if typ == "b":
        return bool(int(text))
    if typ == "d":
        return from_iso(text)
    return text  # str (formula result), e (error text)


def decode_xlsx(path: Path, workdir: Path) -> DecodedFile:
    """First worksheet, header in row 1, written as a UTF-8 CSV (dates as ISO text)."""
    _guard_zip(path)
    out = workdir / (path.stem + ".xlsx.csv")
    rows = xlsx_rows(path)
    try:
        first = next(rows, None)
    except Exception:  # zip, XML and structure errors of a broken package
        raise FileProblem("F01", "Excel-Datei ist beschädigt und kann nicht gelesen werden") from None
    try:
        header = first[1] if first is not None and first[0] == 1 else {}
        if not header or all(v is None for v in header.values()):
            raise FileProblem("F03", "Keine Kopfzeile im ersten Tabellenblatt")
        named = [c for c, v in header.items() if _cell_text(v).strip()]
        if named and max(named) > MAX_COLUMNS:
            raise FileProblem("F08", f"Zu viele Spalten ({max(named)})")
        headers = [_cell_text(header.get(c)).strip() for c in range(1, min(max(header), MAX_COLUMNS + 1) + 1)]
        while headers and headers[-1] == "":
            headers.pop()
        width = len(headers)
        if width > MAX_COLUMNS:
            raise FileProblem("F08", f"Zu viele Spalten ({width})")
        n = 0
        with out.open("w", encoding="utf-8", newline="") as dst:
            writer = csv.writer(dst, delimiter=";", quotechar='"', lineterminator="\n")
            writer.writerow(headers)
            for _, cells in rows:
                row = [_cell_text(cells.get(c)) for c in range(1, width + 1)]
                if not any(row):
                    continue
                writer.writerow(row)
                n += 1
        if n == 0:
            raise FileProblem("F03", "Tabellenblatt enthält nur die Kopfzeile, keine Datenzeilen")
    except FileProblem:
        raise
    except Exception:  # zip, XML and structure errors of a broken package
        raise FileProblem("F01", "Excel-Datei ist beschädigt und kann nicht vollständig gelesen werden") from None
    finally:
        rows.close()
    return DecodedFile(out, "xlsx", ";", headers)


def decode(export: ExportFile, workdir: Path) -> DecodedFile:
    decoded = decode_xlsx(export.path, workdir) if export.file_format == "xlsx" else decode_csv(export.path, workdir)
    if len(decoded.headers) > MAX_COLUMNS:
        raise FileProblem("F08", f"Zu viele Spalten ({len(decoded.headers)}); erwartet höchstens {MAX_COLUMNS}")
    return decoded
