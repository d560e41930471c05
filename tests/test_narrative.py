"""The drafted German text: grammar for one/none/many, "über N %" only where true, zero leavers, public text.

Pure functions over hand-made indicator tables (no database, no Word). The check that every number of a rendered
draft is a figure of its run's indicators.csv is in test_sachbericht.py; the helpers for it live here.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from pipeline.reports import narrative, press
from pipeline.reports.disclosure import Rules
from pipeline.reports.figures import Lookup, public_key_figures
from pipeline.reports.german import CHILD, HELP, HOUSEHOLD, fmt_number, over, percent
from pipeline.reports.targets import target_rows

D = dt.date.fromisoformat
N = None
PUBLIC = Rules(active=True, threshold=3, threshold_special=5, min_share_base=10)


def _lk(rows) -> Lookup:
    return Lookup(pd.DataFrame(rows, columns=["indicator_id", "dimension", "category", "numerator", "denominator",
                                              "value"]))


def frame(status="running", kind="cycle") -> narrative.Frame:
    return narrative.Frame("BG-Coaching", "neue arbeit e.V.", kind, "2024", D("2024-01-01"), D("2024-12-31"),
                           D("2025-06-30"), "esfplus_2021_2027", status)


def text_of(chapters) -> str:
    return "\n".join(p for ch in chapters for p in ch.paragraphs)


# --- figures → allowed number strings (shared with test_sachbericht.py) -----------------------------------

def figure_forms(table: pd.DataFrame, units: dict[str, str]) -> set[str]:
    """Every German rendering of every figure of an indicator table: counts, numerators and denominators as
    integers ("1.234"), shares as "85,7" and whole percent "86", ratios and days with one decimal (and whole)."""
    out: set[str] = set()
    for r in table.itertuples(index=False):
        for v in (r.numerator, r.denominator):
            if v is not None and not pd.isna(v):
                out.add(fmt_number(int(v)))
        v = r.value
        if v is None or pd.isna(v):
            continue
        unit = units.get(r.indicator_id, "count")
        if unit == "share":
            out |= {fmt_number(float(v), "share").removesuffix(" %"), str(round(float(v) * 100))}
        elif unit == "count":
            out.add(fmt_number(int(v)))
        else:
            out.add(fmt_number(float(v), "ratio"))
            if float(v).is_integer():
                out.add(fmt_number(int(v)))
    return out


def shares_of(table: pd.DataFrame, units: dict[str, str]) -> list[float]:
    return [float(r.value) for r in table.itertuples(index=False)
            if units.get(r.indicator_id) == "share" and r.value is not None and not pd.isna(r.value)]


def unexplained_numbers(text: str, forms: set[str], shares: list[float], dates: set[str], ids: set[str],
                        public: bool = False) -> list[str]:
    """Numbers of ``text`` that are neither figures, nor true "über N %" bounds, nor the report's dates/cycle ids."""
    bad = []
    for d in re.findall(r"\b\d{2}\.\d{2}\.\d{4}\b", text):
        if d not in dates:
            bad.append(d)
    text = re.sub(r"\b\d{2}\.\d{2}\.\d{4}\b", " ", text)
    for n in re.findall(r"über (\d+) %", text):
        bound = int(n)
        # true: some share lies above the bound, and the bound is the rounding step (5 points) below it
        ok = any(bound < (round(s * 100) - 0.5 if public else s * 100) <= bound + 5.5 for s in shares)
        if not ok or bound % 5:
            bad.append(f"über {n} %")
    text = re.sub(r"über \d+ %", " ", text)
    for n in re.findall(r"(?<![\w,.])\d+(?:\.\d{3})*(?:,\d+)?", text):
        if n not in forms and n not in ids:
            bad.append(n)
    return bad


def test_the_number_check_catches_what_is_not_a_figure():
    t = pd.DataFrame([("K05", "total", "total", 26, 30, 26 / 30)],
                     columns=["indicator_id", "dimension", "category", "numerator", "denominator", "value"])
    forms, shares = figure_forms(t, {"K05": "share"}), shares_of(t, {"K05": "share"})
    ok = "In über 85 % der Familien (86,7 %), 26 von 30, Stand 30.06.2025, Projektjahr 2024, K05."
    assert unexplained_numbers(ok, forms, shares, {"30.06.2025"}, {"2024"}) == []
    wrong = "In über 80 % der Familien (86,6 %), 25 von 30, Stand 01.07.2025, seit 2023."
    assert unexplained_numbers(wrong, forms, shares, {"30.06.2025"}, {"2024"}) == [
        "01.07.2025", "über 80 %", "86,6", "25", "2023"]


# --- grammar ----------------------------------------------------------------------------------------

def test_nouns_for_one_none_and_many():
    assert [HOUSEHOLD.count(n) for n in (0, 1, 30)] == [
        "keine Bedarfsgemeinschaften", "eine Bedarfsgemeinschaft", "30 Bedarfsgemeinschaften"]
    assert [CHILD.count(n) for n in (0, 1, 2)] == ["keine Kinder", "ein Kind", "2 Kinder"]
    assert HELP.count(1234) == "1.234 Hilfen"
    assert [HOUSEHOLD.count_dative(n) for n in (0, 1, 30)] == [
        "keinen Bedarfsgemeinschaften", "einer Bedarfsgemeinschaft", "30 Bedarfsgemeinschaften"]


