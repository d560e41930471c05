"""Project indicators K01–K21: every rule with a hand-computed expected figure (arithmetic in the comments)."""

from __future__ import annotations

import pytest
from indicator_fixtures import D, Fixture, as_dict, config, row, run, value


@pytest.fixture
def cohorts():
    """Households around the boundaries of cycle 2019 and of the range 2020-04-01..2020-06-30."""
    f = Fixture()
    f.household("A", project_cycle="2019", entry_date=D("2019-03-01"), exit_date=D("2020-03-31"))
    f.household("B", project_cycle="2020", entry_date=D("2019-12-31"))  # entered before its cycle, active
    f.household("C", project_cycle="2019", entry_date=D("2019-01-10"), exit_date=D("2019-04-01"))
    f.household("D", project_cycle="2020", entry_date=D("2020-06-30"))  # entry = range end
    f.household("F", project_cycle="2019", entry_date=D("2019-05-01"), exit_date=D("2020-04-01"))  # exit = start
    f.household("G", project_cycle="2019", entry_date=D("2019-02-01"), status="not_started")
    f.person("G", birth_date=D("2015-01-01"))
    f.participant("G")
    f.help("G", D("2019-02-02"))
    return f


def test_cycle_report_counts_the_cohort_whatever_the_event_dates(tmp_path, cohorts):
    r = run(tmp_path, cohorts, "2019")
    # cohort 2019 = A, C, F (G is `nicht angetreten`, B and D belong to 2020)
    assert value(r, "K01") == 3
    # nicht angetreten: its child, participant and help count nowhere
    assert value(r, "K03") == 0 and value(r, "K04") == 0 and value(r, "K02") == 0 and value(r, "K06") == 0
    # K13 over A, C, F (all have an exit, A's in 2020 still belongs to 2019):
    #   A 2019-03-01..2020-03-31 = 366 (Mar 2019→Mar 2020, leap day) + 30 + 1 = 397
    #   C 2019-01-10..2019-04-01 = 21 + 28 + 31 + 1 = 81 + 1 = 82;  F 2019-05-01..2020-04-01 = 337
    #   sorted 82, 337, 397: median 337; p25 = 82 + 0.5·(337−82) = 209.5; p75 = 337 + 0.5·(397−337) = 367
    assert value(r, "K13") == 337
    assert value(r, "K13", "statistic", "p25") == 209.5
    assert value(r, "K13", "statistic", "p75") == 367


def test_range_report_counts_activity_in_closed_interval(tmp_path, cohorts):
    r = run(tmp_path, cohorts, "2020-04-01..2020-06-30")
    # active in P: B (active), D (entry = p_end), F (exit = p_start); not A (exit 2020-03-31), C, G
    assert value(r, "K01") == 3
    # households ending in P: F only (exit 2020-04-01 ∈ P): median duration 337 = p25 = p75
    assert value(r, "K13") == 337 and value(r, "K13", "statistic", "p75") == 337
    r2 = run(tmp_path / "b", cohorts, "2020-04-02..2020-06-29")
    # F's exit is one day before, D's entry one day after: only B
    assert value(r2, "K01") == 1
    # no household ended in P: the median is empty
    assert value(r2, "K13") is None


def test_cycle_report_cohort_2020(tmp_path, cohorts):
    assert value(run(tmp_path, cohorts, "2020"), "K01") == 2  # B, D


def test_breakdowns_list_every_category_with_zero(tmp_path, cohorts):
    cohorts.rows["households"][0]["jobcenter_site"] = "wissen"  # A
    cohorts.rows["households"][2]["household_type"] = "couple_with_children"  # C
    r = as_dict(run(tmp_path, cohorts, "2019"))
    # A, C, F: sites Wissen 1, Altenkirchen 2 (C, F), Betzdorf 0
    assert r[("K01", "jobcenter_site", "Altenkirchen")][2] == 2
    assert r[("K01", "jobcenter_site", "Betzdorf")] == (0, None, 0)
    assert r[("K01", "jobcenter_site", "Wissen")][2] == 1
    assert r[("K01", "household_type", "Paar mit Kindern")][2] == 1
    assert r[("K01", "household_type", "Single")][2] == 2
    assert r[("K01", "household_type", "Sonstige")][2] == 0
    # shares of empty categories are empty, not 0
    assert r[("K05", "jobcenter_site", "Betzdorf")] == (0, 0, None)
    assert [k[2] for k in r if k[:2] == ("K06", "help_group")] == [
        "Finanzen", "Gesundheit", "Kinder/Familie", "Wohnen", "Migration", "Arbeit/Bildung", "Sonstige"]
    assert len([k for k in r if k[:2] == ("K14", "exit_reason")]) == 11


