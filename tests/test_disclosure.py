"""Disclosure control: primary and secondary suppression, public shares, and the public workbooks."""

from __future__ import annotations

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reports import FakeResult, _rows_esfplus, cells_by_id, make_table, sheet_rows

from pipeline.config import load_config
from pipeline.period import resolve_period
from pipeline.reports.context import ReportContext
from pipeline.reports.disclosure import Rules, Suppressed, suppress_groups
from pipeline.reports.esf_submission import write_esf_submission
from pipeline.reports.project_workbook import write_project_workbook
from pipeline.reports.xlsx import FMT_SHARE_PUBLIC

PUBLIC = Rules(active=True, threshold=3, threshold_special=5, min_share_base=10)
EXACT = Rules(active=False)
STAR = Suppressed("*")


def test_primary_suppression_of_counts():
    assert [PUBLIC.count(n) for n in (0, 1, 2, 3, 17)] == [0, STAR, STAR, 3, 17]
    assert [PUBLIC.count(n, special=True) for n in (2, 4, 5)] == [STAR, STAR, 5]
    assert [EXACT.count(n) for n in (1, 2, 4)] == [1, 2, 4]
    assert PUBLIC.count(None) is None


def test_public_shares():
    assert PUBLIC.share(4, 9, 4 / 9) == STAR  # base 9 < 10
    assert PUBLIC.share(2, 20, 0.1) == STAR  # count below threshold
    assert PUBLIC.share(18, 20, 0.9) == STAR  # complement 20 − 18 = 2 below threshold
    assert PUBLIC.share(0, 20, 0.0) == STAR  # count 0 is below the threshold, so is its share
    assert PUBLIC.share(10, 20, 0.5) == 0.5
    assert PUBLIC.share(7, 13, 7 / 13) == 0.54  # 53.8 % → whole percent 54 %
    assert PUBLIC.share(4, 12, 4 / 12, special=True) == STAR  # special: 4 < 5
    assert EXACT.share(4, 9, 4 / 9) == pytest.approx(4 / 9)
    assert PUBLIC.share(0, 0, None) is None  # empty stays empty


def test_secondary_suppression_of_a_gender_row():
    # women 5, men 2 (hidden), divers 0, total 7: men alone would be 7 − 5 − 0 = 2 → women hidden as well
    cells = {"t": 7, "w": 5, "m": 2, "d": 0}
    hidden = suppress_groups(cells, [("t", ["w", "m", "d"])], PUBLIC)
    assert hidden == {"m", "w"}
    assert suppress_groups(cells, [("t", ["w", "m", "d"])], EXACT) == set()


def test_unpublished_remainder_counts_as_a_hidden_cell():
    # 2014-20 has no divers column: total 7 = women 3 + men 3 + divers 1 → divers = 7 − 3 − 3 would be
    # recomputable, so one more part is hidden (ties: the first key in order)
    assert suppress_groups({"t": 7, "w": 3, "m": 3}, [("t", ["w", "m"])], PUBLIC) == {"m"}
    # men 2 hidden and a small remainder (divers 1): two unknowns already, nothing more to hide
    assert suppress_groups({"t": 6, "w": 3, "m": 2}, [("t", ["w", "m"])], PUBLIC) == {"m"}


def test_suppression_propagates_across_row_and_column_groups():
    # 2x2 table with margins; a = 1 is hidden; its row and column partners follow, then their partners
    cells = {"a": 1, "b": 5, "r1": 6, "c": 6, "d": 7, "r2": 13, "k1": 7, "k2": 12, "T": 19}
    groups = [("r1", ["a", "b"]), ("r2", ["c", "d"]), ("k1", ["a", "c"]), ("k2", ["b", "d"]), ("T", ["r1", "r2"])]
    hidden = suppress_groups(cells, groups, PUBLIC)
    assert {"a", "b", "c", "d"} <= hidden
    for total, parts in groups:
        assert sum(k in hidden for k in [total, *parts]) != 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=2, max_size=4), st.integers(0, 3))
def test_no_group_is_left_with_exactly_one_unknown(parts, remainder):
    keys = [f"p{i}" for i in range(len(parts))]
    cells = dict(zip(keys, parts, strict=True)) | {"t": sum(parts) + remainder}
    hidden = suppress_groups(cells, [("t", keys)], PUBLIC)
    assert {k for k, v in cells.items() if 0 < v < 3} <= hidden  # every small count is hidden
    unknown = sum(k in hidden for k in cells) + (1 if 0 < remainder < 3 else 0)
    assert unknown != 1


# ---------------------------------------------------------------------------------- public workbooks


@pytest.fixture
def config():
    from test_reports import CONFIG

    return load_config(CONFIG)


@pytest.fixture
def result(config):
    return FakeResult(resolve_period(config, "2024"), "esfplus_2021_2027", None, {}, "oeffentlich",
                      make_table(_rows_esfplus()))


