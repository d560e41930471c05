"""German words both faces use (command line and page), defined once: counts with the right singular or
plural, the status of an export file after an ingest, the note on vanished records."""

from __future__ import annotations

FILE_STATUS = {"loaded": "geladen", "skipped": "bereits eingelesen", "failed": "nicht geladen"}


def count(n: int, one: str, many: str) -> str:
    """``1 Datei``, ``0 Dateien``, ``3 Dateien``."""
    return f"{n} {one if n == 1 else many}"


def vanished_note(n: int) -> str:
    """Records of the previous snapshot that the file no longer has."""
    return f"{n} {'Datensatz fehlt' if n == 1 else 'Datensätze fehlen'} gegenüber dem vorigen Stand"
