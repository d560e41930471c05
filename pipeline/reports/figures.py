"""The figures a report shows, taken from an ``IndicatorResult`` and passed through disclosure control.

One place decides what a cell holds (exact count, share, or the suppression symbol); the Excel and PDF
writers only lay the cells out. Values are floats/ints/None or ``Suppressed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from pipeline.reports.disclosure import Rules, suppress_groups

GENDER_LABELS = {"women": "Frauen", "men": "Männer", "non_binary": "divers", "not_stated": "keine Angabe"}
DIMENSION_LABELS = {
    "total": "Insgesamt",
    "gender": "Geschlecht",
    "jobcenter_site": "Jobcenter-Standort",
    "household_type": "BG-Typ",
    "help_group": "Hilfebereich",
    "exit_reason": "Austrittsgrund",
    "month": "Monat",
    "statistic": "Kennzahl",
    "keine_angabe": "keine Angabe",
}
STATISTIC_LABELS = {"p25": "25. Perzentil", "p75": "75. Perzentil", "total": "Median"}
UNIT_LABELS = {"count": "Anzahl", "share": "Anteil", "ratio": "Verhältnis", "days": "Tage"}
FUNDING_PERIOD_LABELS = {
    "esf_2014_2020": "ESF-Förderperiode 2014–2020",
    "esfplus_2021_2027": "ESF+-Förderperiode 2021–2027",
}
FUNDING_NOTES = {
    "esf_2014_2020": "Gefördert durch die Europäische Union / Europäischer Sozialfonds und das Land Rheinland-Pfalz",
    "esfplus_2021_2027": (
        "Gefördert durch die Europäische Union / Europäischer Sozialfonds Plus und das Land Rheinland-Pfalz"
    ),
}
# Public key figures (outputs.md: "a short set of key figures, not every table with stars")
PUBLIC_KEY_FIGURES = ("K01", "K02", "K03", "K04", "K05", "K06", "K07", "K09", "K10", "K13", "K15", "K17")
# Additive ESF+ outputs: EECO01 = EECO02 + EECO04 + EECO05 (per gender column)
ESF_PARTITIONS = {"esfplus_2021_2027": ("EECO01", ["EECO02", "EECO04", "EECO05"])}
SPECIAL_HELP_GROUPS = {"Gesundheit", "health"}


def catalogue():
    """The indicator catalogue module (imported late: it is written alongside this package)."""
    from pipeline import catalogue as cat

    return cat


@dataclass
class IndicatorInfo:
    id: str
    label: str
    definition: str = ""
    unit: str = "count"
    family: str = "project"
    audience: str = "all"
    special_category: bool = False


def info(indicator_id: str) -> IndicatorInfo:
    try:
        i = catalogue().get(indicator_id)
    except (KeyError, LookupError, ValueError):
        return IndicatorInfo(indicator_id, indicator_id)
    return IndicatorInfo(i.id, i.label, i.definition, i.unit, i.family, i.audience, i.special_category)


def num(v) -> float | None:
    """A table value as a float, or None for empty/NaN."""
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


class Lookup:
    """Fast access to the rows of ``result.table`` by (indicator, dimension, category)."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        self._rows: dict[tuple[str, str, str], tuple[float | None, float | None, float | None]] = {}
        for r in table.itertuples(index=False):
            key = (str(r.indicator_id), str(r.dimension), str(r.category))
            self._rows[key] = (num(r.numerator), num(r.denominator), num(r.value))

    def row(self, ind: str, dim: str = "total", cat: str = "total"):
        return self._rows.get((ind, dim, cat))

    def value(self, ind: str, dim: str = "total", cat: str = "total") -> float | None:
        r = self.row(ind, dim, cat)
        return r[2] if r else None

    def count(self, ind: str, dim: str = "total", cat: str = "total") -> float | None:
        """The count behind a cell: numerator for shares, value for counts."""
        r = self.row(ind, dim, cat)
        if r is None:
            return None
        return r[0] if r[0] is not None else r[2]

    def has(self, ind: str) -> bool:
        return (ind, "total", "total") in self._rows

    def categories(self, ind: str, dim: str) -> list[str]:
        """Categories of one breakdown in table order."""
        return [k[2] for k in self._rows if k[0] == ind and k[1] == dim]

    def dimensions(self, ind: str) -> list[str]:
        out: list[str] = []
        for k in self._rows:
            if k[0] == ind and k[1] not in out:
                out.append(k[1])
        return out

    def indicator_ids(self) -> list[str]:
        out: list[str] = []
        for k in self._rows:
            if k[0] not in out:
                out.append(k[0])
        return out


