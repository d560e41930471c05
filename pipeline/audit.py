"""Audit log: logins, uploads, jobs, downloads and erasure requests (who, when, what), for every face.

Kept in the job store (``<db>.jobs.sqlite``, table ``audit``) so that it survives a restart and the CLI can
write it too. ``who`` is a face and a session number, ``what`` a file name, report-set id or job id: never
personal data (no names, BG numbers, birth dates, not even a person id: an erasure request is logged as such).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline import jobs
from pipeline.config import Config

ACTIONS = {
    "login": "Anmeldung",
    "login_failed": "Anmeldung abgewiesen",
    "logout": "Abmeldung",
    "upload": "Datei hochgeladen",
    "upload_refused": "Datei abgewiesen",
    "job": "Auftrag gestartet",
    "download": "Download",
    "erasure": "Löschersuchen erfasst",
    "erasure_refused": "Löschersuchen abgewiesen",
}

_DDL = """CREATE TABLE IF NOT EXISTS audit (
    time TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, what TEXT NOT NULL DEFAULT '')"""


@dataclass
class Entry:
    time: dt.datetime
    who: str
    action: str
    what: str

    @property
    def action_label(self) -> str:
        return ACTIONS.get(self.action, self.action)


def record(cfg: Config, who: str, action: str, what: str = "") -> None:
    """Append one entry (``what`` is cut to 300 characters)."""
    con = jobs._open(cfg)
    try:
        con.execute(_DDL)
        con.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?)",
            [dt.datetime.now().isoformat(timespec="seconds"), who[:80], action, what[:300]],
        )
    finally:
        con.close()


def entries(cfg: Config, limit: int = 100) -> list[Entry]:
    """The newest entries first."""
    if not jobs.store_path(cfg).exists():
        return []
    con = jobs._open(cfg)
    try:
        con.execute(_DDL)
        rows = con.execute("SELECT time, who, action, what FROM audit ORDER BY rowid DESC LIMIT ?", [limit]).fetchall()
    finally:
        con.close()
    return [Entry(dt.datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in rows]
