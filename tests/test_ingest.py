"""Ingest of every export dialect into a real DuckDB file: typing, lineage, snapshots, idempotency, privacy."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys

import pytest
from export_files import headers, household, person, rows_of, write_csv, write_xlsx
from project_setup import project_config, query

from pipeline import db, inbox, ingest, pseudonym


@pytest.fixture
def cfg(tmp_path):
    return project_config(tmp_path, '\n[mapping.persons]\n"Vorname/Rufname" = "Vorname"\n')


def run(cfg):
    return ingest.ingest(cfg)


def test_cp1252_crlf_semicolon_with_two_digit_and_iso_dates(cfg):
    hh = [
        household("BG-2019-001"),
        household(
            "BG-2019-002",
            **{
                "Jobcenter-Standort": "  BETZDORF ",
                "Gemeindeschlüssel": "7132002",
                "Eintritt": "03.02.19",
                "Zuweisung am": "2019-02-01",
                "Austritt": "31.12.2019",
                "Status": "beendet regulär",
                "Haushaltstyp": "paar  mit kindern",
            },
        ),
    ]
    write_csv(
        cfg.inbox / "haushalte_20200131.csv",
        headers("households"),
        rows_of("households", hh),
        encoding="cp1252",
        newline="\r\n",
    )
    res = run(cfg)
    assert [f.status for f in res.files] == ["loaded"]
    assert res.files[0].rows_read == 2
    rows = query(
        cfg,
        """SELECT household_id, jobcenter_site, municipality_ags, household_type, referral_date,
                         entry_date, exit_date, status FROM core_households ORDER BY source_row""",
    )
    assert rows[1] == (
        "BG-2019-002",
        "betzdorf",
        "07132002",
        "couple_with_children",
        dt.date(2019, 2, 1),
        dt.date(2019, 2, 3),
        dt.date(2019, 12, 31),
        "ended_regular",
    )
    assert query(cfg, "SELECT encoding, separator FROM ingest_files") == [("cp1252", ";")]


def test_windows_1252_mueller_arrives_as_mueller(cfg):
    header = headers("persons") + ["Bemerkung"]
    p = person("P1", "BG-2019-001", Bemerkung='Frau Müller; sagt "später"\nzweite Zeile')
    write_csv(cfg.inbox / "personen_20200131.csv", header, rows_of("persons", [p], header), encoding="cp1252")
    assert b"M\xfcller" in (cfg.inbox / "personen_20200131.csv").read_bytes()
    run(cfg)
    (extra,) = query(cfg, "SELECT extra_columns['Bemerkung'] FROM raw_persons")[0]
    assert extra == 'Frau Müller; sagt "später"\nzweite Zeile'
    ((gender, name_hash),) = query(cfg, "SELECT gender, name_hash FROM core_persons")
    assert gender == "male"  # 'männlich' decoded and mapped
    key = pseudonym.load_key(cfg.database.parent)
    assert name_hash == pseudonym.keyed_hash(key, ["Jürgen", "Müller"])
    # unknown extra column reported as a warning, not an error
    assert query(cfg, "SELECT rule_id, severity, column_name FROM problems WHERE rule_id = 'W01'") == [
        ("W01", "warning", "Bemerkung")
    ]


def test_utf8_bom_lf_comma_separator_and_quoted_fields(cfg):
    p = person("P1", "BG-2019-001", Vorname="Anna, Maria", Nachname='O"Neil')
    write_csv(
        cfg.inbox / "personen_20200131.csv",
        headers("persons"),
        rows_of("persons", [p]),
        encoding="utf-8-sig",
        sep=",",
        newline="\n",
    )
    res = run(cfg)
    assert res.files[0].status == "loaded"
    assert query(cfg, "SELECT encoding, separator FROM ingest_files") == [("utf-8-sig", ",")]
    assert query(cfg, "SELECT person_id, is_esf_participant, birth_date FROM core_persons") == [
        ("P1", True, dt.date(1975, 2, 3))
    ]


def test_birth_date_two_digit_years_follow_snapshot_year(cfg):
    ps = [
        person("P1", "B1", Geburtsdatum="03.02.75"),  # 75 > 20 -> 1975
        person("P2", "B1", Geburtsdatum="01.01.15", Rolle="Kind", **{"ESF-Teilnahme": "nein"}),  # 15 <= 20 -> 2015
        person("P3", "B1", Geburtsdatum="31.12.20", Rolle="Kind", **{"ESF-Teilnahme": "nein"}),  # 20 <= 20 -> 2020
        person("P4", "B1", Geburtsdatum="2001-07-09", **{"Arbeitslos seit": "01.03.18"}),
    ]  # other dates: 20JJ
    write_csv(cfg.inbox / "personen_20200131.csv", headers("persons"), rows_of("persons", ps))
    run(cfg)
    got = dict(query(cfg, "SELECT person_id, birth_date FROM core_persons"))
    assert got == {
        "P1": dt.date(1975, 2, 3),
        "P2": dt.date(2015, 1, 1),
        "P3": dt.date(2020, 12, 31),
        "P4": dt.date(2001, 7, 9),
    }
    assert query(cfg, "SELECT unemployed_since FROM core_persons WHERE person_id = 'P4'") == [(dt.date(2018, 3, 1),)]


def test_xlsx_with_real_excel_dates_and_text_dates(cfg):
    h = household(
        "BG-2019-001",
        **{
            "Zuweisung am": dt.datetime(2019, 1, 2),
            "Eintritt": "15.01.2019",
            "Personen in BG": 3,
            "Gemeindeschlüssel": 7132001,
        },
    )
    write_xlsx(cfg.inbox / "haushalte_20200131.xlsx", headers("households"), rows_of("households", [h]))
    res = run(cfg)
    assert res.files[0].status == "loaded", res.files[0].message
    assert query(cfg, "SELECT referral_date, entry_date, n_members, municipality_ags FROM core_households") == [
        (dt.date(2019, 1, 2), dt.date(2019, 1, 15), 3, "07132001")
    ]


def test_remapped_header_from_config(cfg):
    header = ["Vorname/Rufname" if h == "Vorname" else h for h in headers("persons")]
    write_csv(cfg.inbox / "personen_20200131.csv", header, rows_of("persons", [person("P1", "B1")], headers("persons")))
    res = run(cfg)
    assert res.files[0].status == "loaded"
    assert not query(cfg, "SELECT * FROM problems WHERE rule_id IN ('W01', 'W02') AND column_name ILIKE '%vorname%'")


def test_missing_required_column_fails_file_with_name_and_column(cfg):
    header = [h for h in headers("households") if h != "Eintritt"]
    write_csv(cfg.inbox / "haushalte_20200131.csv", header, rows_of("households", [household("B1")], header))
    res = run(cfg)
    (f,) = res.files
    assert f.status == "failed" and f.rule_id == "F04"
    assert "Eintritt" in f.message and "entry_date" in f.message
    assert query(cfg, "SELECT count(*) FROM core_households") == [(0,)]
    assert query(cfg, "SELECT severity, rule_id, file_name, column_name FROM problems") == [
        ("file_error", "F04", "haushalte_20200131.csv", "entry_date")
    ]


def test_cli_missing_column_message_without_traceback(cfg, tmp_path):
    header = [h for h in headers("households") if h != "Eintritt"]
    write_csv(cfg.inbox / "haushalte_20200131.csv", header, rows_of("households", [household("B1")], header))
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "ingest", "--config", str(tmp_path / "config.toml")],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 1
    text = proc.stdout + proc.stderr
    assert "haushalte_20200131.csv" in text and "Eintritt" in text
    assert "Traceback" not in text


def test_idempotent_same_file_twice_loaded_once(cfg):
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", [household("B1")]))
    first = run(cfg)
    second = run(cfg)
    assert [f.status for f in first.files] == ["loaded"]
    assert [f.status for f in second.files] == ["skipped"]
    assert query(cfg, "SELECT count(*) FROM core_households") == [(1,)]
    assert query(cfg, "SELECT count(*) FROM raw_households") == [(1,)]


def test_lineage_and_row_conservation(cfg):
    hh = [household(f"B{i}") for i in range(1, 6)]
    hh[2]["Eintritt"] = "kein Datum"  # unparseable: kept in raw, typed NULL
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", hh))
    (f,) = run(cfg).files
    assert f.rows_read == 5 == f.rows_loaded + f.rows_quarantined
    sha = inbox.file_sha256(cfg.inbox / "haushalte_20200131.csv")
    rows = query(
        cfg, "SELECT household_id, file_sha256, source_row, snapshot_date FROM core_households ORDER BY source_row"
    )
    assert [(r[0], r[2]) for r in rows] == [("B1", 2), ("B2", 3), ("B3", 4), ("B4", 5), ("B5", 6)]
    assert {r[1] for r in rows} == {sha} and {r[3] for r in rows} == {dt.date(2020, 1, 31)}
    assert query(cfg, "SELECT entry_date FROM raw_households WHERE source_row = 4") == [("kein Datum",)]
    ((read, loaded, quarantined),) = query(cfg, "SELECT rows_read, rows_loaded, rows_quarantined FROM ingest_files")
    assert read == loaded + quarantined == 5


def test_newer_snapshot_supersedes_and_vanished_records_reported(cfg):
    write_csv(
        cfg.inbox / "haushalte_20200131.csv",
        headers("households"),
        rows_of("households", [household("B1"), household("B2"), household("B3")]),
    )
    write_csv(
        cfg.inbox / "haushalte_20200229.csv",
        headers("households"),
        rows_of("households", [household("B1"), household("B3"), household("B4")]),
    )
    res = run(cfg)
    assert [f.vanished for f in res.files] == [0, 1]
    assert query(cfg, "SELECT table_name, record_key, previous_snapshot, snapshot_date FROM vanished_records") == [
        ("households", "B2", dt.date(2020, 1, 31), dt.date(2020, 2, 29))
    ]
    con = db.connect(cfg.database, read_only=True)
    db.create_current_views(con)
    assert sorted(r[0] for r in con.execute("SELECT household_id FROM households").fetchall()) == ["B1", "B3", "B4"]
    # the older snapshot stays queryable, and --as-of reproduces it
    db.create_current_views(con, as_of=dt.date(2020, 2, 1))
    assert sorted(r[0] for r in con.execute("SELECT household_id FROM households").fetchall()) == ["B1", "B2", "B3"]
    assert db.data_state(con) == dt.date(2020, 2, 29)
    con.close()


def test_second_file_same_snapshot_date_different_content_is_file_error(cfg):
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", [household("B1")]))
    run(cfg)
    (cfg.inbox / "haushalte_20200131.csv").unlink()
    write_xlsx(cfg.inbox / "haushalte_20200131.xlsx", headers("households"), rows_of("households", [household("B2")]))
    (f,) = run(cfg).files
    assert f.status == "failed" and f.rule_id == "F05"
    assert query(cfg, "SELECT count(*) FROM core_households") == [(1,)]


def test_names_and_bg_numbers_never_stored_in_clear_and_key_file_private(cfg, monkeypatch):
    monkeypatch.delenv("ESF_PIPELINE_KEY", raising=False)
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), rows_of("households", [household("B1")]))
    write_csv(cfg.inbox / "personen_20200131.csv", headers("persons"), rows_of("persons", [person("P1", "B1")]))
    run(cfg)
    key_file = cfg.database.parent / pseudonym.KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.database.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.archive.stat().st_mode) == 0o700
    con = db.connect(cfg.database, read_only=True)
    dump = []
    for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        dump.append(str(con.execute(f'SELECT * FROM "{name}"').fetchall()))
    con.close()
    text = "\n".join(dump)
    for secret in ("Jürgen", "Müller", "07132BG0001234"):
        assert secret not in text
    # the archive keeps the unchanged file (the only place with names), named by hash
    archived = list(cfg.archive.iterdir())
    assert len(archived) == 2 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in archived)


def test_unrecognised_file_and_symlink_reported_not_loaded(cfg, tmp_path):
    (cfg.inbox / "notizen.txt").write_text("hallo")
    target = tmp_path / "elsewhere.csv"
    write_csv(target, headers("households"), rows_of("households", [household("B1")]))
    os.symlink(target, cfg.inbox / "haushalte_20200131.csv")
    res = run(cfg)
    assert sorted((f.file_name, f.rule_id) for f in res.files) == [
        ("haushalte_20200131.csv", "F01"),
        ("notizen.txt", "F06"),
    ]
    assert query(cfg, "SELECT count(*) FROM core_households") == [(0,)]
