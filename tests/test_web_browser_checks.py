"""The web page in a real browser, its checks: no session means the login page, the one-time link works
once, every page (a full-page screenshot each, ``outputs/screenshots/browser-tests/``) has no console error
and no serious or critical axe-core violation, the date fields are German, and no page or download shows
the input's names, BG numbers or birth dates. Shares the server, the browser and the steps of
``test_web_browser.py`` through ``browser_fixtures.py``.
"""

from __future__ import annotations

import collections
import io
import os
import re
import sqlite3
import zipfile
from urllib.parse import parse_qs, urljoin, urlsplit

import openpyxl
import pytest
from browser_fixtures import PAGES, new_page, shot
from web_site import allowed_words, axe_serious, file_texts, german_locale_pak, leaks

pytestmark = pytest.mark.xdist_group("web_browser")  # one server and one browser for both modules (make test)


def test_no_session_is_sent_to_the_login_page(site, browser):
    p = new_page(browser)
    try:
        for path in ("/", "/pruefung", "/berichte", "/pruefung/validation_report.xlsx"):
            resp = p.goto(site.base + path)
            assert urlsplit(p.url).path == "/login", (path, p.url)
            assert resp.ok and p.get_by_role("heading", level=1).inner_text().startswith("Anmeld"), path
            assert p.get_by_role("navigation", name="Hauptnavigation").count() == 0
        shot(p, "login")
        assert axe_serious(p) == []
    finally:
        p.context.close()


def test_the_one_time_link_does_not_log_in_twice(site, browser, page):
    p = new_page(browser)  # `page` has used the link already
    try:
        resp = p.goto(site.server.link)
        assert resp.status == 403
        assert "ungültig oder wurde schon benutzt" in p.locator("main").inner_text()
        p.goto(site.base + "/")
        assert urlsplit(p.url).path == "/login"
    finally:
        p.context.close()
    cookies = page.context.cookies()  # the session of the logged-in browser
    assert cookies and all(c["httpOnly"] and c["sameSite"] == "Strict" for c in cookies), cookies


def test_every_page_screenshot_and_accessibility(site, page, report_set):
    """Every page: 200, no console error (a CSP violation is one), no failed request, no serious or critical
    axe-core violation; a full-page screenshot of each."""
    errors: list[str] = []

    def on_console(msg):
        if msg.type == "error":
            errors.append(f"{page.url}: {msg.text}")

    def on_failed(req):
        errors.append(f"{page.url}: {req.url} {req.failure}")

    page.goto(site.base + "/pruefung")  # and the page of one rule the problems name
    rule_page = urlsplit(page.locator("#problems-table tbody tr td:nth-child(2) a").first.get_attribute("href")).path
    assert rule_page.startswith("/pruefung/regel/"), rule_page
    page.on("console", on_console)
    page.on("requestfailed", on_failed)
    problems = {}
    for name, path in {**PAGES, "regel": rule_page}.items():
        resp = page.goto(site.base + path)
        assert resp.status == 200, (path, resp.status)
        page.wait_for_load_state("networkidle")
        site.visited[page.url] = page.content()
        shot(page, name)
        problems[path] = axe_serious(page)
    page.remove_listener("console", on_console)
    page.remove_listener("requestfailed", on_failed)
    assert {k: v for k, v in problems.items() if v} == {}
    assert errors == []


def test_the_date_fields_are_german(site, page):
    """The browser is German like the project lead's (``web_site.BROWSER_ENV``): the date fields read
    TT.MM.JJJJ, so the digits 0 4 0 3 2 0 2 5 typed into one are the 4th of March (mm/dd/yyyy: 3rd of April)."""
    if not german_locale_pak().exists():
        msg = f"{german_locale_pak()} missing: the browser falls back to en-US date fields (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    page.goto(site.base + "/berichte")
    field = page.get_by_label("Beginn")
    field.focus()  # its first part: the day in German, the month in en-US
    page.keyboard.type("04032025")
    assert field.input_value() == "2025-03-04"
    assert page.evaluate("navigator.language") == "de-DE"


