"""Row-level checks of one export file, generated from the data model (``pipeline.model``).

Each :class:`Check` is one rule on one column, written twice from the same definition:
as a Great Expectations expectation (``gx_type`` + ``gx_kwargs``) and as a DuckDB failure predicate
(``sql``). Both run on the same frame ``_vf`` (core values, trimmed raw text ``raw__<col>``, condition
flags ``cond__<name>``, derived ``age_at_esf_entry``), so both engines report the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline import model
from pipeline.validation.rules import sql_literal

DATE_REGEX = r"^\s*(\d{1,2}\.\d{1,2}\.(\d{2}|\d{4})|\d{4}-\d{1,2}-\d{1,2}([ T]00:00(:00)?)?)\s*$"
ALPHA3_REGEX = r"^[A-Za-z]{3}$"

# Condition flags (exports.toml [conditions]) as SQL over core values; NULL counts as false.
CONDITIONS_SQL = {
    "participant": "coalesce(is_esf_participant, FALSE)",
    "esf_exit": "esf_exit_date IS NOT NULL",
    "help_not_planned": "coalesce(help_status <> 'planned', FALSE)",
    "unemployed": "coalesce(employment_status_entry = 'unemployed', FALSE)",
    "reached": "coalesce(reached, FALSE)",
    "active": "coalesce(status = 'active', FALSE)",
    "ended": "coalesce(status <> 'active', FALSE)",
    "not_met": "coalesce(contact_type = 'not_met', FALSE)",
}
CONDITION_COLUMNS = {
    "participant": "is_esf_participant",
    "esf_exit": "esf_exit_date",
    "help_not_planned": "help_status",
    "unemployed": "employment_status_entry",
    "reached": "reached",
    "active": "status",
    "ended": "status",
    "not_met": "contact_type",
}
CONDITION_TEXT = {
    "esf_exit": "ein ESF-Austritt eingetragen ist",
    "unemployed": "Erwerbsstatus bei Eintritt = arbeitslos gemeldet",
    "reached": "Erreicht = ja",
}
# Participant fields whose absence is a row error (R10) rather than an incomplete record (P01).
PARTICIPANT_ROW_ERROR = ("esf_entry_date", "consent_date")

# Impossible date orders (R07): (table, reported column, other column, relation). "vor": column < other fails.
DATE_ORDER = (
    ("households", "entry_date", "referral_date", "vor"),
    ("households", "exit_date", "entry_date", "vor"),
    ("persons", "esf_exit_date", "esf_entry_date", "vor"),
    ("persons", "consent_date", "esf_entry_date", "nach"),
    ("persons", "unemployed_since", "esf_entry_date", "nach"),
    ("helps", "status_date", "initiated_date", "vor"),
)
AGE_RANGE = (15, 67)


@dataclass(frozen=True)
class Check:
    rule_id: str
    table: str
    column: str  # reported column (canonical name)
    sql: str  # failure predicate over _vf
    gx_type: str  # expectation class name in great_expectations.expectations
    gx_kwargs: dict = field(default_factory=dict, hash=False)
    params: dict = field(default_factory=dict, hash=False)  # static message placeholders
    other_value_sql: str | None = None  # per-row {other_value}
    row_params_sql: dict = field(default_factory=dict, hash=False)  # per-row placeholders -> SQL
    window: bool = False  # predicate uses a window function (evaluated in a subquery)

    @property
    def value_sql(self) -> str:
        return value_sql(self.table, self.column)


def value_sql(table: str, column: str) -> str:
    """What the problem shows as value: raw text, birth date as year only, nothing for special categories."""
    if column == "age_at_esf_entry":
        return "CAST(age_at_esf_entry AS VARCHAR)"
    col = model.tables()[table].column(column)
    if col.special_category or col.type == "pseudonym":
        return "NULL"
    if col.date_kind == "birth":
        return "CAST(year(birth_date) AS VARCHAR)"
    return f"raw__{column}"


def frame_sql(
    table: model.Table, sha_literal: str, rows_sql: str | None = None, span: tuple[int, int] | None = None
) -> str:
    """Query of ``_vf`` for one file: join of raw and core on lineage plus condition flags.

    ``rows_sql``: optional query of source_row values; only those rows (filtered on both sides before the join).
    ``span``: optional (first, last) source_row; only the rows in between (both sides, before the join).
    """
    stored = [n for n, _ in table.stored_columns]
    parts = ["c.source_row", "c.snapshot_date"]
    parts += [f"c.{n}" for n in stored]
    parts += [f"nullif(trim(r.{n}), '') AS raw__{n}" for n in stored]
    names = set(stored)
    derived = [f"({expr}) AS cond__{cond}" for cond, expr in CONDITIONS_SQL.items() if CONDITION_COLUMNS[cond] in names]
    if table.name == "persons":
        derived.append(
            "CASE WHEN coalesce(is_esf_participant, FALSE) THEN date_sub('year', birth_date, esf_entry_date) "
            "END AS age_at_esf_entry"
        )
    # Both sides filtered to the file first, then joined on source_row alone: hashing the 64-character file
    # hash of every row made the join ~2x slower (issue 7: 7.9 M contacts 10.8 s -> 6 s).
    where = f"file_sha256 = {sha_literal}" + (f" AND source_row IN ({rows_sql})" if rows_sql else "")
    if span:
        where += f" AND source_row BETWEEN {int(span[0])} AND {int(span[1])}"
    inner = (
        f"SELECT {', '.join(parts)} FROM (SELECT * FROM core_{table.name} WHERE {where}) c "
        f"JOIN (SELECT source_row, {', '.join(stored)} FROM raw_{table.name} WHERE {where}) r "
        f"USING (source_row)"
    )
    return f"SELECT *, {', '.join(derived) or 'NULL AS _none'} FROM ({inner})"


# Rows per join of raw and core in the SQL engine: the join of a whole 23.6-million-row contacts file (300,000
# households) outgrew ingest's memory limit and spilled (its check took 320 s, 17x the 19 s of 100,000); joined in
# ranges of source_row, every hash table stays small and the cost grows linearly with the file.
JOIN_CHUNK_ROWS = 1_000_000


def row_ranges(con, table: model.Table, sha: str) -> list[tuple[int, int]]:
    """Ranges of source_row (inclusive) of one file, each of at most JOIN_CHUNK_ROWS rows' span."""
    lo, hi = con.execute(
        f"SELECT min(source_row), max(source_row) FROM core_{table.name} WHERE file_sha256 = {sha}"
    ).fetchone()
    if lo is None:
        return [(0, 0)]
    return [(a, min(a + JOIN_CHUNK_ROWS - 1, hi)) for a in range(lo, hi + 1, JOIN_CHUNK_ROWS)]


