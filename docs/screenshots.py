#!/usr/bin/env python
"""The README's screenshots of the web page: ``.venv/bin/python docs/screenshots.py``.

Synthetic data only (the demo's generator settings, 60 households, seed 1, plus 2 % defects so that the
Prüfergebnis has something to show), driven through the real ``esf-pipeline serve`` in Debian's headless
Chromium the way a user would: log in by the link, upload the exports, build the Fördergeber report. Before
a page is photographed, its text is scanned for the generated names, BG numbers and birth dates (none may
show, synthetic or not). The PNGs are reduced to a palette to stay small.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from web_server import Server, write_config  # noqa: E402
from web_site import (  # noqa: E402
    BROWSER_LOCALE,
    allowed_words,
    german_locale_pak,
    launch,
    leaks,
    personal_values,
)

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}  # the problems table's nine columns fit without scrolling
REGIONS = {  # page -> (first element or None for the page's top, last element): whole lines and rows only
    "lieferung": ("#h-einlesen", "#job-status"),
    "berichte": (None, "#report-sets-section"),
    "uebersicht": (None, "#key-figures"),
    "pruefung": ("#problem-filters", "#problems-table tbody tr:nth-child(8)"),
    "kennzahlen": ("#indicators-meta", "#indicators-table tr#ind-K21"),
    "datenschutz": (None, "#audit-log tbody tr:nth-child(3)"),
}
TIMEOUT_MS = 300_000


def save(page, name: str, out: Path, personal: dict, allowed: set, top: str | None = None,
         bottom: str | None = None, margin: int = 16, full: bool = False) -> Path:
    """Photograph the page from ``top`` (an element; the page's top if None) to ``bottom`` (an element; the
    window's height if None), so that no picture ends in the middle of a line or a table row."""
    found = leaks(page.content() + page.locator("body").inner_text(), personal, allowed)
    if found:
        raise SystemExit(f"{name}: personal data on the page ({len(found)} values): not photographed")
    from PIL import Image

    path = out / f"{name}.png"
    if full:
        page.screenshot(path=str(path), full_page=True)
    else:
        y0 = max(_edge(page, top, "top") - margin, 0) if top else 0
        below = 1 if bottom and " tr" in bottom else margin  # a table row: not a sliver of the next one
        y1 = _edge(page, bottom, "bottom") + below if bottom else y0 + VIEWPORT["height"]
        page.screenshot(path=str(path), full_page=True,
                        clip={"x": 0, "y": y0, "width": VIEWPORT["width"], "height": y1 - y0})
    img = Image.open(path).convert("RGB").quantize(colors=128)
    img.save(path, optimize=True)
    return path


def _edge(page, selector: str, side: str) -> float:
    """The top or bottom of ``selector`` in page coordinates."""
    return page.evaluate("([s, side]) => { const r = document.querySelector(s).getBoundingClientRect();"
                         " return r[side] + window.scrollY; }", [selector, side])


def wait_done(page) -> None:
    """The job shown is over, and so is any job after it (the upload's validation job): the busy note is gone."""
    page.locator("#job-status[data-outcome]:not([hx-trigger])").wait_for(timeout=TIMEOUT_MS)
    page.locator("#busy-note").wait_for(state="hidden", timeout=TIMEOUT_MS)


def _size(path: Path) -> str:
    from PIL import Image

    with Image.open(path) as img:
        return f"{img.width}×{img.height}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--full", action="store_true", help="whole pages (to choose the regions)")
    args = ap.parse_args(argv)
    if not german_locale_pak().exists():
        raise SystemExit(f"{german_locale_pak()} is missing: the date fields would show mm/dd/yyyy "
                         "(apt-get install chromium-l10n)")
    from playwright.sync_api import sync_playwright

    from pipeline import generate
    from pipeline.config import load_config

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="esf-screens-"))
    server = None
    try:
        config = write_config(base)
        cfg = load_config(config)
        gen = generate.generate(base / "exports", households=60, seed=1, defects=0.02, config=cfg)
        cycle = gen.cycles[-1]
        personal = personal_values(gen.files, {d.isoformat() for c in cfg.cycles for d in (c.start, c.end)})
        allowed = allowed_words()
        server = Server(config, base / "serve.log")
        with sync_playwright() as pw:
            browser = launch(pw)
            ctx = browser.new_context(viewport=VIEWPORT, locale=BROWSER_LOCALE, accept_downloads=True)
            ctx.set_default_timeout(60_000)
            page = ctx.new_page()
            page.goto(server.link)
            # Lieferung: the files uploaded, the ingest result per file
            page.goto(server.base + "/lieferung")
            page.get_by_label("Exportdateien auswählen").set_input_files([str(p) for p in gen.files])
            page.get_by_role("button", name="Hochladen und einlesen").click()
            wait_done(page)
            save(page, "lieferung", out, personal, allowed, *REGIONS["lieferung"], full=args.full)
            # Berichte: the Fördergeber set of the newest cycle
            page.goto(server.base + "/berichte")
            page.get_by_label("Projektzyklus").select_option(cycle)
            page.get_by_label("Zielgruppe").select_option(label="Fördergeber")
            page.get_by_role("button", name="Berichte erstellen").click()
            wait_done(page)
            page.goto(server.base + "/berichte")
            save(page, "berichte", out, personal, allowed, *REGIONS["berichte"], full=args.full)
            for name, path in (("uebersicht", "/"), ("pruefung", "/pruefung?schwere=row_error"),
                               ("kennzahlen", f"/kennzahlen?zyklus={cycle}"), ("datenschutz", "/datenschutz")):
                page.goto(server.base + path)
                page.wait_for_load_state("networkidle")
                if name == "kennzahlen":  # one definition opened, as a reader would
                    page.locator("#ind-K05 summary").click()
                save(page, name, out, personal, allowed, *REGIONS[name], full=args.full)
            browser.close()
    finally:
        if server:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    for p in sorted(out.glob("*.png")):
        print(f"{p}: {p.stat().st_size // 1024} kB, {_size(p)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
