"""The export data model and label lists, loaded once from ``pipeline/data/*.toml``.

Everything that needs to know a header, a type, a label or a rule asks this module:
reading, mapping, validation, the generator, the schema and the docs.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

DUCKDB_TYPES = {
    "text": "VARCHAR",
    "int": "INTEGER",
    "decimal": "DOUBLE",
    "date": "DATE",
    "bool": "BOOLEAN",
    "label": "VARCHAR",
    "list": "VARCHAR[]",
    "pseudonym": "VARCHAR",
}


def normalise(text: str) -> str:
    """Comparison key of exports.md: trim, NFC, case fold, collapse inner white space."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@dataclass(frozen=True)
class Column:
    header: str
    name: str
    type: str
    required: str  # "yes" | "if" | "no"
    labels: str | None = None
    condition: str | None = None
    date_kind: str | None = None
    hash_as: str | None = None
    special_category: bool = False
    upper: bool = False
    pad: int | None = None
    min: int | None = None
    max: int | None = None

    @property
    def stored_name(self) -> str:
        """Column name in the database (pseudonyms are stored as their hash)."""
        return self.hash_as if self.type == "pseudonym" else self.name


@dataclass(frozen=True)
class Table:
    name: str
    file_prefix: str
    label: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def stored_columns(self) -> list[tuple[str, str]]:
        """(name, DuckDB type) of the canonical table, pseudonyms folded into their hash."""
        out: dict[str, str] = {}
        for c in self.columns:
            out.setdefault(c.stored_name, DUCKDB_TYPES[c.type])
        return list(out.items())


@dataclass(frozen=True)
class LabelList:
    name: str
    labels: dict[str, str]  # code -> German label, in report order
    groups: dict[str, str] = field(default_factory=dict)  # code -> group code (help_type)

    def code_for(self, label: str) -> str | None:
        return self._by_key().get(normalise(label))

    @cache  # noqa: B019 - lists are few and immutable
    def _by_key(self) -> dict[str, str]:
        return {normalise(lbl): code for code, lbl in self.labels.items()}

    def __hash__(self) -> int:
        return hash(self.name)


def _load_toml(name: str) -> dict:
    with resources.files("pipeline.data").joinpath(name).open("rb") as fh:
        return tomllib.load(fh)


@cache
def label_lists() -> dict[str, LabelList]:
    raw = _load_toml("labels.toml")
    lists: dict[str, LabelList] = {}
    for name, entries in raw.items():
        if name == "eu27":
            continue
        if name == "help_type":
            labels, groups = {}, {}
            for group, types in entries.items():
                for code, label in types.items():
                    labels[code] = label
                    groups[code] = group
            lists[name] = LabelList(name, labels, groups)
        else:
            lists[name] = LabelList(name, dict(entries))
    return lists


@cache
def eu27() -> tuple[str, ...]:
    return tuple(_load_toml("labels.toml")["eu27"]["codes"])


@cache
def tables() -> dict[str, Table]:
    raw = _load_toml("exports.toml")
    out = {}
    for name, t in raw["tables"].items():
        cols = tuple(Column(**c) for c in t["columns"])
        out[name] = Table(name, t["file_prefix"], t["label"], tuple(t["key"]), cols)
    return out


def export_header(table: str | None, column: str | None) -> str | None:
    """The column's header as the export names it; None for a column no export has (a derived one)."""
    t = tables().get(table or "")
    return next((c.header for c in t.columns if c.name == column), None) if t else None


# columns the checks derive (pipeline.validation.checks): in no export, so named here for the readers
DERIVED_COLUMNS = {"age_at_esf_entry": "Alter bei ESF-Eintritt (berechnet)"}


def column_label(table: str | None, column: str) -> str:
    """What a reader calls the column: the export's header, a derived column's German name, else its name."""
    return export_header(table, column) or DERIVED_COLUMNS.get(column, column)


@cache
def conditions() -> dict[str, str]:
    return dict(_load_toml("exports.toml")["conditions"])


def table_for_prefix(prefix: str) -> Table | None:
    for t in tables().values():
        if t.file_prefix == prefix.casefold():
            return t
    return None


def ref_label_rows() -> list[tuple[str, str, str, int, str | None]]:
    """Rows of the ``ref_labels`` table: (list_name, code, label, sort_order, group_code)."""
    rows = []
    for lst in label_lists().values():
        for i, (code, label) in enumerate(lst.labels.items()):
            rows.append((lst.name, code, label, i, lst.groups.get(code)))
    return rows
