"""Retention per funding period and erasure requests, on a real database via the CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from export_files import headers, household, person, rows_of, write_csv

from pipeline import db, ingest, retention
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cfg(tmp_path):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace("# esf_2014_2020_until = 2028-12-31", "esf_2014_2020_until = 2028-12-31")
    text = text.replace(
        "# last_payment_year = { esfplus_2021_2027 = 2029 }", "last_payment_year = { esfplus_2021_2027 = 2029 }"
    )
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    (tmp_path / "inbox").mkdir()
    c = load_config(tmp_path / "config.toml")
    hh = [
        household("B19", Projektjahr="2019"),
        household("B24", Projektjahr="2024", Eintritt="15.01.2024", **{"Zuweisung am": "02.01.2024"}),
    ]
    write_csv(c.inbox / "haushalte_20250131.csv", headers("households"), rows_of("households", hh))
    ps = [person("P19", "B19"), person("P24", "B24", **{"ESF-Eintritt": "15.01.2024", "Einwilligung am": "15.01.2024"})]
    write_csv(c.inbox / "personen_20250131.csv", headers("persons"), rows_of("persons", ps))
    ingest.ingest(c)
    return c


def test_retention_end_dates_follow_config(cfg):
    # ESF+: 5 years from 31 December of the year of the last payment (2029) -> 31.12.2034
    assert retention.retention_end(cfg, "esfplus_2021_2027") == dt.date(2034, 12, 31)
    assert retention.retention_end(cfg, "esf_2014_2020") == dt.date(2028, 12, 31)


def test_purge_deletes_only_expired_funding_period(cfg):
    con = db.connect(cfg.database)
    rep = retention.purge(con, cfg, today=dt.date(2029, 1, 1))
    assert set(rep.cycles) == {"2018", "2019", "2020", "2021"}
    for layer in ("raw", "core"):
        assert con.execute(f"SELECT household_id FROM {layer}_households").fetchall() == [("B24",)]
        assert con.execute(f"SELECT person_id FROM {layer}_persons").fetchall() == [("P24",)]
    # both archived files still hold the 2024 cohort: kept
    assert rep.archive_files_deleted == 0 and len(list(cfg.archive.iterdir())) == 2
    rep = retention.purge(con, cfg, today=dt.date(2035, 1, 1))
    assert con.execute("SELECT count(*) FROM core_households").fetchall() == [(0,)]
    assert rep.archive_files_deleted == 2 and list(cfg.archive.iterdir()) == []
    con.close()


def test_purge_deletes_stored_validation_results_with_the_rows(cfg):
    con = db.connect(cfg.database)
    shas = {r[0] for r in con.execute("SELECT file_sha256 FROM ingest_files WHERE status = 'loaded'").fetchall()}
    assert {r[0] for r in con.execute("SELECT file_sha256 FROM gx_results").fetchall()} == shas
    rep = retention.purge(con, cfg, today=dt.date(2029, 1, 1), dry_run=True)
    assert rep.cycles and con.execute("SELECT count(*) FROM gx_results").fetchone()[0] == 2  # dry run: kept
    retention.purge(con, cfg, today=dt.date(2029, 1, 1))
    # both files lost rows (the 2019 cohort): their results counted those rows and are gone with them
    assert con.execute("SELECT count(*) FROM gx_results").fetchone()[0] == 0
    con.close()


def test_purge_before_retention_end_deletes_nothing(cfg):
    con = db.connect(cfg.database)
    rep = retention.purge(con, cfg, today=dt.date(2026, 11, 24))
    assert rep.cycles == [] and sum(rep.rows_deleted.values()) == 0
    assert con.execute("SELECT count(*) FROM core_persons").fetchall() == [(2,)]
    con.close()


def test_erase_command_records_request_and_restricts(cfg):
    cmd = [
        sys.executable,
        "-m",
        "pipeline",
        "erase",
        "--person-id",
        "P19",
        "--config",
        str(cfg.base_dir / "config.toml"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Löschersuchen für P19 erfasst" in proc.stdout
    con = db.connect(cfg.database)
    assert retention.restricted_person_ids(con) == {"P19"}
    # at the end of retention the person's rows go, and the request is marked done
    rep = retention.purge(con, cfg, today=dt.date(2029, 1, 1))
    assert rep.persons_erased == 1
    assert retention.restricted_person_ids(con) == set()
    con.close()
    unknown = subprocess.run(cmd[:5] + ["NOPE"] + cmd[6:], capture_output=True, text=True)
    assert unknown.returncode == 1 and "nicht in der Datenbank" in unknown.stderr


def test_erasure_request_hides_person_from_analyst_api(cfg):
    from pipeline import api

    con = db.connect(cfg.database)
    assert retention.request_erasure(con, "P19")
    con.close()
    persons = api.table("persons", db=cfg.database, config=cfg)
    assert sorted(persons["person_id"]) == ["P24"]
