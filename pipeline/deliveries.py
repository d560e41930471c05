"""Deliveries: refuse a file that would replace good data with nothing, and say which snapshot is in force and why.

exports.md (December 2026): a file in which more than ``[validation] reject_file_share`` of the rows would be
quarantined is refused as a whole (rule F14); the previous snapshot of that table stays in force. The console,
the validation workbook and ``run_manifest.json`` all state the snapshot in force per table with
:func:`table_states`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from pipeline import db, load, model
from pipeline.config import Config
from pipeline.validation.rules import render, rules
from pipeline.wording import count


def _reasons(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """The most frequent row errors of a file: 'Datum nicht lesbar (41 Zeilen), …'."""
    rows = con.execute(
        """SELECT rule_id, count(DISTINCT source_row) AS n FROM problems
           WHERE file_sha256 = ? AND severity = 'row_error' GROUP BY rule_id ORDER BY n DESC, rule_id LIMIT 3""",
        [key],
    ).fetchall()
    catalogue = rules()
    return ", ".join(f"{catalogue[r].title} ({count(n, 'Zeile', 'Zeilen')})" for r, n in rows) or "–"


def refuse_if_mostly_bad(con: duckdb.DuckDBPyConnection, config: Config, outcome, run_id: str) -> bool:
    """Refuse a loaded file whose quarantined share exceeds the limit: its rows are removed (the archive keeps
    the file, ``problems`` its row findings), ``ingest_files`` marks it failed with F14. True when refused.

    The share counts the rules of the file itself (row rules, malformed records); cross-table rules depend on
    the other deliveries and do not refuse a file. As exports.md says it, without exception: a first delivery
    of a table is refused too (nothing is in force then, and the run says so; its findings stay listed).
    """
    limit = config.validation.reject_file_share
    if not outcome.rows_read or outcome.rows_quarantined / outcome.rows_read <= limit:
        return False
    key, table = outcome.sha256, outcome.table
    message = render(
        "F14",
        file_name=outcome.file_name,
        table_name=table,
        share=round(100 * outcome.rows_quarantined / outcome.rows_read),
        quarantined=outcome.rows_quarantined,
        rows=outcome.rows_read,
        limit=f"{limit * 100:g}",
        reasons=_reasons(con, key),
    )
    load.discard_file(con, table, key)
    con.execute("DELETE FROM gx_results WHERE file_sha256 = ?", [key])
    con.execute(
        "UPDATE ingest_files SET status = 'failed', rule_id = 'F14', message = ?, rows_loaded = 0 "
        "WHERE file_sha256 = ?",
        [message, key],
    )
    con.execute(
        "INSERT INTO problems VALUES (?, 'file_error', 'F14', ?, ?, ?, NULL, NULL, NULL, ?)",
        [run_id, table, outcome.file_name, key, message],
    )
    outcome.status, outcome.rule_id, outcome.message, outcome.rows_loaded = "failed", "F14", message, 0
    return True


@dataclass
class Refused:
    file_name: str
    snapshot_date: dt.date
    reason: str  # short: '82 % der Zeilen fehlerhaft', or the rule's title


@dataclass
class TableState:
    """The snapshot of one table in force, and the newer deliveries that were refused."""

    table: str
    label: str
    snapshot_date: dt.date | None
    file_name: str | None
    refused: list[Refused] = field(default_factory=list)

    @property
    def text(self) -> str:
        """e.g. 'Haushalte: Stand 31.01.2026 bleibt gültig, weil haushalte_20260228.csv abgewiesen wurde
        (82 % der Zeilen fehlerhaft)'."""
        why = ""
        if len(self.refused) == 1:
            why = f", weil {self.refused[0].file_name} abgewiesen wurde ({self.refused[0].reason})"
        elif self.refused:
            names = ", ".join(r.file_name for r in self.refused[:-1]) + f" und {self.refused[-1].file_name}"
            why = f", weil {names} abgewiesen wurden ({'; '.join(f'{r.file_name}: {r.reason}' for r in self.refused)})"
        if self.snapshot_date is None:
            return f"{self.label}: kein gültiger Stand{why}" if why else f"{self.label}: keine Lieferung"
        stand = f"Stand {self.snapshot_date:%d.%m.%Y}"
        if why:
            return f"{self.label}: {stand} bleibt gültig{why}"
        return f"{self.label}: {stand} ({self.file_name})"


def _reason(rule_id: str | None, read: int | None, quarantined: int | None, message: str | None) -> str:
    if rule_id == "F14" and read:
        return f"{round(100 * (quarantined or 0) / read)} % der Zeilen fehlerhaft"
    if rule_id in rules():
        return rules()[rule_id].title
    return (message or "nicht lesbar")[:120]


def table_states(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> list[TableState]:
    """Per table of the data model: the snapshot in force (≤ as_of) and the newer refused deliveries."""
    snaps = db.snapshots_in_force(con, as_of)
    has_rule = bool(
        con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'ingest_files' "
            "AND column_name = 'rule_id'"
        ).fetchone()[0]
    )
    rule_col = "rule_id" if has_rule else "NULL"
    out = []
    for name, table in model.tables().items():
        snap = snaps.get(name)
        file_name = None
        if snap is not None:
            file_name = con.execute(
                "SELECT string_agg(file_name, ', ' ORDER BY file_name) FROM ingest_files "
                "WHERE table_name = ? AND snapshot_date = ? AND status = 'loaded'",
                [name, snap],
            ).fetchone()[0]
        rows = con.execute(
            f"""SELECT file_name, snapshot_date, {rule_col}, rows_read, rows_quarantined, message
                FROM ingest_files WHERE table_name = ? AND status = 'failed'
                  AND snapshot_date > coalesce(?::DATE, DATE '0001-01-01')
                  AND (?::DATE IS NULL OR snapshot_date <= ?::DATE)
                ORDER BY snapshot_date, file_name""",
            [name, snap, as_of, as_of],
        ).fetchall()
        refused = [Refused(f, d, _reason(r, n, q, m)) for f, d, r, n, q, m in rows]
        out.append(TableState(name, table.label, snap, file_name, refused))
    return out


def as_json(states: list[TableState]) -> list[dict]:
    return [
        {
            "table": s.table,
            "snapshot_date": s.snapshot_date.isoformat() if s.snapshot_date else None,
            "file": s.file_name,
            "refused": [
                {"file": r.file_name, "snapshot_date": r.snapshot_date.isoformat(), "reason": r.reason}
                for r in s.refused
            ],
            "text": s.text,
        }
        for s in states
    ]
