"""The web benchmark keeps working: against the real server, a tiny run writes every figure and its section.

No timing assertions (CI machines vary); only that each measurement ran and was reported, and that the
section in RESULTS.md is replaced, not appended again, on the next run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_web_benchmark_measures_pages_and_the_three_ways_to_a_report(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark\n\nvorher\n\n<!-- analysis -->\nvon Hand\n", encoding="utf-8")
    cmd = [sys.executable, str(ROOT / "benchmarks" / "web.py"), "--workdir", str(tmp_path / "work"),
           "--results", str(results), "--samples", "3", "--rounds", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads((tmp_path / "work" / "web_results.json").read_text())
    for page in ("Übersicht", "Prüfergebnis"):
        for state in ("idle", "busy"):
            s = r["latency"][page][state]
            assert s["n"] >= 3 and 0 < s["p50_ms"] <= s["p95_ms"], (page, state, s)
    assert r["busy_jobs"] >= 1
    for way in ("page", "page_job", "cli", "import"):
        assert len(r["builds_s"][way]) == 1 and r["builds_s"][way][0] > 0, way
    assert r["households_in_cycle"] > 0
    assert r["ratio_page_vs_import"] > 0 and isinstance(r["target_met"], bool)
    # the report set built by the CLI is the Fördergeber set of the cycle
    out = tmp_path / "work" / "web" / "outputs" / r["cycle"]
    assert (out / "project_report.pdf").exists() and (out / "esf_submission.xlsx").exists()

    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark\n\nvorher") and "<!-- analysis -->\nvon Hand" in text
    assert text.count("<!-- web:begin -->") == 1 and text.count("<!-- web:end -->") == 1
    for label in ("## Webseite (Issue 12)", "Übersicht", "Prüfergebnis", "kalte CLI", "import weasyprint",
                  "Seite ÷ Import", "geteilt"):
        assert label in text, label


def test_the_section_is_replaced_in_place(tmp_path):
    import web

    path = tmp_path / "RESULTS.md"
    path.write_text("A\n\n<!-- web:begin -->\nalt\n<!-- web:end -->\n\nB\n", encoding="utf-8")
    web.write_section(path, "<!-- web:begin -->\nneu\n<!-- web:end -->\n")
    assert path.read_text(encoding="utf-8") == "A\n\n<!-- web:begin -->\nneu\n<!-- web:end -->\nB\n"
    web.write_section(tmp_path / "new.md", "<!-- web:begin -->\nx\n<!-- web:end -->\n")
    assert (tmp_path / "new.md").read_text(encoding="utf-8").count("x") == 1