def helps_fixture() -> Fixture:
    f = Fixture()
    f.household("H1", entry_date=D("2019-02-01"), exit_date=D("2019-06-30"))
    f.help("H1", D("2019-02-01"), "initiated")  # on the entry day: counts
    f.help("H1", D("2019-06-30"), "started")  # on the exit day: counts
    f.help("H1", D("2019-01-31"), "completed")  # before the window
    f.help("H1", D("2019-07-01"), "completed")  # after the exit
    f.help("H1", D("2019-03-10"), "planned")
    f.help("H1", None, "planned")
    f.help("H1", D("2019-03-11"), "waiting_list")
    f.help("H1", D("2019-03-12"), "refused_participant")
    f.help("H1", D("2019-03-13"), "refused_provider")
    f.help("H1", D("2019-04-01"), "aborted", help_type="psychotherapy")  # Gesundheit
    f.help("H1", D("2019-04-02"), "completed", help_type="kita_place")  # Kinder/Familie
    f.household("H2", entry_date=D("2019-03-01"), exit_date=D("2019-09-30"))
    f.help("H2", D("2019-05-05"), "initiated", help_id_hint="quarantined")
    f.rows["helps"][-1]["help_id"] = "HQ"
    f.rows["helps"][-1].pop("help_id_hint")
    f.household("H3", entry_date=D("2019-03-01"), exit_date=D("2019-09-30"))
    f.help("H3", D("2019-03-11"), "initiated")
    f.household("H4", entry_date=D("2019-03-01"), status="not_started")
    f.help("H4", D("2019-03-02"), "initiated")
    return f


def test_counted_helps(tmp_path):
    r = run(tmp_path, helps_fixture(), "2019", quarantined={"helps": {"HQ"}})
    # K01 = H1, H2, H3 (H4 not started). Counted: H1 initiated, started, aborted, completed(04-02) = 4; H3 1.
    # H2's only help is quarantined → H2 has none.
    assert value(r, "K01") == 3
    assert value(r, "K06") == 5
    assert row(r, "K05") == (2, 3, 2 / 3)  # H1, H3 of 3
    assert row(r, "K07") == (2, 5, 0.4)  # started + completed = 2 of 5
    assert value(r, "K08") == 5 / 3
    # K16: first counted help − entry: H1 2019-02-01 − 2019-02-01 = 0; H3 2019-03-11 − 2019-03-01 = 10 → median 5
    assert value(r, "K16") == 5
    # help groups: Finanzen = H1 initiated + started + H3 = 3, Gesundheit 1, Kinder/Familie 1
    assert value(r, "K06", "help_group", "Finanzen") == 3
    assert value(r, "K06", "help_group", "Gesundheit") == 1
    assert value(r, "K06", "help_group", "Kinder/Familie") == 1
    assert value(r, "K06", "help_group", "Wohnen") == 0
    # months of initiation: Feb 1, Mar 1 (H3), Apr 2, Jun 1, other months 0
    months = {k[2]: v[2] for k, v in as_dict(r).items() if k[:2] == ("K06", "month")}
    assert months["2019-02"] == 1 and months["2019-03"] == 1 and months["2019-04"] == 2
    assert months["2019-06"] == 1 and months["2019-05"] == 0
    assert sum(months.values()) == 5


def test_counted_help_statuses_are_configurable(tmp_path):
    cfg = config(counted_help_statuses=["eingeleitet"])  # German label accepted, stored as code
    r = run(tmp_path, helps_fixture(), "2019", cfg=cfg, quarantined={"helps": {"HQ"}})
    # only `eingeleitet`: H1 on 02-01 and H3 on 03-11 → 2 helps, 2 of 3 households, none begonnen/abgeschlossen
    assert value(r, "K06") == 2
    assert row(r, "K05") == (2, 3, 2 / 3)
    assert row(r, "K07") == (0, 2, 0.0)


