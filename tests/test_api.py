"""The analysts' API (pipeline/api.py) on a real DuckDB file built by the real ingest from hand-written exports."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from export_files import headers, household, person, rows_of, write_csv

import pipeline
from pipeline import api, catalogue, ingest, runs
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SECRETS = ("Quastenberg", "Zoë", "Jürgen", "Müller", "07132BG0001234", "1975-02-03", "03.02.1975", "1964-01-16",
           "1964-01-15", "2015-05-05")


def help_row(help_id: str, hid: str, status: str, initiated: str) -> dict[str, str]:
    return {"Hilfe-ID": help_id, "BG-ID": hid, "Person-ID": "", "Hilfeart": "Schuldnerberatung",
            "Anbieter": "Beratungsstelle", "Eingeleitet am": initiated, "Status": status, "Status-Datum": ""}


def write_snapshot(inbox: Path, stamp: str, n_households: int) -> None:
    """Households BG-2019-001.. (cycle 2019, entry 15.01.2019) with their persons and helps."""
    hh = [household("BG-2019-001"),
          household("BG-2019-002", **{"Haushaltstyp": "Paar mit Kindern", "Personen in BG": "3"})]
    hh += [household(f"BG-2019-{i:03d}") for i in range(3, n_households + 1)]
    pp = [
        person("P001", "BG-2019-001"),  # born 03.02.1975, ESF entry 15.01.2019: 43 full years
        person("P004", "BG-2019-001", Geburtsdatum="31.02.1980"),  # impossible date: quarantined
        person("P002", "BG-2019-002", Vorname="Zoë", Nachname="Quastenberg", Geburtsdatum="16.01.1964"),  # 54
        person("P005", "BG-2019-002", Rolle="Partner/in", Geburtsdatum="15.01.1964"),  # 55 on the entry day
        person("P003", "BG-2019-002", Rolle="Kind", Geburtsdatum="05.05.2015",  # 3 at household entry
               **{"ESF-Teilnahme": "nein", "ESF-Eintritt": "", "Einwilligung am": ""}),
    ]
    pp += [person(f"P1{i:02d}", f"BG-2019-{i:03d}") for i in range(3, n_households + 1)]
    helps = [help_row("H1", "BG-2019-001", "eingeleitet", "01.03.2019"),
             help_row("H2", "BG-2019-001", "begonnen", "01.04.2019"),
             help_row("H3", "BG-2019-002", "geplant", "")]
    write_csv(inbox / f"haushalte_{stamp}.csv", headers("households"), rows_of("households", hh))
    write_csv(inbox / f"personen_{stamp}.csv", headers("persons"), rows_of("persons", pp))
    write_csv(inbox / f"hilfen_{stamp}.csv", headers("helps"), rows_of("helps", helps))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One ingested database per module (an ingest takes seconds); tests that write get their own copy."""
    base = tmp_path_factory.mktemp("api")
    (base / "config.toml").write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (base / "inbox").mkdir()
    config = load_config(base / "config.toml")
    write_snapshot(config.inbox, "20200131", 2)
    res = ingest.ingest(config)
    assert [f.status for f in res.files] == ["loaded"] * 3
    return base


@pytest.fixture
def cfg(built, tmp_path, monkeypatch):
    shutil.copytree(built, tmp_path / "w")
    # the API's private copies go to a temp dir we can inspect
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return load_config(tmp_path / "w" / "config.toml")


def api_copies() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob("esf-api-*"))


def no_secrets(df: pd.DataFrame) -> None:
    text = df.astype(str).to_csv()
    for s in SECRETS:
        assert s not in text, s


def test_default_database_is_the_configs(cfg):
    # config= alone finds [paths].database (relative to the config file)
    assert len(api.table("households", config=cfg.base_dir / "config.toml")) == 2
    with pytest.raises(api.DatabaseNotFound):
        api.connect(db=cfg.base_dir / "nowhere.duckdb")


def test_table_is_pseudonymous(cfg):
    persons = api.table("persons", config=cfg)
    for name in api.TABLES:
        df = api.table(name, config=cfg)
        assert not {"name_hash", "bg_number_hash", "birth_date"} & set(df.columns), name
        no_secrets(df)
    # P004 (impossible birth date) is quarantined; the others carry an age band instead of the birth date:
    # P001 2019-01-15 − 1975-02-03 = 43 (birthday not yet reached) → 30-44; P002 born 16.01.1964 → 54 → 45-54;
    # P005 born 15.01.1964 → 55 on the entry day → 55+; P003 child, household entry 15.01.2019 − 05.05.2015 → 3
    bands = dict(zip(persons["person_id"], persons["age_band_at_entry"], strict=True))
    assert bands == {"P001": "30-44", "P002": "45-54", "P005": "55+", "P003": "0-17"}


