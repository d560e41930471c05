"""The generator's office forms through the pipeline: every readable form gives the very indicators.csv of the
clean export, every refused form its rule (exports.md, "Files an office produces", December 2026)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from project_setup import project_config

from pipeline import runs
from pipeline.generate import generate, office

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    base = tmp_path_factory.mktemp("office")
    cfg = project_config(base)
    gen = generate(base / "clean", households=8, seed=11, cycles=["2025"], config=cfg, snapshots=1)
    forms = office.write_forms(base / "clean", base / "forms")
    return base, cfg, gen, forms


@pytest.fixture(autouse=True)
def sql_engine(monkeypatch):
    """Row rules in DuckDB SQL instead of GX: the same findings (test_gx_and_sql_engines_report_the_same), a
    fraction of the time for the 2 x 13 ingests of this module."""
    from pipeline import validate

    validate_file = validate.validate_file
    monkeypatch.setattr(validate, "validate_file", lambda *a, **k: validate_file(*a, **{**k, "engine": "sql"}))


@pytest.fixture(scope="module")
def clean_indicators(generated):
    base, cfg, _, _ = generated
    with pytest.MonkeyPatch.context() as mp:
        from pipeline import validate

        validate_file = validate.validate_file
        mp.setattr(validate, "validate_file", lambda *a, **k: validate_file(*a, **{**k, "engine": "sql"}))
        clean, ing = _indicators(cfg, base, "clean-run", base / "clean")
    assert all(f.status == "loaded" for f in ing.files) and b"K01" in clean
    return clean


def _indicators(cfg, base: Path, name: str, inbox: Path) -> tuple[bytes, object]:
    """ingest + the snapshots in force + indicators.csv of cycle 2025 through the orchestration (pipeline.runs)."""
    c = cfg.with_paths(
        inbox=inbox, database=base / name / "esf.duckdb", outputs=base / name / "out", archive=base / name / "arch"
    )
    ing = runs.ingest(c)
    runs.stale_notices(c, ing, None)
    _, path = runs.indicators(c, "2025", None)
    return path.read_bytes(), ing


def test_forms_json_lists_every_form_with_what_to_expect(generated):
    base, _, _, forms = generated
    expect = json.loads((base / "forms" / "forms.json").read_text(encoding="utf-8"))
    assert set(expect) == set(office.READABLE) | set(office.REFUSED) == set(forms)
    assert expect["sep_line"] == "gelesen" and expect["serial_dates"] == "F12"


@pytest.mark.parametrize("form", office.READABLE)
def test_every_readable_form_gives_the_indicators_of_the_clean_export(generated, clean_indicators, form):
    base, cfg, gen, forms = generated
    got, ing = _indicators(cfg, base, f"{form}-run", forms[form])
    assert [f.status for f in ing.files] == ["loaded"] * 5, [(f.file_name, f.message) for f in ing.files]
    # no blank line read as a record, no empty header cell reported as a column
    assert sum(f.rows_read for f in ing.files) == sum(gen.row_counts.values())
    assert all(f.extra_columns in ([], ["Bemerkung"]) for f in ing.files)
    assert got == clean_indicators


@pytest.mark.parametrize("form", sorted(office.REFUSED))
def test_every_refused_form_gives_its_rule(generated, form):
    base, cfg, _, forms = generated
    c = cfg.with_paths(inbox=forms[form], database=base / f"{form}-run" / "esf.duckdb",
                       archive=base / f"{form}-run" / "arch")
    ing = runs.ingest(c)
    (hh,) = [f for f in ing.files if f.file_name.startswith("haushalte_")]
    assert (hh.status, hh.rule_id) == ("failed", office.REFUSED[form]), hh.message
    assert [f.status for f in ing.files if f is not hh] == ["loaded"] * 4


def test_generate_cli_writes_the_office_forms(tmp_path):
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "generate", "--out", str(tmp_path / "inbox"), "--households", "3",
         "--cycles", "2025", "--office-forms", "--config", str(tmp_path / "config.toml")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "inbox" / ".office-forms"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted([*office.READABLE, *office.REFUSED])
    households = list((root / "utf16_unicode_text").glob("haushalte_*.csv"))
    assert households and all(p.read_bytes()[:2] == b"\xff\xfe" for p in households)
