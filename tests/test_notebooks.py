"""The analysts' notebooks run top to bottom on a generated demo database and print no personal data.

The executing test builds its own database in tmp_path (generator → ingest) and hands it to the notebooks
through ``ESF_DB``/``ESF_CONFIG``, the variables their first cell honours.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from pipeline import ingest, model, read
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = ["01_overview.ipynb", "02_indicator_drilldown.ipynb", "03_outcomes.ipynb"]
HAVE_GENERATOR = importlib.util.find_spec("pipeline.generate") is not None
SECRET_COLUMNS = {model.normalise(h): kind for h, kind in (
    ("Vorname", "name"), ("Nachname", "name"), ("BG-Nummer", "bg_number"), ("Geburtsdatum", "birth_date"))}


def test_the_three_notebooks_are_committed_without_outputs():
    assert [p.name for p in NOTEBOOKS] == EXPECTED
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), f"{path.name}: strip outputs"
        first = code[0].source
        # the first cell locates the repo and the demo db, and honours ESF_DB (what the test below relies on)
        assert 'os.environ.get("ESF_DB")' in first and '"demo" / "data" / "esf.duckdb"' in first
        assert "api.newest_cycle(" in first
        # markdown explains: at least one markdown cell per three code cells
        assert sum(c.cell_type == "markdown" for c in nb.cells) * 3 >= len(code), path.name


def _rows(path: Path, workdir: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of one export file, decoded the way the pipeline reads it (any dialect)."""
    decoded = read.decode(read.recognise(path), workdir)
    enc = "utf-8-sig" if decoded.encoding == "utf-8-sig" else "utf-8"
    with decoded.csv_path.open(encoding=enc, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=decoded.separator, quotechar='"'))
    return rows[0], rows[1:]


def _date_forms(text: str) -> set[str]:
    """A birth date as read, plus the forms an output could show it in (ISO, TT.MM.JJJJ)."""
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


def _personal_values(inbox: Path, workdir: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"name": set(), "bg_number": set(), "birth_date": set()}
    snapshot_dates: set[str] = set()
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")):
        snapshot_dates |= _date_forms(read.recognise(path).snapshot_date.isoformat())
        if not path.name.startswith(("personen_", "haushalte_")):
            continue
        header, rows = _rows(path, workdir)
        for i, h in enumerate(header):
            kind = SECRET_COLUMNS.get(model.normalise(h))
            for row in rows if kind else []:
                value = row[i].strip() if i < len(row) else ""
                if not value:
                    continue
                found[kind] |= _date_forms(value) if kind == "birth_date" else {value}
    # the notebooks show snapshot dates by design; a child born on an export day is not a leak of that date
    found["birth_date"] -= snapshot_dates
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not HAVE_GENERATOR:
        pytest.skip("pipeline.generate (the synthetic export generator) is not in the tree yet")
    from pipeline import generate

    base = tmp_path_factory.mktemp("nbdemo")
    (base / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(base / "config.toml")
    generate.generate(cfg.inbox, households=40, seed=11, config=cfg)
    personal = _personal_values(cfg.inbox, tmp_path_factory.mktemp("decoded"))
    res = ingest.ingest(cfg)
    assert res.loaded, "the generated exports did not load"
    return {"db": cfg.database, "config": base / "config.toml", "personal": personal}


def _allowed_words() -> set[str]:
    """Words the notebooks print legitimately (labels, catalogue, rules): a name equal to one cannot be told apart."""
    from pipeline import catalogue
    from pipeline.validation.rules import rules

    texts = [lbl for lst in model.label_lists().values() for lbl in lst.labels.values()]
    texts += [f"{i.label} {i.definition}" for i in catalogue.indicators()]
    texts += [f"{r.title} {r.message}" for r in rules().values()]
    return {w for t in texts for w in re.findall(r"\w+", t)}


def _output_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(out["text"])
            for mime, data in out.get("data", {}).items():
                if mime.startswith("text/") or mime == "image/svg+xml":  # PNG is base64: no readable text
                    parts.append(data if isinstance(data, str) else "".join(data))
            parts += out.get("traceback", [])
    return "\n".join(parts)


def _leaks(text: str, personal: dict[str, set[str]], allowed: set[str]) -> list[str]:
    """Personal values found in the output text (names as whole words)."""
    found = [n for n in personal["name"] if n not in allowed and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)]
    found += [b for b in personal["bg_number"] if b in text]
    found += [d for d in personal["birth_date"] if d in text]
    return found


def test_the_scan_finds_what_it_looks_for():
    """Negative control for the scan above: names, BG numbers and birth dates in any output type are caught."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x")]
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", text="person Quastenberg\n"),
        nbformat.v4.new_output("display_data", data={"text/html": "<td>1975-02-03</td>", "image/png": "Wagner=="}),
        nbformat.v4.new_output("execute_result", data={"image/svg+xml": "<text>07132BG0001234</text>"},
                               execution_count=1),
    ]
    text = _output_text(nb)
    personal = {"name": {"Quastenberg", "Wagner", "Wissen", "Zoë"}, "bg_number": {"07132BG0001234"},
                "birth_date": _date_forms("03.02.1975") | _date_forms("01.01.80")}
    assert "1980-01-01" in personal["birth_date"]  # two-digit birth years are 19JJ
    # Wagner only inside a PNG blob, Wissen is a site label (allowed), Zoë absent
    assert sorted(_leaks(text, personal, {"Wissen"})) == ["07132BG0001234", "1975-02-03", "Quastenberg"]


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_and_prints_no_personal_data(name, demo, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("ESF_DB", str(demo["db"]))
    monkeypatch.setenv("ESF_CONFIG", str(demo["config"]))
    monkeypatch.delenv("ESF_CYCLE", raising=False)
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    # raises CellExecutionError (with the failing cell) on any error
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code[:2]), "setup and first analysis cell show something"
    assert not [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    text = _output_text(nb)
    assert "Zyklus" in text
    personal = demo["personal"]
    assert personal["name"] and personal["birth_date"], "the generated persons file has names and birth dates"
    leaks = _leaks(text, personal, _allowed_words())
    assert not leaks, f"{name} prints personal data ({len(leaks)} values)"  # never the values themselves