@pytest.mark.parametrize("k01, k06, k04, expected", [
    (0, 0, 0, ["Im Projektjahr 2024 wurden keine Bedarfsgemeinschaften", "Insgesamt wurden keine Hilfen eingeleitet"]),
    (1, 1, 1, ["Im Projektjahr 2024 wurde eine Bedarfsgemeinschaft", "Insgesamt wurde eine Hilfe eingeleitet"]),
    (30, 104, 51, ["Im Projektjahr 2024 wurden 30 Bedarfsgemeinschaften", "Insgesamt wurden 104 Hilfen eingeleitet",
                   "darunter 51 Kinder"]),
    (30, 2, 1, ["darunter ein Kind", "Insgesamt wurden 2 Hilfen"]),
    (30, 2, 0, ["darunter keine Kinder"]),
])
def test_drafted_text_agrees_for_one_none_and_many(k01, k06, k04, expected):
    lk = _lk([("K01", "total", "total", k01, N, k01), ("K06", "total", "total", k06, N, k06),
              ("K03", "total", "total", k01 * 3, N, k01 * 3), ("K04", "total", "total", k04, N, k04),
              ("K02", "total", "total", k01, N, k01)])
    text = text_of(narrative.chapters(lk, frame(), []))
    for phrase in expected:
        assert phrase in text, (phrase, text)
    assert " 1 " not in text and " 0 " not in text  # one and none are words


def test_over_is_only_used_where_true():
    assert over(0.857) == "über 85 %"
    assert over(0.85) is None and over(0.5) is None  # a round figure is said as it is, never "über 80 %"
    assert over(0.8501) is None and over(0.856) == "über 85 %" and over(0.8449) == "über 80 %"  # 85,0 / 84,5
    assert over(0.03) is None
    # public figures are whole percent: 91 % may be 90,5 % exactly, 86 % may be 85,5 %: still over 90 / 85
    assert over(0.91, public=True) == "über 90 %" and over(0.86, public=True) == "über 85 %"
    assert over(0.90, public=True) is None
    assert percent(0.857142) == "85,7 %" and percent(0.857142, public=True) == "86 %"


def test_helps_lead_sentence_uses_over_and_the_exact_share():
    lk = _lk([("K01", "total", "total", 30, N, 30), ("K05", "total", "total", 28, 30, 28 / 30),
              ("K06", "total", "total", 60, N, 60)])
    ch = narrative.helps(narrative.Figures(lk), frame())
    assert ch.paragraphs[0] == ("In über 90 % der Familien (93,3 %) konnten Hilfen eingeleitet werden "
                                "(28 von 30 Bedarfsgemeinschaften).")


# --- nothing the figures do not show ---------------------------------------------------------------------

ZERO_LEAVERS = [
    ("K01", "total", "total", 12, N, 12), ("K02", "total", "total", 14, N, 14),
    ("K05", "total", "total", 9, 12, 0.75), ("K06", "total", "total", 20, N, 20),
    ("K09", "total", "total", 0, 0, N), ("K09H", "total", "total", 0, 0, N), ("K10", "total", "total", 0, 0, N),
    ("K13", "total", "total", N, N, N), ("K14", "total", "total", 0, N, 0), ("K15", "total", "total", 0, 0, N),
    ("K19", "total", "total", 0, 0, N), ("EECR04", "total", "total", 0, N, 0), ("EECR05", "total", "total", 0, 0, N),
]


def test_zero_leavers_give_a_note_and_no_sentence_about_transitions():
    lk = _lk(ZERO_LEAVERS)
    from pipeline.config import Target

    targets = target_rows(lk, {"K19": Target(at_least=65)}, Rules(active=False))
    chapters = {ch.key: ch for ch in narrative.chapters(lk, frame(), targets)}
    exits = chapters["austritte"].paragraphs
    assert len(exits) == 1 and "noch keine teilnehmende Person ausgetreten" in exits[0]
    assert "noch nicht fällig" in exits[0]
    text = text_of(chapters.values())
    for claim in ("wechselte", "Regelinstrument", "Abbruchquote", "Erwerbstätigkeit oder Ausbildung", "Median"):
        assert claim not in text, claim
    assert "noch keine Bedarfsgemeinschaft die Begleitung beendet" in text
    assert "Beschäftigungsfähigkeit erhöht (K19): Das Ziel von mindestens 65 % ist noch nicht bewertbar" in text