def _norm_sql(expr: str) -> str:
    return f"lower(regexp_replace(trim(nfc_normalize({expr})), '\\s+', ' ', 'g'))"


def checks_for(table_name: str, cycles: tuple[str, ...] | None = None) -> list[Check]:
    """All row-level checks of a table, in a stable order (rule id, column)."""
    table = model.tables()[table_name]
    lists = model.label_lists()
    out: list[Check] = []
    t = table_name

    for col in table.columns:
        if col.type == "pseudonym":
            continue
        n, raw = col.name, f"raw__{col.name}"
        p = {"header": col.header}
        if col.required == "yes":
            out.append(Check("R01", t, n, f"{raw} IS NULL", "ExpectColumnValuesToNotBeNull", {"column": raw}, p))
        if col.type == "label":
            allowed = sorted({model.normalise(lbl) for lbl in lists[col.labels].labels.values()})
            out.append(
                Check(
                    "R02",
                    t,
                    n,
                    f"{raw} IS NOT NULL AND {n} IS NULL",
                    "ExpectColumnValuesToBeInSet",
                    {"column": f"norm__{n}", "value_set": allowed},
                    {**p, "allowed": f"Liste {col.header}"},
                )
            )
        elif col.type == "list":
            allowed = sorted({model.normalise(lbl) for lbl in lists[col.labels].labels.values()})
            in_list = ", ".join(sql_literal(a) for a in allowed)
            # Cheap pre-filter first: a list the mapper kept whole (one code per item) has no unknown item.
            items = f"(length({raw}) - length(replace({raw}, ',', '')) + 1)"
            pred = (
                f"{raw} IS NOT NULL AND ({n} IS NULL OR len({n}) <> {items}) "
                f"AND len(list_filter(string_split({raw}, ','), "
                f"lambda x: trim(x) <> '' AND {_norm_sql('x')} NOT IN ({in_list}))) > 0"
            )
            out.append(
                Check(
                    "R02",
                    t,
                    n,
                    pred,
                    "ExpectColumnValuesToBeNull",
                    {"column": f"bad__{n}"},
                    {**p, "allowed": f"Liste {col.header}"},
                )
            )
        elif col.type == "text" and col.upper:
            out.append(
                Check(
                    "R02",
                    t,
                    n,
                    f"NOT regexp_full_match({raw}, '{ALPHA3_REGEX[1:-1]}')",
                    "ExpectColumnValuesToMatchRegex",
                    {"column": raw, "regex": ALPHA3_REGEX},
                    {**p, "allowed": "ISO-3166-Alpha-3-Code, z. B. DEU"},
                )
            )
        elif col.type == "date":
            out.append(
                Check(
                    "R03",
                    t,
                    n,
                    # the expectation's own predicate (format only); impossible dates are the next check's
                    f"NOT regexp_full_match({raw}, '{DATE_REGEX[1:-1]}')",
                    "ExpectColumnValuesToMatchRegex",
                    {"column": raw, "regex": DATE_REGEX},
                    p,
                )
            )
            out.append(
                Check(
                    "R03",
                    t,
                    n,
                    f"{raw} IS NOT NULL AND {n} IS NULL",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": n, "row_condition": f"{raw}.notna()", "condition_parser": "pandas"},
                    p,
                )
            )
        elif col.type in ("int", "decimal"):
            out.append(
                Check(
                    "R04",
                    t,
                    n,
                    f"{raw} IS NOT NULL AND {n} IS NULL",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": n, "row_condition": f"{raw}.notna()", "condition_parser": "pandas"},
                    p,
                )
            )
        if col.min is not None or col.max is not None:
            lo = "" if col.min is None else str(col.min)
            hi = "" if col.max is None else str(col.max)
            rng = f"{lo}–{hi}" if col.max is not None else f"≥ {lo}"
            conds = ([f"{n} < {col.min}"] if col.min is not None else []) + (
                [f"{n} > {col.max}"] if col.max is not None else []
            )
            out.append(
                Check(
                    "R05",
                    t,
                    n,
                    " OR ".join(conds),
                    "ExpectColumnValuesToBeBetween",
                    {"column": n, "min_value": col.min, "max_value": col.max},
                    {**p, "range": rng},
                )
            )
        if n == "project_cycle" and cycles is not None:
            ids = ", ".join(sql_literal(c) for c in cycles) or "NULL"
            out.append(
                Check(
                    "R13",
                    t,
                    n,
                    f"{raw} IS NOT NULL AND {raw} NOT IN ({ids})",
                    "ExpectColumnValuesToBeInSet",
                    {"column": raw, "value_set": list(cycles)},
                    p,
                )
            )
        if col.required == "if":
            cond = col.condition
            gx = {"column": raw, "row_condition": f"cond__{cond} == True", "condition_parser": "pandas"}
            pred = f"cond__{cond} AND {raw} IS NULL"
            if cond == "participant":
                rid = "R10" if n in PARTICIPANT_ROW_ERROR else "P01"
                out.append(Check(rid, t, n, pred, "ExpectColumnValuesToNotBeNull", gx, p))
            elif cond == "help_not_planned":
                out.append(
                    Check(
                        "R12",
                        t,
                        n,
                        pred,
                        "ExpectColumnValuesToNotBeNull",
                        gx,
                        p,
                        row_params_sql={"status": "raw__help_status"},
                    )
                )
            else:
                out.append(
                    Check(
                        "P02", t, n, pred, "ExpectColumnValuesToNotBeNull", gx, {**p, "condition": CONDITION_TEXT[cond]}
                    )
                )

    if table.key:
        key = list(table.key)
        notnull = " AND ".join(f"{k} IS NOT NULL" for k in key)
        pred = f"{notnull} AND count(*) OVER (PARTITION BY {', '.join(key)}) > 1"
        if len(key) == 1:
            gx_type, gx = "ExpectColumnValuesToBeUnique", {"column": key[0]}
        else:
            gx_type, gx = (
                "ExpectCompoundColumnsToBeUnique",
                {"column_list": key, "ignore_row_if": "any_value_is_missing"},
            )
        out.append(Check("R06", t, key[0], pred, gx_type, gx, {"header": table.column(key[0]).header}, window=True))

    for tt, a, b, relation in DATE_ORDER:
        if tt != t:
            continue
        pred = f"{a} < {b}" if relation == "vor" else f"{a} > {b}"
        col_a, col_b = (a, b) if relation == "vor" else (b, a)  # GX: column_A >= column_B
        out.append(
            Check(
                "R07",
                t,
                a,
                pred,
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": col_a, "column_B": col_b, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
                {
                    "header": table.column(a).header,
                    "other_header": table.column(b).header,
                    "relation": "vor" if relation == "vor" else "nach",
                },
                other_value_sql=f"raw__{b}",
            )
        )
    if t == "persons":
        out.append(
            Check(
                "R08",
                t,
                "birth_date",
                "birth_date > snapshot_date",
                "ExpectColumnValuesToBeBetween",
                {"column": "birth_date", "max_value": "$snapshot_date"},
            )
        )
        lo, hi = AGE_RANGE
        out.append(
            Check(
                "P03",
                t,
                "age_at_esf_entry",
                f"age_at_esf_entry < {lo} OR age_at_esf_entry > {hi}",
                "ExpectColumnValuesToBeBetween",
                {"column": "age_at_esf_entry", "min_value": lo, "max_value": hi},
            )
        )
    if t == "households":
        status = {"status": "raw__status"}
        out.append(
            Check(
                "R09",
                t,
                "exit_date",
                "cond__active AND raw__exit_date IS NOT NULL",
                "ExpectColumnValuesToBeNull",
                {"column": "raw__exit_date", "row_condition": "cond__active == True", "condition_parser": "pandas"},
                row_params_sql=status,
            )
        )
        out.append(
            Check(
                "R09",
                t,
                "exit_date",
                "cond__ended AND raw__exit_date IS NULL",
                "ExpectColumnValuesToNotBeNull",
                {"column": "raw__exit_date", "row_condition": "cond__ended == True", "condition_parser": "pandas"},
                row_params_sql=status,
            )
        )
    if t == "contacts":
        out.append(
            Check(
                "R11",
                t,
                "took_place",
                "cond__not_met AND took_place",
                "ExpectColumnValuesToBeInSet",
                {
                    "column": "took_place",
                    "value_set": [False],
                    "row_condition": "cond__not_met == True",
                    "condition_parser": "pandas",
                },
            )
        )
    return out
