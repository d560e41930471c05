"""Offline Great Expectations Data Docs of the snapshots in force, built from the stored, sanitized results
(counts and rule ids, never values); every asset served locally (vendored), no request leaves the machine."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import duckdb

from pipeline.validation import gx_engine
from pipeline.validation.cross import files_in_force
from pipeline.validation.row import sql_stored_result

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
    final, docs_dir = docs_dir, docs_dir.with_name(f".{docs_dir.name}.new-{os.getpid()}")
    for stale in final.parent.glob(f".{final.name}.*-*"):  # left by a crashed build
        shutil.rmtree(stale, ignore_errors=True)
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
    # built aside, then swapped in: a page showing the Data Docs never finds them half written or gone
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    docs_dir.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final
