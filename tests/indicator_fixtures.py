"""Tiny fixtures for the indicator tests: rows inserted straight into ``core_<table>`` of a real DuckDB file.

Each test states its households, persons, contacts, helps and follow-ups with only the fields that matter;
everything else gets a plain, valid default. ``load()`` writes one loaded ``ingest_files`` row per table, so
``db.create_current_views`` sees them as the snapshot in force.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import shutil
import tempfile
from pathlib import Path

from pipeline import db, model
from pipeline.config import Config

D = dt.date.fromisoformat
DEFAULT_SNAPSHOT = D("2021-06-30")

HOUSEHOLD_DEFAULTS = {
    "project_cycle": "2019",
    "jobcenter_site": "altenkirchen",
    "household_type": "single",
    "municipality_ags": "07132099",
    "n_members": 1,
    "referral_date": D("2019-01-01"),
    "entry_date": D("2019-01-01"),
    "exit_date": None,
    "status": "active",
    "coach_id": "C01",
}

PARTICIPANT_DEFAULTS = {
    "role": "participant",
    "is_esf_participant": True,
    "gender": "female",
    "birth_date": D("1980-06-15"),
    "citizenship": "DEU",
    "foreign_background": "no",
    "refugee_background": "no",
    "disability": "no",
    "minority": "no",
    "homeless": "no",
    "school_qualification": "lower_secondary",
    "vocational_qualification": "none",
    "employment_status_entry": "inactive_other",
    "long_term_benefit_recipient": False,
}


def config(
    cycles: list[dict] | None = None,
    esf: dict | None = None,
    counted_help_statuses: list[str] | None = None,
) -> Config:
    """A Config with the given cycles (default: 2019 and 2020, calendar years, 2014-20, 30 places, 2.0 FTE)."""
    cycles = cycles or [
        {"id": "2019", "start": D("2019-01-01"), "end": D("2019-12-31"), "funding_period": "esf_2014_2020",
         "places": 30, "coach_fte": 2.0},
        {"id": "2020", "start": D("2020-01-01"), "end": D("2020-12-31"), "funding_period": "esf_2014_2020",
         "places": 30, "coach_fte": 2.0},
    ]
    extra = {}
    if counted_help_statuses is not None:
        extra["indicators"] = {"counted_help_statuses": counted_help_statuses}
    return Config(cycles=cycles, esf=esf or {}, **extra)


class Fixture:
    """Collects rows per table; ``load(con)`` inserts them as one snapshot."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {name: [] for name in model.tables()}
        self._n = 0

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:05d}"

    def household(self, household_id: str | None = None, **kw) -> str:
        row = {**HOUSEHOLD_DEFAULTS, **kw, "household_id": household_id or self._id("BG-")}
        if row["exit_date"] is not None and "status" not in kw:
            row["status"] = "ended_regular"
        self.rows["households"].append(row)
        return row["household_id"]

    def person(self, household_id: str, person_id: str | None = None, **kw) -> str:
        """A family member (not an ESF participant) unless ``is_esf_participant=True`` is given."""
        row = {"role": "child", "is_esf_participant": False, "gender": "male", **kw,
               "person_id": person_id or self._id("P"), "household_id": household_id}
        self.rows["persons"].append(row)
        return row["person_id"]

    def participant(self, household_id: str, person_id: str | None = None, **kw) -> str:
        """A complete ESF participant (ISCED 0-2, inactive at entry, born 1980-06-15) unless overridden."""
        entry = kw.pop("esf_entry_date", None)
        if entry is None:
            entry = next(h["entry_date"] for h in self.rows["households"] if h["household_id"] == household_id)
        row = {**PARTICIPANT_DEFAULTS, "esf_entry_date": entry, "consent_date": entry, **kw}
        return self.person(household_id, person_id, **row)

    def contact(self, household_id: str, contact_date: dt.date, **kw) -> str:
        row = {"contact_type": "office", "took_place": True, "duration_min": 60, "coach_id": "C01", **kw,
               "contact_id": self._id("K"), "household_id": household_id, "contact_date": contact_date}
        self.rows["contacts"].append(row)
        return row["contact_id"]

    def help(self, household_id: str, initiated_date: dt.date | None, help_status: str = "initiated", **kw) -> str:
        row = {"help_type": "debt_counselling", "provider_category": "counselling_centre", **kw,
               "help_id": self._id("H"), "household_id": household_id, "initiated_date": initiated_date,
               "help_status": help_status}
        self.rows["helps"].append(row)
        return row["help_id"]

    def followup(self, person_id: str, survey_date: dt.date | None, reached: bool = True,
                 employment_status_6m: str | None = "employed_svp") -> None:
        self.rows["followups"].append({"person_id": person_id, "survey_date": survey_date, "reached": reached,
                                       "employment_status_6m": employment_status_6m})

    def load(self, con, snapshot: dt.date = DEFAULT_SNAPSHOT, quarantined: dict[str, set[str]] | None = None) -> None:
        """Insert every row as the snapshot ``snapshot`` (rows whose id is in ``quarantined[table]`` flagged)."""
        quarantined = quarantined or {}
        for name, table in model.tables().items():
            cols = [c for c, _ in table.stored_columns]
            sha = hashlib.sha256(f"{name}{snapshot}".encode()).hexdigest()
            con.execute(
                "INSERT INTO ingest_files (file_sha256, file_name, table_name, snapshot_date, rows_read, rows_loaded,"
                " rows_quarantined, status) VALUES (?, ?, ?, ?, ?, ?, 0, 'loaded')",
                [sha, f"{table.file_prefix}_{snapshot:%Y%m%d}.csv", name, snapshot, len(self.rows[name]),
                 len(self.rows[name])],
            )
            key = table.key[0] if table.key else None
            records = []
            for i, r in enumerate(self.rows[name]):
                q = key is not None and r.get(key) in quarantined.get(name, set())
                records.append([sha, i + 2, snapshot, *[r.get(c) for c in cols], q])
            if records:
                placeholders = ", ".join("?" for _ in range(len(cols) + 4))
                con.executemany(
                    f"INSERT INTO core_{name} (file_sha256, source_row, snapshot_date, {', '.join(cols)}, quarantined)"
                    f" VALUES ({placeholders})",
                    records,
                )


