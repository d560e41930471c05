"""Every cycle in the database side by side: the key figures of each cohort and whether the cohort is final.

A cohort is *final* when its cycle has ended, none of its households or participants is still in the project at
the data state, and the six-month follow-up of its last leaver is due (exit + 6 months ≤ data state). Otherwise
it is ``running`` or ``followups_pending``; its figures are shown, marked as provisional, never as final.

Each cycle's figures come from ``indicators.compute`` (the same SQL as indicators.csv) over the snapshots in force
at the report's data state; the report's own cycle reuses its result instead of computing it again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from pipeline.reports.disclosure import Rules, Suppressed
from pipeline.reports.figures import FUNDING_PERIOD_LABELS, PUBLIC_KEY_FIGURES, Lookup, info

# the compared indicators (issue 14), then two ESF lines whose id depends on the funding period
COMPARED = ("K01", "K02", "K03", "K05", "K06", "K09", "K10", "K13", "K15", "K19", "K20")
ESF_TOTAL, ESF_JOB = "ESF_TOTAL", "ESF_JOB"
ESF_SOURCES = {
    ESF_TOTAL: {"esfplus_2021_2027": "EECO01", "esf_2014_2020": "K02"},
    ESF_JOB: {"esfplus_2021_2027": "EECR04", "esf_2014_2020": "CR04"},
}
ESF_LABELS = {
    ESF_TOTAL: "ESF-Teilnehmende insgesamt (EECO01; 2014–2020: K02)",
    ESF_JOB: "Arbeitsplatz nach der Teilnahme (EECR04; 2014–2020: CR04)",
}
STATUS_LABELS = {
    "final": "abgeschlossen",
    "running": "laufend",
    "followups_pending": "Nachbefragung noch nicht fällig",
}

# grain: one row per cycle id of the households in force (not `nicht angetreten`)
STATUS_SQL = """
WITH cohort AS (
    SELECT household_id, project_cycle, exit_date FROM households WHERE status IS DISTINCT FROM 'not_started'
),
participants AS (
    SELECT c.project_cycle, p.esf_exit_date
    FROM persons AS p JOIN cohort AS c USING (household_id) WHERE p.is_esf_participant
)
SELECT c.project_cycle AS cycle_id,
       count(*) AS households,
       count(*) FILTER (WHERE c.exit_date IS NULL OR c.exit_date > $data_state) AS open_households,
       (SELECT count(*) FROM participants AS p WHERE p.project_cycle = c.project_cycle
          AND (p.esf_exit_date IS NULL OR p.esf_exit_date > $data_state)) AS open_participants,
       (SELECT CAST(max(p.esf_exit_date) + INTERVAL 6 MONTH AS DATE) FROM participants AS p
          WHERE p.project_cycle = c.project_cycle) AS followups_due
FROM cohort AS c
GROUP BY c.project_cycle
"""


@dataclass(frozen=True)
class Column:
    key: str  # indicator id, or ESF_TOTAL / ESF_JOB
    label: str
    unit: str


@dataclass
class Cell:
    source_id: str  # the indicator the value comes from (EECO01 or K02 for ESF_TOTAL)
    numerator: float | Suppressed | None
    denominator: float | Suppressed | None
    value: float | Suppressed | None


@dataclass
class CycleRow:
    cycle_id: str
    funding_period: str
    start: dt.date
    end: dt.date
    status: str  # "final" | "running" | "followups_pending"
    open_households: int
    followups_due: dt.date | None
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status == "final"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def funding_label(self) -> str:
        return FUNDING_PERIOD_LABELS.get(self.funding_period, self.funding_period)

    def value(self, key: str):
        c = self.cells.get(key)
        return c.value if c else None


@dataclass
class CycleComparison:
    data_state: dt.date | None
    columns: list[Column]
    rows: list[CycleRow]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def final_rows(self) -> list[CycleRow]:
        return [r for r in self.rows if r.final]

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per cycle × compared figure."""
        records = []
        for r in self.rows:
            for col in self.columns:
                c = r.cells.get(col.key)
                records.append({
                    "cycle": r.cycle_id, "funding_period": r.funding_period, "status": r.status,
                    "final": r.final, "indicator": col.key, "source_id": c.source_id if c else None,
                    "label": col.label, "unit": col.unit,
                    "numerator": _plain(c.numerator) if c else None,
                    "denominator": _plain(c.denominator) if c else None,
                    "value": _plain(c.value) if c else None,
                })
        df = pd.DataFrame.from_records(records, columns=["cycle", "funding_period", "status", "final", "indicator",
                                                         "source_id", "label", "unit", "numerator", "denominator",
                                                         "value"])
        df["value"] = df["value"].astype("Float64")
        df.attrs["data_state"] = self.data_state
        return df


def _plain(v):
    return None if isinstance(v, Suppressed) else v


def columns() -> list[Column]:
    cols = [Column(i, info(i).label, info(i).unit) for i in COMPARED]
    cols += [Column(k, ESF_LABELS[k], "count") for k in (ESF_TOTAL, ESF_JOB)]
    return cols


