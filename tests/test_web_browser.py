"""The web page in a real browser, the way through it: Debian's headless Chromium driven by Playwright
against the real ``esf-pipeline serve`` on a generated export set with defects (``browser_fixtures.py``).

Log in by the printed one-time link, upload the exports (and a wrongly named file), wait for the ingest
result, filter the problems, re-run the validation, build the Fördergeber report of a cycle, download the PDF
and the workbooks and read them back; a job from the command line blocks the buttons until it ends. The
refusals, the accessibility and personal-data checks of every page: ``test_web_browser_checks.py``.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from browser_fixtures import CYCLE, problem_total, shot
from web_site import pdf_text

from pipeline.config import load_config

pytestmark = pytest.mark.xdist_group("web_browser")  # one server and one browser for both modules (make test)


def test_upload_through_the_page_and_ingest_result(site, ingested):
    checked = ingested["checked"]
    for f in site.files:
        assert "angenommen" in checked[f.name], (f.name, checked[f.name])
    assert "abgewiesen" in checked["Personenliste.csv"]
    assert "passt zu keinem Export" in checked["Personenliste.csv"]
    assert ingested["outcome"] in ("ok", "warning"), ingested
    rows = ingested["rows"]
    assert set(rows) == {f.name for f in site.files}
    quarantined = 0
    for name, (_file, status, read, loaded, quar, _hint) in rows.items():
        assert status == "geladen", (name, status)
        assert int(read) == site.file_rows[name], name  # every row of the file was read …
        assert int(loaded) + int(quar) == int(read), name  # every row loaded or quarantined, none dropped
        quarantined += int(quar)
    assert quarantined > 0  # … and the generator's defects were quarantined, not dropped
    # the refused file was not written into the inbox
    assert not any(p.name == "Personenliste.csv" for p in (site.base_dir / "inbox").iterdir())


def test_too_many_files_are_refused_before_sending_and_the_choice_is_kept(site, page, ingested):
    from playwright.sync_api import expect

    limit = load_config(site.base_dir / "config.toml").web.max_files
    extra = site.base_dir / "zu-viele"
    extra.mkdir(exist_ok=True)
    chosen = []
    for i in range(limit + 1):
        chosen.append(extra / f"kontakte_202501{i + 1:02d}.csv")
        chosen[-1].write_text("Kontakt-ID\n", encoding="utf-8")
    page.goto(site.base + "/lieferung")
    page.get_by_label("Exportdateien auswählen").set_input_files([str(p) for p in chosen])
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name="Hochladen und einlesen").click()
    expect(page.locator("#chosen-error")).to_contain_text(f"{limit + 1} Dateien gewählt, höchstens {limit}")
    assert posts == [] and page.locator("#dateien").evaluate("i => i.files.length") == limit + 1
    assert not any(p.name.startswith("kontakte_202501") for p in (site.base_dir / "inbox").iterdir())


def test_filter_the_problems(site, page, ingested):
    page.goto(site.base + "/pruefung")
    total_all = problem_total(page)
    assert total_all > 0
    page.get_by_label("Schweregrad").select_option("row_error")
    page.get_by_role("button", name="Filtern").click()
    page.wait_for_url(re.compile(r"schwere=row_error"))
    n_rows = problem_total(page)
    assert 0 < n_rows <= total_all
    classes = page.locator("#problems-table tbody tr").evaluate_all("rs => rs.map(r => r.className)")
    assert classes and set(classes) == {"row_error"}
    # narrow further by one rule: every row shown is that rule's
    rule = page.locator("#problems-table tbody tr td:nth-child(2)").first.inner_text()
    page.get_by_label("Regel").select_option(rule)
    page.get_by_role("button", name="Filtern").click()
    page.wait_for_url(re.compile(rf"regel={re.escape(rule)}"))
    rules = page.locator("#problems-table tbody tr td:nth-child(2)").all_inner_texts()
    assert rules and set(rules) == {rule}
    assert problem_total(page) <= n_rows
    shot(page, "pruefung-gefiltert")
    # the rule's own page with its guidance
    page.locator("#problems-table tbody tr td:nth-child(2) a").first.click()
    page.wait_for_url(re.compile(r"/pruefung/regel/"))
    assert rule in page.locator("h1").inner_text()


def test_revalidation_offers_the_workbook_and_the_data_docs(site, page, revalidated):
    page.goto(site.base + "/pruefung")
    with page.expect_download() as dl:
        page.locator("#download-validation-report").click()
    path = site.base_dir / "downloads" / "validation_report.xlsx"
    dl.value.save_as(path)
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = sum(max(ws.max_row - 1, 0) for ws in wb.worksheets)
    wb.close()
    assert rows >= problem_total(page)  # one row per problem (plus a summary sheet)
    with page.context.expect_page() as popup:
        page.locator("#data-docs-link").click()
    docs = popup.value
    docs.wait_for_load_state()
    assert docs.title() and "/pruefung/data-docs/" in docs.url
    shot(docs, "data-docs")
    docs.close()


def test_the_data_docs_load_their_styles_and_scripts(site, browser, page, revalidated):
    p = page.context.new_page()
    failed: list[str] = []
    p.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    p.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    try:
        p.goto(site.base + "/pruefung/data-docs/index.html")
        p.wait_for_load_state("networkidle")
        assert failed == []
    finally:
        p.close()


def test_build_the_foerdergeber_report_and_read_the_downloads_back(site, report_set):
    k01 = _indicator(report_set["indicators.csv"].read_text(encoding="utf-8"), "K01")
    text = pdf_text(report_set["project_report.pdf"].read_bytes())
    assert "BG-Coaching" in text and CYCLE in text
    assert "K01" in text
    wb = openpyxl.load_workbook(report_set["project_report.xlsx"], read_only=True)
    cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    wb.close()
    assert "K01" in cells and float(k01) in {_num(c) for c in cells}, k01
    wb = openpyxl.load_workbook(report_set["esf_submission.xlsx"], read_only=True)
    assert wb.sheetnames and any(ws.max_row > 1 for ws in wb.worksheets)
    wb.close()
    with zipfile.ZipFile(report_set["zip"]) as zf:
        names = {Path(n).name for n in zf.namelist()}
    assert {"project_report.pdf", "esf_submission.xlsx", "indicators.csv"} <= names


def test_the_busy_note_clears_when_the_job_ends(site, page, report_set):
    """A job from the command line holds the database while the pages are open: Berichte and Lieferung say
    so and disable their buttons; when it ends, the note disappears and the buttons are free again, without a
    reload (the page's own marker survives)."""
    from playwright.sync_api import expect

    from pipeline import jobs

    cfg = load_config(site.base_dir / "config.toml")
    other = page.context.new_page()
    try:
        with jobs.job(cfg, "ingest", "cli"):
            page.goto(site.base + "/berichte")
            other.goto(site.base + "/lieferung")
            for p, buttons in ((page, ["#report-build"]), (other, ["#upload-submit", "#ingest-inbox"])):
                note = p.locator("#busy-note")
                expect(note).to_be_visible()
                expect(note).to_contain_text("Einlesen (gestartet")
                expect(note).to_contain_text("über die Kommandozeile")
                for b in buttons:
                    expect(p.locator(b)).to_be_disabled()
                p.evaluate("window.esfNoReload = 1")
            page.wait_for_timeout(2500)  # one poll while still busy: the note stays
            expect(page.locator("#busy-note")).to_be_visible()
            shot(page, "berichte-auftrag-laeuft")
        for p, buttons in ((page, ["#report-build"]), (other, ["#upload-submit", "#ingest-inbox"])):
            expect(p.locator("#busy-note")).to_be_hidden(timeout=15_000)
            for b in buttons:
                expect(p.locator(b)).to_be_enabled()
            assert p.evaluate("window.esfNoReload") == 1  # the same page, not reloaded
    finally:
        other.close()
    polls = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/auftraege/laufend") else None)
    page.wait_for_timeout(4500)
    assert polls == []  # 286 stopped the polling


def _indicator(csv_text: str, ind: str) -> str:
    """The overall value of one indicator in indicators.csv (indicators.md: id, dimension, category, …, value)."""
    import csv

    for row in csv.DictReader(io.StringIO(csv_text)):
        if row["indicator_id"] == ind and row["dimension"] == "total":
            return row["value"]
    raise AssertionError(f"{ind} not in indicators.csv")


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


