"""Support for the real-browser tests of the web page: the Debian browser, axe-core, the personal-data scan.

Playwright drives Debian's ``chromium-headless-shell`` (no ``playwright install``: its download host is not
reachable offline). axe-core comes with axe-playwright-python and is injected with ``page.evaluate``, which a
strict Content-Security-Policy allows (a ``<script>`` tag would be blocked).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from personal_data import (  # noqa: F401 - re-exported for the browser tests and docs/screenshots.py
    SECRET_COLUMNS,
    allowed_words,
    date_forms,
    leaks,
    personal_values,
)

CHROMIUM = Path(os.environ.get("ESF_CHROMIUM", "/usr/lib/chromium/chromium-headless-shell"))
LAUNCH_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-dev-shm-usage",  # Debian's small-/dev/shm check is broken on these machines
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--lang=de-DE",
]
# German like the project lead's browser: date inputs show TT.MM.JJJJ order, not mm/dd/yyyy. The Playwright
# context's locale sets navigator.language and Intl, not the browser's own locale, which the form controls
# use. The headless shell takes that from the environment (LANGUAGE/LANG; ``--lang`` alone is ignored), and
# only for a locale whose pak is in ``locales/`` next to the binary (Debian: chromium-l10n), else en-US.
BROWSER_LOCALE = "de-DE"
BROWSER_ENV = {"LANGUAGE": "de_DE:de", "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"}


def require_browser() -> None:
    """Skip without the browser on a developer machine; on CI (``CI`` set) a missing browser is a failure."""
    missing = [what for what, ok in (
        (str(CHROMIUM), CHROMIUM.exists()),
        ("playwright", _importable("playwright")),
        ("axe_playwright_python", _importable("axe_playwright_python")),
        ("pdftotext", shutil.which("pdftotext") is not None),
    ) if not ok]
    if missing:
        msg = f"browser tests need {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS,
                                      env={**os.environ, **BROWSER_ENV})


def german_locale_pak() -> Path:
    """The locale pak the browser needs to be German (see BROWSER_ENV)."""
    return CHROMIUM.parent / "locales" / "de.pak"


def axe_serious(page) -> list[dict]:
    """Serious or critical axe-core violations of the page as loaded (id, impact, help, the first targets)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"][:3]]}
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


# --- text of a download ---------------------------------------------------------------------------------------


def file_texts(name: str, data: bytes) -> list[tuple[str, str]]:
    """(name, readable text) of a downloaded file; a zip yields one entry per member."""
    low = name.lower()
    if low.endswith(".zip"):
        out = []
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for member in zf.namelist():
                if not member.endswith("/"):
                    out += file_texts(f"{name}!{member}", zf.read(member))
        return out
    if low.endswith((".xlsx", ".xlsm")):
        return [(name, xlsx_text(data))]
    if low.endswith(".pdf"):
        return [(name, pdf_text(data))]
    if low.endswith(".docx"):
        return [(name, docx_text(data))]
    if low.endswith((".png", ".jpg", ".jpeg", ".gif", ".woff", ".woff2", ".ico")):
        return [(name, "")]  # binary: no readable text (charts are checked through their data elsewhere)
    return [(name, data.decode("utf-8", "replace"))]


def xlsx_text(data: bytes) -> str:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=False)
    parts = []
    for ws in wb.worksheets:
        parts.append(ws.title)
        for row in ws.iter_rows(values_only=True):
            parts += [str(v) for v in row if v is not None]
            parts += [v.isoformat() for v in row if isinstance(v, dt.date | dt.datetime)]
    wb.close()
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    proc = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return proc.stdout.decode("utf-8", "replace")


def docx_text(data: bytes) -> str:
    try:
        import docx  # python-docx, when the office-files extra is installed
    except ImportError:
        docx = None
    if docx is not None:
        doc = docx.Document(io.BytesIO(data))
        parts = [p.text for p in doc.paragraphs]
        parts += [c.text for t in doc.tables for r in t.rows for c in r.cells]
        return "\n".join(parts)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # the XML parts, tags stripped
        xml = " ".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".xml"))
    return re.sub(r"<[^>]+>", " ", xml)
