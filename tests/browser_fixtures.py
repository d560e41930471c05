"""The shared state of the real-browser tests (``test_web_browser.py``, ``test_web_browser_checks.py``):
one ``esf-pipeline serve`` on a generated export set with defects, one headless Chromium logged in through
the printed one-time link, and the steps later tests build on (upload and ingest, re-validation, the
Fördergeber report set). Session-scoped and registered in ``conftest.py`` so that both modules share one
server and one browser (``make test`` keeps them on one worker: ``xdist_group("web_browser")``).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from web_server import ROOT, Server, write_config
from web_site import BROWSER_LOCALE, launch, personal_values, require_browser

SHOTS = ROOT / "outputs" / "screenshots" / "browser-tests"
CYCLE = "2025"
TIMEOUT_MS = 120_000  # a job on a shared 2-core machine
PAGES = {  # screenshot name -> path (the checks add a rule page once the problems are known)
    "uebersicht": "/",
    "lieferung": "/lieferung",
    "pruefung": "/pruefung",
    "berichte": "/berichte",
    "kennzahlen": "/kennzahlen",
    "datenschutz": "/datenschutz",
    "auftraege": "/auftraege",
}


@dataclass
class Site:
    server: Server
    base_dir: Path
    files: list[Path]
    file_rows: dict[str, int]
    personal: dict[str, set[str]]
    jobs_store: Path
    visited: dict[str, str] = field(default_factory=dict)  # url -> text seen in the browser

    @property
    def base(self) -> str:
        return self.server.base


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    from pipeline import generate
    from pipeline.config import load_config

    require_browser()
    base = tmp_path_factory.mktemp("web")
    config = write_config(base)
    cfg = load_config(config)
    gen = generate.generate(base / "exports", households=30, seed=5, cycles=["2024", CYCLE], defects=0.03,
                            config=cfg)
    shown_dates = {d.isoformat() for c in cfg.cycles for d in (c.start, c.end)}
    personal = personal_values(gen.files, shown_dates)
    assert personal["name"] and personal["bg_number"] and personal["birth_date"]
    server = Server(config, base / "serve.log")
    try:
        yield Site(server, base, gen.files, gen.file_rows, personal, Path(f"{cfg.database}.jobs.sqlite"))
    finally:
        server.stop()
    assert server.proc.poll() is not None
    with pytest.raises(ProcessLookupError):  # nothing of its process group (worker, job children) is left
        os.killpg(server.proc.pid, 0)


@pytest.fixture(scope="session")
def browser(site):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = launch(pw)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


def new_page(browser):
    ctx = browser.new_context(accept_downloads=True, locale=BROWSER_LOCALE, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(30_000)
    return ctx.new_page()


@pytest.fixture(scope="session")
def page(site, browser):
    """A browser logged in through the one-time link the server printed."""
    p = new_page(browser)
    p.goto(site.server.link)
    assert urlsplit(p.url).path == "/", p.url  # the link logs in and lands on the overview
    assert "token" not in p.url
    p.get_by_role("navigation", name="Hauptnavigation").wait_for()
    yield p
    p.context.close()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_job_done(page) -> str:
    """Wait until the live status fragment says the job is over; its outcome."""
    status = page.locator("#job-status[data-outcome]:not([hx-trigger])")
    status.wait_for(timeout=TIMEOUT_MS)
    return status.get_attribute("data-outcome")


@pytest.fixture(scope="session")
def ingested(site, page):
    """The export files (and one wrongly named file) uploaded through the page; the ingest result table."""
    bad = site.base_dir / "Personenliste.csv"
    bad.write_text("Person-ID;Name\n", encoding="utf-8")
    page.goto(site.base + "/lieferung")
    page.get_by_label("Exportdateien auswählen").set_input_files([str(p) for p in site.files] + [str(bad)])
    page.get_by_role("button", name="Hochladen und einlesen").click()
    page.locator("#upload-results").wait_for()
    checked = {r.get_attribute("data-file"): r.inner_text() for r in page.locator("#upload-results tbody tr").all()}
    outcome = wait_job_done(page)
    shot(page, "lieferung-ergebnis")
    rows = {}
    for r in page.locator("#ingest-result tbody tr").all():
        cells = [c.inner_text().strip() for c in r.locator("th, td").all()]
        rows[r.get_attribute("data-file")] = cells
    return {"checked": checked, "outcome": outcome, "rows": rows}


def problem_total(page) -> int:
    m = re.match(r"(\d+) von (\d+)", page.locator("#problem-total").inner_text())
    assert m, page.locator("#problem-total").inner_text()
    return int(m.group(1))


@pytest.fixture(scope="session")
def revalidated(site, page, ingested):
    """One click on „Prüfung erneut ausführen“: the next delivery (none: nothing new) is read, then the
    validation workbook and the Data Docs are written; the page offers both."""
    from playwright.sync_api import expect

    page.goto(site.base + "/pruefung")
    button = page.get_by_role("button", name="Prüfung erneut ausführen")
    expect(button).to_be_enabled(timeout=TIMEOUT_MS)  # the upload's validation job may still run: it frees it
    button.click()
    page.wait_for_url(re.compile(r"/pruefung\?auftrag="))
    assert wait_job_done(page) in ("ok", "warning")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.locator("#data-docs-link").count():  # the validation job follows the ingest job
        assert time.monotonic() < deadline, "no Data Docs after re-validation"
        page.wait_for_timeout(500)
        page.goto(site.base + "/pruefung")
    page.locator("#download-validation-report").wait_for()


@pytest.fixture(scope="session")
def report_set(site, page, revalidated):
    """The Fördergeber report set of the cycle, built through the Berichte page; its downloads."""
    from playwright.sync_api import expect

    page.goto(site.base + "/berichte")
    page.get_by_label("Projektzyklus").select_option(CYCLE)
    page.get_by_label("Zielgruppe").select_option(label="Fördergeber")
    button = page.get_by_role("button", name="Berichte erstellen")
    expect(button).to_be_enabled(timeout=TIMEOUT_MS)  # after the re-validation's validation job
    button.click()
    outcome = wait_job_done(page)
    assert outcome == "ok", page.locator("#job-status").inner_text()
    # the list of sets below updated itself with the job (out-of-band swap), before any reload
    expect(page.locator(f'#report-sets tr[data-period="{CYCLE}"][data-audience="foerdergeber"]')).to_have_count(1)
    page.locator("#link-report-set").click()
    row = page.locator(f'#report-sets tr[data-period="{CYCLE}"][data-audience="foerdergeber"]').first
    row.wait_for()
    shot(page, "berichte-erstellt")
    files = {}
    for name in ("project_report.pdf", "esf_submission.xlsx", "project_report.xlsx", "indicators.csv"):
        with page.expect_download() as dl:
            row.locator(f'a[data-file="{name}"]').click()
        path = site.base_dir / "downloads" / name
        dl.value.save_as(path)
        files[name] = path
    with page.expect_download() as dl:
        row.locator("a.zip").click()
    files["zip"] = site.base_dir / "downloads" / "set.zip"
    dl.value.save_as(files["zip"])
    return files