def contacts_fixture() -> Fixture:
    f = Fixture()
    f.household("W", project_cycle="2019", entry_date=D("2019-12-01"))  # active at the data state 2020-01-31
    f.contact("W", D("2019-12-01"), contact_type="home_visit")  # first day of the window
    f.contact("W", D("2019-12-24"), contact_type="phone")
    f.contact("W", D("2020-01-31"), contact_type="home_visit")  # last day (data state)
    f.contact("W", D("2019-12-10"), contact_type="not_met", took_place=False)  # did not take place
    f.contact("W", D("2019-11-30"))  # before entry
    f.contact("W", D("2020-02-01"))  # after the data state
    return f


def test_contact_density_and_capacity_cycle(tmp_path):
    r = run(tmp_path, contacts_fixture(), "2019", snapshot=D("2020-01-31"))
    # window 2019-12-01..2020-01-31 = 31 + 31 = 62 days → 62 / 30.4375 household-months
    # K11 = 3 contacts ÷ (62 / 30.4375) = 91.3125 / 62
    assert value(r, "K11") == pytest.approx(91.3125 / 62, rel=1e-12)
    assert row(r, "K12") == (2, 3, 2 / 3)
    # capacity days inside cycle 2019: 2019-12-01..12-31 = 31; places × days = 30 × 365 = 10950
    assert row(r, "K17") == (31, 10950, 31 / 10950)
    # K18 = (31 / 365) / 2.0 FTE
    assert "K18" not in set(r.table["indicator_id"])  # funder audience: no K18
    r_int = run(tmp_path / "i", contacts_fixture(), "2019", snapshot=D("2020-01-31"), audience="intern")
    assert value(r_int, "K18") == pytest.approx(31 / 365 / 2.0, rel=1e-12)
    # months: the cycle's 12 months plus 2020-01 reached by the window; the household touches Dec and Jan
    months = {k[2]: v[2] for k, v in as_dict(r).items() if k[:2] == ("K01", "month")}
    assert list(months) == [f"2019-{m:02d}" for m in range(1, 13)] + ["2020-01"]
    assert months["2019-12"] == 1 and months["2020-01"] == 1 and months["2019-11"] == 0


def test_capacity_range_weights_overlapping_cycles(tmp_path):
    cfg = config(cycles=[
        {"id": "2019", "start": D("2019-01-01"), "end": D("2019-12-31"), "funding_period": "esf_2014_2020",
         "places": 30, "coach_fte": 2.0},
        {"id": "2020", "start": D("2020-01-01"), "end": D("2020-12-31"), "funding_period": "esf_2014_2020",
         "places": 20, "coach_fte": 1.0},
    ])
    r = run(tmp_path, contacts_fixture(), "2019-12-01..2020-01-31", cfg=cfg, snapshot=D("2020-01-31"),
            audience="intern")
    # P has 62 days, 31 in each cycle: place days = 30·31 + 20·31 = 1550; FTE = (2.0·31 + 1.0·31) / 62 = 1.5
    # capacity days = window ∩ P = 62 → K17 = 62 / 1550 = 0.04; K18 = (62 / 62) / 1.5
    assert row(r, "K17") == (62, 1550, 0.04)
    assert value(r, "K18") == pytest.approx(1 / 1.5, rel=1e-12)
    months = {k[2]: v[2] for k, v in as_dict(r).items() if k[:2] == ("K01", "month")}
    assert months == {"2019-12": 1, "2020-01": 1}


def test_range_window_is_cut_to_the_period(tmp_path):
    r = run(tmp_path, contacts_fixture(), "2020-01-01..2020-01-31", snapshot=D("2020-01-31"))
    # window ∩ P = 2020-01-01..01-31 = 31 days; contacts inside: 2020-01-31 only → 1 ÷ (31 / 30.4375)
    assert value(r, "K11") == pytest.approx(30.4375 / 31, rel=1e-12)
    assert row(r, "K12") == (1, 1, 1.0)