def test_no_personal_data_on_any_page_or_download(site, page, report_set):
    """Every page reachable by a link (and the Data Docs), every download, the server log and the job store."""
    allowed = allowed_words()
    seen, queue, texts, charts = set(), ["/", *PAGES.values()], [], set()
    while queue and len(seen) < 400:
        path = queue.pop(0)
        if path in seen or _another_chart_of_a_kind(path, charts):
            continue
        seen.add(path)
        resp = page.request.get(site.base + path)
        assert resp.status < 500, (path, resp.status)
        kind = resp.headers.get("content-type", "")
        if "text/html" in kind:
            html = resp.text()
            texts.append((path, html))
            for href in re.findall(r'(?:href|src|hx-get)="([^"#]+)', html):
                target = urlsplit(urljoin(site.base + path, href.replace("&amp;", "&")))
                if target.netloc == urlsplit(site.base).netloc and target.path != "/logout" and not _asset(target.path):
                    queue.append(target.path + (f"?{target.query}" if target.query else ""))
        else:
            name = urlsplit(path).path.rsplit("/", 1)[-1]
            texts += file_texts(f"{path}:{name}", resp.body())
    texts += list(site.visited.items())  # the pages as the browser rendered them (htmx fragments loaded)
    for path in report_set.values():
        texts += file_texts(f"download {path.name}", path.read_bytes())
    texts.append(("serve.log", site.server.log_text()))
    con = sqlite3.connect(site.jobs_store)
    texts.append(("jobs store", "\n".join(con.iterdump())))
    con.close()
    assert any("/pruefung/data-docs/" in p for p in seen), "the Data Docs were not reached"
    assert any(p.endswith(".svg") for p in seen), "no chart was fetched"
    found = {name: leaks(text, site.personal, allowed) for name, text in texts}
    assert not [name for name, text in texts if "Traceback (most recent call last)" in text]
    assert {k: v for k, v in found.items() if v} == {}
    assert len(texts) > 20
    kinds = collections.Counter(re.sub(r"[?/].*", "", p.lstrip("/")) or "/" for p in seen)
    print(f"scanned {len(seen)} URLs ({dict(kinds)}), {len(texts)} texts")


def _another_chart_of_a_kind(path: str, charts: set) -> bool:
    """One breakdown chart per dimension is enough (each is a matplotlib render, ~0.5 s): they plot category
    labels of the label lists and counts, drawn by the same code."""
    if not path.startswith("/kennzahlen/diagramm/"):
        return False
    kind = parse_qs(urlsplit(path).query).get("dimension", [""])[0]
    if kind in charts:
        return True
    charts.add(kind)
    return False


def _asset(path: str) -> bool:
    """Vendored code and styles (htmx, CSS, the Data Docs' libraries): no data in them, not worth a request."""
    return path.startswith("/static/") or (path.startswith("/pruefung/data-docs/") and path.endswith(
        (".js", ".css", ".woff", ".woff2", ".ttf", ".map", ".ico", ".png")))


def test_the_scan_finds_what_it_looks_for(site):
    """Negative control: one real name, BG number and birth date of the input in a page, a zip and a pdf."""
    name = sorted(n for n in site.personal["name"] if len(n) > 4)[0]
    bg = sorted(site.personal["bg_number"])[0]
    birth = sorted(d for d in site.personal["birth_date"] if re.match(r"\d{4}-", d))[0]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/indicators.csv", f"x;{bg}\n")
    wb = openpyxl.Workbook()
    wb.active["A1"] = birth
    xbuf = io.BytesIO()
    wb.save(xbuf)
    texts = file_texts("set.zip", buf.getvalue()) + file_texts("b.xlsx", xbuf.getvalue())
    texts.append(("page", f"<td>{name}</td>"))
    found = sorted(v for _, t in texts for v in leaks(t, site.personal, set()))
    assert name in found and bg in found and birth in found
