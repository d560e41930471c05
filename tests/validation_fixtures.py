"""Fixtures for the validation tests: files inserted straight into raw_/core_ tables and ingest_files.

``typed()`` is a small stand-in for the mapper (labels -> codes, German dates, ints, ja/nein) so the tests
do not depend on the reader; raw text stays exactly as given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from pipeline import db, model

SNAPSHOT = dt.date(2019, 12, 31)


def clean_tables() -> dict[str, list[dict[str, str]]]:
    """A small consistent export set (raw text by canonical column) with no problem at all."""
    hh = [
        {
            "household_id": "BG-2019-001",
            "project_cycle": "2019",
            "jobcenter_site": "Altenkirchen",
            "household_type": "Paar mit Kindern",
            "n_members": "3",
            "referral_date": "10.01.2019",
            "entry_date": "15.01.2019",
            "exit_date": "30.11.2019",
            "status": "beendet regulär",
            "coach_id": "C01",
            "municipality_ags": "07132001",
            "bg_number_hash": "h-bg1",
        },
        {
            "household_id": "BG-2019-002",
            "project_cycle": "2019",
            "jobcenter_site": "Wissen",
            "household_type": "Single",
            "n_members": "1",
            "referral_date": "2019-02-01",
            "entry_date": "01.03.19",
            "exit_date": "",
            "status": "aktiv",
            "coach_id": "C02",
            "municipality_ags": "",
            "bg_number_hash": "h-bg2",
        },
    ]
    participant = {
        "role": "Teilnehmende Person",
        "is_esf_participant": "ja",
        "gender": "weiblich",
        "citizenship": "DEU",
        "foreign_background": "nein",
        "refugee_background": "nein",
        "disability": "nein",
        "minority": "keine Angabe",
        "homeless": "nein",
        "school_qualification": "Mittlerer Abschluss",
        "isced_foreign": "",
        "vocational_qualification": "abgeschlossene Berufsausbildung",
        "employment_status_entry": "arbeitslos gemeldet",
        "long_term_benefit_recipient": "ja",
        "destination_start": "",
        "qualification_gained": "",
        "employability_increased": "",
    }
    ps = [
        {
            **participant,
            "person_id": "P-001",
            "household_id": "BG-2019-001",
            "name_hash": "n1",
            "esf_entry_date": "15.01.2019",
            "esf_exit_date": "30.11.2019",
            "birth_date": "03.02.1980",
            "unemployed_since": "01.01.2017",
            "consent_date": "15.01.2019",
            "exit_reason": "reguläres Ende",
            "destination": "unbekannt",
        },
        {
            "person_id": "P-002",
            "household_id": "BG-2019-001",
            "name_hash": "n2",
            "role": "Partner/in",
            "is_esf_participant": "nein",
            "gender": "männlich",
            "birth_date": "",
            "esf_entry_date": "",
            "esf_exit_date": "",
            "consent_date": "",
        },
        {
            "person_id": "P-003",
            "household_id": "BG-2019-001",
            "name_hash": "n3",
            "role": "Kind",
            "is_esf_participant": "nein",
            "gender": "divers",
            "birth_date": "05.05.2012",
        },
        {
            **participant,
            "person_id": "P-004",
            "household_id": "BG-2019-002",
            "name_hash": "n4",
            "gender": "männlich",
            "esf_entry_date": "01.03.2019",
            "esf_exit_date": "",
            "birth_date": "1990-07-01",
            "unemployed_since": "01.06.2018",
            "consent_date": "20.02.2019",
            "exit_reason": "",
            "destination": "",
        },
    ]
    ct = [
        {
            "contact_id": "K-1",
            "household_id": "BG-2019-001",
            "person_id": "P-001",
            "contact_date": "20.01.2019",
            "duration_min": "60",
            "contact_type": "Hausbesuch",
            "took_place": "ja",
            "coach_id": "C01",
            "topics": "Arbeit/Beruf, Finanzen/Schulden",
        },
        {
            "contact_id": "K-2",
            "household_id": "BG-2019-001",
            "person_id": "",
            "contact_date": "10.12.2019",
            "duration_min": "0",
            "contact_type": "nicht angetroffen",
            "took_place": "nein",
            "coach_id": "C01",
            "topics": "",
        },
        {
            "contact_id": "K-3",
            "household_id": "BG-2019-002",
            "person_id": "P-004",
            "contact_date": "05.03.2019",
            "duration_min": "600",
            "contact_type": "Telefon",
            "took_place": "Ja",
            "coach_id": "C02",
            "topics": "wohnen",
        },
    ]
    hl = [
        {
            "help_id": "H-1",
            "household_id": "BG-2019-001",
            "person_id": "P-001",
            "help_type": "Schuldnerberatung",
            "provider_category": "Beratungsstelle",
            "initiated_date": "01.02.2019",
            "help_status": "begonnen",
            "status_date": "01.03.2019",
        },
        {
            "help_id": "H-2",
            "household_id": "BG-2019-002",
            "person_id": "",
            "help_type": "Kita-Platz",
            "provider_category": "Jugendamt",
            "initiated_date": "",
            "help_status": "geplant",
            "status_date": "",
        },
    ]
    fu = [
        {
            "person_id": "P-001",
            "survey_date": "30.05.2020",
            "reached": "ja",
            "employment_status_6m": "arbeitslos/arbeitsuchend",
            "sgb2_receipt_6m": "ja",
        },
    ]
    return {"households": hh, "persons": ps, "contacts": ct, "helps": hl, "followups": fu}


def parse_date(text: str, birth: bool = False, snapshot: dt.date = SNAPSHOT) -> dt.date | None:
    text = text.strip()
    try:
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text):
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{2})", text):
            yy = int(m[3])
            year = 1900 + yy if birth and yy > snapshot.year % 100 else 2000 + yy
            return dt.date(year, int(m[2]), int(m[1]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
    except ValueError:
        return None
    return None


def typed(table: model.Table, raw: dict[str, str]) -> dict[str, object]:
    """Typed core values of one raw row (NULL where the text cannot be parsed)."""
    lists = model.label_lists()
    out: dict[str, object] = {}
    for col in table.columns:
        name = col.stored_name
        text = (raw.get(name) or "").strip()
        if col.type == "pseudonym":
            out[name] = text or None
            continue
        if not text:
            out[name] = None
        elif col.type == "label":
            out[name] = lists[col.labels].code_for(text)
        elif col.type == "list":
            codes = [lists[col.labels].code_for(x) for x in text.split(",") if x.strip()]
            out[name] = None if None in codes else codes
        elif col.type == "date":
            out[name] = parse_date(text, birth=col.date_kind == "birth")
        elif col.type == "int":
            out[name] = int(text) if re.fullmatch(r"[+-]?\d+", text) else None
        elif col.type == "bool":
            out[name] = {"ja": True, "nein": False}.get(text.casefold())
        else:
            out[name] = text.upper() if col.upper else text
    return out


def add_file(
    con, table_name: str, rows: list[dict[str, str]], snapshot: dt.date = SNAPSHOT, file_name: str | None = None
) -> str:
    """Insert one export file's rows (raw + core + ingest_files); returns its sha256. Rows start at 2."""
    table = model.tables()[table_name]
    file_name = file_name or f"{table.file_prefix}_{snapshot:%Y%m%d}.csv"
    sha = hashlib.sha256(f"{file_name}{rows!r}".encode()).hexdigest()
    cols = [n for n, _ in table.stored_columns]
    for i, raw in enumerate(rows, start=2):
        core = typed(table, raw)
        con.execute(
            f"INSERT INTO raw_{table_name} (file_sha256, source_row, snapshot_date, {', '.join(cols)}) "
            f"VALUES (?, ?, ?, {', '.join('?' * len(cols))})",
            [sha, i, snapshot, *[raw.get(c) if raw.get(c) is not None else "" for c in cols]],
        )
        con.execute(
            f"INSERT INTO core_{table_name} (file_sha256, source_row, snapshot_date, {', '.join(cols)}, quarantined) "
            f"VALUES (?, ?, ?, {', '.join('?' * len(cols))}, FALSE)",
            [sha, i, snapshot, *[core[c] for c in cols]],
        )
    con.execute(
        "INSERT INTO ingest_files (file_sha256, file_name, table_name, snapshot_date, rows_read, rows_loaded, "
        "rows_quarantined, status, run_id) VALUES (?, ?, ?, ?, ?, ?, 0, 'loaded', 'fixture')",
        [sha, file_name, table_name, snapshot, len(rows), len(rows)],
    )
    return sha


def open_db(path) -> object:
    return db.connect(path)


def load_all(con, tables: dict[str, list[dict[str, str]]], snapshot: dt.date = SNAPSHOT) -> dict[str, str]:
    return {t: add_file(con, t, rows, snapshot) for t, rows in tables.items()}