# --------------------------------------------------------------------------------------------- ESF table


@dataclass
class EsfRow:
    id: str
    label: str
    unit: str
    cells: dict[str, object]  # total, women, men, non_binary, keine_angabe, denominator, share


@dataclass
class EsfTable:
    funding_period: str
    gender_columns: list[str]
    rows: list[EsfRow] = field(default_factory=list)


def esf_indicator_ids(lk: Lookup, funding_period: str, with_total: bool = True) -> list[str]:
    """ESF indicators of the funding period in catalogue order; 2014-20 leads with K02 as total participants
    (``with_total``; not in a range across both funding periods, where K02 counts the participants of both)."""
    try:
        ids = [i.id for i in catalogue().for_funding_period(funding_period) if i.family.startswith("esf")]
    except (ImportError, AttributeError):
        prefix = ("EECO", "EECR") if funding_period == "esfplus_2021_2027" else ("CO", "CR")
        ids = [i for i in lk.indicator_ids() if i.startswith(prefix)]
    if funding_period == "esf_2014_2020" and "K02" not in ids and with_total:
        ids = ["K02", *ids]
    return [i for i in ids if lk.has(i)]


def esf_tables(lk: Lookup, funding_periods: tuple[str, ...], rules: Rules) -> list[EsfTable]:
    """One ESF table per funding period of the report (two for a range across the change-over)."""
    return [esf_table(lk, fp, rules, with_total=len(funding_periods) == 1) for fp in funding_periods]


def esf_table(lk: Lookup, funding_period: str, rules: Rules, with_total: bool = True) -> EsfTable:
    genders = ["women", "men", "non_binary"] if funding_period == "esfplus_2021_2027" else ["women", "men"]
    ids = esf_indicator_ids(lk, funding_period, with_total)
    # exact counts per cell key (indicator, column)
    exact: dict[tuple[str, str], float | None] = {}
    special: dict[tuple[str, str], bool] = {}
    meta: dict[str, IndicatorInfo] = {}
    for ind in ids:
        meta[ind] = inf = info(ind)
        exact[(ind, "total")] = lk.count(ind)
        for g in genders:
            exact[(ind, g)] = lk.count(ind, "gender", g)
        ka = lk.count(ind, "gender", "not_stated") if ind == "K02" else lk.count(ind, "keine_angabe", "total")
        exact[(ind, "keine_angabe")] = ka
        for col in ("total", *genders, "keine_angabe"):
            special[(ind, col)] = inf.special_category
    groups = []
    for ind in ids:
        parts = [(ind, g) for g in genders]
        if ind == "K02":
            parts.append((ind, "keine_angabe"))
        groups.append(((ind, "total"), parts))
    if funding_period in ESF_PARTITIONS:
        tot, parts = ESF_PARTITIONS[funding_period]
        if tot in ids:
            for col in ("total", *genders):
                groups.append(((tot, col), [(p, col) for p in parts if p in ids]))
    hidden = suppress_groups(exact, groups, rules, special)
    table = EsfTable(funding_period, genders)
    for ind in ids:
        inf = meta[ind]
        cells: dict[str, object] = {}
        for col in ("total", *genders, "keine_angabe"):
            v = exact[(ind, col)]
            cells[col] = rules.hidden if (ind, col) in hidden else v
        r = lk.row(ind)
        if inf.unit == "share" and r is not None:
            cells["denominator"] = rules.count(r[1], inf.special_category)
            cells["share"] = rules.share(r[0], r[1], r[2], inf.special_category)
        table.rows.append(EsfRow(ind, inf.label, inf.unit, cells))
    return table


