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
from web_site import allowed_words, launch, leaks, personal_values  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1100, "height": 760}
TIMEOUT_MS = 300_000


def save(page, name: str, out: Path, personal: dict, allowed: set, full: bool = False) -> Path:
    found = leaks(page.content() + page.locator("body").inner_text(), personal, allowed)
    if found:
        raise SystemExit(f"{name}: personal data on the page ({len(found)} values): not photographed")
    from PIL import Image

    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    img = Image.open(path).convert("RGB").quantize(colors=128)
    img.save(path, optimize=True)
    return path


def to_top(page, selector: str, margin: int = 16) -> None:
    """Scroll so that ``selector`` starts ``margin`` pixels below the top of the window."""
    page.evaluate("([s, m]) => window.scrollTo(0, document.querySelector(s).getBoundingClientRect().top"
                  " + window.scrollY - m)", [selector, margin])


def wait_done(page) -> None:
    """The job shown is over, and so is any job after it (the upload's validation job): the busy note is gone."""
    page.locator("#job-status[data-outcome]:not([hx-trigger])").wait_for(timeout=TIMEOUT_MS)
    page.locator("#busy-note").wait_for(state="hidden", timeout=TIMEOUT_MS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
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
            ctx = browser.new_context(viewport=VIEWPORT, locale="de-DE", accept_downloads=True)
            ctx.set_default_timeout(60_000)
            page = ctx.new_page()
            page.goto(server.link)
            # Lieferung: the files uploaded, the ingest result per file
            page.goto(server.base + "/lieferung")
            page.get_by_label("Exportdateien auswählen").set_input_files([str(p) for p in gen.files])
            page.get_by_role("button", name="Hochladen und einlesen").click()
            wait_done(page)
            to_top(page, "#h-einlesen")
            save(page, "lieferung", out, personal, allowed)
            # Berichte: the Fördergeber set of the newest cycle
            page.goto(server.base + "/berichte")
            page.get_by_label("Projektzyklus").select_option(cycle)
            page.get_by_label("Zielgruppe").select_option(label="Fördergeber")
            page.get_by_role("button", name="Berichte erstellen").click()
            wait_done(page)
            page.goto(server.base + "/berichte")
            to_top(page, "#h-saetze", 130)
            save(page, "berichte", out, personal, allowed)
            for name, path, top in (("uebersicht", "/", None),
                                    ("pruefung", "/pruefung?schwere=row_error", ("#problem-filters", 16)),
                                    ("kennzahlen", f"/kennzahlen?zyklus={cycle}", ("#indicators-table", 70)),
                                    ("datenschutz", "/datenschutz", None)):
                page.goto(server.base + path)
                page.wait_for_load_state("networkidle")
                if top:
                    to_top(page, *top)
                save(page, name, out, personal, allowed)
            browser.close()
    finally:
        if server:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    for p in sorted(out.glob("*.png")):
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size // 1024} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
