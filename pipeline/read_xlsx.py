"""Read one XLSX export with python-calamine, behind a guard that no hostile package gets past.

calamine (Rust) reads a sheet about 14× faster than openpyxl, but it inflates zip members itself (past a
member's declared size), allocates the dense cell grid of a sheet at once, and turns error cells (``#NV``)
into empty ones. So nothing reaches it straight from the inbox: ``_safe_copy`` inflates every XML part
with Python's zipfile (never past the declared sizes, checked before anything is inflated), refuses a
DOCTYPE (no XML entity is ever expanded), measures each sheet's cell grid, and writes the parts uncompressed
to a private copy that calamine reads without inflating anything. A file with error cells or cells without
a reference is read from that copy with openpyxl instead (read-only, the reader before calamine): slower,
but identical values.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.read import MAX_COLUMNS, DecodedFile, FileProblem

MAX_XLSX_UNCOMPRESSED = 2 << 30  # 2 GiB: beyond that an .xlsx is treated as a zip bomb
MAX_XLSX_RATIO = 200
MAX_CELLS = 20_000_000  # dense grid calamine allocates for one sheet (~32 bytes a cell)
CHUNK = 1 << 22
# only markup can hold these bytes literally: in text, "<" and '"' are escaped
DOCTYPE = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))
CELL_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')  # a ref after a tab or newline counts as missing
ERROR_CELL = (b't="e"', b"t='e'")
BROKEN = "Excel-Datei ist beschädigt oder keine .xlsx-Datei"


@dataclass
class _SheetPart:
    """What the guard saw in one worksheet part."""

    max_row: int = 0
    max_col: int = 0
    refs: int = 0
    cells: int = 0
    error_cells: bool = False


@dataclass
class _SafeCopy:
    path: Path
    sheets: dict[str, _SheetPart] = field(default_factory=dict)

    @property
    def needs_openpyxl(self) -> bool:
        return any(s.error_cells or s.refs != s.cells for s in self.sheets.values())


def _col_number(letters: bytes) -> int:
    n = 0
    for b in letters:
        n = n * 26 + b - 64
    return n


def _scan_sheet(part: _SheetPart, data: bytes) -> None:
    part.cells += data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/>")
    part.error_cells = part.error_cells or any(e in data for e in ERROR_CELL)
    refs = CELL_REF.findall(data)
    if not refs:
        return
    part.refs += len(refs)
    letters, digits = zip(*refs, strict=True)
    # the widest column: longest letters first, then alphabetical (AA < AB < ... < ZZ < AAA)
    widest = max(set(letters), key=lambda s: (len(s), s))
    part.max_col = max(part.max_col, _col_number(widest))
    part.max_row = max(part.max_row, max(map(int, digits)))


def _safe_copy(path: Path, workdir: Path) -> _SafeCopy:
    """Check, inflate and copy the XML parts of ``path`` uncompressed; FileProblem for a hostile file."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise FileProblem("F01", BROKEN) from None
    out = _SafeCopy(workdir / (path.stem + ".stored.xlsx"))
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        packed = max(1, sum(i.compress_size for i in infos))
        if total > MAX_XLSX_UNCOMPRESSED or total / packed > MAX_XLSX_RATIO and total > (64 << 20):
            raise FileProblem("F08", "Excel-Datei entpackt sich auf eine unplausible Größe (Zip-Bombe?)")
        try:
            with zipfile.ZipFile(out.path, "w", zipfile.ZIP_STORED, allowZip64=True) as dst:
                for info in infos:
                    if not info.filename.lower().endswith((".xml", ".rels")):
                        continue  # pictures, printer settings, macros: nothing a reader of values needs
                    sheet = None
                    if info.filename.startswith("xl/worksheets/"):
                        sheet = out.sheets[info.filename] = _SheetPart()
                    _copy_part(zf, info, dst, sheet)
        except FileProblem:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError):
            raise FileProblem("F01", BROKEN) from None
    for part in out.sheets.values():
        if part.max_row * part.max_col > MAX_CELLS:
            raise FileProblem(
                "F08",
                f"Tabellenblatt reicht bis Zeile {part.max_row}, Spalte {part.max_col}: unplausibel groß",
            )
    return out


def _copy_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile, sheet: _SheetPart | None) -> None:
    # ZipExtFile stops at the declared size and checks the CRC: a member cannot inflate past what was checked
    with zf.open(info) as src, dst.open(zipfile.ZipInfo(info.filename), "w", force_zip64=True) as fh:
        tail = b""
        while chunk := src.read(CHUNK):
            data = tail + chunk
            if any(d in data for d in DOCTYPE):
                raise FileProblem("F01", "Excel-Datei ist beschädigt: sie enthält eine DOCTYPE-Deklaration")
            if sheet is not None:
                cut = data.rfind(b">") + 1  # scan whole tags only; the rest waits for the next chunk
                _scan_sheet(sheet, data[:cut])
                tail = data[cut:]
            else:
                tail = data[-16:]
            fh.write(chunk)
        if sheet is not None and tail:
            _scan_sheet(sheet, tail)


def cell_text(value) -> str:
    """One cell as the text the mapping step expects (dates ISO, whole numbers without ``.0``)."""
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


def _texts(row) -> list[str]:
    return [v if type(v) is str else cell_text(v) for v in row]


