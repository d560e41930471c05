"""Checks of an uploaded export file and its atomic write into the inbox.

Only the five export name patterns (exports.md) are taken; a name with path parts, a hidden name, a name
that is a link in the inbox, a duplicate in the same upload, an empty or oversize file, or content that does
not fit the extension is refused with a reason, and nothing of it is written. An accepted file is written to
a temp file in the hidden folder ``<inbox>/.upload/`` (the ingest skips hidden folders; same file system)
and moved into place with ``os.replace``: the ingest never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline import model
from pipeline.read import FILE_NAME

CHUNK = 1 << 20
STAGING = ".upload"
XLSX_MAGIC = b"PK\x03\x04"
FOREIGN_MAGIC = {
    b"%PDF": "PDF", b"\x89PNG": "PNG-Bild", b"\xff\xd8\xff": "JPEG-Bild", b"\xd0\xcf\x11\xe0": "altes Excel (.xls)",
}  # fmt: skip


@dataclass
class Checked:
    name: str
    ok: bool
    reason: str = ""
    size: int = 0


def check_name(name: str | None, seen: set[str]) -> str:
    """'' when ``name`` is an acceptable export file name, else the German reason."""
    if not name:
        return "Kein Dateiname."
    if "/" in name or "\\" in name or "\x00" in name or name in (".", "..") or name != os.path.basename(name):
        return "Dateinamen mit Pfadangaben werden nicht angenommen."
    if name.startswith("."):
        return "Versteckte Dateien werden nicht angenommen."
    ext = os.path.splitext(name)[1].lower()
    if ext not in (".csv", ".xlsx"):
        kind = f"eine {ext}-Datei" if ext else "eine Datei ohne Endung"
        return (f"Nur Exporte als .csv oder .xlsx werden angenommen; dies ist {kind}. "
                "Bitte die Datei aus der Fallverwaltung als CSV oder Excel-Arbeitsmappe exportieren.")  # fmt: skip
    m = FILE_NAME.match(name)
    if not m or model.table_for_prefix(m["prefix"]) is None:
        prefixes = ", ".join(f"{t.file_prefix}_JJJJMMTT.csv" for t in model.tables().values())
        return f"Dateiname passt zu keinem Export (erwartet: {prefixes}; auch .xlsx)."
    if name.lower() in seen:
        return "Diese Datei ist in der Auswahl doppelt."
    return ""


def check_content(name: str, head: bytes, size: int, limit: int) -> str:
    """'' when size and first bytes fit the extension, else the reason."""
    if size == 0:
        return "Die Datei ist leer."
    if size > limit:
        return f"Die Datei ist zu groß ({size / 1e6:.1f} MB; höchstens {limit / 1e6:.0f} MB)."
    for magic, what in FOREIGN_MAGIC.items():
        if head.startswith(magic):
            return f"Der Inhalt ist keine Exportdatei, sondern {what}."
    if name.lower().endswith(".xlsx") and not head.startswith(XLSX_MAGIC):
        return "Die Datei heißt .xlsx, ist aber keine Excel-Arbeitsmappe."
    if name.lower().endswith(".csv") and head.startswith(XLSX_MAGIC):
        return "Die Datei heißt .csv, ist aber eine Excel-Arbeitsmappe: bitte als .xlsx hochladen."
    return ""


def target_problem(inbox: Path, name: str) -> str:
    """'' when ``inbox/name`` may be written (not a link, not a folder, inside the inbox)."""
    target = inbox / name
    if target.is_symlink():
        return "Im Eingangsordner liegt unter diesem Namen ein Verweis (Link); die Datei wird nicht geschrieben."
    if target.exists() and not target.is_file():
        return "Im Eingangsordner liegt unter diesem Namen ein Ordner."
    if target.resolve().parent != inbox.resolve():
        return "Der Dateiname führt aus dem Eingangsordner heraus."
    return ""


def write_atomic(inbox: Path, name: str, source, limit: int) -> int:
    """Copy the file object ``source`` to ``inbox/name`` through a temp file; returns the size.
    ValueError (German) when it grows beyond ``limit`` while copying (nothing is left behind)."""
    staging = inbox / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    os.chmod(staging, 0o700)
    fd, tmp = tempfile.mkstemp(prefix="part-", dir=staging)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ValueError(f"Die Datei ist zu groß (über {limit / 1e6:.0f} MB).")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, inbox / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size
