"""Targets against results and the cycle comparison, on hand-computed fixtures.

Targets: met, missed, at least and at most, the equality edge, a target on an empty share, the public version.
Comparison: a real DuckDB database with a final cycle of the 2014-20 funding period, an ESF+ cycle whose follow-ups
are not due yet and a running ESF+ cycle; the real SQL computes each cohort.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from indicator_fixtures import Fixture, open_db

from pipeline import db
from pipeline.config import Config, ConfigError, Target, load_config
from pipeline.reports import comparison
from pipeline.reports.disclosure import Rules, Suppressed
from pipeline.reports.figures import Lookup
from pipeline.reports.targets import target_rows, targets_for

ROOT = Path(__file__).resolve().parents[1]
D = dt.date.fromisoformat


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["indicator_id", "dimension", "category", "numerator", "denominator", "value"])


# ------------------------------------------------------------------------------------------------ config


@pytest.mark.parametrize("line, message", [
    ("K99 = { at_least = 3 }", "targets.K99: unknown indicator id"),
    ("K19 = { at_least = 0.65 }", "targets.K19: a share target is written in percent"),
    ("K19 = { at_least = 65, at_most = 70 }", "exactly one of at_least / at_most"),
    ("K19 = { atleast = 65 }", "targets.K19.atleast"),
    ("EECR04 = { at_least = 3 }", "targets.EECR04: EECR04 is not reported in the funding period esf_2014_2020"),
    ("K01 = { at_least = -1 }", "targets.K01: a target cannot be negative"),
])
def test_a_wrong_target_is_a_clear_error_naming_the_key(tmp_path, line, message):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    first = next(ln for ln in text.splitlines() if ln.startswith("targets = "))
    (tmp_path / "config.toml").write_text(text.replace(first, f"targets = {{ {line} }}", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.toml")
    assert message in str(err.value) and "cycles.0" in str(err.value)


def test_shipped_config_sets_places_k05_and_k19_targets_for_every_cycle():
    cfg = load_config(ROOT / "config.toml")
    for c in cfg.cycles:
        assert c.targets["K01"] == Target(at_least=c.places)
        assert c.targets["K05"] == Target(at_least=85) and c.targets["K19"] == Target(at_least=65)


# ------------------------------------------------------------------------------------------------ targets

N = None
TARGET_TABLE = _table([
    ("K01", "total", "total", 27, N, 27),            # 27 households against ≥ 30: missed by 3
    ("K05", "total", "total", 26, 30, 26 / 30),      # 86,7 % against ≥ 85 %: met, +1,7 points
    ("K13", "total", "total", N, N, 250.0),          # 250 days against ≤ 200: missed by 50 (at most)
    ("K15", "total", "total", 2, 20, 0.1),           # 10 % against ≤ 10 %: met exactly (the edge counts)
    ("K19", "total", "total", 0, 0, N),              # no leaver assessed yet: empty share
    ("K17", "total", "total", 3200, 3650, 3200 / 3650),
])
TARGETS = {"K01": Target(at_least=30), "K05": Target(at_least=85), "K13": Target(at_most=200),
           "K15": Target(at_most=10), "K19": Target(at_least=65), "K18": Target(at_most=20)}


def test_target_rows_met_missed_at_least_at_most_and_empty_share():
    rows = {r.id: r for r in target_rows(Lookup(TARGET_TABLE), TARGETS, Rules(active=False))}
    assert list(rows) == ["K01", "K05", "K13", "K15", "K19"]  # catalogue order; K18 not in this table: left out
    k01, k05, k13, k15, k19 = (rows[i] for i in ("K01", "K05", "K13", "K15", "K19"))
    assert (k01.met, k01.difference, k01.status, k01.target_label) == (False, -3, "nicht erreicht", "mindestens 30")
    assert k01.missed and k01.difference_label == "-3"
    assert k05.met is True and k05.target == 0.85 and k05.difference == pytest.approx(26 / 30 - 0.85)
    assert k05.difference_label == "+1,7 Prozentpunkte" and k05.target_label == "mindestens 85 %"
    assert (k13.direction, k13.met, k13.difference) == ("at_most", False, 50)
    assert k15.met is True and k15.difference == pytest.approx(0) and k15.target_label == "höchstens 10 %"
    assert k19.met is None and k19.result is None and k19.status == "noch nicht bewertbar"
    assert "Nenner 0" in k19.note and k19.difference_label == "–"


def test_public_target_rows_follow_disclosure():
    rules = Rules(active=True, threshold=3, threshold_special=5, min_share_base=10)
    table = _table([("K05", "total", "total", 28, 30, 28 / 30),   # complement 2 < 3: share hidden
                    ("K19", "total", "total", 14, 20, 0.7)])      # 70 % on a base of 20: shown, whole percent
    rows = {r.id: r for r in target_rows(Lookup(table), TARGETS, rules)}
    assert isinstance(rows["K05"].result, Suppressed) and isinstance(rows["K05"].met, Suppressed)
    assert rows["K05"].status == "nicht ausgewiesen" and rows["K05"].difference_label == "*"
    assert rows["K19"].result == 0.7 and rows["K19"].met is True and rows["K19"].difference == pytest.approx(0.05)


def test_range_report_uses_the_targets_its_cycles_share():
    cycles = [
        {"id": "2024", "start": D("2024-01-01"), "end": D("2024-12-31"), "funding_period": "esfplus_2021_2027",
         "places": 30, "coach_fte": 2.0, "targets": {"K05": {"at_least": 85}, "K01": {"at_least": 30}}},
        {"id": "2025", "start": D("2025-01-01"), "end": D("2025-12-31"), "funding_period": "esfplus_2021_2027",
         "places": 25, "coach_fte": 2.0, "targets": {"K05": {"at_least": 85}, "K01": {"at_least": 25}}},
    ]
    from pipeline.period import resolve_period

    cfg = Config(cycles=cycles)
    assert targets_for(cfg, resolve_period(cfg, "2024-07-01..2025-06-30")) == {"K05": Target(at_least=85)}
    assert targets_for(cfg, resolve_period(cfg, "2025")) == {"K05": Target(at_least=85), "K01": Target(at_least=25)}


# ------------------------------------------------------------------------------------------ comparison

SNAP = D("2025-06-30")


def _comparison_config() -> Config:
    cfg = load_config(ROOT / "config.toml")
    return cfg.model_copy(update={"cycles": [c for c in cfg.cycles if c.id in ("2019", "2024", "2025")]})


def _comparison_db(tmp_path):
    """2019 (2014-20): 2 households, both left in 2019, follow-ups long due → final.
    2024 (ESF+): 3 households (+1 not started), all left, last participant on 2025-03-31 → follow-up due
    2025-09-30, after the data state 2025-06-30 → followups_pending.
    2025 (ESF+): 1 household still active → running."""
    f = Fixture()
    for i, ex in enumerate((D("2019-10-31"), D("2019-12-15"))):
        h = f.household(f"H19{i}", project_cycle="2019", entry_date=D("2019-02-01"), exit_date=ex)
        f.participant(h, esf_exit_date=ex, exit_reason="regular_end", destination="employment_svp",
                      employability_increased="yes" if i == 0 else "no")
        f.help(h, D("2019-03-01"))
    for i, ex in enumerate((D("2024-11-30"), D("2025-01-31"), D("2025-03-31"))):
        h = f.household(f"H24{i}", project_cycle="2024", entry_date=D("2024-02-01"), exit_date=ex)
        f.participant(h, esf_exit_date=ex, exit_reason="regular_end", destination="inactive",
                      employability_increased="yes")
        f.person(h)  # a child
        if i < 2:
            f.help(h, D("2024-04-01"))
    f.household("H24x", project_cycle="2024", entry_date=D("2024-03-01"), status="not_started")
    h = f.household("H250", project_cycle="2025", entry_date=D("2025-02-01"))
    f.participant(h, gender="male")
    f.participant(h, gender="not_stated")  # incomplete: in K02, not in EECO01
    con = open_db(tmp_path)
    f.load(con, SNAP)
    db.create_current_views(con)
    return con


def _compared(tmp_path) -> comparison.CycleComparison:
    con = _comparison_db(tmp_path)
    try:
        return comparison.compare_cycles(con, _comparison_config(), SNAP)
    finally:
        con.close()


def test_compare_cycles_statuses_and_figures_by_hand(tmp_path):
    comp = _compared(tmp_path)
    rows = {r.cycle_id: r for r in comp.rows}
    assert list(rows) == ["2019", "2024", "2025"]  # oldest first; cycles without households left out
    assert [rows[c].status for c in rows] == ["final", "followups_pending", "running"]
    assert rows["2024"].followups_due == D("2025-09-30") and rows["2025"].open_households == 1
    assert [c.key for c in comp.columns] == [*comparison.COMPARED, "ESF_TOTAL", "ESF_JOB"]
    # 2019, funding period 2014-20: ESF total is K02, the job result CR04
    r19 = rows["2019"]
    assert (r19.value("K01"), r19.value("K02"), r19.value("K05")) == (2, 2, 1.0)
    assert (r19.cells["ESF_TOTAL"].source_id, r19.value("ESF_TOTAL")) == ("K02", 2)
    assert (r19.cells["ESF_JOB"].source_id, r19.value("ESF_JOB")) == ("CR04", 2)  # both left into employment
    assert r19.value("K19") == 0.5 and r19.value("K10") == 1.0
    # 2024: 3 households (not started excluded), 2 of 3 with a help, 6 persons, nobody into a job
    r24 = rows["2024"]
    assert (r24.value("K01"), r24.value("K03"), r24.cells["K05"].numerator) == (3, 6, 2)
    assert r24.value("K05") == pytest.approx(2 / 3)
    assert (r24.cells["ESF_TOTAL"].source_id, r24.value("ESF_TOTAL")) == ("EECO01", 3)
    assert (r24.cells["ESF_JOB"].source_id, r24.value("ESF_JOB")) == ("EECR04", 0)
    assert r24.value("K19") == 1.0
    # 2025: one household, two participants (one incomplete), nobody left: result shares empty
    r25 = rows["2025"]
    assert (r25.value("K01"), r25.value("K02"), r25.value("ESF_TOTAL")) == (1, 2, 1)
    assert r25.value("K19") is None and r25.value("K10") is None
    assert [r.cycle_id for r in comp.final_rows()] == ["2019"]
    df = comp.to_frame()
    assert len(df) == 3 * len(comp.columns) and set(df["status"]) == {"final", "followups_pending", "running"}
    wide = df.pivot(index="cycle", columns="indicator", values="value")
    assert wide.loc["2024", "K01"] == 3 and pd.isna(wide.loc["2025", "K19"])


def test_public_comparison_hides_small_counts_and_keeps_key_figures(tmp_path):
    comp = _compared(tmp_path)
    pub = comparison.published(comp, Rules(active=True, threshold=3, threshold_special=5, min_share_base=10))
    keys = [c.key for c in pub.columns]
    assert "K19" not in keys and "K20" not in keys and "ESF_JOB" not in keys and "ESF_TOTAL" in keys
    rows = {r.cycle_id: r for r in pub.rows}
    assert rows["2024"].value("K01") == 3  # 3 is not below the threshold
    assert isinstance(rows["2019"].value("K01"), Suppressed)  # 2 households
    assert isinstance(rows["2024"].value("K05"), Suppressed)  # base 3 < 10
    assert isinstance(rows["2024"].value("K13"), Suppressed)  # median over 3 households ending
    assert rows["2024"].status == "followups_pending"  # the marking stays


def test_api_compare_cycles_and_targets(tmp_path):
    import pipeline
    from pipeline import api

    con = _comparison_db(tmp_path)
    con.close()
    cfg = _comparison_config()
    df = api.compare_cycles(db=tmp_path / "test.duckdb", config=cfg)
    assert pipeline.compare_cycles is api.compare_cycles
    assert df.attrs["data_state"] == SNAP
    assert df.drop_duplicates("cycle").set_index("cycle")["final"].to_dict() == {
        "2019": True, "2024": False, "2025": False}
    t = api.targets("2024", db=tmp_path / "test.duckdb", config=cfg).set_index("indicator_id")
    assert list(t.index) == ["K01", "K05", "K19"]  # shipped targets of 2024
    assert t.loc["K01", "met"] == False  # noqa: E712 - numpy bool; 3 households of 30 places
    assert t.loc["K19", "result"] == 1.0 and bool(t.loc["K19", "met"])
