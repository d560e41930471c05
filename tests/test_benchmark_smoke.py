"""The benchmark script keeps working: a 30-household run writes a results table with every step.

No timing assertions (CI machines vary); only that every step ran, exited 0, and was reported. The
end-to-end step (whole ``esf-pipeline run`` runs, alternating with bare imports) runs in its own test so
``pytest -n 2`` runs the two side by side.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("generate", "ingest", "floor", "validate", "indicators", "reports", "pandas")


def run_bench(tmp_path: Path, steps: tuple[str, ...], *extra: str) -> tuple[dict, str]:
    results_md = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--sizes", "30", "--workdir", str(tmp_path / "work"),
         "--results", str(results_md), "--timeout", "300", "--steps", ",".join(steps), *extra],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "work" / "results.json").read_text())
    return data, results_md.read_text(encoding="utf-8")


def test_benchmark_runs_every_step_for_30_households(tmp_path):
    data, text = run_bench(tmp_path, STEPS)
    entry = data["sizes"]["30"]
    assert set(entry) == set(STEPS)
    for step in STEPS:
        res = entry[step]
        assert res["exit"] == 0, (step, res.get("error"))
        assert res["wall_s"] > 0 and res["peak_mb"] > 0, step
    # the generated export set has all five tables, and ingest loaded every file of it
    gen = entry["generate"]["inner"]
    assert set(gen["row_counts"]) == {"households", "persons", "contacts", "helps", "followups"}
    assert gen["row_counts"]["households"] == 30
    ing = entry["ingest"]["inner"]
    assert ing["failed"] == []
    assert sorted(ing["files"]) == sorted(gen["files"])
    assert ing["rows_read"] == sum(gen["file_rows"].values())
    # every timed part of the ingest was reached through its wrapper (a moved function would read 0 silently)
    assert all(ing["parts"].get(k, 0) > 0 for k in ("hash", "archive", "decode", "load", "validate_file")), ing["parts"]
    # the floor read the same rows as ingest; the pandas baseline agrees with the pipeline's indicators
    assert sum(entry["floor"]["inner"]["rows"].values()) == ing["rows_read"]
    assert entry["floor"]["inner"]["xlsx_calamine"] > 0  # the XLSX files were read into DuckDB, and counted
    assert entry["pandas"]["inner"]["agrees_with_pipeline"]["equal"] is True
    assert entry["indicators"]["inner"]["rows"] > 0

    assert "## 30 Haushalte" in text and "## Maschine" in text
    for label in ("generate", "ingest", "Boden", "validate", "indicators", "reports", "pandas-Baseline"):
        assert label in text, label
    assert "ingest ÷ Boden" in text and "pandas ÷ Indikatoren" in text and "`validate` ÷ ingest" in text
    goals = text.split("## Ziele (Verhältnisse aus demselben Lauf)")[1].split("\n## ")[0]
    assert "Spitze < 4 GB" in goals and not re.search(r"\d s\b", goals)  # no absolute time is a target
    assert "<!-- analysis -->" in text


def test_benchmark_end_to_end_step(tmp_path):
    data, text = run_bench(tmp_path, ("generate", "e2e"), "--repeat", "2")
    e2e, stack = data["sizes"]["30"]["e2e"], data["sizes"]["30"]["stack_import"]
    assert e2e["exit"] == 0 and stack["exit"] == 0, e2e.get("error")
    assert e2e["wall_s"] > 0 and e2e["peak_mb"] > 0
    # run and bare import alternate; the ratio is the median of the pairs of the same run
    assert len(e2e["walls"]) == len(stack["walls"]) == 2 and len(e2e["ratios_to_import"]) == 2
    assert e2e["ratio_to_import"] in e2e["ratios_to_import"]
    # the run wrote the reports of both audiences into the e2e output folder of the benchmark config
    period = data["sizes"]["30"]["generate"]["inner"]["cycle"]
    out = tmp_path / "work" / "n30" / "e2e" / "outputs" / period
    assert (out / "indicators.csv").exists() and (out / "intern" / "indicators.csv").exists()
    assert "`esf-pipeline run` komplett" in text and "n = 30: `run` (beide Berichtssätze) ≤ 1.5 × Import" in text
