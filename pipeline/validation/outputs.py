"""Validation outputs: ``validation_report.xlsx`` (openpyxl) and offline Great Expectations Data Docs.

Privacy: record ids and hashes only, never names or BG numbers; birth dates only as year; no values of
special-category columns; input values that look like formulas are written as text.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import duckdb

from pipeline import files, model
from pipeline.validation import gx_engine
from pipeline.validation.cross import files_in_force
from pipeline.validation.row import sql_stored_result
from pipeline.validation.rules import FORMULA_START, rules, sql_literal

SEVERITY_DE = {"file_error": "Dateifehler", "row_error": "Zeilenfehler", "warning": "Warnung"}
PROBLEM_HEADERS = [
    ("Schweregrad", 14),
    ("Regel", 8),
    ("Regel (Titel)", 34),
    ("Tabelle", 16),
    ("Datei", 30),
    ("Zeile", 8),
    ("Spalte", 26),
    ("Spalte (kanonisch)", 26),
    ("Wert", 24),
    ("Meldung", 90),
]
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


def _sheet(wb, title: str, headers: list[tuple[str, int]], rows: list[list[object]]):
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title[:31])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    for j, (name, width) in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=j, value=name)
        cell.font, cell.fill = bold, fill
        ws.column_dimensions[get_column_letter(j)].width = width
    for i, values in enumerate(rows, start=2):
        for j, v in enumerate(values, start=1):
            _put(ws, i, j, v)
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


STATE_HEADERS = [("Tabelle", 18), ("Stand in Kraft", 14), ("Datei", 30), ("Abgewiesene neuere Lieferungen", 50),
                 ("Erläuterung", 110)]


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

    def header_of(table, column):
        try:
            return tables[table].column(column).header
        except KeyError:
            return column

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
                header_of(table, column) if column else None,
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
        headers = [("Datei", 30), ("Zeile", 8)] + [(table.column(i).header, 16) for i in ids]
        headers += [("Regeln", 14), ("Meldungen", 100)]
        _sheet(wb, f"Zurückgestellt {table.label}", headers, [list(r) for r in q])

    with files.replacing(path) as tmp:
        wb.save(tmp)
    return path


VENDOR_DIR = Path(__file__).with_name("vendor")
# CDN URL in the GX 1.24 templates -> vendored copy (path under vendor/); see vendor/README.md
VENDOR_FILES = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1/js/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js-1.12.9/umd/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker-1.9.0/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker-1.9.0/js/bootstrap-datepicker.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome-free-6.6.0/css/all.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark-1.1.0/css/bootstrap-prefers-dark.css"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}
# GX ships this logo in its own static/ folder; the templates still load it from S3
GX_LOGO_RE = re.compile(r"https://great-expectations-web-assets\.s3[^\"'?]*/logo-long\.png(\?[^\"']*)?")
ASSET_ATTR_RE = re.compile(r"(<(?:link|script)\b[^>]*?\b(?:href|src)=)([\"'])(https?://[^\"']+)\2", re.I)
# GX writes "../../../static/..." on validation pages that sit four folders deep (favicon); re-rooted per page
STATIC_REF_RE = re.compile(
    r"(<(?:link|script|img)\b[^>]*?\b(?:href|src)=)([\"'])((?:\.\./|\./)*static/[^\"']+)\2", re.I
)


def _rel(target: Path, page: Path) -> str:
    return os.path.relpath(target, page.parent).replace(os.sep, "/")


def make_offline(docs_dir: Path) -> None:
    """Point every CDN stylesheet/script of the pages at a vendored copy in ``static/vendor/``.

    External references without a vendored copy are dropped (scripts, stylesheets, images, CSS ``url()``)
    or made inert (links), so opening the pages never contacts a third party.
    """
    docs_dir = Path(docs_dir)
    vendor_out = docs_dir / "static" / "vendor"
    if vendor_out.exists():
        shutil.rmtree(vendor_out)
    shutil.copytree(VENDOR_DIR, vendor_out)  # with README.md and LICENSE files: the attribution travels along
    logo = docs_dir / "static" / "images" / "logo-long.png"

    def retarget(page: Path, target_of):
        """``re.sub`` callback: the URL in group 3 -> path of ``target_of(url)`` relative to ``page`` (None: keep)."""

        def sub(m: re.Match) -> str:
            target = target_of(m.group(3))
            return f"{m.group(1)}{m.group(2)}{_rel(target, page)}{m.group(2)}" if target else m.group(0)

        return sub

    def vendored(url: str) -> Path | None:
        return vendor_out / VENDOR_FILES[url] if url in VENDOR_FILES else None

    def static(url: str) -> Path:
        return docs_dir / re.sub(r"^(\.\.?/)+", "", url)

    for page in docs_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        html = ASSET_ATTR_RE.sub(retarget(page, vendored), html)
        html = STATIC_REF_RE.sub(retarget(page, static), html)
        if logo.exists():
            html = GX_LOGO_RE.sub(_rel(logo, page), html)
        # whatever external asset is left has no vendored copy
        html = re.sub(r"<link[^>]+href=[\"']https?://[^>]*>", "", html, flags=re.I)
        html = re.sub(r"<script[^>]+src=[\"']https?://[^>]*>\s*</script>", "", html, flags=re.I)
        html = re.sub(r"<img[^>]+src=[\"']https?://[^>]*>", "", html, flags=re.I)
        html = re.sub(r"url\(['\"]?https?://[^)]*\)", "none", html, flags=re.I)
        html = re.sub(r"href=[\"']https?://[^\"']*[\"']", 'href="#"', html, flags=re.I)
        page.write_text(html, encoding="utf-8")


def _stored_results(con: duckdb.DuckDBPyConnection, shas: list[str]) -> dict[str, tuple[str, str]]:
    """sha -> (suite JSON, sanitized result JSON) of the files GX validated; {} for a database without them."""
    if not shas:
        return {}
    try:
        rows = con.execute(
            "SELECT file_sha256, suite_json, result_json FROM gx_results WHERE file_sha256 IN (SELECT unnest(?))",
            [shas],
        ).fetchall()
    except duckdb.CatalogException:  # a database from before gx_results (and opened read-only)
        return {}
    return {sha: (suite, result) for sha, suite, result in rows}


def _add_stored_result(ctx, name: str, suite_json: str, result_json: str, run_name: str, run_time) -> None:
    """Put a stored suite and its validation result into the context's stores under ``name``."""

    from great_expectations.core.expectation_validation_result import expectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    gx, _ = gx_engine._gx()
    suite = json.loads(suite_json)
    suite.pop("id", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx.suites.add(gx.ExpectationSuite(**{**suite, "name": name}))
        doc = json.loads(result_json)
        doc["suite_name"] = name
        result = expectationSuiteValidationResultSchema.load(doc)
    run_time = (run_time or dt.datetime.now()).astimezone(dt.UTC)
    run_id = RunIdentifier(run_name=run_name or None, run_time=run_time)
    result.meta["run_id"] = run_id
    result.meta["validation_time"] = run_time
    suite_id = ExpectationSuiteIdentifier(name=name)
    ctx.validation_results_store.store_validation_results(
        suite_validation_result=result,
        suite_validation_result_identifier=ValidationResultIdentifier(
            expectation_suite_identifier=suite_id, run_id=run_id, batch_identifier=f"pipeline-{name}"
        ),
        expectation_suite_identifier=suite_id,
    )


def write_data_docs(con: duckdb.DuckDBPyConnection, docs_dir: Path, as_of: dt.date | None = None) -> Path:
    """GX Data Docs of the row suites on the snapshots in force, without any observed values.

    Every file is documented from its stored, sanitized result (``gx_results``: the validation of the whole
    file by GX or by the SQL engine, counts only), so nothing is validated again. A file without one (a
    database from before results were stored for every file) gets it from the SQL engine here.
    """
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    docs_dir.mkdir(parents=True)
    ctx = gx_engine.context()
    ctx.add_data_docs_site(
        site_name="pipeline",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    in_force = files_in_force(con, as_of)
    stored = _stored_results(con, [s for shas in in_force.values() for s in shas])
    for table_name, shas in in_force.items():
        for sha in shas:
            snapshot, run_name, validated_at = con.execute(
                "SELECT snapshot_date, run_id, ingested_at FROM ingest_files WHERE file_sha256 = ?", [sha]
            ).fetchone()
            name = f"{table_name}_{snapshot:%Y%m%d}"
            suite, result = stored[sha] if sha in stored else sql_stored_result(con, table_name, sha)
            _add_stored_result(ctx, name, suite, result, run_name=run_name, run_time=validated_at)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx.build_data_docs(site_names=["pipeline"])
    make_offline(docs_dir)
    return docs_dir


def write_validation_outputs(
    con: duckdb.DuckDBPyConnection, out_dir: Path, run_id: str | None = None, as_of: dt.date | None = None
) -> list[Path]:
    """``validation_report.xlsx`` and ``data_docs/`` in ``out_dir``; returns the paths written."""
    out_dir = Path(out_dir)
    wb = write_workbook(con, out_dir / "validation_report.xlsx", run_id, as_of)
    docs = write_data_docs(con, out_dir / "data_docs", as_of)
    return [wb, docs / "index.html"]
