"""Targets of the grant against the results: one row per configured target (``[[cycles]] targets``).

Pure functions over the indicator table (``Lookup``) and the config; the PDF, the workbook, the Word draft and
the API show these rows. Public rows pass through disclosure control: a hidden result hides met and difference.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.reports.disclosure import Rules, Suppressed
from pipeline.reports.figures import Lookup, info, k_row
from pipeline.reports.german import fmt_number, signed

DIRECTION_LABELS = {"at_least": "mindestens", "at_most": "höchstens"}
EPS = 1e-9  # float noise: 13/20 against 0.65


@dataclass
class TargetRow:
    id: str
    label: str
    unit: str
    direction: str  # "at_least" | "at_most"
    target: float  # in the unit of the indicator (a share as a fraction: 0.65)
    result: float | Suppressed | None  # None: not computable (share with denominator 0)
    numerator: float | Suppressed | None
    denominator: float | Suppressed | None
    met: bool | Suppressed | None
    difference: float | Suppressed | None  # result - target (shares: as a fraction, shown in percentage points)

    @property
    def target_label(self) -> str:
        """ "mindestens 65,0 %", "mindestens 30"."""
        return f"{DIRECTION_LABELS[self.direction]} {fmt_target(self.target, self.unit)}"

    @property
    def status(self) -> str:
        """ "erreicht" | "nicht erreicht" | "noch nicht bewertbar" | "nicht ausgewiesen"."""
        if isinstance(self.met, Suppressed):
            return "nicht ausgewiesen"
        if self.met is None:
            return "noch nicht bewertbar"
        return "erreicht" if self.met else "nicht erreicht"

    @property
    def missed(self) -> bool:
        return self.met is False

    @property
    def difference_label(self) -> str:
        if isinstance(self.difference, Suppressed):
            return str(self.difference)
        if self.difference is None:
            return "–"
        return signed(self.difference, self.unit)

    @property
    def note(self) -> str:
        """Why a target cannot be judged yet (German, for the table)."""
        if self.met is None and self.denominator in (0, 0.0):
            return "Nenner 0: noch keine Fälle, die in den Anteil eingehen"
        if self.met is None:
            return "kein Ergebnis berechnet"
        return ""


def fmt_target(value: float, unit: str) -> str:
    """A target as written in the grant: shares with the decimals the config gives ("65 %", "87,5 %")."""
    if unit == "share":
        pct = value * 100
        return fmt_number(pct, "count" if float(round(pct, 6)).is_integer() else "ratio") + " %"
    return fmt_number(value, unit)


def targets_for(config, period) -> dict:
    """The targets of the report's cycle; for a range, the targets every overlapping cycle sets alike."""
    cycle = getattr(period, "cycle", None)
    if cycle is not None:
        return dict(cycle.targets)
    cycles = list(getattr(period, "overlapping_cycles", ()) or ())
    if not cycles:
        return {}
    common = dict(cycles[0].targets)
    for c in cycles[1:]:
        common = {k: t for k, t in common.items() if c.targets.get(k) == t}
    return common


def is_met(result: float, direction: str, target: float) -> bool:
    return result >= target - EPS if direction == "at_least" else result <= target + EPS


def target_rows(lk: Lookup, targets: dict, rules: Rules) -> list[TargetRow]:
    """One row per target whose indicator the result table has, in catalogue order of the ids given."""
    from pipeline import catalogue

    order = {i.id: n for n, i in enumerate(catalogue.indicators())}
    rows = []
    for ind in sorted(targets, key=lambda i: order.get(i, len(order))):
        if not lk.has(ind):
            continue  # not in this report (e.g. K18 outside the internal set, another funding period's id)
        t = targets[ind]
        inf = info(ind)
        goal = t.value / 100 if inf.unit == "share" else t.value
        exact = lk.value(ind)
        shown = k_row(lk, ind, rules)
        met = None if exact is None else is_met(exact, t.direction, goal)
        diff = None if exact is None else exact - goal
        if isinstance(shown.value, Suppressed):
            met = diff = rules.hidden
        elif rules.active and diff is not None and inf.unit == "share":
            diff = round(diff * 100) / 100  # public shares are whole percent: so is their difference
        rows.append(TargetRow(ind, inf.label, inf.unit, t.direction, goal, shown.value, shown.numerator,
                              shown.denominator, met, diff))
    return rows
