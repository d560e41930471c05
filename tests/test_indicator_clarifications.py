"""The December 2026 clarifications of indicators.md, each on a hand-computed fixture (arithmetic in comments).

1. a range across both funding periods reports both ESF sets, each over its own cycles' participants;
2. K17/K18 give no places and no coach FTE to days of P that no cycle covers;
3. a person entering in two cycles inside one range: two participations, one person;
4. ``--as-of`` before the first snapshot of households/persons: exit 1 naming table and date; missing
   follow-ups are reported and their indicators are empty (tested through the real CLI);
5. ``esf-pipeline indicators --audience``: K18 only in the internal file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from indicator_fixtures import D, Fixture, as_dict, config, open_db, row, run, value

from pipeline import catalogue

ROOT = Path(__file__).resolve().parents[1]

# The real project's change-over: cycle 2021 (2014-20) ends 2022-06-30, cycle 2022 (ESF+) starts 2022-07-01.
CHANGE_OVER = [
    {"id": "2021", "start": D("2021-01-01"), "end": D("2022-06-30"), "funding_period": "esf_2014_2020",
     "places": 30, "coach_fte": 2.0},
    {"id": "2022", "start": D("2022-07-01"), "end": D("2023-12-31"), "funding_period": "esfplus_2021_2027",
     "places": 20, "coach_fte": 1.0},
]


def ids(result) -> list[str]:
    return list(dict.fromkeys(result.table["indicator_id"]))


# --------------------------------------------------------------------------- 1. both funding periods in one range


def change_over_fixture() -> Fixture:
    """Participants of cycle 2021 (2014-20) and 2022 (ESF+) around 2022-06-01..2022-07-31; defaults: complete,
    ISCED 0-2, born 1980-06-15 (aged 41/42: in no age group), inactive (`sonstige`) at entry."""
    f = Fixture()
    f.household("A", project_cycle="2021", entry_date=D("2022-06-10"))
    f.participant("A", "SAME", gender="female")  # inactive: CO03, CO04, CO09
    f.participant("A", "A2", gender="male", employment_status_entry="unemployed")  # CO01 (not long-term), CO09
    f.household("B", project_cycle="2022", entry_date=D("2022-07-05"))
    f.participant("B", "SAME", gender="female", employment_status_entry="employed")  # EECO01, EECO05, EECO09
    f.participant("B", "B2", gender="diverse", employment_status_entry="inactive_education")  # EECO01/04/09
    f.household("C", project_cycle="2022", entry_date=D("2022-07-20"))
    f.participant("C", "C1", gender="not_stated")  # incomplete: K02 only
    f.household("D", project_cycle="2021", entry_date=D("2021-03-01"), exit_date=D("2022-06-30"))
    f.participant("D", "D1", gender="female", esf_exit_date=D("2022-06-30"), destination="employment_svp")  # CR04
    f.household("E", project_cycle="2022", entry_date=D("2022-07-01"), exit_date=D("2022-07-31"))
    f.participant("E", "E1", gender="male", esf_exit_date=D("2022-07-31"), destination="job_seeking")  # EECR01
    # F left on 2022-01-15 (not active in P); 2022-01-15 + 6 months = 2022-07-15 ∈ P: due for CR06
    f.household("F", project_cycle="2021", entry_date=D("2021-02-01"), exit_date=D("2022-01-15"))
    f.participant("F", "F1", gender="female", esf_exit_date=D("2022-01-15"), destination="employment_svp")
    f.followup("F1", D("2022-07-20"))  # reached, employed, within 2022-07-15 ± 28 days
    return f


def test_range_across_funding_periods_reports_both_sets_each_over_its_own_cycles(tmp_path):
    r = run(tmp_path, change_over_fixture(), "2022-06-01..2022-07-31", cfg=config(cycles=CHANGE_OVER),
            snapshot=D("2022-08-31"))
    # both sets in catalogue order, K18 left out (funder audience)
    assert ids(r) == [i.id for i in catalogue.indicators() if i.id != "K18"]
    assert r.period.funding_periods == ("esf_2014_2020", "esfplus_2021_2027")
    # K01: A, B, C, D (exit 2022-06-30 ≥ p_start), E = 5 (F left before P)
    assert value(r, "K01") == 5
    # K02: ESF entries in P: SAME@A (06-10), A2, SAME@B (07-05), B2, C1, E1 (07-01) = 6 participations
    assert value(r, "K02") == 6
    assert [value(r, "K02", "gender", g) for g in ("women", "men", "non_binary", "not_stated")] == [2, 2, 1, 1]
    # K03: SAME, A2, B2, C1, D1, E1 = 6 persons (SAME once)
    assert value(r, "K03") == 6
    # K20: complete 5 of 6 (C1 gender `keine Angabe`)
    assert row(r, "K20") == (5, 6, 5 / 6)

    # 2014-20 set over the cycle-2021 participants only: entering SAME@A (women, inactive), A2 (men, unemployed)
    assert [value(r, "CO01", *k) for k in (("total", "total"), ("gender", "women"), ("gender", "men"))] == [1, 0, 1]
    assert value(r, "CO03") == 1 and value(r, "CO04") == 1 and value(r, "CO05") == 0
    assert value(r, "CO09") == 2  # SAME@A and A2 (not the three ESF+ entrants)
    # leaving in P from cycle 2021: D1 → CR04 = 1 (women); E1 (ESF+) is not a CR01
    assert value(r, "CR04") == 1 and value(r, "CR04", "gender", "women") == 1 and value(r, "CR01") == 0
    # CR06: cycle-2021 complete leavers of P with exit + 6 months ∈ P: D1's 2022-12-30 ∉ P; F1 left before P,
    # so it is no leaver of P → (0, 0, empty)
    assert row(r, "CR06") == (0, 0, None)
    assert ("CR04", "gender", "non_binary") not in as_dict(r)  # 2014-20 has no non-binary row

    # ESF+ set over the cycle-2022 participants only: SAME@B (women, employed), B2 (divers, inactive), E1 (men)
    assert value(r, "EECO01") == 3  # not 5: SAME@A and A2 belong to 2014-20
    assert [value(r, "EECO01", "gender", g) for g in ("women", "men", "non_binary")] == [1, 1, 1]
    assert value(r, "EECO02") == 0  # A2's unemployment is a 2014-20 entry
    assert value(r, "EECO04") == 2 and value(r, "EECO05") == 1 and value(r, "EECO09") == 3
    # leaving in P from cycle 2022: E1, inactive at entry, `arbeitsuchend` → EECR01; D1's job is no EECR04
    assert value(r, "EECR01") == 1 and value(r, "EECR01", "gender", "men") == 1 and value(r, "EECR04") == 0
    # EECR05: E1 exit 2022-07-31 + 6 months = 2023-01-31 ∉ P → (0, 0, empty)
    assert row(r, "EECR05") == (0, 0, None)


def test_followup_share_of_a_mixed_range_counts_only_its_own_period(tmp_path):
    f = change_over_fixture()
    # a cycle-2022 household entered before its cycle's start: its participant left 2022-01-20,
    # + 6 months = 2022-07-20 ∈ P, reached 2022-07-25 employed → counts in EECR05, never in CR06
    f.household("G", project_cycle="2022", entry_date=D("2021-12-01"), exit_date=D("2022-01-20"))
    f.participant("G", "G1", gender="female", esf_exit_date=D("2022-01-20"), destination="employment_svp")
    f.followup("G1", D("2022-07-25"))
    r = run(tmp_path, f, "2021-06-01..2022-07-31", cfg=config(cycles=CHANGE_OVER), snapshot=D("2022-08-31"))
    # leavers in P due for the follow-up (exit + 6 months ∈ P): 2014-20: F1 (2022-07-15), D1 is not due
    # (2022-12-30); ESF+: G1 (2022-07-20); E1 is not due (2023-01-31). Each reached and employed.
    assert row(r, "CR06") == (1, 1, 1.0)
    assert row(r, "EECR05") == (1, 1, 1.0)
    assert row(r, "EECR05", "gender", "women") == (1, 1, 1.0)


def test_range_inside_one_funding_period_reports_only_its_set(tmp_path):
    cfg = config(cycles=CHANGE_OVER)
    june = run(tmp_path / "june", change_over_fixture(), "2022-06-01..2022-06-30", cfg=cfg, snapshot=D("2022-08-31"))
    assert june.period.funding_periods == ("esf_2014_2020",)
    assert not [i for i in ids(june) if i.startswith("EE")]
    # entering in June: SAME@A, A2 → K02 = 2, CO09 = 2; leaving: D1 (06-30) → CR04 = 1
    assert value(june, "K02") == 2 and value(june, "CO09") == 2 and value(june, "CR04") == 1
    july = run(tmp_path / "july", change_over_fixture(), "2022-07-01..2022-07-31", cfg=cfg, snapshot=D("2022-08-31"))
    assert july.period.funding_periods == ("esfplus_2021_2027",)
    assert not [i for i in ids(july) if i.startswith(("CO", "CR"))]
    # entering in July: SAME@B, B2, C1 (incomplete), E1 → K02 = 4, EECO01 = 3; leaving: E1 → EECR01 = 1
    assert value(july, "K02") == 4 and value(july, "EECO01") == 3 and value(july, "EECR01") == 1


# --------------------------------------------------------------------------- 2. K17 and K18 with uncovered days


def test_capacity_gives_no_places_or_fte_to_days_no_cycle_covers(tmp_path):
    cfg = config(cycles=[
        {"id": "2019", "start": D("2019-01-01"), "end": D("2019-12-31"), "funding_period": "esf_2014_2020",
         "places": 30, "coach_fte": 2.0},
        {"id": "2021", "start": D("2021-01-01"), "end": D("2021-12-31"), "funding_period": "esfplus_2021_2027",
         "places": 20, "coach_fte": 1.0},
    ])  # no cycle in 2020
    f = Fixture()
    f.household("W", project_cycle="2019", entry_date=D("2019-12-01"), exit_date=D("2019-12-31"))
    f.household("V", project_cycle="2021", entry_date=D("2020-12-15"))  # entered in the gap, active
    r = run(tmp_path, f, "2019-12-01..2021-01-31", cfg=cfg, snapshot=D("2021-01-31"), audience="intern")
    # P = 31 (Dec 2019) + 366 (2020) + 31 (Jan 2021) = 428 days; covered by a cycle: 31 + 31 = 62
    # capacity days (window ∩ P): W 2019-12-01..12-31 = 31; V 2020-12-15..2021-01-31 = 17 + 31 = 48 → 79
    # K17 = 79 ÷ (30 places · 31 days + 20 · 31) = 79 ÷ 1550 (the 366 days of 2020 carry no places)
    assert row(r, "K17") == (79, 1550, 79 / 1550)
    # K18 = (79 ÷ 62 covered days) ÷ FTE (2.0 · 31 + 1.0 · 31) / 62 = 1.5 → 79 / 93
    assert value(r, "K18") == pytest.approx(79 / 93, rel=1e-12)


def test_capacity_of_a_period_wholly_inside_cycles_is_unchanged(tmp_path):
    f = Fixture()
    f.household("W", project_cycle="2019", entry_date=D("2019-12-01"))
    r = run(tmp_path, f, "2019-12-01..2020-01-31", snapshot=D("2020-01-31"), audience="intern")
    # 62 days, all covered (30 places, 2.0 FTE each): K17 = 62 ÷ (30 · 62) = 1/30; K18 = (62 ÷ 62) ÷ 2.0
    assert row(r, "K17") == (62, 1860, 62 / 1860)
    assert value(r, "K18") == pytest.approx(0.5, rel=1e-12)


# --------------------------------------------------------------------------- 3. one person, two cycles, one range


def test_person_entering_in_two_cycles_is_two_participations_but_one_person(tmp_path):
    f = Fixture()
    f.household("X19", project_cycle="2019", entry_date=D("2019-11-01"), exit_date=D("2019-12-31"))
    f.participant("X19", "P1", esf_exit_date=D("2019-12-31"), destination="job_seeking")  # inactive at entry
    f.participant("X19", "P2", gender="male", employment_status_entry="unemployed")
    f.person("X19", "C1", birth_date=D("2008-03-01"))  # 11 at 2019-11-01
    f.household("X20", project_cycle="2020", entry_date=D("2020-02-01"))
    f.participant("X20", "P1")  # P1 again, in the next cycle's operation
    f.person("X20", "C1", birth_date=D("2008-03-01"))  # 11 at 2020-02-01
    f.household("Y19", project_cycle="2019", entry_date=D("2019-12-01"))
    f.participant("Y19", "P2", gender="male", employment_status_entry="unemployed")  # same cycle 2019 again
    f.person("Y19", "Q1", role="partner", birth_date=D("1985-01-01"))
    r = run(tmp_path, f, "2019-10-01..2020-03-31", snapshot=D("2020-06-30"))
    assert value(r, "K01") == 3  # X19, X20, Y19
    # participations (one per person and cycle): P1@2019, P1@2020, P2@2019 (X19 and Y19 are one cycle) = 3
    assert value(r, "K02") == 3
    assert value(r, "K02", "gender", "women") == 2 and value(r, "K02", "gender", "men") == 1
    # ESF indicators count participations too: CO03 (inactive) = P1 twice; CO01 (unemployed) = P2 once
    assert value(r, "CO03") == 2 and value(r, "CO03", "gender", "women") == 2
    assert value(r, "CO01") == 1 and value(r, "CO09") == 3
    # persons once per person_id: 7 person rows, distinct P1, P2, C1, Q1 = 4; children: C1 = 1
    assert value(r, "K03") == 4
    assert value(r, "K04") == 1
    # leaving in P: P1@2019 (2019-12-31), inactive at entry, `arbeitsuchend` → CR01 = 1
    assert value(r, "K14") == 1 and value(r, "CR01") == 1


# --------------------------------------------------------------------------- 4. and 5. through the CLI

ENV = {**os.environ, "COLUMNS": "200"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, env=ENV)


def cli_db(tmp_path: Path, fixture: Fixture, snapshots: dict[str, object]) -> tuple[Path, Path]:
    """The shipped config and a database holding ``fixture`` with one snapshot date per table (None: the table
    was never delivered). Returns (config path, database path)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    con = open_db(tmp_path / "db")
    try:
        fixture.load(con, D("2000-01-01"))
        for table, snap in snapshots.items():
            if snap is None:
                con.execute("DELETE FROM ingest_files WHERE table_name = ?", [table])
                con.execute(f"DELETE FROM core_{table}")
            else:
                con.execute("UPDATE ingest_files SET snapshot_date = ? WHERE table_name = ?", [snap, table])
                con.execute(f"UPDATE core_{table} SET snapshot_date = ?", [snap])
    finally:
        con.close()
    return cfg, tmp_path / "db" / "test.duckdb"