_TEMPLATE: list[Path] = []


def open_db(tmp_path: Path):
    """A fresh database file in tmp_path (copied from a schema-only template: creating the schema is slow)."""
    if not _TEMPLATE:
        tmpl = Path(tempfile.mkdtemp(prefix="indicator-template-")) / "template.duckdb"
        atexit.register(shutil.rmtree, tmpl.parent, True)  # schema only, but no litter in /tmp
        db.connect(tmpl).close()
        _TEMPLATE.append(tmpl)
    tmp_path.mkdir(parents=True, exist_ok=True)
    target = tmp_path / "test.duckdb"
    shutil.copyfile(_TEMPLATE[0], target)
    return db.connect(target)


def as_dict(result) -> dict[tuple[str, str, str], tuple]:
    """(indicator_id, dimension, category) -> (numerator, denominator, value) with None for empty."""
    out = {}
    for r in result.table.itertuples(index=False):
        vals = tuple(None if (v is None or v is __import__("pandas").NA) else v
                     for v in (r.numerator, r.denominator, r.value))
        out[(r.indicator_id, r.dimension, r.category)] = vals
    return out


def value(result, indicator_id: str, dimension: str = "total", category: str = "total"):
    return as_dict(result)[(indicator_id, dimension, category)][2]


def row(result, indicator_id: str, dimension: str = "total", category: str = "total") -> tuple:
    return as_dict(result)[(indicator_id, dimension, category)]


def run(tmp_path: Path, fixture: Fixture, period: str, cfg: Config | None = None,
        snapshot: dt.date = DEFAULT_SNAPSHOT, **kw):
    """Load the fixture into a fresh database and compute the period's indicators."""
    from pipeline.indicators import compute

    con = open_db(tmp_path)
    try:
        fixture.load(con, snapshot, quarantined=kw.pop("quarantined", None))
        return compute(con, cfg or config(), period, **kw)
    finally:
        con.close()