def leavers_fixture() -> Fixture:
    """Six participants leaving 2019-06-30, one household each; destination_start around exit + 28 days."""
    f = Fixture()
    specs = [
        ("integration_16e", None),  # empty start = at exit: measure and integration
        ("participation_16i", D("2019-07-27")),  # exit + 27: measure, no integration
        ("further_training_fbw", D("2019-07-28")),  # exit + 28: measure
        ("employment_svp", D("2019-07-29")),  # exit + 29: `unbekannt`
        ("vocational_training", D("2019-06-01")),  # started before the exit: holds at exit, integration
        (None, None),  # missing destination counts as `unbekannt`
    ]
    for i, (dest, start) in enumerate(specs):
        h = f.household(f"L{i}", entry_date=D("2019-02-01"), exit_date=D("2019-06-30"),
                        jobcenter_site="betzdorf" if i < 2 else "altenkirchen")
        f.participant(h, esf_exit_date=D("2019-06-30"), exit_reason="regular_end", destination=dest,
                      destination_start=start)
    return f


def test_destination_upon_leaving_28_days(tmp_path):
    r = run(tmp_path, leavers_fixture(), "2019")
    # K09: measures upon leaving = 16e, 16i (+27), FbW (+28) = 3 of 6
    assert row(r, "K09") == (3, 6, 0.5)
    # by site: Betzdorf = L0 (16e), L1 (16i) → 2 of 2; Altenkirchen = FbW of L2..L5 → 1 of 4; Wissen empty
    assert row(r, "K09", "jobcenter_site", "Betzdorf") == (2, 2, 1.0)
    assert row(r, "K09", "jobcenter_site", "Altenkirchen") == (1, 4, 0.25)
    assert row(r, "K09", "jobcenter_site", "Wissen") == (0, 0, None)
    # K10: 16e and vocational training (start before exit) = 2 of 6; svp at +29 is unknown, 16i is no integration
    assert row(r, "K10") == (2, 6, 2 / 6)
    # K09H: every household ended in 2019 with its one participant: 3 of 6
    assert row(r, "K09H") == (3, 6, 0.5)


def test_household_level_transitions(tmp_path):
    f = Fixture()
    f.household("a", entry_date=D("2019-02-01"), exit_date=D("2019-06-30"))
    f.participant("a", esf_exit_date=D("2019-06-30"), destination="participation_16i")
    f.household("b", entry_date=D("2019-02-01"), exit_date=D("2019-06-30"))
    f.participant("b", esf_exit_date=D("2019-06-30"), destination="employment_svp")
    f.household("c", entry_date=D("2019-02-01"), exit_date=D("2019-06-30"))
    f.participant("c", esf_exit_date=D("2019-06-30"), destination="further_training_fbw",
                  destination_start=D("2019-08-09"))  # + 40 days: unknown
    f.household("d", entry_date=D("2019-02-01"))  # still active: not in the denominator
    f.participant("d", esf_exit_date=D("2019-06-30"), destination="language_course")
    f.household("e", entry_date=D("2019-02-01"), exit_date=D("2019-06-30"))
    f.participant("e", esf_exit_date=D("2019-06-30"), destination="employment_svp")
    f.participant("e", esf_exit_date=D("2019-06-30"), destination="language_course")
    f.household("f", entry_date=D("2019-02-01"), exit_date=D("2019-08-31"))
    f.participant("f", esf_exit_date=D("2019-05-31"), destination="integration_16e")
    r = run(tmp_path, f, "2019")
    # households ending: a, b, c, e, f; with a participant in a measure: a, e, f → 3 of 5
    assert row(r, "K09H") == (3, 5, 0.6)
    r = run(tmp_path / "r", f, "2019-07-01..2019-12-31")
    # only f ends in P; its participant left before P (whatever the leaving date) → 1 of 1
    assert row(r, "K09H") == (1, 1, 1.0)
    # no participant left in P: K09 share is empty
    assert row(r, "K09") == (0, 0, None)


def test_exit_reasons_dropout_and_employability(tmp_path):
    f = Fixture()
    h = f.household(entry_date=D("2019-02-01"), exit_date=D("2019-10-31"), n_members=6)
    reasons = ["regular_end", "regular_end", "lack_of_cooperation", "exclusion", "moved"]
    employability = ["yes", "yes", "no", "not_assessed", None]
    for reason, emp in zip(reasons, employability, strict=True):
        f.participant(h, esf_exit_date=D("2019-10-31"), exit_reason=reason, destination="inactive",
                      employability_increased=emp)
    f.participant(h)  # still in the project: not a leaver
    r = run(tmp_path, f, "2019")
    assert value(r, "K14") == 5
    assert value(r, "K14", "exit_reason", "reguläres Ende") == 2
    assert value(r, "K14", "exit_reason", "Umzug") == 1
    assert value(r, "K14", "exit_reason", "Krankheit") == 0
    assert row(r, "K15") == (2, 5, 0.4)  # fehlende Mitwirkung + Ausschluss = 2 of 5
    assert row(r, "K19") == (2, 3, 2 / 3)  # ja 2 of ja/nein 3 (nicht bewertet and empty left out)
    assert value(r, "K02") == 6


