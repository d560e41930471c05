"""Writers for the export dialects of exports.md: streaming CSV and byte-reproducible XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

XLSX_MAX_ROWS = 50_000  # larger tables are written as CSV (XLSX also stops at 1,048,576 rows)
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_FIXED_CORE_TIME = "2020-01-01T00:00:00Z"


@dataclass(frozen=True)
class Dialect:
    encoding: str  # utf-8-sig | cp1252
    sep: str
    newline: str

    def describe(self) -> str:
        nl = "CRLF" if self.newline == "\r\n" else "LF"
        return f"csv {self.encoding} sep={self.sep!r} {nl}"


def de_date(d: dt.date) -> str:
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def de_date_short(d: dt.date) -> str:
    return f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}"


def iso_date(d: dt.date) -> str:
    return d.isoformat()


class CsvOut:
    """One CSV export written row by row through a large buffer."""

    def __init__(self, path: Path, header: list[str], dialect: Dialect):
        self.path = path
        self.dialect = dialect
        self._fh = path.open("w", encoding=dialect.encoding, newline="", buffering=1 << 20)
        self._w = csv.writer(
            self._fh, delimiter=dialect.sep, quotechar='"', lineterminator=dialect.newline, quoting=csv.QUOTE_MINIMAL
        )
        self._w.writerow(header)
        self.rows = 0

    def write(self, rows: list[list]) -> None:
        self._w.writerows(rows)
        self.rows += len(rows)

    def close(self) -> None:
        self._fh.close()


def write_xlsx(path: Path, header: list[str], rows: list[list], sheet: str = "Export") -> None:
    """First sheet, header in row 1; ``datetime.date`` cells become real Excel dates (TT.MM.JJJJ)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(header)
    for row in rows:
        out = []
        for v in row:
            if isinstance(v, dt.date):
                c = WriteOnlyCell(ws, value=v)
                c.number_format = "DD.MM.YYYY"
                out.append(c)
            else:
                out.append(v)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    _reproducible_zip(buf.getvalue(), path)


def _reproducible_zip(data: bytes, path: Path) -> None:
    path.write_bytes(reproducible(data))


def reproducible(data: bytes) -> bytes:
    """The package rewritten with fixed timestamps, so the same input gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + _FIXED_CORE_TIME.encode() + rb"\g<3>",
                    content,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return out.getvalue()
