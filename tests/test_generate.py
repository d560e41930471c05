"""The synthetic export generator: determinism, exact headers, every dialect, integrity, snapshots, defects."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
from pathlib import Path

import openpyxl
import pytest

from pipeline import model
from pipeline.config import load_config
from pipeline.generate import EXTRA_CONTACT_COLUMN, default_snapshot, generate
from pipeline.generate.defects import ALL_KINDS

ROOT = Path(__file__).resolve().parents[1]
SNAP = dt.date(2026, 6, 30)
EARLY = dt.date(2026, 3, 30)
N = 40


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "config.toml")


@pytest.fixture(scope="module")
def clean(tmp_path_factory, cfg):
    out = tmp_path_factory.mktemp("clean")
    return generate(out, households=N, seed=7, cycles=["2024", "2025"], config=cfg, snapshot_date=SNAP)


@pytest.fixture(scope="module")
def defective(tmp_path_factory, cfg):
    out = tmp_path_factory.mktemp("defects")
    return generate(out, households=N, seed=7, cycles=["2024", "2025"], config=cfg, snapshot_date=SNAP, defects=0.05)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hashes(out: Path) -> dict[str, str]:
    return {p.name: _sha(p) for p in sorted(out.iterdir()) if p.is_file()}


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    first = text.split("\n", 1)[0]
    sep = "," if first.count(",") > first.count(";") else ";"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    return rows[0], rows[1:]


def _read_xlsx(path: Path) -> tuple[list[str], list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return list(rows[0]), rows[1:]


def _read(path: Path) -> tuple[list[str], list]:
    return _read_xlsx(path) if path.suffix == ".xlsx" else _read_csv(path)


def _file(out: Path, prefix: str, snap: dt.date) -> Path:
    (path,) = [p for p in out.iterdir() if p.name.startswith(f"{prefix}_{snap:%Y%m%d}.")]
    return path


def _headers(table: str) -> list[str]:
    return [c.header for c in model.tables()[table].columns]


def _table(out: Path, table: str, snap: dt.date = SNAP) -> list[dict]:
    header, rows = _read(_file(out, model.tables()[table].file_prefix, snap))
    return [dict(zip(header, r, strict=True)) for r in rows]


# ---- determinism -------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_other_seed_differs(tmp_path, cfg, clean):
    again = generate(tmp_path / "a", households=N, seed=7, cycles=["2024", "2025"], config=cfg, snapshot_date=SNAP)
    assert _hashes(again.out_dir) == _hashes(clean.out_dir)
    assert _sha(again.out_dir / ".generator" / "manifest.json") == _sha(clean.out_dir / ".generator" / "manifest.json")
    other = generate(tmp_path / "b", households=N, seed=8, cycles=["2024", "2025"], config=cfg, snapshot_date=SNAP)
    a, b = _hashes(clean.out_dir), _hashes(other.out_dir)
    assert a.keys() == b.keys()
    assert all(a[k] != b[k] for k in a), "every file must change with the seed"


def test_office_forms_are_reproducible_too(tmp_path, clean):
    """The office forms (some are workbooks, whose core properties carry a time) give the same bytes twice."""
    import time

    from pipeline.generate.office import write_forms

    first = write_forms(clean.out_dir, tmp_path / "one")
    time.sleep(1.1)  # a second later: a clock time in the files would differ
    second = write_forms(clean.out_dir, tmp_path / "two")
    assert any(p.suffix == ".xlsx" for d in first.values() for p in d.iterdir())
    assert {f: _hashes(d) for f, d in first.items()} == {f: _hashes(d) for f, d in second.items()}


def test_snapshot_before_any_entry_gives_files_with_headers_only(tmp_path, cfg):
    """A snapshot date before the first household enters: every table is exported, empty (was a TypeError)."""
    res = generate(tmp_path, households=10, seed=7, config=cfg, snapshot_date=dt.date(2020, 12, 31))
    files = sorted(p for p in res.out_dir.iterdir() if p.is_file())
    assert files and {p.name.split("_")[0] for p in files} >= {"haushalte", "personen", "kontakte", "hilfen"}
    for p in files:
        header, rows = _read(p)
        assert header and rows == [], p.name


# ---- files and headers -------------------------------------------------------------------------------------


def test_every_table_file_present_with_exact_headers(clean):
    out = clean.out_dir
    names = {p.name for p in clean.files}
    assert len(clean.files) == 9  # five tables in the final snapshot, four (no follow-ups) in the earlier one
    for table, t in model.tables().items():
        snaps = [SNAP] if table == "followups" else [EARLY, SNAP]
        for snap in snaps:
            path = _file(out, t.file_prefix, snap)
            assert path.name in names
            header, rows = _read(path)
            expected = _headers(table) + ([EXTRA_CONTACT_COLUMN] if table == "contacts" else [])
            assert header == expected, path.name
            assert rows, path.name
    assert not list(out.glob(f"nachbefragungen_{EARLY:%Y%m%d}.*"))
    assert clean.snapshot_dates == [EARLY, SNAP]
    assert clean.row_counts["households"] == N
    assert clean.row_counts == {
        t: clean.file_rows[_file(out, model.tables()[t].file_prefix, SNAP).name] for t in model.tables()
    }


def test_dialect_contacts_utf8_bom_lf_extra_column_multiline(clean):
    raw = _file(clean.out_dir, "kontakte", SNAP).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in raw and b"\n" in raw
    assert b'""' in raw  # doubled quotes inside a quoted field
    header, rows = _read_csv(_file(clean.out_dir, "kontakte", SNAP))
    remarks = [r[header.index(EXTRA_CONTACT_COLUMN)] for r in rows]
    assert any("\n" in r for r in remarks) and any(";" in r for r in remarks)
    assert len(rows) < raw.count(b"\n")  # some records span lines
    assert {r[header.index("Stattgefunden")] for r in rows if r[header.index("Kontaktart")] == "nicht angetroffen"} == {
        "nein"
    }
    topics = {x for r in rows for x in r[header.index("Themen")].split(",") if x}
    allowed = set(model.label_lists()["topic"].labels.values())
    assert topics and topics <= allowed


def test_dialect_persons_cp1252_crlf_two_digit_birth_years_iso_dates(clean):
    path = _file(clean.out_dir, "personen", SNAP)
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    assert "männlich" in text and "weiblich" in text
    assert raw.count(b"\r\n") == raw.count(b"\n")
    header, rows = _read_csv(path)
    births = [r[header.index("Geburtsdatum")] for r in rows if r[header.index("Geburtsdatum")]]
    assert births and all(re.fullmatch(r"\d\d\.\d\d\.\d\d", b) for b in births)
    # two-digit years: JJ > 26 (snapshot 2026) means 19JJ; adults' years land there, children's do not
    years = {int(b[-2:]) for b in births}
    assert any(y > 26 for y in years) and any(y <= 26 for y in years)
    dates = [r[header.index(h)] for r in rows for h in ("ESF-Eintritt", "Einwilligung am") if r[header.index(h)]]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in dates)
    assert any(re.fullmatch(r"\d\d\.\d\d\.\d{4}", d) for d in dates)
    bg = [r[header.index("BG-ID")] for r in rows]
    assert all(re.fullmatch(r"BG-20\d\d-\d{3,}", b) for b in bg)


def test_dialect_helps_comma_separated_utf8_bom(clean):
    raw = _file(clean.out_dir, "hilfen", SNAP).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    first = raw.decode("utf-8-sig").split("\r\n", 1)[0]
    assert first.split(",") == _headers("helps")
    rows = _table(clean.out_dir, "helps")
    statuses = {model.normalise(r["Status"]) for r in rows}
    assert {"geplant", "abgeschlossen"} <= statuses
    for r in rows:
        if model.normalise(r["Status"]) != "geplant":
            assert r["Eingeleitet am"]


def test_dialect_xlsx_real_dates_in_final_text_dates_in_earlier(clean):
    _, final_rows = _read_xlsx(_file(clean.out_dir, "haushalte", SNAP))
    i_entry = _headers("households").index("Eintritt")
    i_ags = _headers("households").index("Gemeindeschlüssel")
    assert all(isinstance(r[i_entry], dt.datetime) for r in final_rows)
    assert all(isinstance(r[i_ags], str) and len(r[i_ags]) == 8 and r[i_ags].startswith("07132") for r in final_rows)
    _, early_rows = _read_xlsx(_file(clean.out_dir, "haushalte", EARLY))
    assert all(isinstance(r[i_entry], str) and re.fullmatch(r"\d\d\.\d\d\.\d{4}", r[i_entry]) for r in early_rows)
    assert all(isinstance(r[i_ags], int) for r in early_rows)  # AGS that Excel turned into a number
    _, fu = _read_xlsx(_file(clean.out_dir, "nachbefragungen", SNAP))
    i_survey = _headers("followups").index("Befragt am")
    assert any(isinstance(r[i_survey], dt.datetime) for r in fu)


# ---- content -----------------------------------------------------------------------------------------------


def test_labels_are_valid_after_normalisation(clean):
    lists = model.label_lists()
    for table in ("households", "persons", "helps", "followups"):
        cols = [c for c in model.tables()[table].columns if c.type == "label"]
        for row in _table(clean.out_dir, table):
            for c in cols:
                v = row[c.header]
                if v not in ("", None):
                    assert lists[c.labels].code_for(v) is not None, (table, c.header, v)


def test_referential_integrity_and_members(clean):
    for snap in (EARLY, SNAP):
        hh = {r["BG-ID"]: r for r in _table(clean.out_dir, "households", snap)}
        persons = _table(clean.out_dir, "persons", snap)
        members: dict[str, set[str]] = {}
        for p in persons:
            assert p["BG-ID"] in hh
            members.setdefault(p["BG-ID"], set()).add(p["Person-ID"])
        for h, row in hh.items():
            assert int(row["Personen in BG"]) == len(members[h])
        for table in ("contacts", "helps"):
            for r in _table(clean.out_dir, table, snap):
                assert r["BG-ID"] in hh
                assert not r["Person-ID"] or r["Person-ID"] in members[r["BG-ID"]]
    leavers = {p["Person-ID"] for p in _table(clean.out_dir, "persons") if p["ESF-Austritt"]}
    fu = _table(clean.out_dir, "followups")
    assert fu and all(f["Person-ID"] in leavers for f in fu)


def test_population_realism(clean):
    hh = _table(clean.out_dir, "households")
    persons = _table(clean.out_dir, "persons")
    types = {model.label_lists()["household_type"].code_for(h["Haushaltstyp"]) for h in hh}
    assert {"single", "single_parent", "couple_with_children"} <= types
    parts = [p for p in persons if model.normalise(p["ESF-Teilnahme"]) == "ja"]
    per_hh: dict[str, int] = {}
    for p in parts:
        per_hh[p["BG-ID"]] = per_hh.get(p["BG-ID"], 0) + 1
    assert set(per_hh.values()) <= {1, 2}
    assert any(p["Staatsangehörigkeit"] in ("SYR", "AFG", "IRQ", "ERI", "UKR") for p in parts)
    assert any(p["Erwerbsstatus bei Eintritt"] == "arbeitslos gemeldet" and p["Arbeitslos seit"] for p in parts)
    assert any(model.normalise(p["Rolle"]) == "kind" and p["Geburtsdatum"] for p in persons)
    contacts = _table(clean.out_dir, "contacts")
    assert 40 <= len(contacts) / len(hh) <= 150  # ≈ 100 per household-year, households partly still active
    statuses = {model.label_lists()["household_status"].code_for(h["Status"]) for h in hh}
    assert {"active", "ended_regular"} <= statuses


def test_earlier_snapshot_is_state_at_that_date_and_one_contact_vanishes(clean):
    early = _table(clean.out_dir, "contacts", EARLY)
    final = _table(clean.out_dir, "contacts", SNAP)

    def date(s: str) -> dt.date:
        return dt.datetime.strptime(s, "%d.%m.%Y").date()

    assert all(date(c["Datum"]) <= EARLY for c in early)
    assert any(date(c["Datum"]) > EARLY for c in final)
    gone = {c["Kontakt-ID"] for c in early} - {c["Kontakt-ID"] for c in final}
    assert len(gone) == 1
    hh_early = {h["BG-ID"]: h for h in _table(clean.out_dir, "households", EARLY)}
    hh_final = {h["BG-ID"]: h for h in _table(clean.out_dir, "households", SNAP)}
    assert hh_early.keys() <= hh_final.keys()
    # exits after the earlier snapshot are not yet recorded there
    later_exits = [h for h, r in hh_final.items() if r["Austritt"] and r["Austritt"].date() > EARLY and h in hh_early]
    assert later_exits and all(hh_early[h]["Austritt"] in ("", None) for h in later_exits)


def test_default_snapshot_is_six_months_after_last_cycle_capped_at_today(cfg):
    assert default_snapshot(cfg, ["2018", "2019"]) == dt.date(2020, 6, 30)
    assert default_snapshot(cfg, ["2026"]) == min(dt.date(2027, 6, 30), dt.date.today())


# ---- defects -------------------------------------------------------------------------------------------------


def test_defects_csv_lists_every_kind_for_the_final_snapshot(defective, clean):
    gen = defective.out_dir / ".generator"
    with (gen / "defects.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["table", "file_name", "source_row", "column", "kind"]
    assert {r["kind"] for r in rows} == set(ALL_KINDS)
    assert len(rows) == defective.n_defects
    final_names = {p.name for p in defective.files if f"{SNAP:%Y%m%d}" in p.name}
    for r in rows:
        assert r["file_name"] in final_names
        assert 2 <= int(r["source_row"]) <= defective.file_rows[r["file_name"]] + 1
    # the earlier snapshot stays clean: identical to the clean run's files
    for p in defective.files:
        if f"{EARLY:%Y%m%d}" in p.name:
            assert _sha(p) == _sha(clean.out_dir / p.name)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 7 and manifest["households"] == N and manifest["defect_kinds_missing"] == []
    assert manifest["snapshot_dates"] == [EARLY.isoformat(), SNAP.isoformat()]
    assert not (clean.out_dir / ".generator" / "defects.csv").exists()


def test_generated_set_ingests_clean_and_every_defect_is_reported(tmp_path, cfg):
    """End to end with the real reader, mapper and validation: clean ⇒ no row errors; each defect is caught."""
    import tomllib

    import duckdb

    from pipeline import ingest

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    kind_rules: dict[str, set[str]] = {}
    with (ROOT / "pipeline" / "data" / "rules.toml").open("rb") as fh:
        for rid, r in tomllib.load(fh).items():
            for k in r.get("defect_kinds", []):
                kind_rules.setdefault(k, set()).add(rid)
    for name, share in (("clean", 0.0), ("defects", 0.05)):
        base = tmp_path / name
        c = cfg.with_paths(
            inbox=base / "inbox", database=base / "db.duckdb", archive=base / "archive", outputs=base / "out"
        )
        generate(
            base / "inbox",
            households=30,
            seed=3,
            cycles=["2024", "2025"],
            config=cfg,
            snapshot_date=SNAP,
            defects=share,
        )
        result = ingest.ingest(c)
        assert all(f.status == "loaded" for f in result.files)
        con = duckdb.connect(str(base / "db.duckdb"))
        problems = con.execute("SELECT file_name, source_row, rule_id, severity, column_name FROM problems").fetchall()
        con.close()
        if share == 0:
            assert [p for p in problems if p[3] != "warning"] == []
            assert {p[2] for p in problems} <= {"W01", "P01"}  # the extra column; realistic incomplete records
            continue
        found: dict[tuple[str, int], set[tuple[str, str]]] = {}
        for fn, row, rid, _sev, col in problems:
            found.setdefault((fn, row), set()).add((rid, col))
        with (base / "inbox" / ".generator" / "defects.csv").open(encoding="utf-8") as fh:
            defects = list(csv.DictReader(fh))
        assert {d["kind"] for d in defects} == set(ALL_KINDS)
        for d in defects:
            got = found.get((d["file_name"], int(d["source_row"])), set())
            assert any(rid in kind_rules[d["kind"]] and col == d["column"] for rid, col in got), (d, got)