def test_children_by_age_at_household_entry(tmp_path):
    f = Fixture()
    h = f.household(entry_date=D("2019-05-10"))
    f.participant(h, birth_date=D("1980-01-01"))
    f.person(h, birth_date=D("2001-05-10"))  # 18th birthday on the entry day: not a child
    f.person(h, birth_date=D("2001-05-11"))  # turns 18 the day after: child
    f.person(h, birth_date=D("2010-09-01"))  # child
    f.person(h, birth_date=None)  # unknown: not counted as a child
    f.person(h, birth_date=D("2004-02-29"), role="child")  # 15 at entry: child
    r = run(tmp_path, f, "2019")
    assert value(r, "K03") == 6
    assert value(r, "K04") == 3


def test_participant_supported_again_counts_in_both_cycles(tmp_path):
    f = Fixture()
    f.household("X19", project_cycle="2019", entry_date=D("2019-03-01"), exit_date=D("2019-10-31"))
    f.participant("X19", "P1", esf_exit_date=D("2019-10-31"), exit_reason="regular_end", destination="job_seeking")
    f.household("X20", project_cycle="2020", entry_date=D("2020-02-01"))
    f.participant("X20", "P1")
    assert value(run(tmp_path / "a", f, "2019"), "K02") == 1
    assert value(run(tmp_path / "b", f, "2020"), "K02") == 1
    r = run(tmp_path / "c", f, "2019-01-01..2020-12-31")
    # once per cycle: 2 participant entries, but one person reached (K03 counts person ids once)
    assert value(r, "K02") == 2
    assert value(r, "K03") == 1
    assert value(r, "K01") == 2


def test_participants_k02_gender_k20_k21(tmp_path):
    f = Fixture()
    h = f.household(entry_date=D("2019-04-01"))
    f.participant(h, gender="female", long_term_benefit_recipient=True)
    f.participant(h, gender="male", long_term_benefit_recipient=True)
    f.participant(h, gender="diverse")
    f.participant(h, gender="not_stated")  # incomplete, counts in K02
    f.participant(h, employment_status_entry=None)  # incomplete
    f.person(h)  # not an ESF participant
    r = run(tmp_path, f, "2019")
    assert value(r, "K02") == 5
    assert [value(r, "K02", "gender", g) for g in ("women", "men", "non_binary", "not_stated")] == [2, 1, 1, 1]
    assert row(r, "K20") == (3, 5, 0.6)  # complete: female, male, diverse = 3 of 5
    assert value(r, "K21") == 2


def test_as_of_uses_older_snapshot_and_states_data_state(tmp_path):
    from indicator_fixtures import open_db

    from pipeline.indicators import compute

    con = open_db(tmp_path)
    old = Fixture()
    old.household("O1", entry_date=D("2019-02-01"))
    old.load(con, D("2019-06-30"))
    new = Fixture()
    new.household("O1", entry_date=D("2019-02-01"), exit_date=D("2019-09-30"))
    new.household("O2", entry_date=D("2019-08-01"))
    new.load(con, D("2019-12-31"))
    r_old = compute(con, config(), "2019", as_of=D("2019-09-30"))
    assert r_old.data_state == D("2019-09-30") and r_old.snapshots["households"] == D("2019-06-30")
    # O1 active at the data state: window 2019-02-01..2019-09-30 = 242 days, all inside the cycle
    assert value(r_old, "K01") == 1 and row(r_old, "K17") == (242, 10950, 242 / 10950)
    r_new = compute(con, config(), "2019")
    assert r_new.data_state == D("2019-12-31") and value(r_new, "K01") == 2
    # O1 2019-02-01..09-30 = 242, O2 2019-08-01..12-31 = 153 → 395
    assert row(r_new, "K17")[0] == 395