def test_public_esf_table_hides_small_cells_and_cannot_be_recomputed(tmp_path, config, result):
    pub = openpyxl.load_workbook(write_esf_submission(ReportContext.build(config, result, "oeffentlich"),
                                                      tmp_path / "pub"))
    exact = openpyxl.load_workbook(write_esf_submission(ReportContext.build(config, result, "foerdergeber"),
                                                        tmp_path / "exact"))
    rows = cells_by_id(pub["ESF-Indikatoren"])
    ex = cells_by_id(exact["ESF-Indikatoren"])
    cols = ["Frauen (Anzahl)", "Männer (Anzahl)", "divers (Anzahl)"]
    # EECO01: women 5, men 2, divers 0 → men hidden (2), women hidden (secondary); exact in foerdergeber
    assert (rows["EECO01"]["Männer (Anzahl)"], rows["EECO01"]["Frauen (Anzahl)"]) == ("*", "*")
    assert (ex["EECO01"]["Männer (Anzahl)"], ex["EECO01"]["Frauen (Anzahl)"]) == (2, 5)
    # EECO05 total 1 → hidden; EECO12 (disability, special threshold 5): 4 hidden, keine Angabe 1 hidden
    assert rows["EECO05"]["Insgesamt (Anzahl)"] == "*"
    assert rows["EECO12"]["Insgesamt (Anzahl)"] == "*" and rows["EECO12"]["keine Angabe (Anzahl)"] == "*"
    assert ex["EECO12"]["Insgesamt (Anzahl)"] == 4
    for ind, r in rows.items():
        cells = [r["Insgesamt (Anzahl)"]] + [r[c] for c in cols]
        if ind == "EECR05":
            continue  # a share row: counts are numerators of different bases
        # every visible count is ≥ 3 or 0; no row has exactly one hidden cell among total and parts
        assert all(c == "*" or c == 0 or c >= 3 for c in cells), ind
        assert sum(c == "*" for c in cells) != 1, ind
    # column relation EECO01 = EECO02 + EECO04 + EECO05 per column: never exactly one hidden cell
    for c in ["Insgesamt (Anzahl)", *cols]:
        col = [rows[i][c] for i in ("EECO01", "EECO02", "EECO04", "EECO05")]
        assert sum(v == "*" for v in col) != 1, c
    # EECR05: 2 of 4 → base < 10: share not shown publicly
    assert rows["EECR05"]["Anteil (%)"] == "*" and ex["EECR05"]["Anteil (%)"] == 0.5
    # the footnote explains the symbol
    notes = [c.value for c in pub["ESF-Indikatoren"]["A"] if isinstance(c.value, str)]
    assert any(n.startswith("* = aus Gründen des Datenschutzes") for n in notes)
    # participants sheet: K02 men 2 and keine Angabe 1 hidden; K20 incomplete 1 hidden with its partner
    part = {r["Merkmal"]: r["Wert"] for r in sheet_rows(pub["Teilnehmende"])}
    assert part["davon Männer"] == "*" and part["davon Geschlecht keine Angabe"] == "*"
    assert part["davon vollständige Datensätze"] == "*" and part["davon unvollständige Datensätze"] == "*"
    assert part["Anteil vollständiger Datensätze"] == "*"  # base 8 < 10


def test_public_project_report_is_key_figures_only(tmp_path, config, result, tmp_path_factory):
    from test_reports import make_db

    con = make_db(tmp_path / "t.duckdb")
    wb = openpyxl.load_workbook(write_project_workbook(ReportContext.build(config, result, "oeffentlich"), con,
                                                       tmp_path))
    con.close()
    assert wb.sheetnames == ["Deckblatt", "Kennzahlen", "Ziele", "Projektjahre", "Definitionen"]
    goals = cells_by_id(wb["Ziele"])  # K01 3 of 30: a count above the threshold; K05 2 of 3: hidden
    assert goals["K01"]["Ergebnis"] == 3 and goals["K05"]["Ergebnis"] == "*" and goals["K05"]["Bewertung"] == \
        "nicht ausgewiesen"
    k = cells_by_id(wb["Kennzahlen"])
    assert "K18" not in k and "K08" not in k
    assert k["K01"]["Wert"] == 3
    assert k["K05"]["Wert"] == "*" and k["K05"]["Zähler"] == "*"  # 2 of 3: count and base too small
    assert k["K09"]["Wert"] == 0.5  # 6 of 12: shown, whole percent
    cell = next(r[5] for r in wb["Kennzahlen"].iter_rows(min_row=4) if r[0].value == "K09")
    assert cell.number_format == FMT_SHARE_PUBLIC
    assert k["K13"]["Wert"] == "*"  # median without a known base of ≥ 10 households ending
