"""Map an export onto the data model: headers to canonical columns, text to typed values and label codes.

Header and label comparison follows exports.md: trim, NFC, case fold, collapse white space; nothing fuzzier.
Typed values are computed in DuckDB SQL (fast at ten million rows); label look-ups are computed in
Python over the *distinct* values only and joined back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from pipeline import model
from pipeline.read import FileProblem


@dataclass
class HeaderMap:
    positions: dict[str, int]  # canonical column name -> position in the file
    extra: dict[str, int]  # unknown header -> position (kept in raw, reported)
    missing_optional: list[model.Column] = field(default_factory=list)
    unnamed: set[str] = field(default_factory=set)  # extra headers of empty trailing header cells


def _trailing_empty(headers: list[str]) -> int:
    """Position after the last non-empty header: empty cells behind it are not columns (exports.md)."""
    n = len(headers)
    while n and not headers[n - 1].strip():
        n -= 1
    return n


def map_headers(table: model.Table, headers: list[str], remap: dict[str, str] | None = None) -> HeaderMap:
    """Positions of the model's columns; FileProblem F07/F04 for duplicate or missing required headers."""
    by_key = {model.normalise(c.header): c for c in table.columns}
    remap_keys = {model.normalise(k): model.normalise(v) for k, v in (remap or {}).items()}
    positions: dict[str, int] = {}
    extra: dict[str, int] = {}
    seen: dict[str, int] = {}
    named = _trailing_empty(headers)
    for i, header in enumerate(headers):
        key = model.normalise(header)
        if not key:
            key = f"spalte_{i + 1}"
        key = remap_keys.get(key, key)
        if key in seen:
            raise FileProblem("F07", f"Spaltenüberschrift doppelt: {header!r}", column=header)
        seen[key] = i
        col = by_key.get(key)
        if col is not None:
            positions[col.name] = i
        else:
            extra[header or f"Spalte {i + 1}"] = i
    missing = [c for c in table.columns if c.name not in positions]
    required = [c for c in missing if c.required == "yes"]
    if required:
        names = ", ".join(f"'{c.header}' ({c.name})" for c in required)
        raise FileProblem(
            "F04",
            f"Pflichtspalte fehlt: {names}. Bitte den Export mit allen Spalten wiederholen.",
            column=required[0].name,
        )
    unnamed = {f"Spalte {i + 1}" for i in range(named, len(headers))}
    return HeaderMap(positions, extra, missing, unnamed)


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def raw_select(table: model.Table, hmap: HeaderMap) -> str:
    """SELECT list turning positional columns c0..cN into the raw layer's columns (pseudonyms hashed)."""
    exprs: dict[str, str] = {}
    for col in table.columns:
        pos = hmap.positions.get(col.name)
        if col.type == "pseudonym":
            parts = [c for c in table.columns if c.hash_as == col.hash_as]
            if col.stored_name in exprs:
                continue
            args = [f"c{hmap.positions[p.name]}" if p.name in hmap.positions else "NULL" for p in parts]
            exprs[col.stored_name] = f"pseudonym([{', '.join(args)}])"
        else:
            exprs[col.name] = f"c{pos}" if pos is not None else "NULL"
    select = [f"{e} AS {n}" for n, e in exprs.items()]
    if hmap.extra:
        keys = ", ".join(_sql_str(h) for h in hmap.extra)
        vals = ", ".join(f"c{i}" for i in hmap.extra.values())
        # no map where every extra cell is empty (extra_columns[...] is NULL either way): writing a MAP for
        # every row cost ~25 % of the raw load of a large file with a mostly empty extra column (issue 7)
        empty = " AND ".join(f"c{i} IS NULL" for i in hmap.extra.values())
        select.append(f"CASE WHEN {empty} THEN NULL ELSE MAP([{keys}], [{vals}]) END AS extra_columns")
    else:
        select.append("NULL AS extra_columns")
    return ", ".join(select)


def _date_expr(x: str, birth: bool) -> str:
    """Date text -> DATE: TT.MM.JJJJ, TT.MM.JJ (20JJ; birth dates 19JJ when JJ > snapshot year), ISO."""
    t = f"trim({x})"
    century = (
        f"CASE WHEN CAST(right({t}, 2) AS INTEGER) > year(snapshot_date) % 100 THEN '19' ELSE '20' END"
        if birth
        else "'20'"
    )
    # TT.MM.JJJJ (the export's usual form) first, behind a cheap length/position test: one regex per row, not two
    return f"""CASE
        WHEN {x} IS NULL OR {t} = '' THEN NULL
        WHEN length({t}) = 10 AND {t}[3] = '.' AND {t}[6] = '.'
             AND regexp_full_match({t}, '\\d\\d\\.\\d\\d\\.\\d{{4}}')
            THEN try_strptime({t}, '%d.%m.%Y')::DATE
        WHEN regexp_full_match({t}, '\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}([ T][0-9:.]*)?')
            THEN try_strptime(left({t}, 10), '%Y-%m-%d')::DATE
        WHEN regexp_full_match({t}, '\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{4}}')
            THEN try_strptime({t}, '%d.%m.%Y')::DATE
        WHEN regexp_full_match({t}, '\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{2}}')
            THEN try_strptime(left({t}, length({t}) - 2) || {century} || right({t}, 2), '%d.%m.%Y')::DATE
        ELSE NULL END"""


