"""Reports: every workbook read back with openpyxl and compared figure by figure with the result table.

The fixture is a tiny real DuckDB database (4 households of cycle 2024, one ``nicht angetreten``) plus a
hand-made result table; the monthly series is computed from the database and checked by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline import db
from pipeline.config import load_config
from pipeline.period import resolve_period
from pipeline.reports import render_reports, timeseries, xlsx
from pipeline.reports.context import ReportContext
from pipeline.reports.esf_submission import write_esf_submission
from pipeline.reports.project_workbook import write_project_workbook

CONFIG = Path(__file__).resolve().parents[1] / "config.toml"
D = dt.date


@dataclass
class FakeResult:
    """Same fields as pipeline.indicators.IndicatorResult (used until/unless compute() is wired here)."""

    period: object
    funding_period: str
    data_state: dt.date | None
    snapshots: dict = field(default_factory=dict)
    audience: str = "foerdergeber"
    table: pd.DataFrame = None


def _rows_esfplus() -> list[tuple]:
    """(indicator_id, dimension, category, numerator, denominator, value) – hand-made, internally consistent."""
    n = None
    rows = [
        ("K01", "total", "total", 3, n, 3),
        ("K01", "jobcenter_site", "Altenkirchen", 1, n, 1),
        ("K01", "jobcenter_site", "Betzdorf", 1, n, 1),
        ("K01", "jobcenter_site", "Wissen", 1, n, 1),
        ("K01", "month", "2024-01", 1, n, 1),
        ("K02", "total", "total", 8, n, 8),
        ("K02", "gender", "women", 5, n, 5),
        ("K02", "gender", "men", 2, n, 2),
        ("K02", "gender", "non_binary", 0, n, 0),
        ("K02", "gender", "not_stated", 1, n, 1),
        ("K03", "total", "total", 9, n, 9),
        ("K04", "total", "total", 4, n, 4),
        ("K05", "total", "total", 2, 3, 2 / 3),
        ("K06", "total", "total", 12, n, 12),
        ("K06", "help_group", "Finanzen", 9, n, 9),
        ("K06", "help_group", "Gesundheit", 2, n, 2),
        ("K06", "help_group", "Wohnen", 1, n, 1),
        ("K08", "total", "total", n, n, 4.0),
        ("K09", "total", "total", 6, 12, 0.5),
        ("K13", "total", "total", n, n, 168.5),
        ("K13", "statistic", "p25", n, n, 120.25),
        ("K14", "total", "total", 12, n, 12),
        ("K14", "exit_reason", "reguläres Ende", 10, n, 10),
        ("K14", "exit_reason", "Umzug", 2, n, 2),
        ("K17", "total", "total", 600, 10980, 600 / 10980),
        ("K18", "total", "total", n, n, 0.82),
        ("K20", "total", "total", 7, 8, 7 / 8),
    ]
    esf = {  # id: (total, women, men, non_binary)
        "EECO01": (7, 5, 2, 0),
        "EECO02": (4, 3, 1, 0),
        "EECO04": (2, 1, 1, 0),
        "EECO05": (1, 1, 0, 0),
        "EECO12": (4, 3, 1, 0),
    }
    for ind, (t, w, m, nb) in esf.items():
        rows.append((ind, "total", "total", t, n, t))
        for cat, v in (("women", w), ("men", m), ("non_binary", nb)):
            rows.append((ind, "gender", cat, v, n, v))
    rows.append(("EECO12", "keine_angabe", "total", 1, n, 1))
    rows.append(("EECR05", "total", "total", 2, 4, 0.5))
    rows.append(("EECR05", "gender", "women", 2, 3, 2 / 3))
    rows.append(("EECR05", "gender", "men", 0, 1, 0.0))
    rows.append(("EECR05", "gender", "non_binary", 0, 0, None))
    return rows


def make_table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["indicator_id", "dimension", "category", "numerator", "denominator", "value"])


HOUSEHOLDS = [  # household_id, cycle, site, type, entry, exit, status, coach
    ("H1", "2024", "altenkirchen", "single", D(2024, 1, 15), D(2024, 6, 30), "ended_regular", "C01"),
    ("H2", "2024", "betzdorf", "single_parent", D(2024, 2, 1), None, "active", "C02"),
    ("H3", "2024", "wissen", "couple_with_children", D(2024, 3, 10), D(2024, 9, 30), "ended_early", "C01"),
    ("H4", "2024", "wissen", "single", D(2024, 3, 1), None, "not_started", "C02"),
    ("H9", "2019", "wissen", "single", D(2019, 3, 1), D(2019, 5, 1), "ended_regular", "C02"),
]
SNAP = D(2024, 12, 31)


@pytest.fixture
def config():
    return load_config(CONFIG)


@pytest.fixture
def con(tmp_path):
    c = make_db(tmp_path / "t.duckdb")
    yield c
    c.close()


def make_db(path: Path):
    """A real database with the schema, a few core rows, ingest_files, problems and the views in force."""
    c = db.connect(path)
    for h in HOUSEHOLDS:
        c.execute(
            """INSERT INTO core_households (file_sha256, source_row, snapshot_date, household_id, project_cycle,
               jobcenter_site, household_type, n_members, entry_date, exit_date, status, coach_id, quarantined)
               VALUES ('f1', 2, ?, ?, ?, ?, ?, 2, ?, ?, ?, ?, false)""", [SNAP, *h])
    persons = [  # person, household, participant, esf entry, esf exit, gender, destination, destination_start
        ("P1", "H1", True, D(2024, 1, 15), D(2024, 6, 30), "female", "employment_svp", D(2024, 7, 1)),
        ("P2", "H2", True, D(2024, 2, 1), None, "male", None, None),
        ("P3", "H3", True, D(2024, 3, 10), D(2024, 9, 30), "female", "language_course", D(2024, 12, 1)),
        ("P4", "H3", False, None, None, "male", None, None),
    ]
    for p in persons:
        c.execute(
            """INSERT INTO core_persons (file_sha256, source_row, snapshot_date, person_id, household_id,
               is_esf_participant, esf_entry_date, esf_exit_date, gender, destination, destination_start, quarantined)
               VALUES ('f2', 2, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)""", [SNAP, *p])
    contacts = [  # id, household, date, took_place, coach
        ("C1", "H1", D(2024, 1, 20), True, "C01"), ("C2", "H1", D(2024, 2, 3), True, "C01"),
        ("C3", "H2", D(2024, 2, 10), False, "C02"), ("C4", "H3", D(2024, 3, 12), True, "C01"),
        ("C5", "H4", D(2024, 3, 12), True, "C02"),
    ]
    for k in contacts:
        c.execute(
            """INSERT INTO core_contacts (file_sha256, source_row, snapshot_date, contact_id, household_id,
               contact_date, took_place, coach_id, contact_type, quarantined)
               VALUES ('f3', 2, ?, ?, ?, ?, ?, ?, 'office', false)""", [SNAP, *k])
    helps = [  # id, household, initiated, status
        ("X1", "H1", D(2024, 2, 1), "initiated"), ("X2", "H1", D(2024, 2, 20), "planned"),
        ("X3", "H3", D(2024, 4, 2), "completed"), ("X4", "H3", D(2024, 10, 15), "started"),  # after exit
    ]
    for x in helps:
        c.execute(
            """INSERT INTO core_helps (file_sha256, source_row, snapshot_date, help_id, household_id,
               initiated_date, help_status, help_type, quarantined)
               VALUES ('f4', 2, ?, ?, ?, ?, ?, 'debt_counselling', false)""", [SNAP, *x])
    for sha, name, table, read, loaded, quar in [
        ("f1", "haushalte_20241231.csv", "households", 6, 5, 1), ("f2", "personen_20241231.csv", "persons", 4, 4, 0),
        ("f3", "kontakte_20241231.csv", "contacts", 5, 5, 0), ("f4", "hilfen_20241231.csv", "helps", 4, 4, 0),
    ]:
        c.execute(
            """INSERT INTO ingest_files (file_sha256, file_name, table_name, snapshot_date, rows_read, rows_loaded,
               rows_quarantined, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'loaded')""",
            [sha, name, table, SNAP, read, loaded, quar])
    c.execute("""INSERT INTO problems (run_id, severity, rule_id, table_name, file_name, source_row, message)
                 VALUES ('r1', 'row_error', 'R10', 'households', 'haushalte_20241231.csv', 7, 'Austritt vor Eintritt'),
                        ('r1', 'warning', 'W20', 'persons', 'personen_20241231.csv', 3, 'Alter ungewöhnlich')""")
    db.create_current_views(c)
    return c


@pytest.fixture
def result(config):
    return FakeResult(resolve_period(config, "2024"), "esfplus_2021_2027", SNAP,
                      {"households": SNAP, "persons": SNAP, "contacts": SNAP, "helps": SNAP},
                      "foerdergeber", make_table(_rows_esfplus()))


def sheet_rows(ws, header_row: int = 3) -> list[dict]:
    """Data rows of a table sheet as dicts keyed by header (stops at the first empty row)."""
    headers = [c.value for c in ws[header_row]]
    out = []
    for row in ws.iter_rows(min_row=header_row + 1):
        if row[0].value is None:
            break
        out.append({h: c.value for h, c in zip(headers, row, strict=False) if h})
    return out


def cells_by_id(ws) -> dict[str, dict]:
    return {r["Kennung"]: r for r in sheet_rows(ws)}


# ------------------------------------------------------------------------------------------ esf_submission


def test_esf_submission_figures_match_result(tmp_path, config, result, con):
    ctx = ReportContext.build(config, result, "foerdergeber")
    path = write_esf_submission(ctx, tmp_path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Deckblatt", "ESF-Indikatoren", "Teilnehmende", "Definitionen"]
    ws = wb["ESF-Indikatoren"]
    got = cells_by_id(ws)
    # ESF+ outputs in catalogue order, only those present in the result
    assert list(got) == ["EECO01", "EECO02", "EECO04", "EECO05", "EECO12", "EECR05"]
    t = result.table
    for ind, row in got.items():
        def exact(dim, cat, col="value", ind=ind):
            sel = t[(t.indicator_id == ind) & (t.dimension == dim) & (t.category == cat)]
            return sel.iloc[0][col]
        num_col = "numerator"
        assert row["Insgesamt (Anzahl)"] == exact("total", "total", num_col)
        assert row["Frauen (Anzahl)"] == exact("gender", "women", num_col)
        assert row["Männer (Anzahl)"] == exact("gender", "men", num_col)
        assert row["divers (Anzahl)"] == exact("gender", "non_binary", num_col)
    assert got["EECO12"]["keine Angabe (Anzahl)"] == 1
    assert got["EECO01"]["keine Angabe (Anzahl)"] is None
    # EECR05 is a share: 2 of 4 = 0.5, numerator by gender, formatted as percent
    assert got["EECR05"]["Nenner (Anzahl)"] == 4 and got["EECR05"]["Anteil (%)"] == 0.5
    share_cell = next(c for c in ws["I"] if c.value == 0.5)
    assert share_cell.number_format == xlsx.FMT_SHARE
    # real numbers with the count format, frozen header, filter, print setup
    assert ws["C4"].data_type == "n" and ws["C4"].number_format == "0"
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref.startswith("A3:")
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert "BG-Coaching" in ws.oddHeader.left.text and "&P" in ws.oddFooter.center.text
    assert not ws.merged_cells.ranges
    # participants: K02 8 = 5 women + 2 men + 0 divers + 1 keine Angabe; K20 7 complete of 8 → 1 incomplete
    part = {r["Merkmal"]: r["Wert"] for r in sheet_rows(wb["Teilnehmende"])}
    assert part["ESF-Teilnehmende (Eintritte) insgesamt"] == 8
    assert (part["davon Frauen"], part["davon Männer"], part["davon divers"]) == (5, 2, 0)
    assert part["davon Geschlecht keine Angabe"] == 1
    assert part["davon vollständige Datensätze"] == 7 and part["davon unvollständige Datensätze"] == 1
    assert part["Anteil vollständiger Datensätze"] == pytest.approx(0.875)
    # cover: Datenstand as a real date with TT.MM.JJJJ, audience marking, funding note
    cover = {r["Angabe"]: r["Wert"] for r in sheet_rows(wb["Deckblatt"])}
    assert cover["Datenstand"] == dt.datetime(2024, 12, 31)
    assert cover["Projekt"] == "BG-Coaching" and cover["Träger"] == "neue arbeit e.V."
    assert "Fördergeber" in cover["Fassung / Kennzeichnung"]
    assert "Europäischer Sozialfonds Plus" in cover["Hinweis"]
    date_cell = next(c for c in wb["Deckblatt"]["B"] if c.value == dt.datetime(2024, 12, 31))
    assert date_cell.number_format == "DD.MM.YYYY"
    defs = cells_by_id(wb["Definitionen"])
    assert set(defs) >= {"EECO01", "EECO12", "EECR05", "K20"} and defs["EECO12"]["Definition"]


def test_esf_2014_2020_leads_with_k02_and_has_no_divers_column(tmp_path, config, con):
    rows = [("K02", "total", "total", 5, None, 5), ("K02", "gender", "women", 3, None, 3),
            ("K02", "gender", "men", 1, None, 1), ("K02", "gender", "non_binary", 1, None, 1),
            ("K02", "gender", "not_stated", 0, None, 0), ("CO01", "total", "total", 4, None, 4),
            ("CO01", "gender", "women", 3, None, 3), ("CO01", "gender", "men", 1, None, 1),
            ("K20", "total", "total", 5, 5, 1.0)]
    res = FakeResult(resolve_period(config, "2019"), "esf_2014_2020", D(2020, 3, 31), {}, "foerdergeber",
                     make_table(rows))
    ctx = ReportContext.build(config, res, "foerdergeber")
    wb = openpyxl.load_workbook(write_esf_submission(ctx, tmp_path))
    ws = wb["ESF-Indikatoren"]
    headers = [c.value for c in ws[3]]
    assert "divers (Anzahl)" not in headers
    got = cells_by_id(ws)
    assert list(got) == ["K02", "CO01"]
    assert (got["K02"]["Insgesamt (Anzahl)"], got["K02"]["Frauen (Anzahl)"], got["K02"]["Männer (Anzahl)"]) == (5, 3, 1)
    assert "Europäischer Sozialfonds und" in {r["Angabe"]: r["Wert"] for r in sheet_rows(wb["Deckblatt"])}["Hinweis"]


# ----------------------------------------------------------------------------------------- project workbook


def test_project_workbook_figures_and_sheets(tmp_path, config, result, con):
    ctx = ReportContext.build(config, result, "foerdergeber")
    wb = openpyxl.load_workbook(write_project_workbook(ctx, con, tmp_path))
    assert wb.sheetnames == ["Deckblatt", "Indikatoren", "Aufschlüsselungen", "Zeitreihe", "Ziele", "Projektjahre",
                             "Definitionen", "Datenqualität", "Prüfregeln"]
    # targets of cycle 2024 (config): K01 3 of ≥ 30 missed by 27; K05 2/3 against ≥ 85 %; K19 not in this table
    goals = {r["Kennung"]: r for r in sheet_rows(wb["Ziele"])}
    assert list(goals) == ["K01", "K05"]
    assert (goals["K01"]["Ziel"], goals["K01"]["Ergebnis"], goals["K01"]["Bewertung"]) == (30, 3, "nicht erreicht")
    assert goals["K01"]["Abweichung (Anteile: Prozentpunkte)"] == -27
    assert goals["K05"]["Ziel"] == 0.85 and goals["K05"]["Ergebnis"] == pytest.approx(2 / 3)
    assert goals["K05"]["Abweichung (Anteile: Prozentpunkte)"] == pytest.approx((2 / 3 - 0.85) * 100)
    # cycles: 2019 (H9, ended, no participant: final) and 2024 (H2 still active: running, reuses the result)
    cyc = {r["Projektjahr"]: r for r in sheet_rows(wb["Projektjahre"])}
    assert list(cyc) == ["2019", "2024"]
    assert cyc["2019"]["Status"] == "abgeschlossen" and cyc["2024"]["Status"] == "laufend (vorläufig)"
    assert cyc["2019"]["K01 Unterstützte Bedarfsgemeinschaften (Anzahl)"] == 1
    assert cyc["2024"]["K01 Unterstützte Bedarfsgemeinschaften (Anzahl)"] == 3
    assert cyc["2024"]["K05 Anteil BG mit eingeleiteter Hilfe (Anteil)"] == pytest.approx(2 / 3)
    ind = cells_by_id(wb["Indikatoren"])
    assert "K18" not in ind  # internal only
    assert ind["K01"]["Wert"] == 3 and ind["K01"]["Zähler"] == 3 and ind["K01"]["Nenner"] is None
    assert (ind["K05"]["Zähler"], ind["K05"]["Nenner"]) == (2, 3) and ind["K05"]["Wert"] == pytest.approx(2 / 3)
    assert ind["K08"]["Wert"] == 4.0 and ind["K13"]["Wert"] == 168.5
    ws = wb["Indikatoren"]
    k05 = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "K05")
    assert k05[5].number_format == "0.0 %"
    bd = sheet_rows(wb["Aufschlüsselungen"])
    helps = {r["Kategorie"]: r["Wert"] for r in bd if r["Kennung"] == "K06"}
    assert helps == {"Finanzen": 9, "Gesundheit": 2, "Wohnen": 1}
    p25 = next(r for r in bd if r["Kennung"] == "K13")
    assert (p25["Kategorie"], p25["Wert"]) == ("25. Perzentil", 120.25)
    # data quality: rows read/loaded/quarantined per file, problems by rule
    files = {r["Datei"]: r for r in sheet_rows(wb["Datenqualität"])}
    assert files["haushalte_20241231.csv"]["Zeilen gelesen"] == 6
    assert files["haushalte_20241231.csv"]["in Quarantäne"] == 1
    rules = {r["Regel"]: r["Anzahl"] for r in sheet_rows(wb["Prüfregeln"])}
    assert rules == {"R10": 1, "W20": 1}
    # followups has no snapshot: reported as stale/missing below the file table
    notes = [c.value for c in wb["Datenqualität"]["A"] if isinstance(c.value, str)]
    assert any("Nachbefragung" in n or "followups" in n or "fehlend" in n for n in notes)


def test_monthly_series_from_the_views(config, result, con):
    """Cycle 2024 cohort = H1, H2, H3 (H4 nicht angetreten, H9 other cycle). Hand count per month:

    2024-01: entries H1 → 1; active H1 → 1; contacts C1 → 1; helps 0
    2024-02: entries H2 → 1; active H1,H2 → 2; contacts C2 (C3 not held) → 1; helps X1 (X2 planned) → 1
    2024-03: entries H3 → 1; active 3; contacts C4 (C5 is H4) → 1
    2024-04: helps X3 → 1;  2024-06: exits H1 → 1;  2024-09: exits H3 → 1
    2024-10: X4 is after H3's exit → not counted; active: H2 only → 1
    Window: cycle 2024-01..2024-12 (cohort's last exit 2024-09-30 is inside) → 12 months.
    """
    df = timeseries.monthly(con, config, result.period, result.data_state).set_index("month")
    assert list(df.index) == [f"2024-{m:02d}" for m in range(1, 13)]
    assert df.loc["2024-01", ["entries", "active", "contacts", "helps"]].tolist() == [1, 1, 1, 0]
    assert df.loc["2024-02", ["entries", "active", "contacts", "helps"]].tolist() == [1, 2, 1, 1]
    assert df.loc["2024-03", ["entries", "active", "contacts"]].tolist() == [1, 3, 1]
    assert df.loc["2024-04", "helps"] == 1 and df.loc["2024-06", "exits"] == 1 and df.loc["2024-09", "exits"] == 1
    assert df.loc["2024-10", ["active", "helps"]].tolist() == [1, 0]
    assert df["esf_entries"].sum() == 3
    # destinations upon leaving: P1 svp (start 1 day after exit); P3 language course starts 62 days later → unknown
    dest = dict(timeseries.destinations(con, config, result.period, result.data_state).itertuples(index=False))
    assert dest == {"employment_svp": 1, "unknown": 1}


def test_coach_breakdown_only_for_intern(tmp_path, config, result, con):
    wb_intern = openpyxl.load_workbook(write_project_workbook(ReportContext.build(config, result, "intern"), con,
                                                              tmp_path / "intern"))
    assert "Coaches" in wb_intern.sheetnames
    coaches = {r["Coach (Kürzel)"]: r for r in sheet_rows(wb_intern["Coaches"])}
    # C01: H1, H3 (2 BG, 0 active); contacts held C1, C2, C4 = 3; counted helps X1, X3, X4 = 3
    assert (coaches["C01"]["BG"], coaches["C01"]["davon aktiv"], coaches["C01"]["Kontakte"]) == (2, 0, 3)
    assert coaches["C01"]["Hilfen (gezählte Status)"] == 3
    # C02: H2 only (H4 nicht angetreten)
    assert coaches["C02"]["BG"] == 1 and coaches["C02"]["Kontakte"] == 0
    assert "K18" in cells_by_id(wb_intern["Indikatoren"])
    wb_f = openpyxl.load_workbook(write_project_workbook(ReportContext.build(config, result, "foerdergeber"), con,
                                                         tmp_path / "f"))
    assert "Coaches" not in wb_f.sheetnames


# ------------------------------------------------------------------------------------ safety and atomicity


def test_formula_like_labels_stay_text(tmp_path, config, con):
    evil = ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)"]
    rows = [("K01", "total", "total", 4, None, 4)] + [("K01", "jobcenter_site", e, 1, None, 1) for e in evil]
    res = FakeResult(resolve_period(config, "2024"), "esfplus_2021_2027", SNAP, {}, "foerdergeber", make_table(rows))
    path = write_project_workbook(ReportContext.build(config, res, "foerdergeber"), con, tmp_path)
    ws = openpyxl.load_workbook(path)["Aufschlüsselungen"]
    cats = [r for r in ws.iter_rows(min_row=4) if r[0].value == "K01"]
    assert [r[3].value for r in cats] == evil
    assert all(r[3].data_type == "s" for r in cats)
    # and in the raw XML no formula element exists
    import zipfile

    with zipfile.ZipFile(path) as z:
        assert all("<f>" not in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_failed_save_keeps_the_good_file(tmp_path, monkeypatch):
    good = tmp_path / "r.xlsx"
    wb = xlsx.new_workbook()
    wb.create_sheet("A")["A1"] = 1
    xlsx.atomic_save(wb, good)
    before = good.read_bytes()

    def broken_save(self, filename):
        Path(filename).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(OSError):
        xlsx.atomic_save(wb, good)
    assert good.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]  # no temp file left behind


def test_render_reports_writes_the_files_of_the_set(tmp_path, config, result, con):
    out = render_reports(con, config, result, "foerdergeber", tmp_path / "2024")
    assert [p.name for p in out] == ["esf_submission.xlsx", "project_report.xlsx", "project_report.pdf",
                                     "sachbericht.docx"]
    assert all(p.stat().st_size > 1000 for p in out)
    assert sorted(p.name for p in (tmp_path / "2024").iterdir()) == sorted(p.name for p in out)
    with pytest.raises(ValueError):
        render_reports(con, config, result, "presse", tmp_path / "x")
