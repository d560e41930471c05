"""ESF indicators (EECO/EECR for ESF+, CO/CR for 2014-20): hand-computed figures, arithmetic in comments."""

from __future__ import annotations

from indicator_fixtures import D, Fixture, as_dict, config, row, run, value

ESFPLUS = [{"id": "2024", "start": D("2024-01-01"), "end": D("2024-12-31"), "funding_period": "esfplus_2021_2027",
            "places": 30, "coach_fte": 2.0}]


def esfplus(**esf):
    return config(cycles=ESFPLUS, esf=esf)


def test_age_at_esf_entry_around_birthdays_2014_20(tmp_path):
    f = Fixture()
    h = f.household(entry_date=D("2019-05-10"))
    f.participant(h, birth_date=D("1994-05-10"))  # 25th birthday on the entry day: 25, not < 25
    f.participant(h, birth_date=D("1994-05-11"))  # 24 → CO06
    f.participant(h, birth_date=D("1964-05-10"))  # 55 → CO07 (> 54)
    f.participant(h, birth_date=D("1964-05-11"))  # 54
    r = run(tmp_path, f, "2019")
    assert value(r, "CO06") == 1 and value(r, "CO07") == 1


def test_age_groups_esfplus(tmp_path):
    f = Fixture()
    h = f.household(project_cycle="2024", entry_date=D("2024-05-10"))
    for born in ["2006-05-11", "2006-05-10", "1994-05-11", "1994-05-10", "1969-05-10", "1969-05-11"]:
        f.participant(h, birth_date=D(born))
    r = run(tmp_path, f, "2024", cfg=esfplus(), snapshot=D("2024-12-31"))
    # ages at 2024-05-10: 17, 18, 29, 30, 55, 54
    assert value(r, "EECO06") == 1  # 17
    assert value(r, "EECO07") == 2  # 18 and 29
    assert value(r, "EECO08") == 1  # 55


def ltu_fixture() -> Fixture:
    f = Fixture()
    h = f.household(entry_date=D("2019-07-15"))
    u = {"employment_status_entry": "unemployed"}
    f.participant(h, birth_date=D("1989-01-01"), unemployed_since=D("2018-07-15"), **u)  # 30, exactly 12 months
    f.participant(h, birth_date=D("1989-01-01"), unemployed_since=D("2018-07-16"), **u)  # 30, a day short
    f.participant(h, birth_date=D("1994-07-16"), unemployed_since=D("2019-01-15"), **u)  # 24, exactly 6 months
    f.participant(h, birth_date=D("1994-07-16"), unemployed_since=D("2019-01-16"), **u)  # 24, a day short
    f.participant(h, birth_date=D("1994-07-15"), unemployed_since=D("2019-01-15"), **u)  # 25 today: needs 12
    f.participant(h, birth_date=D("1989-01-01"), unemployed_since=D("2010-01-01"))  # not `arbeitslos gemeldet`
    return f


def test_long_term_unemployed_default_months(tmp_path):
    r = run(tmp_path, ltu_fixture(), "2019")
    assert value(r, "CO01") == 5  # registered unemployed
    # 12-month rule from 25: 2019-07-15 − 12 months = 2018-07-15 ≥ since → first only;
    # 6-month rule under 25: 2019-07-15 − 6 months = 2019-01-15 → third only
    assert value(r, "CO02") == 2


def test_long_term_unemployed_months_are_configurable(tmp_path):
    cfg = config(esf={"ltu_months_under_25": 9, "ltu_months_25_plus": 6})
    r = run(tmp_path, ltu_fixture(), "2019", cfg=cfg)
    # 25+: since ≤ 2019-01-15 → the two aged 30 (2018-07-15, 2018-07-16) and the one aged 25 (2019-01-15) = 3;
    # under 25: since ≤ 2018-10-15 → none
    assert value(r, "CO02") == 3


