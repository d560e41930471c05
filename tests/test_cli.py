"""Command line behaviour: exit codes and one clear message for a user's mistake, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.generate import generate

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "COLUMNS": "200"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, env=ENV)


@pytest.fixture
def base(tmp_path):
    (tmp_path / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_wrong_config_key_names_the_key_and_exits_2(base):
    text = (base / "config.toml").read_text(encoding="utf-8").replace("places = 30", "placez = 30", 1)
    (base / "config.toml").write_text(text, encoding="utf-8")
    proc = cli("ingest", "--config", str(base / "config.toml"))
    assert proc.returncode == 2
    assert "placez" in proc.stderr and "Traceback" not in proc.stderr


def test_wrong_value_names_the_key(base):
    text = (base / "config.toml").read_text(encoding="utf-8").replace('"07132001", "07132002"', '"7132001"')
    (base / "config.toml").write_text(text, encoding="utf-8")
    proc = cli("ingest", "--config", str(base / "config.toml"))
    assert proc.returncode == 2 and "rural_municipalities" in proc.stderr


def test_missing_config_file_exits_2(tmp_path):
    proc = cli("ingest", "--config", str(tmp_path / "nope.toml"))
    assert proc.returncode == 2 and "nicht gefunden" in proc.stderr


def test_unknown_period_exits_2_with_message(base):
    proc = cli("indicators", "--period", "1999", "--config", str(base / "config.toml"))
    assert proc.returncode == 2
    assert "1999" in proc.stderr and "Traceback" not in proc.stderr


def test_run_without_any_export_fails_with_what_to_do(base):
    proc = cli("run", "--period", "2025", "--config", str(base / "config.toml"))
    assert proc.returncode == 1
    assert "Keine gültige Lieferung" in proc.stderr and "Eingangsordner" in proc.stderr


def test_broken_newer_file_keeps_last_good_snapshot_and_says_so(base):
    cfg = load_config(base / "config.toml")
    generate(cfg.inbox, households=12, seed=3, cycles=["2025"], config=cfg, snapshots=1)
    assert cli("ingest", "--quiet", "--config", str(base / "config.toml")).returncode == 0
    (cfg.inbox / "haushalte_20260731.csv").write_bytes(b"\x00\x01garbage")
    proc = cli("run", "--period", "2025", "--quiet", "--config", str(base / "config.toml"))
    assert proc.returncode == 0, proc.stderr
    assert "Haushalte: Stand 30.06.2026 bleibt gültig, weil haushalte_20260731.csv abgewiesen wurde" in proc.stderr
    assert (cfg.outputs / "2025" / "project_report.pdf").is_file()


def test_the_command_line_speaks_the_pages_words(base):
    """Status words and counts as on the page (pipeline.wording): geladen, bereits eingelesen, nicht geladen;
    „1 Datei“, „2 Dateien“, never „Datei(en)“."""
    from pipeline import jobs

    cfg = load_config(base / "config.toml")
    generate(cfg.inbox, households=12, seed=3, cycles=["2025"], config=cfg, snapshots=1)
    first = cli("ingest", "--config", str(base / "config.toml"))
    assert first.returncode == 0, first.stderr
    assert "geladen" in first.stdout and "bereits" not in first.stdout
    (cfg.inbox / "haushalte_20260731.csv").write_bytes(b"\x00\x01garbage")
    second = cli("ingest", "--config", str(base / "config.toml"))
    assert "bereits eingelesen" in second.stdout and "nicht geladen" in second.stdout, second.stdout
    assert "bereits da" not in second.stdout and "Fehler" not in second.stdout
    assert jobs.history(cfg)[0].message.startswith("0 Dateien geladen; 1 Datei abgewiesen")
    assert cli("validate", "--quiet", "--config", str(base / "config.toml")).returncode == 0
    assert jobs.history(cfg)[0].message == "Prüfbericht und Data Docs geschrieben (2 Dateien)"
    assert not any("(en)" in j.message or "(n)" in j.message for j in jobs.history(cfg))


def test_counts_and_vanished_records_in_german():
    from pipeline.wording import count, vanished_note

    assert [count(n, "Datei", "Dateien") for n in (0, 1, 2)] == ["0 Dateien", "1 Datei", "2 Dateien"]
    assert vanished_note(1) == "1 Datensatz fehlt gegenüber dem vorigen Stand"
    assert vanished_note(13) == "13 Datensätze fehlen gegenüber dem vorigen Stand"
