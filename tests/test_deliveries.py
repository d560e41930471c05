"""Deliveries: a mostly bad file never replaces good data; the same bytes under another name are another
delivery; the run and its outputs say which snapshot of each table is in force and why (exports.md, Dec 2026)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest
from export_files import headers, household, person, rows_of, write_csv
from project_setup import project_config as _cfg
from project_setup import query as _query

from pipeline import db, deliveries, ingest, manifest
from pipeline.config import ConfigError
from pipeline.validation.outputs import write_workbook


@pytest.fixture
def cfg(tmp_path):
    return _cfg(tmp_path)


def _households(n: int, bad: int = 0) -> list[list[object]]:
    """n households; the first ``bad`` have a Jobcenter-Standort that is not in the list (R02)."""
    return rows_of(
        "households", [household(f"BG-{i}", **({"Jobcenter-Standort": "Mars"} if i < bad else {})) for i in range(n)]
    )


# --- file-level rejection -------------------------------------------------------------------------------


def test_mostly_bad_newer_file_is_refused_and_the_good_snapshot_stays_in_force(cfg, tmp_path):
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), _households(4))
    assert ingest.ingest(cfg).files[0].status == "loaded"
    # 3 of 4 rows (75 %) would be quarantined: more than the default 0.5
    write_csv(cfg.inbox / "haushalte_20200229.csv", headers("households"), _households(4, bad=3))
    res = ingest.ingest(cfg)
    (f,) = [f for f in res.files if f.file_name == "haushalte_20200229.csv"]
    assert (f.status, f.rule_id, f.rows_loaded) == ("failed", "F14", 0)
    assert "75 % der Zeilen (3 von 4)" in f.message and "Wert nicht zulässig (3 Zeilen)" in f.message
    assert "reject_file_share" in f.message and "bleibt gültig" in f.message
    # the file's rows are gone, the older snapshot is the one in force; nothing is recorded as vanished
    assert _query(cfg, "SELECT DISTINCT snapshot_date::VARCHAR FROM core_households") == [("2020-01-31",)]
    assert _query(cfg, "SELECT count(*) FROM vanished_records") == [(0,)]
    assert _query(cfg, "SELECT status, rule_id FROM ingest_files WHERE file_name = 'haushalte_20200229.csv'") == [
        ("failed", "F14")
    ]
    con = db.connect(cfg.database, read_only=True)
    try:
        assert db.create_current_views(con)["households"].isoformat() == "2020-01-31"
        assert con.execute("SELECT count(*) FROM households").fetchone() == (4,)
        states = {s.table: s for s in deliveries.table_states(con)}
        text = "Haushalte: Stand 31.01.2020 bleibt gültig, weil haushalte_20200229.csv abgewiesen wurde " \
               "(75 % der Zeilen fehlerhaft)"
        assert states["households"].text == text
        assert states["persons"].text == "Personen: keine Lieferung"
        # validation workbook: the sheet "Datenstand" says the same
        path = write_workbook(con, tmp_path / "out" / "validation_report.xlsx")
    finally:
        con.close()
    ws = openpyxl.load_workbook(path)["Datenstand"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == ["Haushalte", "Personen", "Kontakte", "Hilfen", "Nachbefragungen"]
    assert rows[0][2] == "haushalte_20200131.csv" and rows[0][4] == text
    assert rows[0][3] == "haushalte_20200229.csv: 75 % der Zeilen fehlerhaft"
    # run_manifest.json: the same, per table
    out = manifest.write(cfg, tmp_path / "out", "r1", ingest_result=res)
    doc = json.loads(out.read_text(encoding="utf-8"))
    (hh,) = [s for s in doc["validation"]["in_force"] if s["table"] == "households"]
    assert hh["snapshot_date"] == "2020-01-31" and hh["text"] == text
    assert hh["refused"] == [{"file": "haushalte_20200229.csv", "snapshot_date": "2020-02-29",
                              "reason": "75 % der Zeilen fehlerhaft"}]


def test_share_at_the_limit_is_loaded_and_the_limit_is_configurable(tmp_path):
    cfg = _cfg(tmp_path)
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), _households(4))
    write_csv(cfg.inbox / "haushalte_20200229.csv", headers("households"), _households(4, bad=2))  # 50 %: not more
    assert [f.status for f in ingest.ingest(cfg).files] == ["loaded", "loaded"]
    cfg2 = _cfg(tmp_path / "b", "\n[validation]\nreject_file_share = 0.8\n")
    write_csv(cfg2.inbox / "haushalte_20200131.csv", headers("households"), _households(4))
    write_csv(cfg2.inbox / "haushalte_20200229.csv", headers("households"), _households(4, bad=3))
    assert [f.status for f in ingest.ingest(cfg2).files] == ["loaded", "loaded"]


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1", '"viel"'])
def test_reject_file_share_must_be_in_0_1(tmp_path, value):
    with pytest.raises(ConfigError, match=r"validation\.reject_file_share"):
        _cfg(tmp_path, f"\n[validation]\nreject_file_share = {value}\n")


def test_a_mostly_bad_first_delivery_is_refused_too_with_its_findings_listed(cfg):
    """exports.md refuses such a file without exception; its row findings stay listed for correction."""
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), _households(4, bad=3))
    (f,) = ingest.ingest(cfg).files
    assert (f.status, f.rule_id, f.rows_loaded) == ("failed", "F14", 0)
    assert _query(cfg, "SELECT count(*) FROM core_households")[0][0] == 0
    assert _query(cfg, "SELECT count(*) FROM problems WHERE rule_id = 'R02'")[0][0] == 3


# --- file identity ---------------------------------------------------------------------------------------


def _persons_bytes(tmp_path) -> bytes:
    p = write_csv(tmp_path / "p.csv", headers("persons"), rows_of("persons", [person("P1", "BG-0")]))
    return p.read_bytes()


def test_same_bytes_under_another_tables_name_are_processed_on_their_own_merits(cfg, tmp_path):
    data = _persons_bytes(tmp_path)
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), _households(1))
    ingest.ingest(cfg)
    # a persons export copied by mistake under a households name: refused (it lacks the households columns)
    (cfg.inbox / "haushalte_20200229.csv").write_bytes(data)
    (f,) = [f for f in ingest.ingest(cfg).files if f.status != "skipped"]
    assert (f.file_name, f.status, f.rule_id) == ("haushalte_20200229.csv", "failed", "F04")
    # the genuine persons export, byte-identical, is read on its own merits: not "bereits als fehlerhaft gemeldet"
    (cfg.inbox / "personen_20200229.csv").write_bytes(data)
    (g,) = [f for f in ingest.ingest(cfg).files if f.status != "skipped"]
    assert (g.file_name, g.status, g.rows_loaded) == ("personen_20200229.csv", "loaded", 1)
    assert g.sha256 != f.sha256  # another delivery, another lineage key
    assert _query(cfg, "SELECT count(*), count(DISTINCT file_sha256) FROM core_persons") == [(1, 1)]
    # re-delivering the identical files under the identical names stays a no-op
    again = ingest.ingest(cfg)
    assert {(x.file_name, x.status, x.message) for x in again.files} == {
        ("haushalte_20200131.csv", "skipped", "bereits eingelesen"),
        ("haushalte_20200229.csv", "skipped", "bereits als fehlerhaft gemeldet"),
        ("personen_20200229.csv", "skipped", "bereits eingelesen"),
    }
    assert _query(cfg, "SELECT count(*) FROM ingest_files") == [(3,)]
    # the archive keeps one copy per content hash
    assert len(list(cfg.archive.iterdir())) == 2
    (content,) = {c for (c,) in _query(cfg, "SELECT content_sha256 FROM ingest_files WHERE file_name <> ?",
                                        ["haushalte_20200131.csv"])}
    assert (cfg.archive / f"{content}.csv").read_bytes() == data


def test_same_bytes_in_one_inbox_under_both_names(cfg, tmp_path):
    data = _persons_bytes(tmp_path)
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), _households(1))
    (cfg.inbox / "personen_20200131.csv").write_bytes(data)
    (cfg.inbox / "kontakte_20200131.csv").write_bytes(data)  # wrong name too
    got = {f.file_name: (f.status, f.rule_id) for f in ingest.ingest(cfg).files}
    assert got == {
        "haushalte_20200131.csv": ("loaded", None),
        "kontakte_20200131.csv": ("failed", "F04"),
        "personen_20200131.csv": ("loaded", None),
    }


def test_identical_bytes_as_a_newer_snapshot_become_the_snapshot_in_force(cfg):
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), _households(2))
    ingest.ingest(cfg)
    (cfg.inbox / "haushalte_20200229.csv").write_bytes((cfg.inbox / "haushalte_20200131.csv").read_bytes())
    (f,) = [f for f in ingest.ingest(cfg).files if f.status != "skipped"]
    assert f.status == "loaded" and f.rows_loaded == 2
    con = db.connect(cfg.database, read_only=True)
    try:
        assert db.snapshots_in_force(con)["households"].isoformat() == "2020-02-29"
        assert con.execute(
            "SELECT snapshot_date::VARCHAR, count(*) FROM core_households GROUP BY 1 ORDER BY 1"
        ).fetchall() == [("2020-01-31", 2), ("2020-02-29", 2)]
    finally:
        con.close()


def test_a_database_from_before_the_delivery_key_is_migrated(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """CREATE TABLE ingest_files (file_sha256 VARCHAR PRIMARY KEY, file_name VARCHAR, table_name VARCHAR,
           snapshot_date DATE, archive_path VARCHAR, file_format VARCHAR, encoding VARCHAR, separator VARCHAR,
           rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, status VARCHAR, message VARCHAR,
           extra_columns VARCHAR[], run_id VARCHAR, ingested_at TIMESTAMP)"""
    )
    con.execute("INSERT INTO ingest_files (file_sha256, table_name, status) VALUES ('abc', 'households', 'loaded')")
    con.close()
    con = db.connect(path)
    try:
        assert con.execute("SELECT file_sha256, content_sha256, rule_id FROM ingest_files").fetchall() == [
            ("abc", "abc", None)
        ]
    finally:
        con.close()


# --- nothing usable: a clear exit, never an internal error ----------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "False", "ESF_PIPELINE_PARALLEL": "0", "ESF_PIPELINE_KEY": "k"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def test_every_table_empty_gives_a_clear_exit_1(cfg, tmp_path):
    for table, prefix in (("households", "haushalte"), ("persons", "personen"), ("contacts", "kontakte"),
                          ("helps", "hilfen"), ("followups", "nachbefragungen")):
        write_csv(cfg.inbox / f"{prefix}_20200131.csv", headers(table), [])
    proc = _cli("run", "--period", "2019", "--config", str(tmp_path / "config.toml"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Interner Fehler" not in proc.stderr and "Traceback" not in proc.stderr
    err = " ".join(proc.stderr.split())  # rich wraps at 80 columns
    assert "Keine gültige Lieferung für Haushalte, Personen" in err
    assert "Haushalte: kein gültiger Stand, weil haushalte_20200131.csv abgewiesen wurde (Leere Datei)" in err


def test_every_table_fully_quarantined_gives_a_report_not_an_internal_error(cfg, tmp_path):
    """First deliveries whose every row is quarantined (accepted with reject_file_share = 1): empty views.
    The run writes its reports (exit 0)."""
    config = tmp_path / "config.toml"
    default = config.read_text(encoding="utf-8")
    config.write_text(default + "\n[validation]\nreject_file_share = 1.0\n", encoding="utf-8")
    hh = _households(2, bad=2)
    pp = rows_of("persons", [person("P1", "BG-0", **{"Rolle": "Chef"}), person("P2", "BG-1", **{"Rolle": "Chef"})])
    write_csv(cfg.inbox / "haushalte_20200131.csv", headers("households"), hh)
    write_csv(cfg.inbox / "personen_20200131.csv", headers("persons"), pp)
    proc = _cli("run", "--period", "2019", "--config", str(tmp_path / "config.toml"), cwd=tmp_path)
    assert "Interner Fehler" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "Kennzahlen 2019" in proc.stdout and "Haushalte: Stand 31.01.2020 (haushalte_20200131.csv)" in proc.stdout
    indicators = (cfg.outputs / "2019" / "indicators.csv").read_text(encoding="utf-8")
    assert "K01" in indicators
    # with the default limit, a newer fully quarantined delivery is refused, and the run says why
    config.write_text(default, encoding="utf-8")
    write_csv(cfg.inbox / "haushalte_20200229.csv", headers("households"), hh)
    proc = _cli("run", "--period", "2019", "--config", str(tmp_path / "config.toml"), cwd=tmp_path)
    assert proc.returncode == 0 and "Interner Fehler" not in proc.stderr, proc.stderr
    assert "weil haushalte_20200229.csv abgewiesen wurde (100 % der Zeilen fehlerhaft)" in proc.stderr