def test_isced_mapping_every_branch(tmp_path):
    f = Fixture()
    h = f.household(entry_date=D("2019-03-01"))
    cases = [  # (isced_foreign, school, vocational) → group
        ("isced_5_8", "none", "none"),  # foreign overrides → 5-8
        ("isced_0_2", "abitur", "bachelor"),  # foreign overrides → 0-2
        (None, "none", "master_technician"),  # 5-8
        (None, None, "doctorate"),  # 5-8
        (None, "none", "apprenticeship"),  # 3-4
        (None, "abitur", "none"),  # 3-4
        (None, "entrance_uas", "semi_skilled"),  # 3-4
        (None, "intermediate", "none"),  # 0-2
        (None, "special_school", None),  # 0-2
        (None, "foreign_unassigned", "foreign_unrecognised"),  # unknown → incomplete
        (None, None, None),  # unknown → incomplete
    ]
    for isced, school, voc in cases:
        f.participant(h, isced_foreign=isced, school_qualification=school, vocational_qualification=voc)
    r = run(tmp_path, f, "2019")
    assert value(r, "CO09") == 3 and value(r, "CO10") == 3 and value(r, "CO11") == 3
    assert value(r, "K02") == 11
    assert row(r, "K20") == (9, 11, 9 / 11)


def test_completeness_and_keine_angabe(tmp_path):
    f = Fixture()
    h = f.household(project_cycle="2024", entry_date=D("2024-03-01"))
    f.participant(h)  # complete
    f.participant(h, gender="not_stated")  # incomplete
    f.participant(h, birth_date=None)  # incomplete
    f.participant(h, employment_status_entry=None)  # incomplete
    f.participant(h, disability="not_stated", gender="male")  # complete: keine Angabe is no gap
    f.participant(h, minority="not_stated", gender="diverse")
    f.participant(h, foreign_background="not_stated")
    f.participant(h, homeless="unknown", disability="yes", minority="yes")
    r = run(tmp_path, f, "2024", cfg=esfplus(), snapshot=D("2024-12-31"))
    assert value(r, "K02") == 8
    assert value(r, "EECO01") == 5  # 8 − 3 incomplete
    assert [value(r, "EECO01", "gender", g) for g in ("women", "men", "non_binary")] == [3, 1, 1]
    assert value(r, "EECO04") == 5  # all inactive: EECO01 = EECO02 + EECO04 + EECO05 = 0 + 5 + 0
    assert row(r, "K20") == (5, 8, 5 / 8)
    for ind in ("EECO12", "EECO14", "EECO15", "EECO16"):
        assert value(r, ind, "keine_angabe", "total") == 1, ind
    assert value(r, "EECO12") == 1 and value(r, "EECO15") == 1 and value(r, "EECO16") == 0
    # special-category indicators in 2014-20 terms are not produced in an ESF+ report
    assert "CO16" not in set(r.table["indicator_id"])


def test_third_country_nationals_and_co15(tmp_path):
    f = Fixture()
    h = f.household(entry_date=D("2019-03-01"))
    for nat in ["DEU", "POL", "SYR", "XXA", "XXX", None, ""]:
        f.participant(h, citizenship=nat)
    f.participant(h, citizenship="DEU", foreign_background="yes")
    f.participant(h, citizenship="POL", minority="yes")
    r = run(tmp_path, f, "2019")
    # third country: SYR, XXA, XXX = 3 (EU codes and empty do not count); plus foreign background, minority
    assert value(r, "CO15") == 5
    cfg = config(cycles=[{**ESFPLUS[0], "id": "2019", "start": D("2019-01-01"), "end": D("2019-12-31")}])
    r = run(tmp_path / "plus", f, "2019", cfg=cfg)
    assert value(r, "EECO13") == 3 and value(r, "EECO14") == 1 and value(r, "EECO15") == 1


def test_rural_municipalities_from_config(tmp_path):
    f = Fixture()
    f.participant(f.household(municipality_ags="07132001"))
    f.participant(f.household(municipality_ags="07132002"))
    f.participant(f.household(municipality_ags=None))
    r = run(tmp_path, f, "2019", cfg=config(esf={"rural_municipalities": ["07132001"]}))
    assert value(r, "CO19") == 1


def eecr01_fixture() -> Fixture:
    f = Fixture()
    h = f.household(project_cycle="2024", entry_date=D("2024-02-01"), exit_date=D("2024-09-30"))
    leave = {"esf_exit_date": D("2024-09-30"), "destination": "job_seeking"}
    f.participant(h, employment_status_entry="inactive_other", **leave)
    f.participant(h, employment_status_entry="inactive_education", **leave)
    f.participant(h, employment_status_entry="unemployed", unemployed_since=D("2024-01-01"), **leave)
    f.participant(h, employment_status_entry="employed", **leave)
    f.participant(h, employment_status_entry="inactive_other", destination_start=D("2024-10-29"),
                  **leave)  # exit + 29 days: unknown
    f.participant(h, gender="not_stated", **leave)  # incomplete: no ESF result
    return f