class XlsxBook:
    """An XLSX export opened for reading: its worksheets, one sheet's first row, one sheet's rows as text.

    Use as a context manager; ``workdir`` receives the checked private copy.
    """

    def __init__(self, path: Path, workdir: Path):
        self._copy = _safe_copy(path, workdir)
        self._sheets: dict[str, object] = {}
        try:
            if self._copy.needs_openpyxl:
                self._book = _OpenpyxlBook(self._copy.path)
            else:
                self._book = _CalamineBook(self._copy.path)
        except (FileProblem, ImportError):  # a missing library is an installation problem, not a broken file
            raise
        except Exception:  # both libraries raise many types for broken files
            raise FileProblem("F01", "Excel-Datei ist beschädigt und kann nicht gelesen werden") from None

    @property
    def engine(self) -> str:
        return type(self._book).__name__.strip("_").removesuffix("Book").lower()

    def sheet_names(self) -> list[str]:
        """Worksheets in workbook order (chart sheets left out), hidden ones included."""
        return self._book.sheet_names()

    def first_row(self, sheet: str) -> list[str]:
        """Row 1 of ``sheet`` as stripped texts, trailing empty cells dropped."""
        rows = self.rows(sheet)
        header = [v.strip() for v in next(rows, [])]
        while header and header[-1] == "":
            header.pop()
        return header

    def rows(self, sheet: str) -> Iterator[list[str]]:
        """Every row of ``sheet`` from row 1, as texts; empty cells are ``""``."""
        try:
            yield from self._book.rows(sheet)
        except (FileProblem, ImportError):  # a missing library is an installation problem, not a broken file
            raise
        except Exception:
            raise FileProblem("F01", "Excel-Datei ist beschädigt und kann nicht vollständig gelesen werden") from None

    def close(self) -> None:
        self._book.close()
        self._copy.path.unlink(missing_ok=True)

    def __enter__(self) -> XlsxBook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _CalamineBook:
    def __init__(self, path: Path):
        import python_calamine

        self._wb = python_calamine.CalamineWorkbook.from_path(str(path))
        self._loaded: dict[str, object] = {}

    def sheet_names(self) -> list[str]:
        import python_calamine

        work = python_calamine.SheetTypeEnum.WorkSheet
        return [m.name for m in self._wb.sheets_metadata if m.typ == work]

    def rows(self, sheet: str) -> Iterator[list[str]]:
        # calamine parses a whole sheet to give any row of it: the header look-up (first_row) and the rows
        # of the table sheet share one parse (a 30 000-row sheet: ~0.5 s each)
        ws = self._loaded.get(sheet)
        if ws is None:
            ws = self._loaded[sheet] = self._wb.get_sheet_by_name(sheet)
        if ws.start is None:
            return
        # calamine's grid starts at the first filled cell; openpyxl's (and the export's) at A1
        first_row, first_col = ws.start
        for _ in range(first_row):
            yield []
        pad = [""] * first_col
        for row in ws.iter_rows():
            yield pad + _texts(row) if first_col else _texts(row)

    def close(self) -> None:
        self._loaded.clear()
        self._wb.close()


class _OpenpyxlBook:
    """The reader before calamine (openpyxl read-only, values only); for files calamine would change."""

    def __init__(self, path: Path):
        import openpyxl  # defusedxml, when installed, guards openpyxl's XML parsing

        self._wb = openpyxl.load_workbook(path, read_only=True, data_only=True)

    def sheet_names(self) -> list[str]:
        return [ws.title for ws in self._wb.worksheets]

    def rows(self, sheet: str) -> Iterator[list[str]]:
        for row in self._wb[sheet].iter_rows(values_only=True):
            yield [cell_text(v) for v in row]

    def close(self) -> None:
        self._wb.close()


def write_csv(book: XlsxBook, sheet: str, out: Path) -> DecodedFile:
    """Header in row 1 of ``sheet``, data rows written as a UTF-8 CSV (empty rows left out)."""
    rows = book.rows(sheet)
    header = next(rows, None)
    if not header or not any(v.strip() for v in header):
        raise FileProblem("F03", "Keine Kopfzeile im ersten Tabellenblatt")
    headers = [v.strip() for v in header]
    while headers and headers[-1] == "":
        headers.pop()
    width = len(headers)
    if width > MAX_COLUMNS:
        raise FileProblem("F08", f"Zu viele Spalten ({width})")
    n = 0
    with out.open("w", encoding="utf-8", newline="") as dst:
        writer = csv.writer(dst, delimiter=";", quotechar='"', lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            cells = row[:width]
            if not any(cells):
                continue
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            writer.writerow(cells)
            n += 1
    if n == 0:
        raise FileProblem("F03", "Tabellenblatt enthält nur die Kopfzeile, keine Datenzeilen")
    return DecodedFile(out, "xlsx", ";", headers)


def decode_xlsx(path: Path, workdir: Path, sheet: str | None = None) -> DecodedFile:
    """``sheet`` (default: the first worksheet), header in row 1, as a UTF-8 CSV (dates as ISO text)."""
    with XlsxBook(path, workdir) as book:
        names = book.sheet_names()
        if not names:
            raise FileProblem("F03", "Keine Kopfzeile im ersten Tabellenblatt")
        return write_csv(book, sheet or names[0], workdir / (path.stem + ".xlsx.csv"))
