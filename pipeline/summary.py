"""Read-only summaries for the faces (the web page): data state, snapshots in force, problems, vanished
records, retention status. Every function reads a private copy of the database (:func:`pipeline.api.connect`),
so a page never blocks a job, and returns plain data: ids, codes, counts and the pipeline's own messages,
never names, BG numbers or birth dates (values of personal columns are masked as in the API).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline import api, api_copy, model
from pipeline.config import Config
from pipeline.validation.rules import rules

SEVERITY_DE = {"file_error": "Dateifehler", "row_error": "Zeilenfehler", "warning": "Warnung"}
# record id of a row per table (the key the coaches find the record by in their tool)
RECORD_KEY = {
    "households": "household_id",
    "persons": "person_id",
    "contacts": "contact_id",
    "helps": "help_id",
    "followups": "person_id",
}


@dataclass
class Snapshot:
    table: str
    label: str
    file_name: str | None = None
    snapshot_date: dt.date | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    vanished: int = 0
    notice: str = ""


@dataclass
class DataState:
    exists: bool
    data_state: dt.date | None = None
    snapshots: list[Snapshot] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    problems_by_severity: dict[str, int] = field(default_factory=dict)
    vanished_total: int = 0


def data_state(cfg: Config) -> DataState:
    """Per table the snapshot in force (file, date, rows, quarantined, vanished records) and stale notices:
    a table on an older snapshot than the others, or with a newer delivery that was refused."""
    if not cfg.database.exists():
        return DataState(exists=False)
    with api.connect(cfg.database, cfg) as con:
        files = con.execute(
            """SELECT table_name, file_name, snapshot_date, rows_read, rows_loaded, rows_quarantined, status
               FROM ingest_files ORDER BY table_name, snapshot_date, ingested_at"""
        ).fetchall()
        vanished = dict(
            con.execute(
                """SELECT v.table_name, count(*) FROM vanished_records AS v
                   JOIN (SELECT table_name, max(snapshot_date) AS snapshot_date FROM ingest_files
                         WHERE status = 'loaded' GROUP BY table_name) AS s USING (table_name, snapshot_date)
                   GROUP BY v.table_name"""
            ).fetchall()
        )
        by_severity = dict(
            con.execute("SELECT severity, count(*) FROM quarantine GROUP BY severity").fetchall()  # in force
        )
    state = DataState(exists=True)
    in_force: dict[str, tuple] = {}
    for row in files:
        if row[6] == "loaded":
            in_force[row[0]] = row  # ordered by date: the last loaded one is in force
    for name, table in model.tables().items():
        r = in_force.get(name)
        snap = Snapshot(name, table.label)
        if r:
            snap.file_name, snap.snapshot_date = r[1], r[2]
            snap.rows_read, snap.rows_loaded, snap.rows_quarantined = r[3] or 0, r[4] or 0, r[5] or 0
            snap.vanished = vanished.get(name, 0)
        refused = [f for f in files if f[0] == name and f[6] == "failed" and (r is None or f[2] > r[2])]
        if refused:
            snap.notice = f"Neuere Lieferung {refused[-1][1]} nicht geladen; der Stand vom " + (
                f"{r[2]:%d.%m.%Y} bleibt gültig." if r else "– fehlt."
            )
        state.snapshots.append(snap)
    dates = [s.snapshot_date for s in state.snapshots if s.snapshot_date]
    state.data_state = max(dates) if dates else None
    for s in state.snapshots:
        if s.snapshot_date is None:
            state.notices.append(f"{s.label}: noch keine gültige Lieferung.")
        elif s.snapshot_date < state.data_state:
            state.notices.append(
                f"{s.label}: Stand {s.snapshot_date:%d.%m.%Y} ist älter als der Datenstand "
                f"{state.data_state:%d.%m.%Y} (keine neuere Lieferung)."
            )
        if s.notice:
            state.notices.append(f"{s.label}: {s.notice}")
    state.problems_by_severity = by_severity
    state.vanished_total = sum(s.vanished for s in state.snapshots)
    return state


def vanished_records(cfg: Config, limit: int = 200) -> list[tuple[str, str, dt.date, dt.date]]:
    """(table label, record id, previous snapshot, snapshot) of records missing from the snapshot in force."""
    if not cfg.database.exists():
        return []
    with api.connect(cfg.database, cfg) as con:
        rows = con.execute(
            """SELECT v.table_name, v.record_key, v.previous_snapshot, v.snapshot_date FROM vanished_records AS v
               JOIN (SELECT table_name, max(snapshot_date) AS snapshot_date FROM ingest_files
                     WHERE status = 'loaded' GROUP BY table_name) AS s USING (table_name, snapshot_date)
               ORDER BY v.table_name, v.record_key LIMIT ?""",
            [limit],
        ).fetchall()
    labels = {n: t.label for n, t in model.tables().items()}
    return [(labels.get(r[0], r[0]), r[1], r[2], r[3]) for r in rows]


@dataclass
class Problem:
    severity: str
    rule_id: str
    table: str | None
    file_name: str | None
    source_row: int | None
    record_id: str | None
    column: str | None
    value: str | None
    message: str

    @property
    def severity_label(self) -> str:
        return SEVERITY_DE.get(self.severity, self.severity)

    @property
    def rule_title(self) -> str:
        r = rules().get(self.rule_id)
        return r.title if r else self.rule_id

    @property
    def table_label(self) -> str:
        t = model.tables().get(self.table or "")
        return t.label if t else (self.table or "–")


def problems(cfg: Config) -> list[Problem]:
    """Every problem of the snapshots in force (row rules of the files in force, cross-table rules of the
    newest check, file rules of the newest ingest), with the record id of the row, most severe first."""
    from pipeline.validation.outputs import safe_value, select_problems  # the rows of validation_report.xlsx

    if not cfg.database.exists():
        return []
    with api.connect(cfg.database, cfg) as con:
        rows = select_problems(con)
        keys = " UNION ALL ".join(
            f"SELECT '{name}' AS table_name, f.file_name, c.source_row, CAST(c.{key} AS VARCHAR) AS record_id "
            f"FROM core_{name} AS c JOIN ingest_files AS f USING (file_sha256)"
            for name, key in RECORD_KEY.items()
        )
        wanted = {(r[2], r[3], r[4]) for r in rows if r[4] is not None}
        ids = {}
        if wanted:
            con.execute("CREATE TEMP TABLE _wanted (table_name VARCHAR, file_name VARCHAR, source_row BIGINT)")
            con.executemany("INSERT INTO _wanted VALUES (?, ?, ?)", list(wanted))
            ids = {
                (t, f, s): rid
                for t, f, s, rid in con.execute(
                    f"SELECT k.* FROM ({keys}) AS k JOIN _wanted USING (table_name, file_name, source_row)"
                ).fetchall()
            }
    out = []
    for sev, rule_id, table, file_name, row, column, value, message in rows:
        shown = safe_value(table, column, value)
        out.append(
            Problem(sev, rule_id, table, file_name, row, ids.get((table, file_name, row)), column,
                    None if shown is None else str(shown), message)
        )  # fmt: skip
    return out


@dataclass
class RetentionStatus:
    funding_period: str
    end: dt.date | None
    cycles: list[str]
    households: int
    expired: bool
    reason: str


def retention_status(cfg: Config, today: dt.date | None = None) -> tuple[list[RetentionStatus], object, list]:
    """Per funding period: retention end, its cycles and households held; the dry run of a purge on a private
    writable copy (exactly what ``esf-pipeline retention`` would delete); open erasure requests (person id,
    date)."""
    from pipeline import retention

    today = today or dt.date.today()
    if not cfg.database.exists():
        return [], None, []
    tmp = Path(tempfile.mkdtemp(prefix="esf-retention-"))
    try:
        copy = tmp / "copy.duckdb"
        api_copy.copy_database(cfg.database, copy)  # under DuckDB's read lock
        con = duckdb.connect(str(copy))
        try:
            con.execute(retention.ERASURE_DDL)
            per_cycle = dict(
                con.execute(
                    "SELECT project_cycle, count(DISTINCT household_id) FROM core_households GROUP BY ALL"
                ).fetchall()
            )
            requests = con.execute(
                "SELECT person_id, requested_at FROM erasure_requests WHERE purged_at IS NULL ORDER BY requested_at"
            ).fetchall()
            report = retention.purge(con, cfg, today=today, dry_run=True)
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = []
    for fp in ("esf_2014_2020", "esfplus_2021_2027"):
        cycles = [c.id for c in cfg.cycles if c.funding_period == fp]
        out.append(
            RetentionStatus(
                fp, retention.retention_end(cfg, fp), cycles, sum(per_cycle.get(c, 0) for c in cycles),
                any(c in report.cycles for c in cycles), report.kept_because.get(fp, "Aufbewahrungsfrist abgelaufen"),
            )
        )  # fmt: skip
    return out, report, requests


def person_known(cfg: Config, person_id: str) -> bool:
    """Whether a person id is in the database (any snapshot): the erasure form checks before it asks."""
    if not cfg.database.exists():
        return False
    with api.connect(cfg.database, cfg) as con:
        return bool(con.execute("SELECT count(*) FROM core_persons WHERE person_id = ?", [person_id]).fetchone()[0])
