"""What the Sachbericht's sentences stand on: the report's frame (project, period, data state, cycle status), the
figures of the run read by indicator id, the chapter record, and which ESF indicator holds a figure in each
funding period. The sentences themselves are in :mod:`pipeline.reports.narrative`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.reports.figures import Lookup
from pipeline.reports.german import de_date

# The ESF indicator that holds a figure in each funding period
ESF_JOB_ID = {"esfplus_2021_2027": "EECR04", "esf_2014_2020": "CR04"}
ESF_FOLLOWUP_ID = {"esfplus_2021_2027": "EECR05", "esf_2014_2020": "CR06"}
ESF_DISABILITY_ID = {"esfplus_2021_2027": "EECO12", "esf_2014_2020": "CO16"}


@dataclass(frozen=True)
class Frame:
    """What the text says about the report itself (period, data state), besides the figures."""

    project: str
    carrier: str
    kind: str  # "cycle" | "range"
    period_id: str
    start: dt.date
    end: dt.date
    data_state: dt.date | None
    funding_period: str
    cycle_status: str | None = None  # of the report's cycle in the comparison: final | running | followups_pending

    @classmethod
    def of(cls, ctx, cycle_status: str | None = None) -> Frame:
        p = ctx.period
        return cls(ctx.project.name, ctx.project.carrier, p.kind, p.id, p.start, p.end, ctx.result.data_state,
                   ctx.funding_period, cycle_status)

    @property
    def in_period(self) -> str:
        """ "Im Projektjahr 2025" / "Im Zeitraum 01.01.2025 bis 30.06.2025"."""
        if self.kind == "cycle":
            return f"Im Projektjahr {self.period_id}"
        return f"Im Zeitraum {de_date(self.start)} bis {de_date(self.end)}"

    @property
    def state(self) -> str:
        return de_date(self.data_state)

    @property
    def until(self) -> str:
        """When exits count: a cycle's cohort up to the data state; a range inside the range."""
        return f"Bis zum Datenstand {self.state}" if self.kind == "cycle" else "Im Zeitraum"

    @property
    def left_when(self) -> str:
        return "bis zum Datenstand" if self.kind == "cycle" else "im Zeitraum"


@dataclass
class Chapter:
    key: str
    title: str
    paragraphs: list[str]
    prompt: str  # what the lead writes in the marked place after the draft
    notes: list[str] = field(default_factory=list)  # flagged items (missed targets) with a place for the reason


class Figures:
    """Exact figures of one indicator table, read by id (total row unless a category is given)."""

    def __init__(self, lk: Lookup):
        self.lk = lk

    def value(self, ind: str, dim: str = "total", cat: str = "total"):
        return self.lk.value(ind, dim, cat)

    def n(self, ind: str, dim: str = "total", cat: str = "total") -> int:
        v = self.lk.count(ind, dim, cat)
        return int(v) if v is not None else 0

    def d(self, ind: str) -> int:
        r = self.lk.row(ind)
        return int(r[1]) if r and r[1] is not None else 0

    def has(self, ind: str) -> bool:
        return self.lk.has(ind)

    def ranked(self, ind: str, dim: str, top: int = 3) -> list[tuple[str, int]]:
        """The largest non-zero categories of a count breakdown, largest first (ties in list order)."""
        cats = [(c, self.n(ind, dim, c)) for c in self.lk.categories(ind, dim)]
        return sorted([(c, n) for c, n in cats if n > 0], key=lambda x: -x[1])[:top]
