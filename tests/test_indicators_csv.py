"""indicators.csv: exact format (golden text), decimals, empty cells, order, encoding."""

from __future__ import annotations

import pytest
from indicator_fixtures import D, Fixture, run

from pipeline.indicators import format_decimal, write_csv


@pytest.mark.parametrize(("number", "text"), [
    (0.5, "0.5000"), (6 / 7, "0.8571428571"), (1.0, "1.0000"), (0.0, "0.0000"), (209.5, "209.5000"),
    (1 / 3, "0.3333333333"), (0.04, "0.0400"), (1e-7, "0.0000001"), (367.0, "367.0000"),
])
def test_format_decimal_keeps_at_least_four_decimals(number, text):
    assert format_decimal(number) == text


def small_case() -> Fixture:
    f = Fixture()
    h = f.household("BG-1", entry_date=D("2019-11-01"), exit_date=D("2019-12-31"), jobcenter_site="wissen",
                    household_type="single_parent", n_members=2)
    f.participant(h, esf_exit_date=D("2019-12-31"), exit_reason="job_taken", destination="employment_svp",
                  employability_increased="yes")
    f.person(h, birth_date=D("2015-03-01"))
    f.help(h, D("2019-11-15"), "started", help_type="kita_place")
    f.help(h, D("2019-12-02"), "initiated")
    f.contact(h, D("2019-11-05"), contact_type="home_visit")
    f.contact(h, D("2019-11-20"))
    f.contact(h, D("2019-12-10"))
    h2 = f.household("BG-2", entry_date=D("2019-12-01"), jobcenter_site="wissen")
    f.participant(h2, gender="male", employment_status_entry=None)  # incomplete
    return f


GOLDEN_HEAD = """\
indicator_id,dimension,category,numerator,denominator,value
K01,total,total,2,,2
K01,jobcenter_site,Altenkirchen,0,,0
K01,jobcenter_site,Betzdorf,0,,0
K01,jobcenter_site,Wissen,2,,2
K01,household_type,Single,1,,1
K01,household_type,Alleinerziehend,1,,1
K01,household_type,Paar ohne Kinder,0,,0
K01,household_type,Paar mit Kindern,0,,0
K01,household_type,Sonstige,0,,0
K01,month,2019-01,0,,0
K01,month,2019-02,0,,0
K01,month,2019-03,0,,0
K01,month,2019-04,0,,0
K01,month,2019-05,0,,0
K01,month,2019-06,0,,0
K01,month,2019-07,0,,0
K01,month,2019-08,0,,0
K01,month,2019-09,0,,0
K01,month,2019-10,0,,0
K01,month,2019-11,1,,1
K01,month,2019-12,2,,2
K02,total,total,2,,2
K02,gender,women,1,,1
K02,gender,men,1,,1
K02,gender,non_binary,0,,0
K02,gender,not_stated,0,,0
K03,total,total,3,,3
K04,total,total,1,,1
K05,total,total,1,2,0.5000
K05,jobcenter_site,Altenkirchen,0,0,
K05,jobcenter_site,Betzdorf,0,0,
K05,jobcenter_site,Wissen,1,2,0.5000
"""

# K11: contacts 3 ÷ household-months ((61 + 31) days ÷ 30.4375) = 91.3125 / 92 = 0.99252717391...
# K13: BG-1 2019-11-01..12-31 = 61 days; K16: 2019-11-15 − 2019-11-01 = 14 days
# K17: 61 + 31 = 92 capacity days ÷ (30 places × 365 days = 10950) = 0.00840182648...
GOLDEN_LINES = """\
K07,total,total,1,2,0.5000
K08,total,total,,,1.0000
K09,total,total,0,1,0.0000
K10,total,total,1,1,1.0000
K11,total,total,,,0.9925271739
K12,total,total,1,3,0.3333333333
K13,total,total,,,61.0000
K13,statistic,p25,,,61.0000
K13,statistic,p75,,,61.0000
K14,total,total,1,,1
K14,exit_reason,reguläres Ende,0,,0
K14,exit_reason,Arbeitsaufnahme,1,,1
K15,total,total,0,1,0.0000
K16,total,total,,,14.0000
K17,total,total,92,10950,0.0084018265
K19,total,total,1,1,1.0000
K20,total,total,1,2,0.5000
K21,total,total,0,,0
CO01,total,total,0,,0
CO01,gender,women,0,,0
CO01,gender,men,0,,0
"""


def test_csv_golden(tmp_path):
    result = run(tmp_path, small_case(), "2019", snapshot=D("2019-12-31"))
    path = write_csv(result, tmp_path / "out" / "indicators.csv")
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw and raw.endswith(b"\n")
    text = raw.decode("utf-8")
    assert text.startswith(GOLDEN_HEAD)
    for block in ("K07,total,total,1,2,0.5000\nK08", "K13,total,total,,,61.0000\nK13,statistic,p25,,,61.0000\n"
                  "K13,statistic,p75,,,61.0000\nK14,total,total,1,,1\nK14,exit_reason,reguläres Ende,0,,0\n"
                  "K14,exit_reason,Arbeitsaufnahme,1,,1\n", "K21,total,total,0,,0\nCO01,total,total,0,,0\n"
                  "CO01,gender,women,0,,0\nCO01,gender,men,0,,0\nCO02"):
        assert block in text, block
    lines = set(text.splitlines())
    for line in GOLDEN_LINES.splitlines():
        assert line in lines, line
    # no K18 for the funder; rows of one indicator are contiguous and in catalogue order
    ids = [ln.split(",")[0] for ln in text.splitlines()[1:]]
    assert "K18" not in ids
    assert ids == sorted(ids, key=lambda i: list(dict.fromkeys(ids)).index(i))
    assert list(dict.fromkeys(ids))[-1] == "CR06"
    # no personal data: nothing but ids, labels and numbers
    assert "BG-1" not in text and "2015" not in text


def test_write_csv_is_atomic_and_replaces(tmp_path):
    result = run(tmp_path, small_case(), "2019", snapshot=D("2019-12-31"))
    target = tmp_path / "indicators.csv"
    target.write_text("old", encoding="utf-8")
    write_csv(result, target)
    assert target.read_text(encoding="utf-8").startswith("indicator_id,")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".indicators-")] == []
