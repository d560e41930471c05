"""Write small export files by hand in every dialect of exports.md (for ingest tests)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl

from pipeline import model


def headers(table: str) -> list[str]:
    return [c.header for c in model.tables()[table].columns]


def write_csv(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    encoding: str = "utf-8-sig",
    sep: str = ";",
    newline: str = "\r\n",
) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, quotechar='"', lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def household(hid: str, **kw) -> dict[str, object]:
    row = {
        "BG-ID": hid,
        "BG-Nummer": "07132BG0001234",
        "Projektjahr": "2019",
        "Jobcenter-Standort": "Altenkirchen",
        "Gemeindeschlüssel": "07132001",
        "Haushaltstyp": "Single",
        "Personen in BG": "1",
        "Zuweisung am": "02.01.2019",
        "Eintritt": "15.01.2019",
        "Austritt": "",
        "Status": "aktiv",
        "Coach": "C01",
    }
    row.update(kw)
    return row


def person(pid: str, hid: str, **kw) -> dict[str, object]:
    row = {h: "" for h in headers("persons")}
    row.update(
        {
            "Person-ID": pid,
            "BG-ID": hid,
            "Vorname": "Jürgen",
            "Nachname": "Müller",
            "Rolle": "Teilnehmende Person",
            "ESF-Teilnahme": "ja",
            "ESF-Eintritt": "15.01.2019",
            "Geschlecht": "männlich",
            "Geburtsdatum": "03.02.1975",
            "Staatsangehörigkeit": "DEU",
            "Ausländische Herkunft": "nein",
            "Fluchthintergrund": "nein",
            "Behinderung": "nein",
            "Minderheit": "keine Angabe",
            "Wohnungslos": "nein",
            "Schulabschluss": "Hauptschulabschluss/Berufsreife",
            "Berufsabschluss": "kein Berufsabschluss",
            "Erwerbsstatus bei Eintritt": "arbeitslos gemeldet",
            "Arbeitslos seit": "01.01.2017",
            "Langzeitleistungsbezug": "ja",
            "Einwilligung am": "15.01.2019",
        }
    )
    row.update(kw)
    return row


def rows_of(table: str, dicts: list[dict[str, object]], header: list[str] | None = None) -> list[list[object]]:
    header = header or headers(table)
    return [[d.get(h, "") for h in header] for d in dicts]


def iso(d: dt.date) -> str:
    return d.isoformat()