def cycle_status(con, config, data_state: dt.date | None) -> dict[str, dict]:
    """Per cycle id: households, open households and participants, the date the last follow-up is due."""
    if data_state is None:
        return {}
    df = con.execute(STATUS_SQL, {"data_state": data_state}).df()
    return {str(r["cycle_id"]): r for r in df.to_dict("records")}


def _status(cycle, st: dict, data_state: dt.date) -> str:
    if data_state < cycle.end or st["open_households"] or st["open_participants"]:
        return "running"
    due = st["followups_due"]
    if due is not None and not pd.isna(due) and pd.Timestamp(due).date() > data_state:
        return "followups_pending"
    return "final"


# Results of the other cycles, kept by a long-lived report process (the page's warm worker: ``keep_results``) for
# the next set of the same database state: the Fördergeber, intern and public sets of a cycle compare the same
# cycles. Key: the database file's identity and modification (any write changes it), the configuration, the
# cycle, the data state and the audience.
_KEPT: dict | None = None
KEEP_AT_MOST = 32


def keep_results(on: bool = True) -> None:
    global _KEPT
    _KEPT = {} if on else None


def _database_state(path) -> tuple:
    out = []
    for p in (Path(path), Path(f"{path}.wal")):
        try:
            st = p.stat()
            out.append((str(p.resolve()), st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None))
    return tuple(out)


def _cycle_result(con, config, cycle_id: str, data_state: dt.date | None, audience: str):
    from pipeline import indicators

    if _KEPT is None:
        return indicators.compute(con, config, cycle_id, as_of=data_state, audience=audience)
    key = (_database_state(config.database), config.model_dump_json(), cycle_id, data_state, audience)
    if key not in _KEPT:
        while len(_KEPT) >= KEEP_AT_MOST:
            _KEPT.pop(next(iter(_KEPT)))
        _KEPT[key] = indicators.compute(con, config, cycle_id, as_of=data_state, audience=audience)
    return _KEPT[key]


def compare_cycles(con, config, data_state: dt.date | None, current=None, audience: str = "foerdergeber"
                   ) -> CycleComparison:
    """Every configured cycle with households in the views in force, oldest first, with exact figures.

    ``con`` has the views of the snapshots in force (``db.create_current_views``); ``data_state`` is the report's.
    ``current``: an ``IndicatorResult`` of one cycle already computed at that data state (reused, not recomputed).
    """
    status = cycle_status(con, config, data_state)
    rows = []
    for cycle in sorted(config.cycles, key=lambda c: c.start):
        st = status.get(cycle.id)
        if st is None:
            continue
        if current is not None and current.period.kind == "cycle" and current.period.id == cycle.id:
            result = current
        else:
            result = _cycle_result(con, config, cycle.id, data_state, audience)
        lk = Lookup(result.table)
        row = CycleRow(cycle.id, cycle.funding_period, cycle.start, cycle.end, _status(cycle, st, data_state),
                       int(st["open_households"]),
                       None if pd.isna(st["followups_due"]) else pd.Timestamp(st["followups_due"]).date())
        for col in columns():
            src = ESF_SOURCES[col.key][cycle.funding_period] if col.key in ESF_SOURCES else col.key
            n, d, v = lk.row(src) or (None, None, None)
            row.cells[col.key] = Cell(src, n, d, v)
        # households ending (K09H's denominator): the base of the median duration, for the public version
        row.cells["_ending"] = Cell("K09H", None, None, (lk.row("K09H") or (None, None, None))[1])
        rows.append(row)
    return CycleComparison(data_state, columns(), rows)


def published(comp: CycleComparison, rules: Rules) -> CycleComparison:
    """The comparison as a report shows it: exact for exact audiences; public: the public key figures only,
    small counts hidden, shares only on a large enough base (whole percent), medians only over ≥ min_share_base
    households ending. Cycles are separate operations with no published total, so no group suppression."""
    if not rules.active:
        return comp
    keep = [c for c in comp.columns if c.key in PUBLIC_KEY_FIGURES or c.key == ESF_TOTAL]
    rows = []
    for r in comp.rows:
        cells = {}
        ending = r.cells["_ending"].value if "_ending" in r.cells else None
        for col in keep:
            c = r.cells[col.key]
            special = info(c.source_id).special_category
            if col.unit == "share":
                cells[col.key] = Cell(c.source_id, rules.count(c.numerator, special),
                                      rules.count(c.denominator, special),
                                      rules.share(c.numerator, c.denominator, c.value, special))
            elif col.unit == "count":
                v = rules.count(c.value, special)
                cells[col.key] = Cell(c.source_id, v, None, v)
            elif col.unit == "days" and (ending is None or ending < rules.min_share_base):
                cells[col.key] = Cell(c.source_id, None, None, rules.hidden)
            else:
                cells[col.key] = Cell(c.source_id, None, None, c.value)
        rows.append(replace(r, cells=cells))
    return CycleComparison(comp.data_state, keep, rows)
