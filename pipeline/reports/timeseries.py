"""Monthly time series, coach breakdown and data-quality tables read from the views in force.

The caller has created the temp views ``households``, ``persons``, ``contacts``, ``helps`` (db.create_current_views)
for the snapshots the indicators used. Populations follow indicators.md: a cycle report covers the cycle's
cohort, a range report the households active in P; ``nicht angetreten`` never counts.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

POPULATION_SQL = """
households_of_p AS (
    SELECT * FROM households
    WHERE status IS DISTINCT FROM 'not_started'
      AND CASE WHEN $kind = 'cycle' THEN project_cycle = $cycle_id
               ELSE entry_date <= $p_end AND (exit_date IS NULL OR exit_date >= $p_start) END
)"""

# grain: one row per calendar month of the report window
MONTHLY_SQL = f"""
WITH {POPULATION_SQL},
months AS (
    SELECT CAST(m AS DATE) AS month_start, CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS month_end
    FROM unnest(generate_series(CAST(date_trunc('month', $m_start) AS DATE),
                                CAST(date_trunc('month', $m_end) AS DATE), INTERVAL 1 MONTH)) AS t(m)
),
counted_helps AS (
    SELECT hp.* FROM helps hp JOIN households_of_p h USING (household_id)
    WHERE list_contains($counted, hp.help_status)
      AND hp.initiated_date BETWEEN h.entry_date AND coalesce(h.exit_date, $data_state)
),
contacts_held AS (
    SELECT c.* FROM contacts c JOIN households_of_p h USING (household_id) WHERE c.took_place
),
participants AS (
    SELECT p.* FROM persons p JOIN households_of_p h USING (household_id) WHERE p.is_esf_participant
)
SELECT strftime(m.month_start, '%Y-%m') AS month,
    (SELECT count(*) FROM households_of_p h WHERE h.entry_date BETWEEN m.month_start AND m.month_end) AS entries,
    (SELECT count(*) FROM households_of_p h WHERE h.exit_date BETWEEN m.month_start AND m.month_end) AS exits,
    (SELECT count(*) FROM households_of_p h
      WHERE h.entry_date <= m.month_end AND coalesce(h.exit_date, $data_state) >= m.month_start) AS active,
    (SELECT count(*) FROM contacts_held c WHERE c.contact_date BETWEEN m.month_start AND m.month_end) AS contacts,
    (SELECT count(*) FROM counted_helps hp WHERE hp.initiated_date BETWEEN m.month_start AND m.month_end) AS helps,
    (SELECT count(*) FROM participants p
      WHERE p.esf_entry_date BETWEEN m.month_start AND m.month_end) AS esf_entries
FROM months m
ORDER BY m.month_start
"""

# grain: one row per coach (pseudonymous staff code) of the households of P; internal reports only
COACH_SQL = f"""
WITH {POPULATION_SQL}
SELECT h.coach_id AS coach,
    count(*) AS households,
    count(*) FILTER (WHERE h.exit_date IS NULL) AS active_households,
    (SELECT count(*) FROM contacts c WHERE c.took_place AND c.household_id IN
        (SELECT household_id FROM households_of_p x WHERE x.coach_id IS NOT DISTINCT FROM h.coach_id)) AS contacts,
    (SELECT count(*) FROM helps hp WHERE list_contains($counted, hp.help_status) AND hp.household_id IN
        (SELECT household_id FROM households_of_p x WHERE x.coach_id IS NOT DISTINCT FROM h.coach_id)) AS helps
FROM households_of_p h
GROUP BY h.coach_id
ORDER BY h.coach_id
"""

MONTHLY_COLUMNS = {
    "month": "Monat",
    "entries": "Eintritte BG",
    "exits": "Austritte BG",
    "active": "Aktive BG",
    "contacts": "Kontakte (stattgefunden)",
    "helps": "Eingeleitete Hilfen",
    "esf_entries": "ESF-Eintritte",
}


def _params(config, period, data_state: dt.date | None) -> dict:
    cycle = getattr(period, "cycle", None)
    state = data_state or period.end
    return {
        "kind": period.kind,
        "cycle_id": cycle.id if cycle is not None else str(period.id),
        "p_start": period.start,
        "p_end": period.end,
        "data_state": state,
        "counted": list(config.indicators.counted_help_statuses),
    }


def month_window(con, config, period, data_state: dt.date | None) -> tuple[dt.date, dt.date]:
    """Months to show: the range itself, or the cycle from its start until its cohort's last exit (≤ data state)."""
    if period.kind != "cycle":
        return period.start, period.end
    p = _params(config, period, data_state)
    last_exit = con.execute(
        f"WITH {POPULATION_SQL} SELECT max(exit_date) FROM households_of_p",
        {k: p[k] for k in ("kind", "cycle_id", "p_start", "p_end")},
    ).fetchone()[0]
    end = max(period.end, last_exit) if last_exit else period.end
    if data_state is not None:
        end = min(end, max(data_state, period.start))
    return period.start, end


