"""The personal values of a set of export files (names, BG numbers, birth dates, decoded the way the pipeline
reads them) and a scan of a text for them: shared by the browser tests and the notebook tests."""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from pathlib import Path

from pipeline import model, read

SECRET_COLUMNS = {model.normalise(h): kind for h, kind in (
    ("Vorname", "name"), ("Nachname", "name"), ("BG-Nummer", "bg_number"), ("Geburtsdatum", "birth_date"))}


def date_forms(text: str) -> set[str]:
    """A birth date as exported, plus the forms a page or file could show it in (ISO, TT.MM.JJJJ)."""
    forms = {text} if len(text) >= 8 else set()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%Y-%m-%d %H:%M:%S"):
        try:
            d = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if d.year > dt.date.today().year:  # two-digit birth years are 19JJ (exports.md)
            d = d.replace(year=d.year - 100)
        forms |= {d.isoformat(), d.strftime("%d.%m.%Y")}
    return forms


def personal_values(files: list[Path], not_secret_dates: set[str] = frozenset()) -> dict[str, set[str]]:
    """Names, BG numbers and birth dates of the export files, decoded the way the pipeline reads them.

    ``not_secret_dates`` (snapshot dates, cycle boundaries) are shown by design: a child born on such a day
    is not a leak of that date.
    """
    found: dict[str, set[str]] = {"name": set(), "bg_number": set(), "birth_date": set()}
    shown = set()
    for d in not_secret_dates:
        shown |= date_forms(d)
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            shown |= date_forms(read.recognise(path).snapshot_date.isoformat())
            if not path.name.startswith(("personen_", "haushalte_")):
                continue
            decoded = read.decode(read.recognise(path), Path(tmp))
            enc = "utf-8-sig" if decoded.encoding == "utf-8-sig" else "utf-8"
            with decoded.csv_path.open(encoding=enc, newline="") as fh:
                rows = list(csv.reader(fh, delimiter=decoded.separator, quotechar='"'))
            header, body = rows[0], rows[1:]
            for i, h in enumerate(header):
                kind = SECRET_COLUMNS.get(model.normalise(h))
                for row in body if kind else []:
                    value = row[i].strip() if i < len(row) else ""
                    if value:
                        found[kind] |= date_forms(value) if kind == "birth_date" else {value}
    found["birth_date"] -= shown
    return found


def allowed_words() -> set[str]:
    """Words the pages show legitimately (labels, catalogue, rules): a name equal to one cannot be told apart."""
    from pipeline import catalogue
    from pipeline.validation.rules import rules

    texts = [lbl for lst in model.label_lists().values() for lbl in lst.labels.values()]
    texts += [f"{i.label} {i.definition}" for i in catalogue.indicators()]
    texts += [f"{r.title} {r.message}" for r in rules().values()]
    return {w for t in texts for w in re.findall(r"\w+", t)}


def leaks(text: str, personal: dict[str, set[str]], allowed: set[str]) -> list[str]:
    """Personal values found in a text (names as whole words, BG numbers and birth dates anywhere)."""
    found = [n for n in personal["name"] if n not in allowed and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)]
    found += [b for b in personal["bg_number"] if b in text]
    found += [d for d in personal["birth_date"] if d in text]
    return sorted(found)
