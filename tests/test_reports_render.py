"""End to end: real compute() on the tiny database, all three audiences rendered once per module.

Checks: every figure of both workbooks equals the result table; LibreOffice converts each workbook without
error; the PDF has the key figures, umlauts, page numbers and PDF/A-3a metadata.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest
from pdf_streams import inflated as _inflated
from test_reports import CONFIG, cells_by_id, make_db, sheet_rows

from pipeline import indicators
from pipeline.config import load_config
from pipeline.reports import render_reports


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("reports")
    config = load_config(CONFIG)
    con = make_db(base / "t.duckdb")
    out = {}
    for audience in ("foerdergeber", "intern", "oeffentlich"):
        result = indicators.compute(con, config, "2024", audience=audience)
        paths = render_reports(con, config, result, audience, base / audience)
        out[audience] = (result, {p.name: p for p in paths})
    con.close()
    return out


def _exact(table, ind, dim="total", cat="total", col="value"):
    sel = table[(table.indicator_id == ind) & (table.dimension == dim) & (table.category == cat)]
    assert len(sel) == 1, (ind, dim, cat)
    v = sel.iloc[0][col]
    return None if pd.isna(v) else float(v)


def _same(cell, expected):
    if expected is None:
        return cell is None
    return cell is not None and abs(float(cell) - expected) < 1e-9


def test_project_workbook_equals_result_table(rendered):
    result, files = rendered["foerdergeber"]
    wb = openpyxl.load_workbook(files["project_report.xlsx"])
    t = result.table
    ind = cells_by_id(wb["Indikatoren"])
    k_ids = [i for i in t.indicator_id.unique() if i.startswith("K")]
    assert list(ind) == k_ids  # every K indicator in catalogue order, K18 not (foerdergeber)
    for i, row in ind.items():
        assert _same(row["Wert"], _exact(t, i)), i
        assert _same(row["Nenner"], _exact(t, i, col="denominator")), i
        assert _same(row["Zähler"], _exact(t, i, col="numerator")), i
    # every breakdown row of a K indicator appears once with the same value
    bd = sheet_rows(wb["Aufschlüsselungen"])
    expected = t[t.indicator_id.str.startswith("K") & ~t.dimension.isin(["total", "keine_angabe"])]
    assert len(bd) == len(expected)
    for row, (_, e) in zip(bd, expected.iterrows(), strict=True):
        assert row["Kennung"] == e.indicator_id
        assert _same(row["Wert"], _exact(t, e.indicator_id, e.dimension, e.category)), (e.indicator_id, e.category)


def test_esf_submission_equals_result_table(rendered):
    result, files = rendered["foerdergeber"]
    t = result.table
    ws = openpyxl.load_workbook(files["esf_submission.xlsx"])["ESF-Indikatoren"]
    got = cells_by_id(ws)
    esf_ids = [i for i in t.indicator_id.unique() if i.startswith("EE")]
    assert list(got) == esf_ids
    for i, row in got.items():
        col = "numerator"
        assert _same(row["Insgesamt (Anzahl)"], _exact(t, i, col=col)), i
        for g, h in (("women", "Frauen"), ("men", "Männer"), ("non_binary", "divers")):
            assert _same(row[f"{h} (Anzahl)"], _exact(t, i, "gender", g, col)), (i, g)


def test_intern_has_k18_and_coaches_public_has_key_figures_only(rendered):
    wb = openpyxl.load_workbook(rendered["intern"][1]["project_report.xlsx"])
    assert "K18" in cells_by_id(wb["Indikatoren"]) and "Coaches" in wb.sheetnames
    pub = openpyxl.load_workbook(rendered["oeffentlich"][1]["project_report.xlsx"])
    assert pub.sheetnames == ["Deckblatt", "Kennzahlen", "Ziele", "Projektjahre", "Definitionen"]
    ids = list(cells_by_id(pub["Kennzahlen"]))
    assert "K18" not in ids and "K01" in ids and len(ids) <= 12


def test_libreoffice_converts_every_workbook(rendered, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice not installed")
    # one LibreOffice start for all workbooks (same names per audience: copy under unique names first)
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for aud, (_, paths) in rendered.items():
        for name, p in paths.items():
            if name.endswith(".xlsx"):
                files.append(shutil.copy(p, src / f"{aud}_{name}"))
    out = tmp_path / "pdf"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless", "--convert-to", "pdf",
         "--outdir", str(out), *map(str, files)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    for f in files:
        pdf = out / (os.path.basename(f)[: -len(".xlsx")] + ".pdf")
        assert pdf.is_file() and pdf.stat().st_size > 1000, (f, proc.stdout, proc.stderr)


def _pdftext(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_pdf_text_figures_umlauts_and_page_numbers(rendered, tmp_path):
    result, files = rendered["foerdergeber"]
    pdf = files["project_report.pdf"]
    text = _pdftext(pdf)
    for word in ("Männer", "Maßnahme", "Gefördert durch die Europäische Union / Europäischer Sozialfonds Plus",
                 "Datenstand", "31.12.2024", "Anhang A: Definitionen", "Hinweise zur Datenqualität"):
        assert word in text, word
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                             text=True).stdout).group(1))
    assert f"Seite 2 von {pages}" in text
    # key figures as printed: K01 = 3 BG; K05 = 2 of 3 = 66,7 %
    assert _exact(result.table, "K01") == 3 and "66,7 %" in text
    assert "Betreute BG je Coach" not in text  # K18 is internal
    # the page renders to an image (poppler) without error
    subprocess.run(["pdftoppm", "-r", "20", "-png", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) == 2


def test_pdf_is_pdfa_with_metadata(rendered):
    pdf = rendered["intern"][1]["project_report.pdf"]
    raw = pdf.read_bytes()
    xmp = subprocess.run(["pdfinfo", "-meta", str(pdf)], capture_output=True, text=True, check=True).stdout
    # PDF/A-3a: the accessible conformance level (tagged); see test_sachbericht.py for the tags themselves
    assert re.search(r"pdfaid:part[^0-9]*3", xmp) and re.search(r"pdfaid:conformance[^A-Z]*A", xmp), xmp
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "neue arbeit e.V." in info  # author = carrier
    assert "Sachbericht BG-Coaching" in info
    assert re.search(rb"/Lang\s*\(de\)", _inflated(raw))  # catalog language (in a compressed object stream)
    text = _pdftext(pdf)
    assert "Betreute BG je Coach-VZÄ" in text and "Aufschlüsselung nach Coach" in text


def test_public_pdf_is_short_and_marked(rendered):
    pdf = rendered["oeffentlich"][1]["project_report.pdf"]
    text = _pdftext(pdf)
    assert "Öffentlich" in text and "aus Gründen des Datenschutzes" in text
    assert "Monatliche Zeitreihe" not in text
    assert "Aufschlüsselung nach Coach" not in text and "C01" not in text


def test_chart_svg_is_the_same_after_a_pdf_was_written():
    """Chart SVGs lose matplotlib's naming-only groups through ElementTree, whose namespace prefixes are global;
    WeasyPrint's PDF metadata takes the empty prefix for itself. A chart drawn after a PDF must still be plain
    SVG (an ``ns0:svg`` is not drawn at all: the PDF showed the alternative text instead of the chart)."""
    from pipeline.reports import charts, pdf

    def draw() -> charts.Chart:
        return charts.Chart("households", charts.households_figure(["2025-01", "2025-02"], [1, 2], [1, 0], [0, 1]),
                            "Diagramm")

    first = draw().svg()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in first and "ns0:" not in first
    assert "<g id=" not in first and "<metadata" not in first  # naming-only groups and metadata gone
    chart = draw()
    chart.size = charts.HOUSEHOLDS_SIZE
    html = ('<!DOCTYPE html><html lang="de"><head><title>x</title></head><body>'
            f'{pdf._placeholder("households", chart)}</body></html>')
    out = pdf.html_to_pdf(html, pdf.chart_fetcher(lambda key: chart.svg()))
    assert draw().svg() == first
    text = _pdf_text_of(out)  # the chart was drawn: its axis label is text in the PDF, not its alternative text
    assert "Bedarfsgemeinschaften" in text and "Diagramm" not in text


def test_a_chart_is_taken_when_the_pdf_draws_it_and_fills_its_placeholder(monkeypatch):
    """The PDF lays out a placeholder of the chart's size and asks for the chart only when it draws it, after the
    whole layout (meanwhile a helper process draws it); the chart's SVG has exactly the placeholder's size."""
    from weasyprint import document

    from pipeline.reports import charts, pdf

    chart = charts.Chart("households", lambda: charts.households_figure(["2025-01", "2025-02"], [1, 2], [1, 0],
                                                                        [0, 1]), "Diagramm", charts.HOUSEHOLDS_SIZE)
    events: list[str] = []
    real = document.layout_document

    def layout(*args, **kwargs):
        yield from real(*args, **kwargs)
        events.append("laid out")

    def svg_of(key: str) -> str:
        events.append(f"asked for {key}")
        return chart.svg()

    monkeypatch.setattr(document, "layout_document", layout)
    html = ('<!DOCTYPE html><html lang="de"><head><title>x</title></head><body>'
            f'<div class="chart">{pdf._placeholder("households", chart)}</div></body></html>')
    assert not isinstance(chart.figure, charts.Figure)  # not drawn for the placeholder
    out = pdf.html_to_pdf(html, pdf.chart_fetcher(svg_of))
    assert events == ["laid out", "asked for households"]
    w, h = (round(v * 72, 3) for v in charts.HOUSEHOLDS_SIZE)
    assert re.search(r'viewBox="([^"]+)"', chart.svg()).group(1) == f"0 0 {w:g} {h:g}"
    text = _pdf_text_of(out)  # drawn inside the placeholder: its labels are text in the PDF
    assert "Bedarfsgemeinschaften" in text and "Eintritte" in text and "Diagramm" not in text


def test_long_category_names_fit_into_the_chart():
    """Charts have a fixed size now (no crop around whatever sticks out): long names wrap, and matplotlib fits
    every label in (it warns when it cannot)."""
    import warnings

    from pipeline.reports import charts

    names = ["Eingliederung von Langzeitarbeitslosen (§ 16e SGB II) mit begleitendem Coaching",
             "Förderung von Arbeitsverhältnissen (§ 16i SGB II)", "sonstiges"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = charts.horizontal_bars(names, [3, 2, 1], "Teilnehmende")
    assert ">Eingliederung von Langzeitarbeitslosen<" in svg and "Coaching" in svg  # wrapped, nothing lost
    assert re.search(r'viewBox="([^"]+)"', svg).group(1) == f"0 0 {charts.WIDTH * 72:g} {(0.35 * 3 + 0.8) * 72:g}"


def _pdf_text_of(data: bytes) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(["pdftotext", f.name, "-"], capture_output=True, text=True, check=True).stdout
