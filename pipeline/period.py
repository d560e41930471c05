"""Report periods: a project cycle (the cycle's cohort) or a date range (activity inside the range)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pipeline.catalogue import FUNDING_PERIODS
from pipeline.config import Config, Cycle

_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})\s*$")


class PeriodError(ValueError):
    """An unknown cycle or a malformed range (usage error)."""


@dataclass(frozen=True)
class Period:
    kind: str  # "cycle" | "range"
    id: str  # "2019" or "2019-01-01..2019-06-30"
    slug: str  # directory name: "2019" or "2019-01-01_2019-06-30"
    start: dt.date
    end: dt.date
    cycle: Cycle | None
    funding_period: str
    overlapping_cycles: tuple[Cycle, ...] = ()  # cycles whose start..end overlaps start..end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """German description for report headers."""
        if self.kind == "cycle":
            return f"Projektjahr {self.id} ({self.start:%d.%m.%Y}–{self.end:%d.%m.%Y})"
        return f"Zeitraum {self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"

    @property
    def funding_periods(self) -> tuple[str, ...]:
        """The funding periods whose ESF set the report holds: those of the overlapping cycles (2014-20 first)."""
        fps = {c.funding_period for c in self.overlapping_cycles} or {self.funding_period}
        return tuple(fp for fp in FUNDING_PERIODS if fp in fps)

    @property
    def covered_days(self) -> int:
        """Days of this period inside at least one cycle (days no cycle covers carry no places and no FTE)."""
        spans = sorted((max(self.start, c.start), min(self.end, c.end)) for c in self.overlapping_cycles)
        days, last = 0, None
        for lo, hi in spans:
            if last is not None:
                lo = max(lo, last + dt.timedelta(days=1))  # overlapping cycles: count each day once
            if hi >= lo:
                days += (hi - lo).days + 1
                last = hi
        return days

    def overlap_days(self, cycle: Cycle) -> int:
        """Days of the cycle inside this period (closed intervals)."""
        lo, hi = max(self.start, cycle.start), min(self.end, cycle.end)
        return max(0, (hi - lo).days + 1)


def resolve_period(config: Config, text: str) -> Period:
    """``2019`` → the cycle report of cycle 2019; ``2019-01-01..2019-06-30`` → a range report.

    A range takes the funding periods of the cycles overlapping it: a range spanning the change-over reports both
    ESF sets (``Period.funding_periods``); ``funding_period`` is then the later one (``esfplus_2021_2027``), which
    labels the report.
    """
    text = str(text).strip()
    cycle = config.cycle(text)
    if cycle is not None:
        return Period("cycle", cycle.id, cycle.id, cycle.start, cycle.end, cycle, cycle.funding_period, (cycle,))
    m = _RANGE.match(text)
    if not m:
        known = ", ".join(c.id for c in config.cycles)
        raise PeriodError(
            f"Unbekannter Zeitraum {text!r}: erwartet wird ein Projektjahr ({known}) oder ein Zeitraum "
            f"JJJJ-MM-TT..JJJJ-MM-TT / unknown period: expected a cycle id or a range"
        )
    try:
        start, end = dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))
    except ValueError as exc:
        raise PeriodError(f"Ungültiges Datum im Zeitraum {text!r} / invalid date in range: {exc}") from None
    if end < start:
        raise PeriodError(f"Zeitraum {text!r}: Ende liegt vor dem Beginn / range end is before its start")
    overlapping = tuple(c for c in config.cycles if c.start <= end and c.end >= start)
    if not overlapping:
        raise PeriodError(
            f"Zeitraum {text!r} überschneidet sich mit keinem Projektjahr der Konfiguration / "
            f"range overlaps no configured cycle"
        )
    fps = {c.funding_period for c in overlapping}
    fp = "esfplus_2021_2027" if "esfplus_2021_2027" in fps else "esf_2014_2020"
    pid = f"{start.isoformat()}..{end.isoformat()}"
    slug = f"{start.isoformat()}_{end.isoformat()}"
    return Period("range", pid, slug, start, end, None, fp, overlapping)
