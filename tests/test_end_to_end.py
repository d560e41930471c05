"""The whole pipeline through the CLI on generated exports with 2 % defects: every file written,
bad rows listed and excluded, nothing lost, no personal data in any output."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipeline import db
from pipeline.config import load_config
from pipeline.generate import generate

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    (base / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(base / "config.toml")
    gen = generate(base / "inbox", households=40, seed=7, cycles=["2024", "2025"], defects=0.02, config=cfg)
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "pipeline", "run", "--period", "2025", "--config", str(base / "config.toml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    pub = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "report",
            "--period",
            "2025",
            "--audience",
            "oeffentlich",
            "--config",
            str(base / "config.toml"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    return base, cfg, gen, proc, pub


def test_run_exits_zero_and_writes_every_file(run_dir):
    base, cfg, gen, proc, pub = run_dir
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert pub.returncode == 0, pub.stdout + pub.stderr
    out = base / "outputs" / "2025"
    for name in (
        "indicators.csv",
        "esf_submission.xlsx",
        "project_report.xlsx",
        "project_report.pdf",
        "validation_report.xlsx",
        "data_docs/index.html",
        "run_manifest.json",
    ):
        assert (out / name).is_file(), name
    for audience in ("intern", "oeffentlich"):
        for name in ("esf_submission.xlsx", "project_report.xlsx", "project_report.pdf"):
            assert (out / audience / name).is_file(), (audience, name)
    assert "Traceback" not in proc.stderr


def test_manifest_conserves_rows_and_lists_inputs_and_outputs(run_dir):
    base, cfg, gen, proc, pub = run_dir
    m = json.loads((base / "outputs" / "2025" / "run_manifest.json").read_text(encoding="utf-8"))
    assert {Path(f).name for f in map(str, gen.files)} == {i["path"] for i in m["inputs"]}
    for i in m["inputs"]:
        assert i["rows_read"] == i["rows_loaded"] + i["rows_quarantined"], i
        assert i["rows_read"] == gen.file_rows[i["path"]]
    assert sum(i["rows_quarantined"] for i in m["inputs"]) > 0  # the 2 % defects were caught
    assert {"ingest", "indicators_foerdergeber", "reports_foerdergeber"} <= set(m["timings"])
    assert all(len(o["sha256"]) == 64 for o in m["outputs"])
    assert m["config_sha256"] == cfg.sha256 and m["data_state"] == "2026-06-30"


def test_quarantined_rows_are_listed_and_excluded(run_dir):
    base, cfg, gen, proc, pub = run_dir
    con = db.connect(cfg.database, read_only=True)
    snaps = db.snapshots_in_force(con)
    q_hh = con.execute(
        "SELECT count(*) FROM core_households WHERE quarantined AND snapshot_date = ?", [snaps["households"]]
    ).fetchall()[0][0]
    clean_2025 = con.execute(
        """SELECT count(*) FROM core_households WHERE NOT quarantined AND snapshot_date = ?
                                AND project_cycle = '2025' AND status <> 'not_started'""",
        [snaps["households"]],
    ).fetchall()[0][0]
    total_q = con.execute(
        "SELECT count(*) FROM core_persons WHERE quarantined AND snapshot_date = ?", [snaps["persons"]]
    ).fetchall()[0][0]
    con.close()
    assert q_hh + total_q > 0
    with (base / "outputs" / "2025" / "indicators.csv").open(encoding="utf-8") as fh:
        k01 = next(r for r in csv.DictReader(fh) if r["indicator_id"] == "K01" and r["dimension"] == "total")
    assert int(k01["value"]) == clean_2025  # quarantined households count nowhere
    wb = openpyxl.load_workbook(base / "outputs" / "2025" / "validation_report.xlsx", read_only=True)
    listed = sum(ws.max_row - 1 for ws in wb.worksheets if ws.title.startswith("Zurückgestellt"))
    wb.close()
    assert listed >= q_hh + total_q


def _output_texts(base: Path) -> list[tuple[Path, str]]:
    texts = []
    for p in sorted((base / "outputs").rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as zf:
                text = "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".xml"))
        elif p.suffix == ".pdf":
            text = subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True).stdout
        elif p.suffix in (".csv", ".json", ".html", ".css", ".js", ".svg"):
            text = p.read_text(encoding="utf-8", errors="replace")
        else:
            continue
        texts.append((p, text))
    return texts


def test_no_personal_data_in_any_output_or_log(run_dir):
    base, cfg, gen, proc, pub = run_dir
    persons = next(p for p in gen.files if Path(p).name.startswith("personen_") and str(p).endswith(".csv"))
    with Path(persons).open(encoding="cp1252", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    names = {r["Nachname"] for r in rows if len(r["Nachname"]) >= 5}
    births = {r["Geburtsdatum"] for r in rows if r["Geburtsdatum"] and len(r["Geburtsdatum"]) >= 8}
    hh = next(p for p in gen.files if Path(p).name.startswith("haushalte_"))
    wb = openpyxl.load_workbook(hh, read_only=True)
    header = [c.value for c in next(wb.worksheets[0].iter_rows(max_row=1))]
    col = header.index("BG-Nummer")
    bg = {str(r[col]) for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True) if r[col]}
    wb.close()
    assert names and births and bg
    texts = _output_texts(base) + [(Path("stdout"), proc.stdout + proc.stderr + pub.stdout + pub.stderr)]
    for path, text in texts:
        for secret in names | bg:
            assert secret not in text, (path, "personal value found")
        for b in births:
            assert b not in text, (path, "birth date found")
