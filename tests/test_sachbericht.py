"""The Sachbericht as rendered: Word draft read back with python-docx and converted by LibreOffice, every number of the
drafted text found in the same run's indicators.csv, the tagged PDF, the public Jahresrückblick.

One module fixture: a real DuckDB database (cycle 2019 of the 2014-20 period, final; cycle 2024 of ESF+, its
follow-ups not yet due, with 12 households; cycle 2025 running), indicators.csv written by the pipeline and the
report sets rendered for ``foerdergeber`` and ``oeffentlich``.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import docx
import pandas as pd
import pytest
from indicator_fixtures import Fixture, open_db
from pdf_streams import inflated as _inflated
from test_narrative import figure_forms, shares_of, unexplained_numbers

from pipeline import catalogue, db, indicators
from pipeline.config import load_config
from pipeline.reports import render_reports, word

ROOT = Path(__file__).resolve().parents[1]
D = dt.date.fromisoformat
SNAP = D("2025-06-30")
CHAPTERS = ["Umsetzung und Abweichungen", "Zielgruppe und Zugang", "Ergebnisse gegenüber den Zielen",
            "Hilfen und Übergänge", "Austritte und Verbleib", "Zusammenarbeit (Jobcenter, Fachdienste)",
            "Querschnittsziele (Gleichstellung, Nichtdiskriminierung, Nachhaltigkeit)", "Öffentlichkeitsarbeit",
            "Ausblick"]


def _fixture() -> Fixture:
    f = Fixture()
    for _ in range(2):
        h = f.household(project_cycle="2019", entry_date=D("2019-02-01"), exit_date=D("2019-11-30"))
        f.participant(h, esf_exit_date=D("2019-11-30"), exit_reason="regular_end", destination="employment_svp")
        f.help(h, D("2019-03-01"))
    sites = ["altenkirchen", "betzdorf", "wissen"]
    reasons = ["regular_end", "job_taken", "regular_end", "lack_of_cooperation", "moved", "regular_end"]
    dests = ["inactive", "employment_svp", "jobcenter_measure_45", "inactive", "job_seeking", "language_course"]
    for i in range(12):
        ex = D("2024-10-31") if i < 6 else D("2025-03-31")
        h = f.household(project_cycle="2024", entry_date=D("2024-02-01"), exit_date=ex,
                        jobcenter_site=sites[i % 3], household_type="single_parent" if i % 2 else "single")
        f.participant(h, esf_exit_date=ex, exit_reason=reasons[i % 6], destination=dests[i % 6],
                      employability_increased="yes" if i % 4 else "no", gender="male" if i % 3 == 0 else "female")
        f.person(h, birth_date=D("2015-01-01"))
        if i < 10:
            f.help(h, D("2024-03-15"), "started")
            f.help(h, D("2024-05-15"), "initiated", help_type="housing_search")
        f.contact(h, D("2024-03-01"), contact_type="home_visit")
    f.household(project_cycle="2025", entry_date=D("2025-03-01"))
    return f


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("sachbericht")
    cfg = load_config(ROOT / "config.toml")
    con = open_db(base / "db")
    _fixture().load(con, SNAP)
    out = {}
    try:
        for audience in ("foerdergeber", "oeffentlich"):
            db.create_current_views(con)
            result = indicators.compute(con, cfg, "2024", audience=audience)
            target = base / audience
            csv_path = indicators.write_csv(result, target / "indicators.csv")
            paths = render_reports(con, cfg, result, audience, target)
            out[audience] = {"result": result, "csv": csv_path, **{p.name: p for p in paths}}
    finally:
        con.close()
    out["config"] = cfg
    return out


def _csv_table(path: Path) -> pd.DataFrame:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    num = lambda v: float(v) if v != "" else None  # noqa: E731
    return pd.DataFrame([(r["indicator_id"], r["dimension"], r["category"], num(r["numerator"]),
                          num(r["denominator"]), num(r["value"])) for r in rows],
                        columns=["indicator_id", "dimension", "category", "numerator", "denominator", "value"])


def _styled(document, style: str) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == style]


def test_sets_hold_the_draft_and_the_public_text(run):
    assert {"project_report.pdf", "sachbericht.docx"} <= set(run["foerdergeber"])
    assert "jahresrueckblick.txt" not in run["foerdergeber"]
    assert "jahresrueckblick.txt" in run["oeffentlich"] and "sachbericht.docx" not in run["oeffentlich"]


def test_word_draft_chapters_tables_and_figures(run):
    d = docx.Document(run["foerdergeber"]["sachbericht.docx"])
    heads = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    assert heads == [f"{i} {t}" for i, t in enumerate(CHAPTERS, 1)] + ["Anhang: Definitionen",
                                                                      "Anhang: Datengrundlage"]
    # every chapter: drafted paragraphs first, then a marked place for the lead's own words
    chapter, seen = None, {}
    for p in d.paragraphs:
        if p.style.name == "Heading 1":
            chapter = p.text
            seen[chapter] = []
        elif chapter and p.style.name in (word.DRAFT_STYLE, word.OWN_STYLE, word.FLAG_STYLE):
            seen[chapter].append(p.style.name)
    for i, t in enumerate(CHAPTERS, 1):
        styles = seen[f"{i} {t}"]
        assert styles[0] == word.DRAFT_STYLE and styles[-1] == word.OWN_STYLE, (t, styles)
    # K01: 12 households against at least 30 places, K05: 10 of 12 = 83,3 % against 85 % → both missed, each
    # flagged with a place for the reason
    flags = _styled(d, word.FLAG_STYLE)
    assert flags == ["⚠ Unterstützte Bedarfsgemeinschaften (K01): Ziel mindestens 30 nicht erreicht. Begründung:",
                     "⚠ Anteil BG mit eingeleiteter Hilfe (K05): Ziel mindestens 85 % nicht erreicht. Begründung:"]
    assert _styled(d, word.OWN_STYLE).count("[Begründung hier eintragen.]") == 2
    tables = {t.rows[0].cells[0].text + "|" + t.rows[0].cells[1].text: t for t in d.tables}
    cover = next(t for k, t in tables.items() if k == "Angabe|Wert")
    assert [r.cells[0].text for r in cover.rows][1:] == ["Träger", "Projekt", "Aktenzeichen / Bewilligung",
                                                         "Laufzeit", "Berichtszeitraum", "Datenstand", "Fassung"]
    assert cover.rows[6].cells[1].text == "30.06.2025"
    signature = [p.text for p in d.paragraphs if p.text.startswith(("Ort, Datum:", "Unterschrift"))]
    assert len(signature) == 2
    tgt = [t for t in d.tables if [c.text for c in t.rows[0].cells] ==
           ["Kennung", "Indikator", "Ziel", "Ergebnis", "Abweichung", "Bewertung"]][0]
    body = {r.cells[0].text: [c.text for c in r.cells] for r in tgt.rows[1:]}
    assert body["K01"] == ["K01", "Unterstützte Bedarfsgemeinschaften", "mindestens 30", "12", "-18",
                           "⚠ nicht erreicht"]
    assert body["K05"][2:] == ["mindestens 85 %", "83,3 %", "-1,7 Prozentpunkte", "⚠ nicht erreicht"]
    assert body["K19"][2:] == ["mindestens 65 %", "75,0 %", "+10,0 Prozentpunkte", "erreicht"]  # 9 of 12
    cyc = [t for t in d.tables if t.rows[0].cells[0].text == "Kennzahl"][0]
    assert [c.text for c in cyc.rows[0].cells] == ["Kennzahl", "2019 (abgeschlossen)",
                                                   "2024 (Nachbefragung noch nicht fällig)", "2025 (laufend)"]
    k01 = next(r for r in cyc.rows if r.cells[0].text.startswith("K01"))
    assert [c.text for c in k01.cells][1:] == ["2", "12", "1"]
    assert any(t.rows[0].cells[1].text == "Indikator" and t.rows[0].cells[2].text == "Definition" for t in d.tables)
    # charts are pictures with alternative text (docPr descr)
    shapes = d.inline_shapes
    assert len(shapes) >= 3
    alts = [s._inline.docPr.get("descr") for s in shapes]
    assert all(a and len(a) > 40 for a in alts)
    assert any("Projektjahre im Vergleich" in a and "2024 (Nachbefragung noch nicht fällig, vorläufig)" in a
               for a in alts)


def test_every_number_of_the_drafted_text_is_a_figure_of_the_run(run):
    s = run["foerdergeber"]
    table = _csv_table(s["csv"])
    units = {i.id: i.unit for i in catalogue.indicators()}
    forms = figure_forms(table, units)
    cfg = run["config"]
    cycle = cfg.cycle("2024")
    for t in cycle.targets.values():  # the configured targets the text compares with
        forms.add(f"{t.value:g}".replace(".", ","))
    dates = {f"{x:%d.%m.%Y}" for x in (cycle.start, cycle.end, SNAP)}
    ids = {c.id for c in cfg.cycles}
    d = docx.Document(s["sachbericht.docx"])
    drafted = _styled(d, word.DRAFT_STYLE)
    text = "\n".join(drafted).replace(cfg.project.carrier, "").replace(cfg.project.name, "")
    assert len(drafted) >= 15 and "12 Bedarfsgemeinschaften" in text
    assert unexplained_numbers(text, forms, shares_of(table, units), dates, ids) == []
    # and the check bites on this very text: a changed figure is caught
    assert unexplained_numbers(text.replace("12 Bedarfsgemeinschaften", "13 Bedarfsgemeinschaften", 1), forms,
                               shares_of(table, units), dates, ids) == ["13"]


def test_libreoffice_opens_the_draft_and_renders_pages(run, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice not installed")
    src = run["foerdergeber"]["sachbericht.docx"]
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(src)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    pdf = tmp_path / "sachbericht.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for phrase in ("Sachbericht – Entwurf", "3 Ergebnisse gegenüber den Zielen", "Anhang: Definitionen",
                   "Unterschrift", "Projektjahre im Vergleich"):
        assert phrase in text, phrase
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                             text=True).stdout).group(1))
    assert pages >= 5
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "w")], check=True)
    assert len(list(tmp_path.glob("w-*.png"))) == 3


def _pdf_strings(blob: bytes, key: bytes) -> list[str]:
    """Values of ``/Key <feff…>`` (UTF-16 hex) and ``/Key (…)`` entries."""
    out = [bytes.fromhex(h.decode()).decode("utf-16") for h in re.findall(rb"/" + key + rb"\s*<([0-9a-fA-F]+)>", blob)]
    out += [s.decode("latin-1") for s in re.findall(rb"/" + key + rb"\s*\(([^)]*)\)", blob)]
    return out


@pytest.mark.parametrize("audience", ["foerdergeber", "oeffentlich"])
def test_pdf_is_tagged_pdfa_with_language_headings_table_headers_and_alt_texts(run, audience):
    pdf = run[audience]["project_report.pdf"]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Tagged:\s+yes", info), info
    xmp = subprocess.run(["pdfinfo", "-meta", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"pdfaid:part[^0-9]*3", xmp) and re.search(r"pdfaid:conformance[^A-Z]*A", xmp), xmp
    struct = subprocess.run(["pdfinfo", "-struct", str(pdf)], capture_output=True, text=True, check=True).stdout
    for tag in ("H1", "H2", "Table", "TH", "TD", "Figure"):
        assert re.search(rf"^\s*{tag}\b", struct, re.M), tag
    blob = _inflated(pdf.read_bytes())
    assert _pdf_strings(blob, b"Lang") == ["de"]
    alts = _pdf_strings(blob, b"Alt")
    assert alts and any(a.startswith("Diagramm: Projektjahre im Vergleich") for a in alts)
    assert len(alts) == blob.count(b"/S /Figure")  # every figure has its Alt text


def test_pdf_has_the_target_table_and_the_comparison_chapter(run):
    text = subprocess.run(["pdftotext", "-layout", str(run["foerdergeber"]["project_report.pdf"]), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Ziele und Ergebnisse" in text and "Projektjahre im Vergleich" in text
    # one table row: target, result 12, difference -18, flagged
    assert re.search(r"K01 +Unterstützte.* +mindestens 30 +12 +-18 +⚠ nicht erreicht", text)
    assert re.search(r"K05 +Anteil BG .* +mindestens 85 % +83,3 % +-1,7 Prozentpunkte +⚠ nicht erreicht", text)
    assert "Nachbefragung noch nicht fällig" in text and "vorläufig" in text


def test_public_pdf_page_and_text_use_disclosure_controlled_figures(run):
    s = run["oeffentlich"]
    txt = s["jahresrueckblick.txt"].read_text(encoding="utf-8")
    assert txt.startswith("BG-Coaching bei neue arbeit e.V.: Rückblick auf das Projektjahr 2024\n\n")
    paragraph = txt.split("\n\n")[1]
    # 12 households, 24 persons, 20 helps: all above the threshold; 12 children shown; K05 10 of 12 (complement 2:
    # hidden), K10 1 of 12 leavers (hidden)
    assert paragraph.startswith("Im Projektjahr 2024 konnte die Unterstützung durch BG-Coaching in 12 "
                                "Bedarfsgemeinschaften greifen. Erreicht wurden 24 Personen, darunter 12 Kinder.")
    assert "der Familien konnten Hilfen" not in paragraph and "Arbeit oder Ausbildung" not in paragraph
    assert "Insgesamt wurden 20 Hilfen auf den Weg gebracht." in paragraph
    pdf_text = subprocess.run(["pdftotext", str(s["project_report.pdf"]), "-"], capture_output=True, text=True,
                              check=True).stdout
    assert "Jahresrückblick" in " ".join(pdf_text.split()) and "auf den Weg gebracht" in pdf_text
