"""Route tests of the web page (issue 12) with Starlette's TestClient: every page, every refusal."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from test_api import SECRETS, write_snapshot

from pipeline import audit, ingest
from pipeline.config import ConfigError, load_config
from pipeline.lock import exclusive
from pipeline.web import auth, create_app, serve
from pipeline.web.app import CSP

ROOT = Path(__file__).resolve().parents[1]
BASE = "http://127.0.0.1:8765"
SAME = {"sec-fetch-site": "same-origin"}
PAGES = ["/", "/lieferung", "/pruefung", "/pruefung/regel/R03", "/berichte", "/kennzahlen", "/kennzahlen?zyklus=2019",
         "/datenschutz", "/auftraege"]  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("web")
    (base / "config.toml").write_text(
        (ROOT / "config.toml").read_text(encoding="utf-8") + "\n[web]\nmax_upload_mb = 1\nmax_files = 3\n",
        encoding="utf-8",
    )
    (base / "inbox").mkdir()
    cfg = load_config(base / "config.toml")
    write_snapshot(cfg.inbox, "20200131", 3)
    assert all(f.status == "loaded" for f in ingest.ingest(cfg).files)
    return base


@pytest.fixture
def cfg(built, tmp_path):
    shutil.copytree(built, tmp_path / "w")
    return load_config(tmp_path / "w" / "config.toml")


def client(cfg, login: bool = True, **kw) -> TestClient:
    app, token = create_app(cfg, port=8765, **kw)
    c = TestClient(app, base_url=BASE, raise_server_exceptions=False, follow_redirects=False)
    c.token = token
    if login:
        r = c.get(f"/login?token={token}")
        assert r.status_code == 303 and "esf_session" in r.headers["set-cookie"]
        assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    return c


def no_secrets(text: str) -> None:
    for s in SECRETS:
        assert s not in text, s
    assert "Traceback" not in text


def test_every_page_needs_a_session(cfg):
    c = client(cfg, login=False)
    for path in [*PAGES, "/pruefung/validation_report.xlsx", "/berichte/abc/zip", "/auftraege/x/status"]:
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    r = c.post("/lieferung", files=[("dateien", ("haushalte_20200229.csv", b"x;y\n1;2\n"))], headers=SAME)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert not (cfg.inbox / "haushalte_20200229.csv").exists()
    assert c.get("/login").status_code == 200 and c.get("/static/style.css").status_code == 200


def test_login_token_is_single_use_and_wrong_tokens_fail(cfg):
    c = client(cfg, login=False)
    assert c.get("/login?token=wrong").status_code == 403
    assert c.get(f"/login?token={c.token}").status_code == 303
    assert c.get("/").status_code == 200
    other = TestClient(c.app, base_url=BASE, follow_redirects=False)
    r = other.get(f"/login?token={c.token}")
    assert r.status_code == 403 and "schon benutzt" in r.text
    assert other.get("/").status_code == 303
    assert c.post("/logout", headers=SAME).status_code == 303
    assert c.get("/").status_code == 303
    assert [e.action for e in audit.entries(cfg)][:4] == ["logout", "login_failed", "login", "login_failed"]


def test_password_login(cfg):
    stored = auth.hash_password("richtig-langes-passwort")
    assert "richtig" not in stored and auth.verify_password("richtig-langes-passwort", stored)
    c = client(cfg, login=False, password_hash=stored)
    assert c.post("/login", data={"password": "falsch"}, headers=SAME).status_code == 403
    r = c.post("/login", data={"password": "richtig-langes-passwort", "next": "//evil.example/"}, headers=SAME)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert c.get("/").status_code == 200


def test_foreign_host_is_refused(cfg):
    c = client(cfg)
    for host in ("evil.example:8765", "evil.example", "127.0.0.1:9999", "127.0.0.1.evil.example:8765"):
        r = c.get("/", headers={"host": host})
        assert r.status_code == 400, host
    for host in ("localhost:8765", "[::1]:8765", "127.0.0.1:8765"):
        assert c.get("/", headers={"host": host}).status_code == 200, host


def test_cross_site_post_is_refused_and_writes_nothing(cfg):
    c = client(cfg)
    body = [("dateien", ("haushalte_20200229.csv", b"x;y\n1;2\n"))]
    for headers in ({"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"},
                    {"origin": "http://127.0.0.1:9999"}, {"origin": "null"}):  # fmt: skip
        r = c.post("/lieferung", files=body, headers=headers)
        assert r.status_code == 403, headers
        r = c.post("/datenschutz/loeschersuchen/bestaetigen", data={"person_id": "P001"}, headers=headers)
        assert r.status_code == 403
    assert not (cfg.inbox / "haushalte_20200229.csv").exists()
    assert c.post("/logout", headers={"origin": BASE}).status_code == 303  # same origin without Sec-Fetch-Site


def test_pages_render_with_security_headers_and_no_personal_data(cfg):
    c = client(cfg)
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
        assert "<script>" not in r.text and "style=" not in r.text  # no inline script or style
        no_secrets(r.text)
    text = c.get("/").text
    assert "Datenstand" in text and 'id="snapshots-table"' in text and "haushalte_20200131.csv" in text
    problems = c.get("/pruefung?schwere=row_error").text
    assert "R03" in problems and "P004" in problems  # the impossible birth date, by record id, without the date
    assert "gültiger Kalendertag" in c.get("/pruefung/regel/R03").text  # its guidance from rules.toml
    assert c.get("/pruefung?tabelle=persons&seite=99").status_code == 200
    assert "Kennzahlen mit Definition" in c.get("/kennzahlen?zyklus=2019").text
    assert c.get("/kennzahlen/diagramm/K01.svg?zyklus=2019").headers["content-type"].startswith("image/svg")
    assert "ist nicht konfiguriert" in c.get("/kennzahlen?zyklus=1999").text


def test_upload_refusals_write_nothing(cfg, tmp_path):
    c = client(cfg)
    before = sorted(p.name for p in cfg.inbox.iterdir())
    outside = tmp_path / "outside.csv"
    outside.write_text("unverändert")
    (cfg.inbox / "kontakte_20200131.csv").symlink_to(outside)
    files = [
        ("dateien", ("notizen.txt", b"hallo")),
        ("dateien", ("../haushalte_20200229.csv", b"x;y\n")),
        ("dateien", ("kontakte_20200131.csv", b"a;b\n1;2\n")),  # a link in the inbox
    ]
    r = c.post("/lieferung", files=files, headers=SAME)
    assert r.status_code == 200
    rows = dict(re.findall(r'<tr data-file="([^"]+)" class="(\w+)"', r.text))
    assert rows == {"notizen.txt": "refused", "haushalte_20200229.csv": "refused", "kontakte_20200131.csv": "refused"}
    assert "dies ist eine .txt-Datei" in r.text and "Pfadangaben" in r.text and "Verweis" in r.text
    r = c.post("/lieferung", files=[("dateien", ("Personenliste.csv", b"x;y\n"))], headers=SAME)
    assert "Dateiname passt zu keinem Export" in r.text and not (cfg.inbox / "Personenliste.csv").exists()
    assert outside.read_text() == "unverändert"
    assert sorted(p.name for p in cfg.inbox.iterdir()) == sorted([*before, "kontakte_20200131.csv"])
    assert not (cfg.base_dir / "haushalte_20200229.csv").exists()
    r = c.post("/lieferung", files=[("dateien", ("haushalte_20200229.xlsx", b"x;y\n1;2\n"))], headers=SAME)
    assert "keine Excel-Arbeitsmappe" in r.text and not (cfg.inbox / "haushalte_20200229.xlsx").exists()
    many = [("dateien", (f"haushalte_2020020{i}.csv", b"x\n")) for i in range(1, 6)]
    assert "Zu viele Dateien" in c.post("/lieferung", files=many, headers=SAME).text
    r = c.post("/lieferung", files=[("dateien", ("haushalte_20200229.csv", b"x" * (2 << 20)))], headers=SAME)
    assert r.status_code == 413 and "zu groß" in r.text
    assert not (cfg.inbox / "haushalte_20200229.csv").exists()
    assert not any((cfg.inbox / ".upload").glob("*")) if (cfg.inbox / ".upload").exists() else True


def test_upload_ingests_with_per_file_result(cfg):
    c = client(cfg)
    (cfg.base_dir / "next").mkdir()
    write_snapshot(cfg.base_dir / "next", "20200229", 4)
    files = [("dateien", (p.name, p.read_bytes())) for p in sorted((cfg.base_dir / "next").iterdir())]
    r = c.post("/lieferung", files=files, headers=SAME)
    assert r.status_code == 200 and r.text.count('class="ok"') == 3
    job_id = re.search(r"/auftraege/([^/]+)/status", r.text).group(1)
    deadline = time.monotonic() + 240
    while (r := c.get(f"/auftraege/{job_id}/status")).status_code == 200:
        assert 'id="job-status"' in r.text and 'hx-get="/auftraege/' in r.text and "?warten=1" in r.text
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert r.status_code == 286 and 'data-outcome="warning"' in r.text  # P004's birth date again
    result = dict(re.findall(r'<tr data-file="([^"]+)"><th scope="row">[^<]+</th><td>([^<]+)</td>', r.text))
    # as with the CLI: January's files stay in the inbox and are known; the helps did not change (same content),
    # but a delivery is (table, snapshot date, hash): February's helps are February's snapshot (exports.md, Dec 2026)
    known = "bereits eingelesen"
    assert result == {"haushalte_20200229.csv": "geladen", "personen_20200229.csv": "geladen",
                      "hilfen_20200229.csv": "geladen", "haushalte_20200131.csv": known,
                      "personen_20200131.csv": known, "hilfen_20200131.csv": known}  # fmt: skip
    no_secrets(r.text)
    assert "haushalte_20200229.csv" in c.get("/").text
    assert "upload" in [e.action for e in audit.entries(cfg)]


def test_status_waits_for_the_job_to_end_and_answers_at_once_when_it_does(cfg):
    """What the page asks (``?warten=1``): a running job's status is held up to a second, and answered as soon
    as the job ends, so the page shows the end at once; without it the answer comes right away."""
    import threading

    from pipeline import jobs

    c = client(cfg)
    job = jobs.create(cfg, "report", "web")
    t = time.monotonic()
    r = c.get(f"/auftraege/{job}/status?warten=1")
    held = time.monotonic() - t
    assert r.status_code == 200 and 0.9 <= held < 5 and 'hx-trigger="load"' in r.text  # still queued: asks again
    t = time.monotonic()
    assert c.get(f"/auftraege/{job}/status").status_code == 200 and time.monotonic() - t < 0.9
    timer = threading.Timer(0.3, jobs._finish_row, (cfg, job, "ok", "fertig"))
    timer.start()
    t = time.monotonic()
    r = c.get(f"/auftraege/{job}/status?warten=1")
    ended = time.monotonic() - t
    timer.join()
    assert r.status_code == 286 and 'data-outcome="ok"' in r.text and "hx-get" not in r.text.split(">")[0]
    assert 0.25 <= ended < 0.9  # answered when the job ended, not after the whole second


def test_downloads_by_id_only(cfg):
    c = client(cfg)
    assert c.get("/berichte/0123456789abcdef/zip").status_code == 404
    assert c.get("/berichte/0123456789abcdef/datei/indicators.csv").status_code == 404
    assert c.get("/pruefung/data-docs/../../config.toml").status_code == 404
    assert c.get("/pruefung/validation_report.xlsx").status_code == 404  # none written yet
    r = c.get("/auftraege/unbekannt/status")
    assert r.status_code == 404 and "gibt es nicht" in r.text and "Traceback" not in r.text


def test_report_build_and_download(cfg):
    c = client(cfg)
    r = c.post("/berichte", data={"zyklus": "1999", "zielgruppe": "foerdergeber"}, headers=SAME)
    assert r.status_code == 400 and 'id="report-error"' in r.text
    r = c.post("/berichte", data={"von": "2019-02-01", "stand": "2019-12-31", "zielgruppe": "intern"}, headers=SAME)
    assert r.status_code == 400 and "Beginn und Ende" in r.text  # … and what was entered is still there
    assert 'value="2019-02-01"' in r.text and 'value="2019-12-31"' in r.text and '"intern" selected' in r.text
    with exclusive(cfg.database):
        r = c.post("/berichte", data={"zyklus": "2019", "zielgruppe": "foerdergeber"}, headers=SAME)
        assert r.status_code == 409 and "anderen Lauf" in r.text
    r = c.post("/berichte", data={"zyklus": "2019", "zielgruppe": "foerdergeber"}, headers=SAME)
    assert r.status_code == 303
    job_id = r.headers["location"].split("auftrag=")[1]
    deadline = time.monotonic() + 300
    while (r := c.get(f"/auftraege/{job_id}/status")).status_code == 200:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert 'data-outcome="ok"' in r.text, r.text
    runner = c.app.state.runner  # the page's status requests are woken by the job's end, not by polling
    assert runner.wait_ended(job_id, 0) is True and runner.wait_ended("unbekannt", 0) is None
    set_id = re.search(r"/berichte\?satz=([0-9a-f]+)", r.text).group(1)
    assert f'href="/berichte/{set_id}/datei/project_report.pdf"' in r.text  # the downloads right in the status
    page = c.get("/berichte").text
    files = re.findall(rf'href="/berichte/{set_id}/datei/([^"]+)"', page)
    assert "project_report.pdf" in files and "esf_submission.xlsx" in files
    pdf = c.get(f"/berichte/{set_id}/datei/project_report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert c.get(f"/berichte/{set_id}/datei/../config.toml").status_code == 404
    assert c.get(f"/berichte/{set_id}/datei/data_docs/index.html").status_code == 404
    z = c.get(f"/berichte/{set_id}/zip")
    assert z.status_code == 200 and z.content.startswith(b"PK")


def test_busy_note_follows_the_job(cfg):
    """While a job holds the database the pages say so, disable their buttons and poll /auftraege/laufend;
    once it is free the fragment answers 286 (htmx stops polling) with an empty, hidden note."""
    from pipeline import jobs

    c = client(cfg)
    idle = c.get("/auftraege/laufend")
    assert idle.status_code == 286 and 'data-busy="0"' in idle.text and "hx-trigger" not in idle.text
    with jobs.job(cfg, "ingest", "cli"):
        r = c.get("/auftraege/laufend")
        assert r.status_code == 200 and 'hx-trigger="every 2s"' in r.text
        assert "Einlesen (gestartet" in r.text and "über die Kommandozeile" in r.text
        for path, button in (("/", None), ("/lieferung", "upload-submit"), ("/lieferung", "ingest-inbox"),
                             ("/pruefung", "revalidate"), ("/berichte", "report-build")):
            page = c.get(path).text
            assert 'id="busy-note" data-busy="1"' in page, path
            if button:
                assert re.search(rf'id="{button}" disabled aria-describedby="busy-note" data-busy-lock', page), button
    assert c.get("/auftraege/laufend").status_code == 286
    page = c.get("/berichte").text
    assert 'data-busy="0" hidden' in page and re.search(r'id="report-build" data-busy-lock>', page)


def test_empty_pages_say_what_to_do(tmp_path):
    """Before the first delivery every page answers and points to Lieferung."""
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    c = client(load_config(tmp_path / "config.toml"))
    for path in ("/", "/pruefung", "/kennzahlen"):
        r = c.get(path)
        assert r.status_code == 200 and "Noch keine" in r.text and 'href="/lieferung"' in r.text, path
    assert 'id="problem-filters"' not in c.get("/pruefung").text
    assert "Noch keine Berichte erstellt" in c.get("/berichte").text


def test_erasure_needs_confirmation(cfg):
    c = client(cfg)
    r = c.post("/datenschutz/loeschersuchen", data={"person_id": "P999"}, headers=SAME)
    assert r.status_code == 404 and "nicht in der Datenbank" in r.text
    r = c.post("/datenschutz/loeschersuchen", data={"person_id": "P001"}, headers=SAME)
    assert r.status_code == 200 and 'id="erasure-confirm"' in r.text
    assert "P001" not in c.get("/datenschutz").text.split('id="erasure-requests"')[-1][:0]  # nothing recorded yet
    r = c.post("/datenschutz/loeschersuchen/bestaetigen", data={"person_id": "P001"}, headers=SAME)
    assert r.status_code == 200 and 'id="erasure-done"' in r.text and 'id="erasure-requests"' in r.text
    entry = audit.entries(cfg)[0]
    assert entry.action == "erasure" and "P001" not in entry.what


def test_internal_error_shows_no_traceback(cfg, monkeypatch):
    from pipeline import summary

    def broken(cfg):
        raise RuntimeError("secret detail /home/x")

    monkeypatch.setattr(summary, "data_state", broken)
    r = client(cfg).get("/")
    assert r.status_code == 500 and "Interner Fehler" in r.text
    assert "secret detail" not in r.text and "Traceback" not in r.text
    assert r.headers["content-security-policy"] == CSP


def test_serve_refuses_a_public_address_without_password(cfg):
    with pytest.raises(ConfigError, match="nur mit Passwort"):
        serve.serve(cfg, host="0.0.0.0", port=0, open_browser=False)
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("::1") and not serve.is_loopback("192.168.1.5")


def test_revalidation_writes_the_report_and_data_docs(cfg):
    c = client(cfg)
    r = c.post("/pruefung/neu", headers=SAME)
    assert r.status_code == 303 and r.headers["location"].startswith("/pruefung?auftrag=")
    job_id = r.headers["location"].split("auftrag=")[1]
    assert f"/auftraege/{job_id}/status" in c.get(r.headers["location"]).text
    deadline = time.monotonic() + 300
    while True:  # the ingest job, then the validation job it starts
        jobs_page = c.get("/auftraege").text
        if "Prüfung" in jobs_page and not re.search(r'class="badge (running|queued)"', jobs_page):
            break
        assert time.monotonic() < deadline
        time.sleep(1)
    xlsx = c.get("/pruefung/validation_report.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    docs = c.get("/pruefung/data-docs/index.html")
    assert docs.status_code == 200 and docs.headers["content-security-policy"].startswith("sandbox allow-scripts")
    assert c.get("/pruefung/data-docs/../../config.toml").status_code == 404
    assert 'id="data-docs-link"' in c.get("/pruefung").text
    # without a session: the Data Docs' library assets load (their sandboxed pages send no cookie), pages do not
    anon = client(cfg, login=False)
    r = anon.get("/pruefung/data-docs/index.html")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert anon.get("/pruefung/data-docs/static/vendor/README.md").status_code in (200, 404)
    css = [p for p in re.findall(r'href="(static/[^"]+\.css)"', docs.text)]
    assert css and anon.get("/pruefung/data-docs/" + css[0]).status_code == 200
