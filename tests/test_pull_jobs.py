"""Pull jobs (issue 13): a real kill between copy and ingest loses and duplicates nothing; the after_job hook."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from pull_fixtures import ENV, cli, households_file, ingested, persons_file, project, rows

from pipeline import jobs, pull


def _pull_killed_at(cfg, point: str) -> None:
    """Run a pull job in a process and SIGKILL it at ``point``: "copied" (files in the inbox, ingest not
    begun) or "loading" (inside the ingest's transaction, at its first file)."""
    code = (
        "import time\nfrom pipeline import schedule\nfrom pipeline.config import load_config\n"
        f"cfg = load_config({str(cfg.base_dir / 'config.toml')!r})\n"
        "seen = set()\n"
        "def progress(step, detail):\n"
        "    seen.add(step)\n"
        f"    if ({point!r} == 'copied' and step == 'ingest') or ({point!r} == 'loading' and step == 'file' "
        "and 'ingest' in seen):\n"
        "        print('here', flush=True); time.sleep(600)\n"
        "schedule.pull_job(cfg, 'cli', progress=progress)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert proc.stdout.readline().strip() == "here"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize(("point", "move"), [("copied", True), ("loading", False)])
def test_a_pull_killed_between_copy_and_ingest_loses_nothing_and_duplicates_nothing(tmp_path, point, move):
    cfg = project(tmp_path, move=move)
    src = cfg.sources[0]
    households_file(src / "haushalte_20200131.csv", "B1", "B2", "B3")
    persons_file(src / "personen_20200131.csv", ("P1", "B1"), ("P2", "B2"))
    originals = {p.name: p.read_bytes() for p in src.iterdir()}
    _pull_killed_at(cfg, point)
    # killed: the copies are complete in the inbox, nothing is loaded
    assert {p.name: p.read_bytes() for p in cfg.inbox.iterdir() if p.is_file()} == originals
    assert ingested(cfg) == []
    assert sorted(p.name for p in src.iterdir()) == ([] if move else sorted(originals))
    assert jobs.history(cfg, kind="pull")[0].outcome == "failed"  # the dead job shows as failed
    again = cli(cfg, "pull")
    assert again.returncode == 0, again.stdout + again.stderr
    assert ingested(cfg) == [("haushalte_20200131.csv", "loaded"), ("personen_20200131.csv", "loaded")]
    assert rows(cfg, "SELECT count(*), count(DISTINCT household_id) FROM core_households") == [(3, 3)]
    assert rows(cfg, "SELECT count(*) FROM core_persons") == [(2,)]
    assert sorted(p.name for p in cfg.inbox.iterdir() if p.is_file()) == sorted(originals)  # no second copies
    assert not list((cfg.inbox / pull.WORK_DIR).iterdir())
    assert cli(cfg, "pull", "--quiet").returncode == 0
    assert len(ingested(cfg)) == 2


def test_a_copy_killed_half_way_leaves_only_a_temp_file_that_ingest_ignores_and_the_next_pull_removes(tmp_path):
    cfg = project(tmp_path)
    households_file(cfg.sources[0] / "haushalte_20200131.csv", "B1")
    work = cfg.inbox / pull.WORK_DIR
    work.mkdir(parents=True)
    (work / "pull-abc123.tmp").write_bytes(b"BG-ID;BG-Nummer\nB1;07132")  # what a kill during a copy leaves
    state = pull.State.load(cfg)
    assert pull.inbox_pending(cfg, state) == []  # not an inbox file to ingest
    report = pull.PullReport()
    found = pull.scan(cfg, report, state)
    pull.take(cfg, pull.settle(found, 0)[0], report, state)
    assert [t["file"] for t in report.taken] == ["haushalte_20200131.csv"]
    assert list(work.iterdir()) == []


HOOK = """\
import pathlib, sys
data = sys.stdin.buffer.read()
n = len(list(pathlib.Path('.').glob('hook-*.json')))
pathlib.Path(f'hook-{n}.json').write_bytes(data)
"""


def test_after_job_gets_the_summary_as_json_without_personal_data_and_its_failure_never_breaks_the_job(tmp_path):
    (tmp_path / "hook.py").write_text(HOOK, encoding="utf-8")
    cfg = project(tmp_path, after_job=f"'{sys.executable}' hook.py")
    src = cfg.sources[0]
    households_file(src / "haushalte_20200131.csv", "B1", bad=("B2",))
    persons_file(src / "personen_20200131.csv", ("P1", "B1"))
    proc = cli(cfg, "pull", "--quiet")
    assert proc.returncode == 1  # a quarantined row
    raw = (tmp_path / "hook-0.json").read_bytes()
    doc = json.loads(raw)
    job = jobs.history(cfg, kind="pull")[0]
    assert doc["id"] == job.id and (doc["kind"], doc["face"], doc["outcome"]) == ("pull", "cli", "warning")
    assert doc["kind_label"] == "Abholen und Einlesen" and doc["outcome_label"] == "mit Hinweisen"
    assert doc["started"] <= doc["ended"] and doc["message"] == job.message
    assert "1 Zeile in Quarantäne" in doc["message"]
    assert doc["files"] == ["haushalte_20200131.csv", "personen_20200131.csv"]
    summary = doc["summary"]
    assert summary["problems_by_rule"] == {"R02": 1} and summary["rows_quarantined"] == 1
    assert summary["files_loaded"] == 2 and summary["files_failed"] == 0
    assert sorted(t["file"] for t in summary["pull"]["taken"]) == ["haushalte_20200131.csv", "personen_20200131.csv"]
    assert {f["file"]: f["rows_quarantined"] for f in summary["files"]} == {
        "haushalte_20200131.csv": 1,
        "personen_20200131.csv": 0,
    }
    # no name, BG number, birth date, id or value of the exports
    for secret in ("Müller", "Jürgen", "07132BG0001234", "1975", "B1", "B2", "P1", "unbekannt"):
        assert secret.encode() not in raw, secret
    # after every job, from any face: an ingest too
    assert cli(cfg, "ingest", "--quiet").returncode == 0
    assert json.loads((tmp_path / "hook-1.json").read_bytes())["kind"] == "ingest"

    # a failing hook is reported and does not change the job's outcome or the exit status
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    (tmp_path / "config.toml").write_text(text.replace(f"'{sys.executable}' hook.py", "echo kaputt >&2; exit 3"))
    failing = cli(cfg, "pull")
    assert failing.returncode == 0
    assert "after_job: Befehl endete mit Status 3" in failing.stderr and "kaputt" in failing.stderr
    newest = jobs.history(cfg, kind="pull")[0]
    assert newest.outcome == "ok"
    assert newest.message == "Keine neuen Dateien. Hinweis: after_job: Befehl endete mit Status 3."
    assert "after_job" in failing.stdout  # the printed message is the recorded one
    # a hanging hook is stopped after the timeout (with the children it started)
    (tmp_path / "config.toml").write_text(text.replace(f"'{sys.executable}' hook.py", "sleep 60 & sleep 60"))
    t = time.monotonic()
    slow = cli(cfg, "pull", env={"ESF_PIPELINE_HOOK_TIMEOUT": "1"})
    assert slow.returncode == 0 and time.monotonic() - t < 30
    assert "after_job: nach 1 s abgebrochen" in jobs.history(cfg, kind="pull")[0].message