def typed_insert(table: model.Table) -> str:
    """INSERT of one file's raw rows ($sha) into core_<table>, typed; NULL where unparseable.

    Label look-ups read one MAP per label list (raw text -> code) built from _labelmap; list columns join
    ``_listmap_<column>`` (each distinct list text -> its codes), built by :func:`build_label_map`.
    """
    lists = sorted({c.labels for c in table.columns if c.type in ("label", "list")} | {"_bool"})
    maps = ", ".join(
        f"(SELECT map_from_entries(list({{'k': raw, 'v': code}})) FROM _labelmap WHERE list_name = '{name}'"
        f" AND code IS NOT NULL) AS _m_{name}"
        for name in lists
    )
    cols = ", ".join(n for n, _ in table.stored_columns)
    return (
        f"INSERT INTO core_{table.name} (file_sha256, source_row, snapshot_date, {cols}) "
        f"WITH maps AS (SELECT {maps}) "
        f"SELECT file_sha256, source_row, snapshot_date, {typed_select(table)} "
        f"FROM raw_{table.name} AS r{_list_joins(table)}, maps WHERE file_sha256 = $sha"
    )


def _list_joins(table: model.Table) -> str:
    return "".join(
        f" LEFT JOIN _listmap_{c.name} AS _lm_{c.name} ON _lm_{c.name}.list_text = r.{c.name}"
        for c in table.columns
        if c.type == "list"
    )


def typed_select(table: model.Table) -> str:
    """SELECT list over raw_<table> (joined with the label maps) giving the typed canonical columns."""
    exprs = []
    for name, _ in table.stored_columns:
        col = next(c for c in table.columns if c.stored_name == name)
        x = name
        t = col.type
        if t == "pseudonym":
            e = x
        elif t == "text":
            e = f"NULLIF(trim({x}), '')"
            if col.upper:
                e = f"upper({e})"
            if col.pad:
                digits = f"'\\d{{1,{col.pad}}}'"
                e = f"CASE WHEN regexp_full_match({e}, {digits}) THEN lpad({e}, {col.pad}, '0') ELSE {e} END"
        elif t == "int":
            e = f"TRY_CAST(trim({x}) AS INTEGER)"
        elif t == "decimal":
            e = f"TRY_CAST(replace(replace(trim({x}), '.', ''), ',', '.') AS DOUBLE)"
        elif t == "date":
            e = _date_expr(x, col.date_kind == "birth")
        elif t == "bool":
            e = f"(_m__bool[{x}] = 'yes')"
        elif t == "label":
            e = f"_m_{col.labels}[{x}]"
        elif t == "list":
            e = f"CASE WHEN NULLIF(trim(r.{x}), '') IS NULL THEN NULL ELSE _lm_{x}.codes END"
        else:  # pragma: no cover - the model knows no other type
            raise ValueError(t)
        exprs.append(f"{e} AS {name}")
    return ", ".join(exprs)


BOOL_LABELS = {"ja": "yes", "nein": "no"}


def build_label_map(con: duckdb.DuckDBPyConnection, table: model.Table, file_sha256: str) -> None:
    """Fill temp table _labelmap with the distinct raw values of this file's label columns and their codes."""
    con.execute("CREATE OR REPLACE TEMP TABLE _labelmap (list_name VARCHAR, raw VARCHAR, code VARCHAR)")
    lists = model.label_lists()
    rows: list[tuple[str, str, str | None]] = []
    for col in table.columns:
        if col.type not in ("label", "bool", "list"):
            continue
        if col.type == "list":
            # the distinct list texts once (7.4 M contacts: ~150 texts); their items are the labels to map
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _listtext_{col.name} AS SELECT DISTINCT {col.name} AS list_text "
                f"FROM raw_{table.name} WHERE file_sha256 = ? AND {col.name} IS NOT NULL",
                [file_sha256],
            )
            q = f"SELECT DISTINCT trim(unnest(string_split(list_text, ','))) FROM _listtext_{col.name}"
            params = []
        else:
            q = f"SELECT DISTINCT {col.name} FROM raw_{table.name} WHERE file_sha256 = ? AND {col.name} IS NOT NULL"
            params = [file_sha256]
        for (raw,) in con.execute(q, params).fetchall():
            if col.type == "bool":
                rows.append(("_bool", raw, BOOL_LABELS.get(model.normalise(raw))))
            else:
                rows.append((col.labels, raw, lists[col.labels].code_for(raw)))
    if rows:
        con.executemany("INSERT INTO _labelmap VALUES (?, ?, ?)", list(set(rows)))
    for col in table.columns:
        if col.type != "list":
            continue
        # each distinct list text mapped once (unknown items stay NULL), joined by typed_insert: splitting and
        # mapping the list of every row was the costliest expression of a large contacts file (issue 7)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _listmap_{col.name} AS "
            f"SELECT list_text, list_transform(string_split(list_text, ','), lambda e: m[trim(e)]) AS codes "
            f"FROM _listtext_{col.name}, "
            f"(SELECT map_from_entries(list({{'k': raw, 'v': code}})) AS m FROM _labelmap "
            f"WHERE list_name = '{col.labels}' AND code IS NOT NULL)"
        )
