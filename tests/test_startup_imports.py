"""Each command imports only what it needs (issue 15): ``--help``, ``ingest`` of an unchanged inbox and
``indicators`` start without Great Expectations, WeasyPrint or matplotlib.

Measured the way a user would see it: the real command in a fresh interpreter under ``python -X importtime``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.generate import generate

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"great_expectations", "weasyprint", "matplotlib"}


def imported(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``esf-pipeline ARGS`` under -X importtime; the top-level packages it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipeline", *args],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, cwd=ROOT,
    )
    names = {m[1].split(".")[0] for m in re.finditer(r"^import time:.*\|\s*([\w.]+)\s*$", proc.stderr, re.M)}
    return proc, names


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    base = tmp_path_factory.mktemp("startup")
    (base / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(base / "config.toml")
    generate(cfg.inbox, households=8, seed=5, cycles=["2025"], config=cfg, snapshots=1)
    proc, names = imported("ingest", "--quiet", "--config", str(base / "config.toml"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "great_expectations" in names  # new files are validated: the first ingest does need GX
    return base


def test_help_starts_without_heavy_packages():
    proc, names = imported("--help")
    assert proc.returncode == 0 and "ingest" in proc.stdout
    assert "pipeline" in names and not names & (HEAVY | {"pandas", "duckdb"}), names & (HEAVY | {"pandas"})


def test_ingest_of_unchanged_inbox_starts_without_heavy_packages(project):
    proc, names = imported("ingest", "--quiet", "--config", str(project / "config.toml"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "duckdb" in names and not names & (HEAVY | {"pandas", "python_calamine", "openpyxl"}), names & HEAVY


def test_indicators_start_without_gx_weasyprint_matplotlib(project):
    out = project / "out"
    proc, names = imported("indicators", "--period", "2025", "--quiet", "--config", str(project / "config.toml"),
                           "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "2025" / "indicators.csv").is_file()
    assert "duckdb" in names and not names & HEAVY, names & HEAVY


def test_gx_is_imported_without_scipy_stats_and_altair_until_they_are_used():
    """GX imports scipy.stats and altair for expectations the pipeline never uses (KL divergence, KS tests);
    they are stand-ins until first used, and then behave as the real modules."""
    code = """
import sys
from pipeline.validation import gx_engine
gx, gxe = gx_engine._gx()
assert gx.__name__ == "great_expectations" and hasattr(gxe, "ExpectColumnValuesToNotBeNull")
kl = sys.modules["great_expectations.expectations.core.expect_column_kl_divergence_to_be_less_than"]
print(sorted(type(sys.modules[m]).__name__ for m in ("scipy.stats", "altair")))
print(round(kl.stats.entropy([0.5, 0.5]), 4), kl.alt.Chart.__name__)
import scipy, scipy.stats, altair
print(type(sys.modules["scipy.stats"]).__name__, scipy.stats is sys.modules["scipy.stats"], altair.__name__)
from scipy.stats import entropy
print(entropy is kl.stats.entropy)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "GX_ANALYTICS_ENABLED": "False"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == [
        "['_DeferredModule', '_DeferredModule']",  # GX imported, neither module loaded
        "0.6931 Chart",  # GX's own references work (the modules are loaded now)
        "module True altair",
        "True",
    ]
