"""The catalogue is complete: every produced id is defined, every defined id is produced and has SQL."""

from __future__ import annotations

import re

import pytest
from indicator_fixtures import D, Fixture, config, open_db

from pipeline import catalogue
from pipeline.indicators import SQL_DIR, compute

ESFPLUS = [f"EECO{i:02d}" for i in range(1, 18)] + [f"EECR{i:02d}" for i in range(1, 6)]
ESF1420 = ["CO01", "CO02", "CO03", "CO04", "CO05", "CO06", "CO07", "CO09", "CO10", "CO11", "CO15", "CO16", "CO18",
           "CO19", "CR01", "CR02", "CR03", "CR04", "CR06"]
PROJECT = [f"K{i:02d}" for i in range(1, 10)] + ["K09H"] + [f"K{i:02d}" for i in range(10, 22)]


def test_catalogue_lists_exactly_the_indicators_of_the_spec():
    assert [i.id for i in catalogue.indicators()] == PROJECT + ESFPLUS + ESF1420


def test_every_indicator_has_label_definition_and_an_existing_sql_file_that_names_it():
    for ind in catalogue.indicators():
        assert ind.label.strip() and len(ind.definition) > 40, ind.id
        sql = (SQL_DIR / ind.sql_file).read_text(encoding="utf-8")
        assert re.search(rf"\b{ind.id}\b", sql), f"{ind.id} not in {ind.sql_file}"


def test_attributes():
    assert catalogue.get("K18").audience == "intern"
    assert [i.id for i in catalogue.indicators() if i.audience == "intern"] == ["K18"]
    assert {i.id for i in catalogue.indicators() if i.special_category} == {"EECO12", "EECO15", "CO15", "CO16"}
    assert catalogue.get("K05").unit == "share" and catalogue.get("K13").unit == "days"
    assert catalogue.get("K11").unit == "ratio" and catalogue.get("EECR05").unit == "share"
    assert [i.id for i in catalogue.for_funding_period("esfplus_2021_2027")] == PROJECT + ESFPLUS
    assert [i.id for i in catalogue.for_funding_period("esf_2014_2020")] == PROJECT + ESF1420
    with pytest.raises(KeyError):
        catalogue.get("K99")


def test_settings_annex_shows_configured_open_questions():
    cfg = config(esf={"eecr01_inactive_at_entry_only": False, "ltu_months_under_25": 9},
                 counted_help_statuses=["eingeleitet"])
    annex = dict(catalogue.settings_annex(cfg))
    assert annex["EECR01/CR01 nur für bei Eintritt Nichterwerbstätige"] == "nein"
    assert annex["Langzeitarbeitslos unter 25 Jahren: arbeitslos seit mindestens (Monate)"] == "9"
    assert annex["Gezählte Hilfestatus"] == "eingeleitet"


@pytest.mark.parametrize("cycle_fp", ["esf_2014_2020", "esfplus_2021_2027"])
@pytest.mark.parametrize("audience", ["intern", "foerdergeber"])
def test_produced_ids_are_exactly_the_catalogue_set(tmp_path, cycle_fp, audience):
    cfg = config(cycles=[{"id": "2019", "start": D("2019-01-01"), "end": D("2019-12-31"),
                          "funding_period": cycle_fp, "places": 30, "coach_fte": 2.0}])
    con = open_db(tmp_path)
    f = Fixture()
    f.participant(f.household())
    f.load(con)
    result = compute(con, cfg, "2019", audience=audience)
    produced = list(dict.fromkeys(result.table["indicator_id"]))
    expected = [i.id for i in catalogue.for_funding_period(cycle_fp) if audience == "intern" or i.id != "K18"]
    assert produced == expected
