"""The analysts' notebooks run top to bottom on a generated demo database and print no personal data.

The executing test builds its own database in tmp_path (generator → ingest) and hands it to the notebooks
through ``ESF_DB``/``ESF_CONFIG``, the variables their first cell honours.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest
from personal_data import allowed_words, date_forms, leaks, personal_values

from pipeline import ingest
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = ["01_overview.ipynb", "02_indicator_drilldown.ipynb", "03_outcomes.ipynb"]
HAVE_GENERATOR = importlib.util.find_spec("pipeline.generate") is not None


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


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not HAVE_GENERATOR:
        pytest.skip("pipeline.generate (the synthetic export generator) is not in the tree yet")
    from pipeline import generate

    base = tmp_path_factory.mktemp("nbdemo")
    (base / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(base / "config.toml")
    generate.generate(cfg.inbox, households=40, seed=11, config=cfg)
    # the notebooks show snapshot dates by design: personal_values leaves those out of the birth dates
    personal = personal_values(sorted(p for p in cfg.inbox.iterdir() if p.is_file() and not p.name.startswith(".")))
    res = ingest.ingest(cfg)
    assert res.loaded, "the generated exports did not load"
    return {"db": cfg.database, "config": base / "config.toml", "personal": personal}


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
                "birth_date": date_forms("03.02.1975") | date_forms("01.01.80")}
    assert "1980-01-01" in personal["birth_date"]  # two-digit birth years are 19JJ
    # Wagner only inside a PNG blob, Wissen is a site label (allowed), Zoë absent
    assert sorted(leaks(text, personal, {"Wissen"})) == ["07132BG0001234", "1975-02-03", "Quastenberg"]


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
    found = leaks(text, personal, allowed_words())
    assert not found, f"{name} prints personal data ({len(found)} values)"  # never the values themselves
