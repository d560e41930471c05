"""Validation outputs: ``validation_report.xlsx`` (openpyxl) here, the offline Data Docs in ``data_docs``.

Privacy: record ids and hashes only, never names or BG numbers; birth dates only as year; no values of
special-category columns; input values that look like formulas are written as text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import duckdb

from pipeline import files, model
from pipeline.validation import data_docs
from pipeline.validation.cross import files_in_force
from pipeline.validation.rules import FORMULA_START, rules, sql_literal

write_data_docs = data_docs.write_data_docs  # the tests and older callers name it here

SEVERITY_DE = {"file_error": "Dateifehler", "row_error": "Zeilenfehler", "warning": "Warnung"}
# (header, width in characters[, wrapped]): long texts wrap in narrower columns, so that a printed page (A4
# landscape, all columns on its width) stays readable
PROBLEM_HEADERS = [
    ("Schweregrad", 13),
    ("Regel", 7),
    ("Regel (Titel)", 22, True),
    ("Tabelle", 13),
    ("Datei", 30, True),
    ("Zeile", 7),
    ("Spalte", 18, True),
    ("Spalte (kanonisch)", 18, True),
    ("Wert", 16, True),
    ("Meldung", 60, True),
]
LINE_HEIGHT = 15  # points: one line of the default font (Calibri 11)
RECORD_ID_COLUMNS = {
    "households": ["household_id"],
    "persons": ["person_id", "household_id"],
    "contacts": ["contact_id", "household_id", "person_id"],
    "helps": ["help_id", "household_id", "person_id"],
    "followups": ["person_id"],
}


def _latest_cross_run(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT run_id FROM problems WHERE rule_id LIKE 'X%' ORDER BY rowid DESC LIMIT 1").fetchone()
    return row[0] if row else None


def select_problems(con: duckdb.DuckDBPyConnection, run_id: str | None = None, as_of: dt.date | None = None):
    """Problems in force: row rules of the files in force, cross rules and file rules of the run (or latest)."""
    shas = [s for v in files_in_force(con, as_of).values() for s in v]
    sha_list = ", ".join(sql_literal(s) for s in shas) or "NULL"
    cross_run = run_id or _latest_cross_run(con)
    file_run = (
        run_id
        or (
            con.execute(
                "SELECT run_id FROM problems WHERE rule_id SIMILAR TO '[FW][0-9]+' ORDER BY rowid DESC LIMIT 1"
            ).fetchone()
            or [None]
        )[0]
    )
    return con.execute(
        f"""SELECT severity, rule_id, table_name, file_name, source_row, column_name, value, message
            FROM problems
            WHERE (regexp_matches(rule_id, '^[RP]') AND file_sha256 IN ({sha_list}))
               OR (rule_id LIKE 'X%' AND run_id IS NOT DISTINCT FROM ?)
               OR (regexp_matches(rule_id, '^[FW]') AND run_id IS NOT DISTINCT FROM ?)
            ORDER BY CASE severity WHEN 'file_error' THEN 0 WHEN 'row_error' THEN 1 ELSE 2 END,
                     table_name, file_name, source_row, rule_id, column_name""",
        [cross_run, file_run],
    ).fetchall()


def safe_value(table: str | None, column: str | None, value: object) -> object:
    """A value as it may appear in an output (defence in depth over what validation stored)."""
    if value is None:
        return None
    text = str(value)
    tables = model.tables()
    if table in tables and column:
        try:
            col = tables[table].column(column)
        except KeyError:
            col = None
        if col is not None:
            if col.special_category or col.type == "pseudonym":
                return None
            if col.date_kind == "birth":
                m = re.fullmatch(r"\d{4}", text)
                return text if m else None
    if column in ("name_hash", "bg_number_hash", "first_name", "last_name", "jobcenter_bg_number"):
        return None
    return text


def _put(ws, row: int, col: int, value: object) -> None:
    """Write one cell; text starting like a formula stays text."""
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.data_type = "s"


def _lines(value: object, width: int) -> int:
    """Lines a wrapped cell needs, counted generously (a column's width is in widths of a digit; most letters
    are narrower): a row too tall looks loose, one too short hides the end of a message."""
    return sum(max(1, math.ceil(len(part) / max(width - 2, 1))) for part in str(value).split("\n"))


def _sheet(wb, title: str, headers: list[tuple], rows: list[list[object]]):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title[:31])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    top, wrapped = Alignment(vertical="top"), Alignment(vertical="top", wrap_text=True)
    wraps = {}  # column: width, of the wrapped columns
    for j, (name, width, *wrap) in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=j, value=name)
        cell.font, cell.fill = bold, fill
        ws.column_dimensions[get_column_letter(j)].width = width
        if wrap:
            wraps[j] = width
    for i, values in enumerate(rows, start=2):
        lines = 1
        for j, v in enumerate(values, start=1):
            _put(ws, i, j, v)
            ws.cell(row=i, column=j).alignment = wrapped if j in wraps else top
            if j in wraps and v is not None:
                lines = max(lines, _lines(v, wraps[j]))
        if lines > 1:  # row heights are set here: Excel does not grow a row for wrapped text by itself
            ws.row_dimensions[i].height = LINE_HEIGHT * lines
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(rows) + 1, 1)}"
    # printed as the coaches use it: A4 landscape, all columns on one page width, header row on every page
    ws.page_setup.paperSize, ws.page_setup.orientation = ws.PAPERSIZE_A4, ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.oddHeader.left.text = "Prüfbericht – " + ws.title.replace("&", "&&")
    ws.oddFooter.center.text = "Seite &P von &N"
    return ws


STATE_HEADERS = [("Tabelle", 16), ("Stand in Kraft", 14), ("Datei", 30, True),
                 ("Abgewiesene neuere Lieferungen", 36, True), ("Erläuterung", 70, True)]


def _state_rows(con: duckdb.DuckDBPyConnection, as_of: dt.date | None) -> list[list[object]]:
    """Which snapshot of each table is in force and why (pipeline.deliveries)."""
    from pipeline import deliveries

    return [
        [
            st.label,
            st.snapshot_date,
            st.file_name,
            "; ".join(f"{r.file_name}: {r.reason}" for r in st.refused) or None,
            st.text,
        ]
        for st in deliveries.table_states(con, as_of)
    ]


def write_workbook(
    con: duckdb.DuckDBPyConnection, path: Path, run_id: str | None = None, as_of: dt.date | None = None
) -> Path:
    """``validation_report.xlsx``: problems, summary by table and rule, quarantined rows per table."""
    from openpyxl import Workbook

    tables, catalogue = model.tables(), rules()
    problems = select_problems(con, run_id, as_of)
    wb = Workbook()
    wb.remove(wb.active)

    rows = []
    for sev, rid, table, fname, srow, column, value, message in problems:
        rows.append(
            [
                SEVERITY_DE.get(sev, sev),
                rid,
                catalogue[rid].title if rid in catalogue else "",
                tables[table].label if table in tables else table,
                fname,
                srow,
                model.column_label(table, column) if column else None,
                column,
                safe_value(table, column, value),
                message,
            ]
        )
    summary: dict[tuple, int] = {}
    for sev, rid, table, *_ in problems:
        key = (tables[table].label if table in tables else (table or ""), rid, sev)
        summary[key] = summary.get(key, 0) + 1
    sum_rows = [
        [t, rid, catalogue[rid].title if rid in catalogue else "", SEVERITY_DE.get(sev, sev), n]
        for (t, rid, sev), n in sorted(summary.items())
    ]
    _sheet(
        wb,
        "Zusammenfassung",
        [("Tabelle", 18), ("Regel", 8), ("Regel (Titel)", 40), ("Schweregrad", 14), ("Anzahl", 10)],
        sum_rows,
    )
    _sheet(wb, "Probleme", PROBLEM_HEADERS, rows)
    _sheet(wb, "Datenstand", STATE_HEADERS, _state_rows(con, as_of))

    in_force = files_in_force(con, as_of)
    for name, table in tables.items():
        ids = RECORD_ID_COLUMNS[name]
        shas = ", ".join(sql_literal(s) for s in in_force.get(name, [])) or "NULL"
        q = con.execute(
            f"""SELECT f.file_name, c.source_row, {", ".join("c." + i for i in ids)},
                       string_agg(DISTINCT p.rule_id, ', ' ORDER BY p.rule_id),
                       string_agg(p.message, ' | ' ORDER BY p.rule_id)
                FROM core_{name} c JOIN ingest_files f USING (file_sha256)
                LEFT JOIN problems p ON p.file_sha256 = c.file_sha256 AND p.source_row = c.source_row
                     AND p.severity = 'row_error'
                WHERE c.quarantined AND c.file_sha256 IN ({shas})
                GROUP BY ALL ORDER BY 1, 2"""
        ).fetchall()
        headers = [("Datei", 30, True), ("Zeile", 7)] + [(table.column(i).header, 16) for i in ids]
        headers += [("Regeln", 12, True), ("Meldungen", 70, True)]
        _sheet(wb, f"Zurückgestellt {table.label}", headers, [list(r) for r in q])

    with files.replacing(path) as tmp:
        wb.save(tmp)
    return path


def write_validation_outputs(
    con: duckdb.DuckDBPyConnection, out_dir: Path, run_id: str | None = None, as_of: dt.date | None = None
) -> list[Path]:
    """``validation_report.xlsx`` and ``data_docs/`` in ``out_dir``; returns the paths written."""
    out_dir = Path(out_dir)
    wb = write_workbook(con, out_dir / "validation_report.xlsx", run_id, as_of)
    docs = data_docs.write_data_docs(con, out_dir / "data_docs", as_of)
    return [wb, docs / "index.html"]