def asof_fixture() -> Fixture:
    f = Fixture()
    f.household("H", project_cycle="2019", entry_date=D("2019-01-15"), exit_date=D("2019-03-15"))
    f.participant("H", "L1", esf_exit_date=D("2019-03-15"), destination="employment_svp")
    f.followup("L1", D("2019-09-16"))  # 2019-03-15 + 6 months = 2019-09-15, + 1 day: inside ± 28 days
    return f


ALL = ("households", "persons", "contacts", "helps", "followups")


def test_as_of_before_the_first_households_snapshot_exits_1_naming_table_and_date(tmp_path):
    cfg, dbf = cli_db(tmp_path, asof_fixture(), dict.fromkeys(ALL, D("2019-06-30")))
    proc = cli("indicators", "--period", "2019", "--as-of", "31.03.2019", "--config", str(cfg), "--db", str(dbf),
               "--out", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Interner Fehler" not in proc.stderr
    message = " ".join(proc.stderr.split())
    assert "Haushalte" in message and "Personen" in message and "30.06.2019" in message and "31.03.2019" in message
    assert not (tmp_path / "out").exists()  # nothing written


def test_run_with_as_of_before_the_first_snapshot_names_table_and_date(tmp_path):
    cfg, dbf = cli_db(tmp_path, asof_fixture(), dict.fromkeys(ALL, D("2019-06-30")))
    (tmp_path / "inbox").mkdir()
    proc = cli("run", "--period", "2019", "--as-of", "2019-05-31", "--config", str(cfg), "--db", str(dbf),
               "--inbox", str(tmp_path / "inbox"), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 1, proc.stderr
    message = " ".join(proc.stderr.split())
    assert "Haushalte (erster Stand: 30.06.2019)" in message and "Traceback" not in message


def test_as_of_before_the_first_persons_snapshot_names_only_persons(tmp_path):
    snaps = {**dict.fromkeys(ALL, D("2019-03-31")), "persons": D("2019-06-30")}
    cfg, dbf = cli_db(tmp_path, asof_fixture(), snaps)
    proc = cli("indicators", "--period", "2019", "--as-of", "2019-04-30", "--config", str(cfg), "--db", str(dbf),
               "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert "Personen" in message and "30.06.2019" in message and "Haushalte" not in message
    assert "Traceback" not in proc.stderr


def test_households_never_delivered_exits_1(tmp_path):
    cfg, dbf = cli_db(tmp_path, asof_fixture(), {"households": None})
    proc = cli("indicators", "--period", "2019", "--config", str(cfg), "--db", str(dbf),
               "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and "Haushalte" in proc.stderr and "Traceback" not in proc.stderr


def csv_rows(path: Path) -> dict[tuple[str, str, str], str]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return {tuple(line.split(",")[:3]): line for line in lines}


def test_missing_followups_are_reported_and_their_indicators_empty(tmp_path):
    snaps = {**dict.fromkeys(ALL, D("2019-06-30")), "followups": D("2019-12-31")}
    cfg, dbf = cli_db(tmp_path, asof_fixture(), snaps)
    out = tmp_path / "out"
    proc = cli("indicators", "--period", "2019", "--as-of", "2019-09-30", "--config", str(cfg), "--db", str(dbf),
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    message = " ".join(proc.stderr.split())
    assert "Nachbefragungen" in message and "31.12.2019" in message and "CR06" in message
    rows = csv_rows(out / "2019" / "indicators.csv")
    # L1 is due (2019-09-15 ≤ data state 2019-09-30), but no follow-up snapshot is in force: empty, not 0 %
    assert rows[("CR06", "total", "total")] == "CR06,total,total,,,"
    assert rows[("CR06", "gender", "women")] == "CR06,gender,women,,,"
    assert rows[("K02", "total", "total")] == "K02,total,total,1,,1"
    # without --as-of the follow-up snapshot of 2019-12-31 is in force: L1 reached and employed → 1 of 1
    proc = cli("indicators", "--period", "2019", "--config", str(cfg), "--db", str(dbf), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Nachbefragungen" not in proc.stderr
    assert csv_rows(out / "2019" / "indicators.csv")[("CR06", "total", "total")] == "CR06,total,total,1,1,1.0000"


def test_indicators_audience_option_writes_k18_only_for_intern(tmp_path):
    f = Fixture()
    f.household("W", project_cycle="2019", entry_date=D("2019-12-01"))
    cfg, dbf = cli_db(tmp_path, f, dict.fromkeys(ALL, D("2020-01-31")))
    out = tmp_path / "out"
    base = ("indicators", "--period", "2019", "--config", str(cfg), "--db", str(dbf), "--out", str(out), "--quiet")
    assert cli(*base).returncode == 0
    funder = csv_rows(out / "2019" / "indicators.csv")
    assert ("K18", "total", "total") not in funder and ("K17", "total", "total") in funder
    assert cli(*base, "--audience", "intern").returncode == 0
    intern = csv_rows(out / "2019" / "intern" / "indicators.csv")
    # capacity days inside cycle 2019: 2019-12-01..12-31 = 31; K18 = (31 ÷ 365) ÷ 2.0 FTE = 0.04246575342…
    assert intern[("K18", "total", "total")] == "K18,total,total,,,0.0424657534"
    # the internal file is the funder file plus the K18 row
    assert {k: v for k, v in intern.items() if k[0] != "K18"} == funder
    assert cli(*base, "--audience", "oeffentlich").returncode == 0
    assert ("K18", "total", "total") not in csv_rows(out / "2019" / "oeffentlich" / "indicators.csv")
    proc = cli(*base, "--audience", "presse")
    assert proc.returncode == 2 and "presse" in proc.stderr and "Traceback" not in proc.stderr


def test_covered_days_count_a_day_of_overlapping_cycles_once():
    from pipeline.period import resolve_period

    cfg = config(cycles=[
        {"id": "a", "start": D("2020-01-01"), "end": D("2020-01-20"), "funding_period": "esf_2014_2020",
         "places": 10, "coach_fte": 1.0},
        {"id": "b", "start": D("2020-01-11"), "end": D("2020-01-15"), "funding_period": "esf_2014_2020",
         "places": 10, "coach_fte": 1.0},  # inside a
        {"id": "c", "start": D("2020-01-18"), "end": D("2020-01-31"), "funding_period": "esfplus_2021_2027",
         "places": 10, "coach_fte": 1.0},  # overlaps a on 18..20
    ])
    p = resolve_period(cfg, "2019-12-25..2020-02-10")
    # P = 7 + 31 + 10 = 48 days; some cycle covers 2020-01-01..01-31 = 31 of them
    assert (p.days, p.covered_days) == (48, 31)
    assert p.funding_periods == ("esf_2014_2020", "esfplus_2021_2027")
    assert p.funding_period == "esfplus_2021_2027"  # labels the report


# --------------------------------------------------------------------------- 1. the reports of a mixed range


def test_reports_of_a_mixed_range_show_one_esf_table_per_funding_period(tmp_path):
    import openpyxl
    from test_reports import cells_by_id, sheet_rows

    from pipeline import indicators
    from pipeline.reports import render_reports

    cfg = config(cycles=CHANGE_OVER)
    con = open_db(tmp_path)
    try:
        change_over_fixture().load(con, D("2022-08-31"))
        result = indicators.compute(con, cfg, "2022-06-01..2022-07-31")
        paths = {p.name: p for p in render_reports(con, cfg, result, "foerdergeber", tmp_path / "out")}
    finally:
        con.close()
    wb = openpyxl.load_workbook(paths["esf_submission.xlsx"])
    assert wb.sheetnames == ["Deckblatt", "ESF-Indikatoren 2014-2020", "ESF+-Indikatoren 2021-2027", "Teilnehmende",
                             "Definitionen"]
    cover = {r[0].value: r[1].value for r in wb["Deckblatt"].iter_rows() if r[0].value}
    assert cover["Förderperiode"] == "ESF-Förderperiode 2014–2020 und ESF+-Förderperiode 2021–2027"
    old = cells_by_id(wb["ESF-Indikatoren 2014-2020"])
    # the 2014-20 sheet: CO/CR ids only; K02 (both periods' 6 entries) is not its total here
    assert list(old) == [i.id for i in catalogue.for_funding_period("esf_2014_2020") if i.family != "project"]
    assert [old["CO09"][f"{g} (Anzahl)"] for g in ("Insgesamt", "Frauen", "Männer")] == [2, 1, 1]
    assert old["CR04"]["Insgesamt (Anzahl)"] == 1 and old["CR06"]["Anteil (%)"] is None
    assert "divers (Anzahl)" not in old["CO01"]
    new = cells_by_id(wb["ESF+-Indikatoren 2021-2027"])
    assert list(new) == [i.id for i in catalogue.for_funding_period("esfplus_2021_2027") if i.family != "project"]
    assert [new["EECO01"][f"{g} (Anzahl)"] for g in ("Insgesamt", "Frauen", "Männer", "divers")] == [3, 1, 1, 1]
    assert new["EECO09"]["Insgesamt (Anzahl)"] == 3 and new["EECR01"]["Insgesamt (Anzahl)"] == 1
    notes = [c.value for c in wb["ESF-Indikatoren 2014-2020"]["A"] if isinstance(c.value, str)]
    assert any("beide Förderperioden" in n for n in notes)
    participants = sheet_rows(wb["Teilnehmende"])
    assert participants[0]["Wert"] == 6  # K02: entries of both funding periods
    assert next(r["Wert"] for r in participants if r["Kennung"] == "EECO01") == 3
    defs = cells_by_id(wb["Definitionen"])
    assert {"K02", "K20", "CO01", "CR06", "EECO01", "EECR05"} <= set(defs)

    text = subprocess.run(["pdftotext", "-layout", str(paths["project_report.pdf"]), "-"], capture_output=True,
                          text=True, check=True).stdout
    esf_part = text[text.index("ESF-Indikatoren nach Geschlecht"):]
    assert esf_part.index("ESF-Förderperiode 2014–2020\n") < esf_part.index("CO01") \
        < esf_part.index("ESF+-Förderperiode 2021–2027\n") < esf_part.index("EECO01")