def test_a_missed_target_is_flagged_with_a_place_for_the_reason():
    from pipeline.config import Target

    lk = _lk([("K01", "total", "total", 27, N, 27), ("K05", "total", "total", 20, 27, 20 / 27)])
    targets = target_rows(lk, {"K01": Target(at_least=30), "K05": Target(at_least=85)}, Rules(active=False))
    ch = narrative.results(narrative.Figures(lk), frame("final"), targets, "2019", True)
    text = " ".join(ch.paragraphs)
    assert "Mit 27 Bedarfsgemeinschaften blieb die Zahl der begleiteten Bedarfsgemeinschaften unter dem Ziel " \
           "von mindestens 30." in text
    assert "Ergebnis 74,1 % (20 von 27); das Ziel von mindestens 85 % wurde nicht erreicht." in text
    assert "Ziele wurden verfehlt (K01 und K05)" in text and "Verwendungsnachweis" in text
    assert "Gegenüber dem letzten abgeschlossenen Projektjahr 2019 lag der Anteil" in text
    assert len(ch.notes) == 2 and all(n.endswith("Begründung:") for n in ch.notes)


def test_running_cycle_calls_a_missed_target_an_interim_state_and_a_range_counts_exits_inside_it():
    from pipeline.config import Target

    lk = _lk([("K01", "total", "total", 1, N, 1), ("K09H", "total", "total", 0, 1, 0.0),
              ("K14", "total", "total", 1, N, 1), ("K09", "total", "total", 0, 1, 0.0)])
    targets = target_rows(lk, {"K01": Target(at_least=30)}, Rules(active=False))
    text = text_of(narrative.chapters(lk, frame("running"), targets))
    assert "Mit einer Bedarfsgemeinschaft blieb die Zahl" in text
    assert "Zum Datenstand liegt ein Ergebnis unter dem Ziel (K01). Da das Projektjahr noch läuft, ist das ein " \
           "Zwischenstand" in text and "Ein Ziel wurde verfehlt" not in text
    assert "Bis zum Datenstand 30.06.2025 hat sie die Begleitung beendet." in text
    assert "Von einer Person, die bis zum Datenstand ausgetreten ist, wechselte niemand" in text
    rng = text_of(narrative.chapters(lk, frame(None, kind="range"), targets))
    assert rng.startswith("Im Zeitraum 01.01.2024 bis 31.12.2024 wurde eine Bedarfsgemeinschaft")
    assert "Im Zeitraum ist eine Person aus dem Projekt ausgetreten." in rng and "bis zum Datenstand" not in rng
    empty = target_rows(_lk([("K01", "total", "total", 0, N, 0)]), {"K01": Target(at_least=30)}, Rules(active=False))
    assert narrative._target_sentence(empty[0]) == ("Bislang wurde keine Bedarfsgemeinschaft begleitet; das Ziel "
                                                   "von mindestens 30 ist nicht erreicht.")


# --- the public text --------------------------------------------------------------------------------

SMALL = [
    ("K01", "total", "total", 12, N, 12), ("K02", "total", "total", 14, N, 14),
    ("K03", "total", "total", 40, N, 40), ("K04", "total", "total", 2, N, 2),       # 2 children: hidden
    ("K05", "total", "total", 11, 12, 11 / 12),                                     # complement 1: hidden
    ("K06", "total", "total", 25, N, 25), ("K07", "total", "total", 20, 25, 0.8),
    ("K09", "total", "total", 3, 10, 0.3), ("K10", "total", "total", 4, 10, 0.4),  # 40 % on a base of 10: shown
    ("K13", "total", "total", N, N, 200.0), ("K09H", "total", "total", 2, 8, 0.25),
    ("K15", "total", "total", 1, 10, 0.1), ("K17", "total", "total", 3000, 3650, 3000 / 3650),
]


def test_public_text_uses_only_disclosure_controlled_figures():
    lk = _lk(SMALL)
    pt = press.public_text(lk, PUBLIC, frame(), "Gefördert durch die Europäische Union")
    text = pt.paragraph
    published = public_key_figures(lk, PUBLIC)
    forms = set()
    for r in published:
        for v in (r.numerator, r.denominator, r.value):
            if isinstance(v, (int, float)) and v == v:
                forms.add(fmt_number(v, r.unit, public=True).removesuffix(" %") if v is r.value
                          else fmt_number(v))
    shares = [r.value for r in published if r.unit == "share" and isinstance(r.value, float)]
    assert unexplained_numbers(text, forms, shares, set(), {"2024"}, public=True) == []
    assert "darunter" not in text  # K04 = 2 is hidden: no hint at it
    assert "der Familien konnten Hilfen" not in text  # K05 hidden by its complement
    assert "91,7" not in text and "92" not in text
    assert "Im Projektjahr 2024 konnte die Unterstützung durch BG-Coaching in 12 Bedarfsgemeinschaften greifen." \
        in text
    assert "fanden 40 % den Weg in Arbeit oder Ausbildung" in text
    assert pt.text().startswith("BG-Coaching bei neue arbeit e.V.: Rückblick auf das Projektjahr 2024\n\n")
    assert "Stand der Daten: 30.06.2025" in pt.text()


def test_public_text_without_leavers_says_so():
    lk = _lk(ZERO_LEAVERS + [("K03", "total", "total", 30, N, 30), ("K04", "total", "total", 10, N, 10)])
    text = press.public_text(lk, PUBLIC, frame(), "Gefördert").paragraph
    assert "Über Austritte und Verbleib berichten wir" in text and "Arbeit oder Ausbildung" not in text
    assert "darunter 10 Kinder" in text
