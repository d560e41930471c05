"""Retention and erasure requests (SECURITY.md).

* Retention per funding period: ESF+ keeps documents 5 years from 31 December of the year of the last
  payment (Art. 82 CPR); ESF 2014-20 as the Bewilligung says. Past that date every row of the cycles of
  that funding period is deleted from every layer and snapshot, and archived exports that hold nothing
  else are deleted.
* An erasure request (Art. 17 GDPR) is recorded and restricts processing at once (Art. 18): the person
  is hidden from analyst access. Because the ESF reporting and audit duty is a legal obligation
  (Art. 17(3)(b)), the person's rows are deleted at the end of retention, not before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline import model
from pipeline.config import Config

ERASURE_DDL = """CREATE TABLE IF NOT EXISTS erasure_requests (
    person_id VARCHAR, requested_at TIMESTAMP, note VARCHAR, purged_at TIMESTAMP)"""


def retention_end(config: Config, funding_period: str) -> dt.date | None:
    """Last day data of the funding period may be kept; None while it cannot be known yet."""
    r = config.retention
    if funding_period == "esf_2014_2020":
        return r.esf_2014_2020_until
    last = r.last_payment_year.get(funding_period)
    if last is None:
        return None
    return dt.date(last + r.esfplus_2021_2027_years, 12, 31)


@dataclass
class PurgeReport:
    cycles: list[str] = field(default_factory=list)
    rows_deleted: dict[str, int] = field(default_factory=dict)
    archive_files_deleted: int = 0
    persons_erased: int = 0
    kept_because: dict[str, str] = field(default_factory=dict)


def request_erasure(con: duckdb.DuckDBPyConnection, person_id: str, note: str = "") -> bool:
    """Record an erasure request; False when the person id is not in the database."""
    con.execute(ERASURE_DDL)
    known = con.execute("SELECT count(*) FROM core_persons WHERE person_id = ?", [person_id]).fetchone()[0]
    if not known:
        return False
    con.execute("INSERT INTO erasure_requests VALUES (?, now(), ?, NULL)", [person_id, note or None])
    return True


def restricted_person_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    con.execute(ERASURE_DDL)
    return {r[0] for r in con.execute("SELECT person_id FROM erasure_requests WHERE purged_at IS NULL").fetchall()}


def _delete_households(con: duckdb.DuckDBPyConnection, where: str, params: list, report: PurgeReport) -> None:
    """Delete the households matching `where` (over core_households) and everything hanging off them."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _purge_hh AS SELECT DISTINCT household_id FROM core_households WHERE {where}",
        params,
    )
    con.execute("""CREATE OR REPLACE TEMP TABLE _purge_p AS SELECT DISTINCT person_id FROM core_persons
                   WHERE household_id IN (SELECT household_id FROM _purge_hh)
                   AND person_id NOT IN (SELECT person_id FROM core_persons
                                         WHERE household_id NOT IN (SELECT household_id FROM _purge_hh))""")
    con.execute("CREATE OR REPLACE TEMP TABLE _purge_files (file_sha256 VARCHAR)")
    for name in model.tables():
        key = (
            "person_id IN (SELECT person_id FROM _purge_p)"
            if name == "followups"
            else "household_id IN (SELECT household_id FROM _purge_hh)"
        )
        con.execute(f"INSERT INTO _purge_files SELECT DISTINCT file_sha256 FROM raw_{name} WHERE {key}")
        for layer in ("raw", "core"):
            n = con.execute(f"SELECT count(*) FROM {layer}_{name} WHERE {key}").fetchone()[0]
            con.execute(f"DELETE FROM {layer}_{name} WHERE {key}")
            report.rows_deleted[f"{layer}_{name}"] = report.rows_deleted.get(f"{layer}_{name}", 0) + n
    # a stored validation result counts the deleted rows: it goes with them (Data Docs validate such a file anew)
    con.execute("DELETE FROM gx_results WHERE file_sha256 IN (SELECT file_sha256 FROM _purge_files)")


def purge(
    con: duckdb.DuckDBPyConnection, config: Config, today: dt.date | None = None, dry_run: bool = False
) -> PurgeReport:
    today = today or dt.date.today()
    report = PurgeReport()
    con.execute(ERASURE_DDL)
    con.execute("BEGIN TRANSACTION")
    try:
        expired = []
        for fp in ("esf_2014_2020", "esfplus_2021_2027"):
            end = retention_end(config, fp)
            if end is None:
                report.kept_because[fp] = "Aufbewahrungsfrist noch nicht bestimmt (letzte Zahlung unbekannt)"
            elif today <= end:
                report.kept_because[fp] = f"Aufbewahrung bis {end:%d.%m.%Y}"
            else:
                expired += [c.id for c in config.cycles if c.funding_period == fp]
        report.cycles = expired
        if expired:
            _delete_households(con, "project_cycle IN (SELECT unnest(?::VARCHAR[]))", [expired], report)
            erased = con.execute("""SELECT count(*) FROM erasure_requests WHERE purged_at IS NULL AND person_id IN
                                    (SELECT person_id FROM _purge_p)""").fetchone()[0]
            con.execute("""UPDATE erasure_requests SET purged_at = now()
                           WHERE purged_at IS NULL AND person_id IN (SELECT person_id FROM _purge_p)""")
            report.persons_erased = erased
        # archived exports whose rows are all gone hold only purged data: delete them too
        files = con.execute(
            "SELECT file_sha256, table_name, archive_path FROM ingest_files WHERE status = 'loaded'"
        ).fetchall()
        for sha, table, path in files:
            left = con.execute(f"SELECT count(*) FROM raw_{table} WHERE file_sha256 = ?", [sha]).fetchone()[0]
            if left == 0 and expired:
                con.execute("UPDATE ingest_files SET status = 'purged' WHERE file_sha256 = ?", [sha])
                # one archive copy per content: another delivery of the same bytes may still need it
                shared = con.execute(
                    "SELECT count(*) FROM ingest_files WHERE archive_path = ? AND status = 'loaded'", [path]
                ).fetchone()[0]
                if not dry_run and not shared and path and Path(path).exists():
                    Path(path).unlink()
                report.archive_files_deleted += 1
        con.execute("ROLLBACK" if dry_run else "COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report