def test_quarantine_view_joins_rows_to_their_problems(cfg):
    q = api.table("quarantine", config=cfg)
    row = q[(q["record_id"] == "P004") & (q["rule_id"].notna()) & (q["column_name"] == "birth_date")]
    assert len(row) == 1
    r = row.iloc[0]
    assert (r["table_name"], r["household_id"], r["file_name"], r["severity"]) == (
        "persons", "BG-2019-001", "personen_20200131.csv", "row_error")
    assert r["source_row"] == 3  # header row 1, P001 row 2, P004 row 3
    assert r["value"] is None or pd.isna(r["value"]) or r["value"] == "1980"  # a birth date shows only its year
    assert set(q["record_id"]) == {"P004"}
    problems = api.table("problems", config=cfg)
    r03 = problems[problems["rule_id"] == "R03"]
    assert list(r03["in_force"]) == [True] and list(r03["source_row"]) == [3]


def test_connection_is_read_only_and_a_copy(cfg):
    with api.connect(config=cfg) as con:
        assert con.execute("SELECT count(*) FROM households").fetchone() == (2,)
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM core_households")
        # the copy was unlinked right after opening: nothing with birth dates lingers in the temp dir
        assert api_copies() == []
    with pytest.raises(duckdb.Error):
        con.execute("SELECT 1")  # closed by the with block


def test_open_notebook_connection_never_blocks_an_ingest(cfg):
    con = api.connect(config=cfg)  # a notebook that forgot to close its connection
    try:
        # an ingest in this process (same-file connections with another configuration would fail) …
        write_snapshot(cfg.inbox, "20200229", 3)
        res = ingest.ingest(cfg)
        assert [f.status for f in res.files if f.file_name == "haushalte_20200229.csv"] == ["loaded"]
        # … and a writer in another process (DuckDB: a reader holding the file would block it)
        writer = subprocess.run(
            [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
             "c.execute('CREATE TABLE scratch AS SELECT 1 AS a'); c.close()", str(cfg.database)],
            capture_output=True, text=True, timeout=60)
        assert writer.returncode == 0, writer.stderr
        # the open connection still shows the state when it was opened (2 households); a new one shows 3
        assert con.execute("SELECT count(*) FROM households").fetchone() == (2,)
    finally:
        con.close()
    with api.connect(config=cfg) as fresh:
        assert fresh.execute("SELECT count(*) FROM households").fetchone() == (3,)
    # as_of reproduces the older state
    with api.connect(config=cfg, as_of="2020-01-31") as old:
        assert old.execute("SELECT count(*) FROM households").fetchone() == (2,)


def test_connect_waits_while_a_writer_holds_the_file(cfg):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', "
         "flush=True); time.sleep(float(sys.argv[2])); c.close()", str(cfg.database), "2.5"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RuntimeError, match="wird gerade geschrieben"):
            api.connect(config=cfg, wait=0.3)
        with api.connect(config=cfg, wait=30) as con:  # returns once the writer has finished
            assert con.execute("SELECT count(*) FROM households").fetchone() == (2,)
    finally:
        holder.wait(timeout=30)


def test_indicators_equal_indicators_csv(cfg, tmp_path):
    df = api.indicators("2019", config=cfg)
    _, csv_path = runs.indicators(cfg, "2019", None, tmp_path / "out", {})
    csv = pd.read_csv(csv_path, dtype={"category": str}, keep_default_na=False)
    assert list(df["indicator_id"]) == list(csv["indicator_id"])
    assert list(df["dimension"]) == list(csv["dimension"])
    assert list(df["category"]) == list(csv["category"])
    for col in ("numerator", "denominator", "value"):
        for mine, theirs in zip(df[col], csv[col], strict=True):
            if theirs == "":
                assert pd.isna(mine)
            else:
                assert math.isclose(float(mine), float(theirs), abs_tol=1e-9)
    total = df[df["dimension"] == "total"].set_index("indicator_id")["value"]
    # K01: BG-2019-001 and -002 (cohort 2019) = 2; K03: P001, P002, P005, P003 (P004 quarantined) = 4
    # K04: the child P003 = 1; K05: only BG-2019-001 has counted helps (H1 eingeleitet, H2 begonnen) → 1 ÷ 2
    # K06: H1 + H2 = 2 (H3 geplant does not count); K08 = 2 ÷ 2 = 1.0
    assert (total["K01"], total["K03"], total["K04"], total["K05"], total["K06"], total["K08"]) == (
        2, 4, 1, 0.5, 2, 1.0)
    assert df.attrs["data_state"].isoformat() == "2020-01-31"
    assert set(df["label"]) >= {catalogue.get("K05").label}
    assert "K18" not in set(df["indicator_id"])
    assert "K18" in set(api.indicators("2019", audience="intern", config=cfg)["indicator_id"])


def test_catalogue_and_reexports():
    cat = api.catalogue()
    assert list(cat["id"]) == [i.id for i in catalogue.indicators()]
    assert {"id", "label", "definition", "unit", "family", "funding_periods", "audience"} <= set(cat.columns)
    k05 = cat.set_index("id").loc["K05"]
    assert (k05["unit"], k05["label"]) == ("share", catalogue.get("K05").label)
    assert set(api.catalogue("esf_2014_2020")["id"]).isdisjoint({"EECO01", "EECR01"})
    from pipeline.reports import charts

    assert pipeline.horizontal_bars is charts.horizontal_bars is api.horizontal_bars
    assert pipeline.connect is api.connect and pipeline.indicator_table is api.indicators
    assert api.labels("household_type").set_index("code").loc["single_parent", "label"] == "Alleinerziehend"