def test_eecr01_inactive_at_entry_only(tmp_path):
    r = run(tmp_path, eecr01_fixture(), "2024", cfg=esfplus(), snapshot=D("2024-12-31"))
    assert value(r, "EECR01") == 2  # the two inactive at entry (the one at +29 days is unknown)
    r = run(tmp_path / "off", eecr01_fixture(), "2024", cfg=esfplus(eecr01_inactive_at_entry_only=False),
            snapshot=D("2024-12-31"))
    assert value(r, "EECR01") == 4  # every complete leaver job-seeking upon leaving


def test_result_indicators_destination_upon_leaving(tmp_path):
    f = Fixture()
    h = f.household(entry_date=D("2019-02-01"), exit_date=D("2019-06-30"))
    specs = [("integration_16e", None), ("participation_16i", D("2019-07-27")),
             ("further_training_fbw", D("2019-07-28")), ("employment_svp", D("2019-07-29")),
             ("vocational_training", D("2019-06-01")), (None, None)]
    for dest, start in specs:
        f.participant(h, esf_exit_date=D("2019-06-30"), destination=dest, destination_start=start,
                      gender="male" if dest == "integration_16e" else "female")
    f.rows["persons"][-1]["qualification_gained"] = True
    r = run(tmp_path, f, "2019")
    # CR04: 16e (empty start) + 16i (+27) = 2; svp at +29 is unknown
    assert row(r, "CR04") == (2, None, 2)
    assert value(r, "CR04", "gender", "men") == 1 and value(r, "CR04", "gender", "women") == 1
    assert ("CR04", "gender", "non_binary") not in as_dict(r)  # 2014-20: no non-binary row
    # CR02: FbW (+28) + vocational training (start before exit) = 2
    assert value(r, "CR02") == 2
    assert value(r, "CR03") == 1  # qualification gained; empty counts as no
    assert value(r, "CR01") == 0


def followup_fixture() -> Fixture:
    f = Fixture()
    h = f.household(project_cycle="2024", entry_date=D("2024-01-15"), exit_date=D("2024-12-31"))
    l1 = f.participant(h, esf_exit_date=D("2024-08-31"), destination="inactive")
    # 2024-08-31 + 6 months = 2025-02-28 (clamped); − 28 days = 2025-01-31: first day of the window
    f.followup(l1, D("2025-01-31"))
    l2 = f.participant(h, esf_exit_date=D("2024-06-30"), destination="inactive")
    f.followup(l2, D("2025-01-27"), employment_status_6m="self_employed")  # 2024-12-30 + 28: last day
    l3 = f.participant(h, esf_exit_date=D("2024-06-30"), destination="inactive")
    f.followup(l3, D("2025-01-28"))  # + 29: outside
    l4 = f.participant(h, esf_exit_date=D("2024-03-15"), destination="inactive")
    f.followup(l4, D("2024-09-15"), employment_status_6m="job_seeking")  # not employed
    l5 = f.participant(h, esf_exit_date=D("2024-03-15"), destination="inactive")
    f.followup(l5, None, reached=False, employment_status_6m=None)
    f.participant(h, esf_exit_date=D("2024-12-31"), destination="inactive")  # +6 m = 2025-06-30 > data state
    l7 = f.participant(h, esf_exit_date=D("2024-03-15"), destination="inactive", gender="not_stated")
    f.followup(l7, D("2024-09-15"))  # incomplete: never counts
    return f


def test_eecr05_cycle_report(tmp_path):
    r = run(tmp_path, followup_fixture(), "2024", cfg=esfplus(), snapshot=D("2025-06-29"))
    # denominator: complete leavers with exit + 6 months ≤ 2025-06-29: L1..L5 = 5; employed in window: L1, L2
    assert row(r, "EECR05") == (2, 5, 0.4)
    assert row(r, "EECR05", "gender", "men") == (0, 0, None)
    assert row(r, "EECR05", "gender", "non_binary") == (0, 0, None)


def test_eecr05_range_report(tmp_path):
    r = run(tmp_path, followup_fixture(), "2024-01-01..2024-12-31", cfg=esfplus(), snapshot=D("2025-06-29"))
    # leaving in P with exit + 6 months ∈ P: L2, L3 (2024-12-30), L4, L5 (2024-09-15) = 4; L1 (2025-02-28) not
    # numerator: L2 only → 1 / 4
    assert row(r, "EECR05") == (1, 4, 0.25)
