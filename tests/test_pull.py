"""Pull (issue 13): exports taken from real source folders into the inbox, only when complete, once."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import threading
import time
from pathlib import Path

import pytest
from export_files import headers, household, rows_of, write_xlsx
from pull_fixtures import (
    ROOT,
    as_nobody,
    cli,
    give_to_nobody,
    households_file,
    ingested,
    persons_file,
    project,
    remove_tree,
    rows,
    shared_dir,
)

from pipeline import pull, schedule
from pipeline.config import ConfigError, load_config

# --- configuration -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('sources = "/mnt/export"', "ingest.sources"),
        ("sources = [3]", "ingest.sources"),
        ('every = "1x"', "ingest.every"),
        ('every = "0m"', "ingest.every"),
        ('every = "2d"', "ingest.every"),
        ('at = ["25:00"]', "ingest.at"),
        ('at = ["6 Uhr"]', "ingest.at"),
        ("settle_seconds = -1", "ingest.settle_seconds"),
        ('settle_seconds = "10"', "ingest.settle_seconds"),
        ('move = "ja"', "ingest.move"),
        ("after_job = 1", "ingest.after_job"),
        ("schedule = 1", "ingest.schedule"),
    ],
)
def test_a_wrong_ingest_value_is_a_clear_error_naming_the_key(tmp_path, line, key):
    text = (ROOT / "config.toml").read_text(encoding="utf-8") + f"\n[ingest]\n{line}\n"
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_config(tmp_path / "config.toml")
    proc = cli(tmp_path / "config.toml", "pull")
    assert proc.returncode == 2 and key in proc.stderr and "Traceback" not in proc.stderr


def test_the_ingest_block_of_the_shipped_config_is_valid_and_paths_are_relative_to_the_config(tmp_path):
    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    block = shipped[shipped.index("# [ingest]") :].split("\n\n")[0]
    # the commented example, uncommented, is a valid config with exactly the keys of the issue
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "config.toml").write_text(shipped + "\n" + uncommented + "\n", encoding="utf-8")
    cfg = load_config(tmp_path / "sub" / "config.toml")
    assert set(cfg.ingest.model_fields_set) == {"sources", "every", "at", "settle_seconds", "move", "after_job"}
    assert cfg.ingest.every == dt.timedelta(hours=1) and cfg.ingest.at == [dt.time(6), dt.time(13)]
    assert cfg.sources == [Path("/mnt/fallverwaltung/export")]
    rel = project(tmp_path / "p", sources=["../exporte", "/abs/export"])
    assert rel.sources == [(tmp_path / "p" / "../exporte"), Path("/abs/export")]
    assert load_config(ROOT / "config.toml").sources == []  # no default source: the inbox alone works


# --- the step: what is taken, what is not --------------------------------------------------------------


def _pull_step(cfg, max_wait=None):
    state = pull.State.load(cfg)
    report = pull.PullReport()
    found = pull.scan(cfg, report, state)
    complete, changing = pull.settle(found, cfg.ingest.settle_seconds, max_wait)
    pull.take(cfg, complete, report, state)
    return report, changing


def test_the_same_file_again_under_another_name_is_a_duplicate_reported_once(tmp_path):
    cfg = project(tmp_path)
    src = cfg.sources[0]
    households_file(src / "haushalte_20200131.csv", "B1")
    report, _ = _pull_step(cfg)
    assert [t["file"] for t in report.taken] == ["haushalte_20200131.csv"]
    copy = (src / "haushalte_20200131.csv").read_bytes()
    (src / "haushalte_20200229.csv").write_bytes(copy)  # same bytes, same table, another date
    (src / "personen_20200131.csv").write_bytes(copy)  # same bytes under another table: another delivery
    report, _ = _pull_step(cfg)
    assert report.duplicates == [
        {"file": "haushalte_20200229.csv", "source": str(src), "same_as": "haushalte_20200131.csv"}
    ]
    assert [t["file"] for t in report.taken] == ["personen_20200131.csv"]
    assert report.already == 1  # the first file, still in the source: nothing to do
    assert sorted(p.name for p in cfg.inbox.iterdir() if p.is_file()) == [
        "haushalte_20200131.csv",
        "personen_20200131.csv",
    ]
    # the duplicate is reported once; the same file under its own name again is a no-op
    report, _ = _pull_step(cfg)
    assert (report.taken, report.duplicates, report.already) == ([], [], 3)
    assert not report.problems and report.message() == ""


def test_an_office_lock_file_beside_the_exports_holds_the_file_back_and_is_never_taken(tmp_path):
    cfg = project(tmp_path)
    src = cfg.sources[0]
    write_xlsx(src / "haushalte_20200131.xlsx", headers("households"), rows_of("households", [household("B1")]))
    (src / "~$ushalte_20200131.xlsx").write_bytes(b"owner")  # Excel: first two characters replaced by ~$
    persons_file(src / "personen_20200131.csv", ("P1", "B1"))
    (src / ".~lock.personen_20200131.csv#").write_text("LibreOffice lock")
    households_file(src / "~$haushalte_20200229.csv", "B9")  # a temp file that looks like an export
    report, _ = _pull_step(cfg)
    assert report.taken == [] and sorted(w["file"] for w in report.waiting) == [
        "haushalte_20200131.xlsx",
        "personen_20200131.csv",
    ]
    assert all("Office" in w["reason"] for w in report.waiting)
    assert not [p for p in cfg.inbox.iterdir() if p.is_file()]
    (src / "~$ushalte_20200131.xlsx").unlink()  # closed in Excel
    (src / ".~lock.personen_20200131.csv#").unlink()
    report, _ = _pull_step(cfg)
    assert sorted(t["file"] for t in report.taken) == ["haushalte_20200131.xlsx", "personen_20200131.csv"]
    assert sorted(p.name for p in cfg.inbox.iterdir() if p.is_file()) == [
        "haushalte_20200131.xlsx",
        "personen_20200131.csv",
    ]
    assert (cfg.inbox / "haushalte_20200131.xlsx").read_bytes() == (src / "haushalte_20200131.xlsx").read_bytes()


def test_move_deletes_the_source_only_after_the_inbox_copy_and_keeps_other_files(tmp_path):
    cfg = project(tmp_path, move=True)
    src = cfg.sources[0]
    households_file(src / "haushalte_20200131.csv", "B1")
    data = (src / "haushalte_20200131.csv").read_bytes()
    (src / "notizen.txt").write_text("not an export")
    (src / "haushalte_20200229.csv.part").write_bytes(b"partial")
    report, _ = _pull_step(cfg)
    assert report.taken and report.removed == ["haushalte_20200131.csv"]
    assert (cfg.inbox / "haushalte_20200131.csv").read_bytes() == data
    assert sorted(p.name for p in src.iterdir()) == ["haushalte_20200229.csv.part", "notizen.txt"]
    assert oct(os.stat(cfg.inbox / "haushalte_20200131.csv").st_mode & 0o777) == "0o600"
    # the same content again (already in the inbox): removed from the source too, not copied twice
    (src / "haushalte_20200131.csv").write_bytes(data)
    report, _ = _pull_step(cfg)
    assert report.taken == [] and report.removed == ["haushalte_20200131.csv"]


def test_a_file_written_slowly_in_chunks_is_taken_only_once_complete(tmp_path):
    cfg = project(tmp_path, settle_seconds=1.0)
    src = cfg.sources[0]
    full = households_file(tmp_path / "full.csv", *[f"B{i}" for i in range(1, 41)]).read_bytes()
    target = src / "haushalte_20200131.csv"
    chunks = [full[i : i + 100] for i in range(0, len(full), 100)]
    done = threading.Event()

    def writer() -> None:
        with target.open("wb") as fh:
            for chunk in chunks:  # a slow network copy: a chunk every 0.25 s
                fh.write(chunk)
                fh.flush()
                time.sleep(0.25)
        done.set()

    assert len(chunks) >= 30  # writing takes ≥ 7.5 s, longer than the pull is willing to wait
    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.3)
    result = schedule.pull_job(cfg, "cli", max_wait=2.0)
    assert not done.is_set()
    assert [w["file"] for w in result.report.waiting] == ["haushalte_20200131.csv"]
    assert result.report.taken == [] and not (cfg.inbox / target.name).exists()
    assert result.outcome == "ok" and result.ingest is None and not cfg.database.exists()
    t.join()
    result = schedule.pull_job(cfg, "cli")
    assert [x["file"] for x in result.report.taken] == ["haushalte_20200131.csv"]
    assert (cfg.inbox / target.name).read_bytes() == full
    assert rows(cfg, "SELECT count(*) FROM core_households")[0][0] == 40
    assert result.outcome == "ok" and result.summary["files_loaded"] == 1


def test_two_files_at_once_and_the_exit_codes_for_cron(tmp_path):
    cfg = project(tmp_path)
    src = cfg.sources[0]
    households_file(src / "haushalte_20200131.csv", "B1", "B2")
    persons_file(src / "personen_20200131.csv", ("P1", "B1"), ("P2", "B2"))
    first = cli(cfg, "pull")
    assert first.returncode == 0, first.stderr
    assert "abgeholt" in first.stdout and "2 Dateien geladen" in first.stdout
    assert ingested(cfg) == [("haushalte_20200131.csv", "loaded"), ("personen_20200131.csv", "loaded")]
    assert (cfg.outputs / "validation" / "validation_report.xlsx").is_file()  # the report, without a command
    nothing = cli(cfg, "pull", "--quiet")
    assert nothing.returncode == 0 and nothing.stdout == "" and nothing.stderr == ""  # cron mails nothing
    # a delivery with quarantined rows: exit 1, the count per rule printed
    households_file(src / "haushalte_20200229.csv", "B1", "B2", bad=("B3", "B4"))
    quarantined = cli(cfg, "pull", "--quiet")
    assert quarantined.returncode == 1
    assert "2 Zeilen in Quarantäne" in quarantined.stderr and "R02 ×2" in quarantined.stderr
    assert re.search(r"R02\s*│\s*2\s*│", quarantined.stderr)
    from pipeline import jobs

    newest = jobs.history(cfg, kind="pull")
    assert [j.outcome for j in newest] == ["warning", "ok", "ok"]
    assert newest[0].summary["problems_by_rule"] == {"R02": 2}
    assert newest[0].files[:1] == ["haushalte_20200229.csv"]
    # a configuration error: exit 2
    (cfg.base_dir / "config.toml").write_text(
        (cfg.base_dir / "config.toml").read_text() + "bogus = 1\n", encoding="utf-8"
    )
    assert cli(cfg, "pull").returncode == 2


def test_no_sources_pull_ingests_the_inbox_as_before(tmp_path):
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(tmp_path / "config.toml")
    cfg.inbox.mkdir()
    households_file(cfg.inbox / "haushalte_20200131.csv", "B1")
    proc = cli(cfg, "pull")
    assert proc.returncode == 0, proc.stderr
    assert "Keine Quellordner konfiguriert" in proc.stdout
    assert ingested(cfg) == [("haushalte_20200131.csv", "loaded")]


# --- sources that cannot be read -----------------------------------------------------------------------


def test_a_missing_or_unreadable_source_is_reported_and_its_return_is_picked_up():
    base = shared_dir()
    try:
        cfg = project(base / "p", sources=["export", "zweite"])
        src, second = cfg.sources
        remove_tree(src)  # the network drive is not mounted
        households_file(second / "haushalte_20200131.csv", "B1")
        unreadable = persons_file(second / "personen_20200131.csv", ("P1", "B1"))
        give_to_nobody(base)
        os.chmod(unreadable, 0o000)
        run = [sys.executable, "-m", "pipeline", "pull", "--config", str(cfg.base_dir / "config.toml")]
        first = as_nobody(run, base)
        assert first.returncode == 1, first.stderr
        assert "Ordner nicht gefunden" in first.stdout and "nicht lesbar" in first.stdout
        assert "1 Quelle nicht erreichbar" in first.stderr and "1 Datei nicht lesbar" in first.stderr
        assert unreadable.exists() and oct(unreadable.stat().st_mode & 0o777) == "0o0"  # left as it was
        assert ingested(cfg) == [("haushalte_20200131.csv", "loaded")]
        # now the first source is there but cannot be listed; the second one's file is readable again
        src.mkdir()
        households_file(src / "haushalte_20200229.csv", "B1", "B2")
        give_to_nobody(src)
        os.chmod(src, 0o000)
        os.chmod(unreadable, 0o644)
        second_run = as_nobody(run, base)
        assert second_run.returncode == 1
        assert "kein Zugriff" in second_run.stdout and "personen_20200131.csv" in second_run.stdout
        assert ("personen_20200131.csv", "loaded") in ingested(cfg)
        os.chmod(src, 0o755)  # back
        third = as_nobody(run, base)
        assert third.returncode == 0, third.stdout + third.stderr
        assert [n for n, _ in ingested(cfg)] == [
            "haushalte_20200131.csv",
            "haushalte_20200229.csv",
            "personen_20200131.csv",
        ]
        assert unreadable.exists()  # move = false: the sources keep their files
    finally:
        remove_tree(base)


def test_a_source_that_is_away_and_back_is_not_read_again_and_its_duplicate_not_reported_again(tmp_path):
    cfg = project(tmp_path)
    src = cfg.sources[0]
    households_file(src / "haushalte_20200131.csv", "B1")
    (src / "haushalte_20200229.csv").write_bytes((src / "haushalte_20200131.csv").read_bytes())
    report, _ = _pull_step(cfg)
    assert len(report.taken) == 1 and len(report.duplicates) == 1
    src.rename(tmp_path / "away")  # the drive is unmounted
    report, _ = _pull_step(cfg)
    assert report.unreachable == [{"source": str(src), "message": "Ordner nicht gefunden"}]
    (tmp_path / "away").rename(src)
    report, _ = _pull_step(cfg)
    assert (report.taken, report.duplicates, report.already, report.unreachable) == ([], [], 2, [])
