"""The README's cron and systemd examples (issue 13) are the files in deploy/, and the tests run exactly their
command lines: the unit's ExecStart, the crontab's command, the watch service (stopped as systemd stops it)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pull_fixtures import ENV, households_file, ingested, project

from pipeline import jobs, schedule
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = "/opt/esf-pipeline"
FILES = {
    "crontab": "crontab",
    "esf-pipeline-pull.service": "ini",
    "esf-pipeline-pull.timer": "ini",
    "esf-pipeline-watch.service": "ini",
}


def readme_blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"^```{lang}\n(.*?)\n```$", text, re.S | re.M)


def readme_unit(name: str) -> str:
    """The README's block that is the file deploy/<name>."""
    wanted = (ROOT / "deploy" / name).read_text(encoding="utf-8").rstrip("\n")
    [block] = [b for b in readme_blocks(FILES[name]) if b == wanted]
    return block


def test_the_readme_shows_every_deploy_file_exactly_and_its_ingest_block_is_valid(tmp_path):
    assert sorted(p.name for p in (ROOT / "deploy").iterdir()) == sorted(FILES)
    for name in FILES:
        assert readme_unit(name)
    [toml] = [b for b in readme_blocks("toml") if b.startswith("[ingest]")]
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8") + "\n" + toml)
    assert load_config(tmp_path / "config.toml").ingest.settle_seconds == 10


def _install(tmp_path: Path, text: str) -> tuple[Path, str]:
    """A project folder in place of /opt/esf-pipeline, with this test's .venv; ``text`` with the path replaced."""
    home = tmp_path / "esf"
    cfg = project(home)
    (home / ".venv").symlink_to(Path(sys.prefix))
    return cfg, text.replace(PLACEHOLDER, str(home))


def _directive(unit: str, key: str) -> str:
    [value] = re.findall(rf"^{key}=(.*)$", unit, re.M)
    return value


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_unit_files_are_valid_for_systemd(tmp_path):
    units = []
    for name in FILES:
        if name.endswith((".service", ".timer")):
            _, text = _install(tmp_path / name, readme_unit(name))
            (tmp_path / name / name).write_text(text + "\n")
            units.append(str(tmp_path / name / name))
    proc = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    timer = readme_unit("esf-pipeline-pull.timer")
    calendar = ["systemd-analyze", "calendar", _directive(timer, "OnCalendar")]
    cal = subprocess.run(calendar, capture_output=True, text=True)
    assert "*-*-* *:00/15:00" in cal.stdout


def test_the_systemd_unit_and_the_crontab_line_run_as_shown(tmp_path):
    unit = readme_unit("esf-pipeline-pull.service")
    cfg, unit = _install(tmp_path, unit)
    households_file(cfg.sources[0] / "haushalte_20200131.csv", "B1")
    proc = subprocess.run(
        shlex.split(_directive(unit, "ExecStart")),
        cwd=_directive(unit, "WorkingDirectory"), capture_output=True, text=True, env=ENV, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stderr
    assert ingested(cfg) == [("haushalte_20200131.csv", "loaded")]
    # the crontab: MAILTO, and a command that prints (is mailed) and exits 1 when rows were quarantined
    [line] = [x for x in readme_unit("crontab").splitlines() if x.startswith("*/15")]
    assert re.search(r"^MAILTO=\S+@\S+$", readme_unit("crontab"), re.M)
    command = line.split(None, 5)[5].replace(PLACEHOLDER, str(cfg.base_dir))
    households_file(cfg.sources[0] / "haushalte_20200229.csv", "B1", bad=("B2",))
    cron = subprocess.run(["/bin/sh", "-c", command], cwd="/", capture_output=True, text=True, env=ENV, timeout=600)
    assert cron.returncode == 1 and "R02 ×1" in cron.stderr
    nothing = subprocess.run(["/bin/sh", "-c", command], cwd="/", capture_output=True, text=True, env=ENV)
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "")  # no mail when all is well


def test_the_watch_service_starts_and_stops_on_sigterm_as_systemd_does(tmp_path):
    cfg, unit = _install(tmp_path, readme_unit("esf-pipeline-watch.service"))
    assert int(_directive(unit, "TimeoutStopSec")) >= 300
    proc = subprocess.Popen(
        shlex.split(_directive(unit, "ExecStart")), cwd=_directive(unit, "WorkingDirectory"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert "Überwachung läuft (Abfrage)" in proc.stdout.readline()
        end = time.monotonic() + 120
        while not (jobs.store_path(cfg).exists() and schedule.last_pull(cfg)) and time.monotonic() < end:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Überwachung beendet." in out, err
    assert jobs.lock_is_free(cfg) and os.path.exists(jobs.store_path(cfg))