def monthly(con, config, period, data_state: dt.date | None) -> pd.DataFrame:
    """Entries, exits, active households, contacts, helps and ESF entries per month of the report window."""
    m_start, m_end = month_window(con, config, period, data_state)
    params = _params(config, period, data_state) | {"m_start": m_start, "m_end": m_end}
    return con.execute(MONTHLY_SQL, params).df()


def by_coach(con, config, period, data_state: dt.date | None) -> pd.DataFrame:
    params = _params(config, period, data_state)
    params.pop("data_state")
    return con.execute(COACH_SQL, params).df()


def _has_table(con, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0])


def ingest_summary(con) -> pd.DataFrame:
    """One row per input file: rows read / loaded / quarantined (file names, never record contents)."""
    if not _has_table(con, "ingest_files"):
        return pd.DataFrame(columns=["file_name", "table_name", "snapshot_date", "rows_read", "rows_loaded",
                                     "rows_quarantined", "status", "message"])
    return con.execute(
        """SELECT file_name, table_name, snapshot_date, rows_read, rows_loaded, rows_quarantined, status, message
           FROM ingest_files ORDER BY table_name, snapshot_date, file_name"""
    ).df()


def problems_by_rule(con) -> pd.DataFrame:
    """Findings per severity, rule and table (counts only: values stay in the internal validation workbook)."""
    if not _has_table(con, "problems"):
        return pd.DataFrame(columns=["severity", "rule_id", "table_name", "n", "message"])
    df = con.execute(
        """SELECT severity, rule_id, table_name, count(*) AS n
           FROM problems GROUP BY severity, rule_id, table_name
           ORDER BY CASE min(severity) WHEN 'file_error' THEN 0 WHEN 'row_error' THEN 1 ELSE 2 END,
                    rule_id, table_name"""
    ).df()
    # the rule's title, not a sample message: messages carry the offending value
    titles = rule_titles()
    df["message"] = [titles.get(r, "") for r in df["rule_id"]]
    return df


def rule_titles() -> dict[str, str]:
    import tomllib
    from importlib import resources

    try:
        with resources.files("pipeline.data").joinpath("rules.toml").open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    return {k: v.get("title", "") for k, v in raw.items() if isinstance(v, dict)}


def stale_tables(snapshots: dict[str, dt.date], data_state: dt.date | None) -> list[tuple[str, dt.date | None, int]]:
    """Tables whose snapshot in force is older than the data state (or missing): (table, snapshot, days behind)."""
    from pipeline import model

    out = []
    for name in model.tables():
        snap = snapshots.get(name)
        if snap is None:
            out.append((name, None, -1))
        elif data_state is not None and snap < data_state:
            out.append((name, snap, (data_state - snap).days))
    return out


# grain: one row per destination code of the participants leaving in P (destination upon leaving, indicators.md)
DESTINATIONS_SQL = f"""
WITH {POPULATION_SQL},
leavers AS (
    SELECT p.* FROM persons p JOIN households_of_p h USING (household_id)
    WHERE p.is_esf_participant AND p.esf_exit_date IS NOT NULL AND p.esf_exit_date <= $data_state
      AND ($kind = 'cycle' OR p.esf_exit_date BETWEEN $p_start AND $p_end)
)
SELECT CASE WHEN destination IS NULL THEN 'unknown'
            WHEN destination_start IS NOT NULL AND destination_start > esf_exit_date + INTERVAL 28 DAY THEN 'unknown'
            ELSE destination END AS destination,
       count(*) AS n
FROM leavers GROUP BY ALL
"""


def destinations(con, config, period, data_state: dt.date | None) -> pd.DataFrame:
    """Participants leaving in P by destination upon leaving (a start later than exit + 28 days is `unbekannt`)."""
    params = _params(config, period, data_state)
    params.pop("counted")
    return con.execute(DESTINATIONS_SQL, params).df()