# ------------------------------------------------------------------------------------------- K indicators


@dataclass
class KRow:
    id: str
    label: str
    unit: str
    numerator: object
    denominator: object
    value: object


def project_indicator_ids(lk: Lookup) -> list[str]:
    try:
        ids = [i.id for i in catalogue().indicators() if i.family == "project"]
    except (ImportError, AttributeError):
        ids = [i for i in lk.indicator_ids() if i.startswith("K")]
    return [i for i in ids if lk.has(i)]


def k_row(lk: Lookup, ind: str, rules: Rules, dim: str = "total", cat: str = "total", special: bool = False) -> KRow:
    inf = info(ind)
    special = special or inf.special_category
    n, d, v = lk.row(ind, dim, cat) or (None, None, None)
    if inf.unit == "share":
        return KRow(ind, inf.label, inf.unit, rules.count(n, special), rules.count(d, special),
                    rules.share(n, d, v, special))
    if inf.unit == "count":
        v2 = rules.count(v, special)
        return KRow(ind, inf.label, inf.unit, v2 if n is not None else None, None, v2)
    return KRow(ind, inf.label, inf.unit, n, d, v)  # ratios, days: no small counts behind them


def k_table(lk: Lookup, rules: Rules) -> list[KRow]:
    return [k_row(lk, i, rules) for i in project_indicator_ids(lk)]


def public_key_figures(lk: Lookup, rules: Rules) -> list[KRow]:
    """Short public set; medians only over a base of at least min_share_base households (K09H's denominator)."""
    rows = []
    ending = (lk.row("K09H") or (None, None, None))[1]
    for ind in PUBLIC_KEY_FIGURES:
        if not lk.has(ind):
            continue
        row = k_row(lk, ind, rules)
        if info(ind).unit == "days" and (ending is None or ending < rules.min_share_base):
            row.value = rules.hidden
        rows.append(row)
    return rows


@dataclass
class Breakdown:
    id: str
    label: str
    dimension: str
    unit: str
    rows: list[tuple[str, object, object, object]]  # category label, numerator, denominator, value


def category_label(dim: str, cat: str) -> str:
    if dim == "gender":
        return GENDER_LABELS.get(cat, cat)
    if dim == "statistic":
        return STATISTIC_LABELS.get(cat, cat)
    return cat


def breakdowns(lk: Lookup, rules: Rules, ids: list[str] | None = None,
               dims: tuple[str, ...] | None = None) -> list[Breakdown]:
    """Every non-total breakdown of the K indicators (or of ``ids``), with group suppression for the public."""
    out = []
    for ind in ids or project_indicator_ids(lk):
        inf = info(ind)
        for dim in lk.dimensions(ind):
            if dim in ("total", "keine_angabe") or (dims and dim not in dims):
                continue
            cats = lk.categories(ind, dim)
            special = {(ind, c): inf.special_category or (dim == "help_group" and c in SPECIAL_HELP_GROUPS)
                       for c in cats}
            additive = inf.unit == "count" and dim not in ("month", "statistic")
            hidden: set = set()
            if additive and rules.active:
                exact = {(ind, c): lk.count(ind, dim, c) for c in cats}
                exact[(ind, "__total__")] = lk.count(ind)
                hidden = suppress_groups(exact, [((ind, "__total__"), [(ind, c) for c in cats])], rules, special)
            rows = []
            for c in cats:
                r = k_row(lk, ind, rules, dim, c, special[(ind, c)])
                if (ind, c) in hidden:
                    r.numerator = r.value = rules.hidden
                rows.append((category_label(dim, c), r.numerator, r.denominator, r.value))
            out.append(Breakdown(ind, inf.label, dim, inf.unit, rows))
    return out
