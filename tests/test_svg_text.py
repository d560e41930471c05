"""SVG text in the PDF as whole strings (pipeline.reports.svg_text): same places as WeasyPrint's own letter-by-letter
drawing, read back from real PDFs with ``pdftotext -bbox``; per-letter positions still take WeasyPrint's path."""

from __future__ import annotations

import base64
import itertools
import os
import re
import shutil
import subprocess

import pytest

from pipeline.reports import pdf, svg_text

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None and not os.environ.get("CI"),
                                reason="pdftotext (poppler-utils) not installed")

SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 120" width="400" height="120">
<text style="font-size: 14px; font-family: 'DejaVu Sans'" x="10" y="30">Wasserfall</text>
<text style="font-size: 14px; font-family: 'DejaVu Sans'; text-anchor: middle" x="200" y="30">Mitte</text>
<text style="font-size: 14px; font-family: 'DejaVu Sans'; text-anchor: end" x="390" y="30">Ende</text>
<text style="font-size: 14px; font-family: 'DejaVu Sans'" x="10" y="80"
      transform="rotate(-90 10 80)">Achse</text>
<text style="font-size: 14px; font-family: 'DejaVu Sans'" x="40 100 160 220" y="100">ABCD</text>
</svg>"""


def _words(tmp_path, name: str) -> dict[str, tuple[float, ...]]:
    data = base64.b64encode(SVG.encode()).decode()
    html = ('<!DOCTYPE html><html lang="de"><head><title>t</title></head><body>'
            f'<img style="width: 400px" src="data:image/svg+xml;base64,{data}" alt="Test"></body></html>')
    out = tmp_path / f"{name}.pdf"
    out.write_bytes(pdf.html_to_pdf(html))
    box = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True, text=True, check=True).stdout
    return {m[4]: tuple(float(v) for v in m[:4]) for m in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)</word>', box)}


@pytest.fixture
def letter_by_letter(monkeypatch):
    """WeasyPrint's own SVG text drawing for the duration of a test."""
    from weasyprint import svg

    pdf._weasy()  # installs the whole-string drawing
    original, patched = svg_text._STATE["original"], svg.text
    for tag, fn in list(svg.TAGS.items()):
        if fn is patched:
            monkeypatch.setitem(svg.TAGS, tag, original)
    monkeypatch.setattr(svg, "text", original)


def test_installed_for_the_checked_version_only(monkeypatch):
    import weasyprint
    from weasyprint import svg

    pdf._weasy()
    assert svg_text._STATE["on"] is (weasyprint.__version__ == svg_text.CHECKED_VERSION)
    if svg_text._STATE["on"]:
        assert svg.TAGS["text"] is svg.text is not svg_text._STATE["original"]
    monkeypatch.setattr(svg_text, "_STATE", {})
    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    monkeypatch.setattr(svg, "TAGS", dict(svg.TAGS))
    assert svg_text.install() is False  # an unchecked version keeps its own drawing


def test_whole_strings_sit_where_weasyprint_puts_the_letters(tmp_path, request):
    whole = _words(tmp_path, "whole")
    request.getfixturevalue("letter_by_letter")
    letters = _words(tmp_path, "letters")
    assert {"Wasserfall", "Mitte", "Ende", "Achse", "A", "B", "C", "D"} <= set(whole) == set(letters)
    for word in ("Wasserfall", "Mitte", "Ende", "Achse"):
        w, ltr = whole[word], letters[word]
        assert w[1] == pytest.approx(ltr[1], abs=0.6) and w[3] == pytest.approx(ltr[3], abs=0.6), word
        # kerning may make the whole string a little narrower; it keeps its anchor (start, middle, end)
        assert (w[2] - w[0]) == pytest.approx(ltr[2] - ltr[0], rel=0.04, abs=0.6), word
    assert whole["Wasserfall"][0] == pytest.approx(letters["Wasserfall"][0], abs=0.6)  # start anchor
    assert whole["Ende"][2] == pytest.approx(letters["Ende"][2], abs=0.6)  # end anchor
    mid = [(b[0] + b[2]) / 2 for b in (whole["Mitte"], letters["Mitte"])]
    assert mid[0] == pytest.approx(mid[1], abs=0.6)
    # the rotated label stays rotated: taller than wide
    assert whole["Achse"][3] - whole["Achse"][1] > 2 * (whole["Achse"][2] - whole["Achse"][0])
    # per-letter x positions still go letter by letter: the same boxes as WeasyPrint's own drawing
    for letter in "ABCD":
        assert whole[letter] == pytest.approx(letters[letter], abs=0.01), letter
    xs = [whole[c][0] for c in "ABCD"]
    assert [round(b - a) for a, b in itertools.pairwise(xs)] == [45, 45, 45]  # 60 SVG units at 400 px = 300 pt
