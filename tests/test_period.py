"""Period resolution: cycle ids, ranges, funding period of a range, errors."""

from __future__ import annotations

import pytest
from indicator_fixtures import D, config

from pipeline.period import PeriodError, resolve_period

CYCLES = [
    {"id": "2021", "start": D("2021-01-01"), "end": D("2022-06-30"), "funding_period": "esf_2014_2020",
     "places": 30, "coach_fte": 2.0},
    {"id": "2022", "start": D("2022-07-01"), "end": D("2023-12-31"), "funding_period": "esfplus_2021_2027",
     "places": 20, "coach_fte": 1.0},
]


def test_cycle():
    p = resolve_period(config(cycles=CYCLES), "2022")
    assert (p.kind, p.id, p.slug, p.start, p.end) == ("cycle", "2022", "2022", D("2022-07-01"), D("2023-12-31"))
    assert p.cycle.id == "2022" and p.funding_period == "esfplus_2021_2027"
    assert p.days == 549  # 184 days (Jul–Dec 2022) + 365 (2023)


def test_range_inside_one_cycle():
    p = resolve_period(config(cycles=CYCLES), "2021-01-01..2021-06-30")
    assert (p.kind, p.id, p.slug) == ("range", "2021-01-01..2021-06-30", "2021-01-01_2021-06-30")
    assert p.cycle is None and p.funding_period == "esf_2014_2020"
    assert [c.id for c in p.overlapping_cycles] == ["2021"]


def test_range_spanning_funding_periods_takes_the_later():
    p = resolve_period(config(cycles=CYCLES), "2022-06-01..2022-07-31")
    assert [c.id for c in p.overlapping_cycles] == ["2021", "2022"]
    assert p.funding_period == "esfplus_2021_2027"
    # closed intervals: 2022-06-01..06-30 = 30 days in 2021, 07-01..07-31 = 31 days in 2022
    assert [p.overlap_days(c) for c in p.overlapping_cycles] == [30, 31]


@pytest.mark.parametrize("text", ["2019", "2021-13-01..2021-12-31", "2021-06-30..2021-01-01", "2021/01..2021/06",
                                  "2030-01-01..2030-12-31", ""])
def test_bad_periods(text):
    with pytest.raises(PeriodError):
        resolve_period(config(cycles=CYCLES), text)
