"""Files an office produces besides the tool's own exports (exports.md, December 2026).

Readable forms load exactly like the clean export (same rows, no problem at all); every ambiguous form is
refused with its own rule of rules.toml and a message that says what was found and how to export again.
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from export_files import headers, household, rows_of
from project_setup import project_config
from project_setup import query as _query

from pipeline import ingest, read
from pipeline.generate.office import workbook_bytes
from pipeline.validation.rules import rules

HH = headers("households")
ROWS = rows_of(  # shared by the tests: never modify in place
    "households",
    [household("BG-1", **{"Eintritt": "15.01.2019"}), household("BG-2", **{"Jobcenter-Standort": "Wissen"})],
)


@pytest.fixture
def cfg(tmp_path):
    return project_config(tmp_path)


def _text(sep: str = ";", newline: str = "\r\n", header: list[str] = HH, rows=ROWS, tail: str = "") -> str:
    lines = [sep.join(header)] + [sep.join(str(v) for v in r) + tail for r in rows]
    return newline.join(lines) + newline


BLANK = ";" * (len(HH) - 1)
READABLE = {
    # case -> (file name, bytes)
    "sep_line_semicolon_cp1252": ("haushalte_20200131.csv", ("sep=;\r\n" + _text()).encode("cp1252")),
    "sep_line_comma_utf8_bom": ("haushalte_20200131.csv", ("sep=,\r\n" + _text(",")).encode("utf-8-sig")),
    "utf8_without_bom": ("haushalte_20200131.csv", _text(newline="\n").encode("utf-8")),
    "cr_only_utf8": ("haushalte_20200131.csv", _text(newline="\r").encode("utf-8")),
    "utf16_unicode_text": ("haushalte_20200131.csv", _text("\t").encode("utf-16")),  # BOM + UTF-16-LE
    "utf16_big_endian": ("haushalte_20200131.csv", b"\xfe\xff" + _text("\t").encode("utf-16-be")),
    "separator_only_lines": (
        "haushalte_20200131.csv",
        (_text().replace("\r\nBG-2", f"\r\n{BLANK}\r\nBG-2") + f"{BLANK}\r\n{BLANK}\r\n;;\r\n").encode("utf-8-sig"),
    ),
    "trailing_empty_header_cells": (
        "haushalte_20200131.csv",
        _text(header=[*HH, "", "", ""], tail=";;;").encode("utf-8-sig"),
    ),
    "all_at_once_excel_resave": (
        "haushalte_20200131.csv",
        ("sep=;\r\n" + _text(header=[*HH, ""], tail=";") + BLANK + ";\r\n").encode("cp1252"),
    ),
}


@pytest.mark.parametrize("case", sorted(READABLE))
def test_readable_office_form_loads_like_the_clean_export(cfg, case):
    name, data = READABLE[case]
    (cfg.inbox / name).write_bytes(data)
    (f,) = ingest.ingest(cfg).files
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("loaded", 2, 2, 0), f.message
    assert f.extra_columns == []
    # no unknown column, no "Pflichtwert fehlt" for a blank line: nothing the lead has to read
    assert _query(cfg, "SELECT rule_id, column_name FROM problems WHERE file_name = ?", [name]) == []
    got = _query(
        cfg,
        "SELECT household_id, jobcenter_site, entry_date, municipality_ags FROM core_households ORDER BY source_row",
    )
    assert [(h, s, d.isoformat(), a) for h, s, d, a in got] == [
        ("BG-1", "altenkirchen", "2019-01-15", "07132001"),
        ("BG-2", "wissen", "2019-01-15", "07132001"),
    ]
    # the row numbers are those a person sees in Excel (header = row 1; Excel hides the sep= line)
    assert [r for (r,) in _query(cfg, "SELECT source_row FROM core_households ORDER BY 1")][0] == 2


def test_separator_only_line_keeps_the_row_numbers_of_the_rows_after_it(cfg):
    bad = rows_of("households", [household("BG-3", **{"Haushaltstyp": "Villa"})])
    text = _text(rows=[*ROWS, *bad]).replace("\r\nBG-2", f"\r\n{BLANK}\r\nBG-2")
    (cfg.inbox / "haushalte_20200131.csv").write_text(text, encoding="utf-8")
    (f,) = ingest.ingest(cfg).files
    assert (f.rows_read, f.rows_quarantined) == (3, 1)
    assert _query(cfg, "SELECT rule_id, source_row FROM problems") == [("R02", 5)]


def test_values_under_an_empty_trailing_header_are_kept_and_reported(cfg):
    rows = [[*ROWS[0], "Notiz"], [*ROWS[1], ""]]
    (cfg.inbox / "haushalte_20200131.csv").write_text(_text(header=[*HH, ""], rows=rows), encoding="utf-8")
    (f,) = ingest.ingest(cfg).files
    assert f.status == "loaded" and f.extra_columns == [f"Spalte {len(HH) + 1}"]
    assert _query(cfg, "SELECT rule_id FROM problems") == [("W01",)]


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"legacy workbook body"
HTML = (
    "<html><head><meta charset='utf-8'></head><body><table><tr>"
    + "".join(f"<td>{h}</td>" for h in HH)
    + "</tr></table></body></html>"
).encode()
SPREADSHEET_XML = (
    b'<?xml version="1.0"?>\r\n<?mso-application progid="Excel.Sheet"?>\r\n'
    b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Tabelle1"/></Workbook>'
)
SERIAL = rows_of("households", [household(f"BG-{i}", **{"Zuweisung am": "43467", "Eintritt": "43480"}) for i in (1, 2)])

REFUSED = {
    # case -> (file name, bytes, rule, words the message must hold)
    "title_line_csv": (
        "haushalte_20200131.csv",
        ("Haushalte – Stand 31.01.2020\r\n\r\n" + _text()).encode("utf-8-sig"),
        "F09",
        ["Zeile 3", "Titel", "Zeile 1", "exportieren"],
    ),
    "title_line_after_sep_line": (
        "haushalte_20200131.csv",
        ("sep=;\r\nExport BG-Coaching;;;\r\n" + _text()).encode("cp1252"),
        "F09",
        ["Zeile 2", "Zeilen über der Kopfzeile löschen"],
    ),
    "legacy_xls_under_xlsx_name": ("haushalte_20200131.xlsx", OLE2, "F10", [".xls", "Excel-Arbeitsmappe (*.xlsx)"]),
    "legacy_xls_under_csv_name": ("haushalte_20200131.csv", OLE2, "F10", ["97", "CSV UTF-8"]),
    "html_table_under_xlsx_name": ("haushalte_20200131.xlsx", HTML, "F11", ["HTML-Seite", "Speichern unter"]),
    "html_table_under_csv_name": ("haushalte_20200131.csv", b"\xef\xbb\xbf" + HTML, "F11", ["HTML-Seite"]),
    "spreadsheet_xml_2003": ("haushalte_20200131.xlsx", SPREADSHEET_XML, "F11", ["XML-Tabelle"]),
    "serial_dates_in_text": (
        "haushalte_20200131.csv",
        _text(rows=SERIAL).encode("utf-8-sig"),
        "F12",
        ["Zuweisung am", "Seriennummer", "43467", "als Ganzes", "TT.MM.JJJJ"],
    ),
    "serial_dates_in_xlsx_number_cells": (
        "haushalte_20200131.xlsx",
        _xlsx([HH] + [[int(v) if str(v).startswith("434") else v for v in r] for r in SERIAL]),
        "F12",
        ["Seriennummer"],
    ),
    "xlsx_under_csv_name": ("haushalte_20200131.csv", _xlsx([HH, *ROWS]), "F15", ["Excel-Arbeitsmappe", ".csv"]),
    "csv_under_xlsx_name": ("haushalte_20200131.xlsx", _text().encode("utf-8-sig"), "F15", ["Textdatei", ".xlsx"]),
    "mac_csv_mac_roman": (
        "haushalte_20200131.csv",
        _text(newline="\r").encode("mac_roman"),
        "F16",
        ["Macintosh", "Mac OS Roman", "CSV UTF-8"],
    ),
    "utf16_under_xlsx_name": ("haushalte_20200131.xlsx", _text("\t").encode("utf-16"), "F15", ["Textdatei"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_ambiguous_office_form_is_refused_with_its_own_rule(cfg, case):
    name, data, rule_id, words = REFUSED[case]
    (cfg.inbox / name).write_bytes(data)
    (f,) = ingest.ingest(cfg).files
    assert (f.status, f.rule_id) == ("failed", rule_id), f.message
    assert rules()[rule_id].severity == "file_error"
    for w in words:
        assert w in f.message, (w, f.message)
    assert name in f.message
    assert _query(cfg, "SELECT count(*) FROM core_households") == [(0,)]
    assert _query(cfg, "SELECT rule_id, message FROM problems") == [(rule_id, f.message)]


def test_serial_number_of_a_birth_date_is_not_shown(cfg):
    from export_files import person

    rows = rows_of("persons", [person(f"P{i}", "BG-1", **{"Geburtsdatum": "27880"}) for i in (1, 2)])
    (cfg.inbox / "personen_20200131.csv").write_text(_text(header=headers("persons"), rows=rows), encoding="utf-8")
    (f,) = ingest.ingest(cfg).files
    assert f.rule_id == "F12" and "Geburtsdatum" in f.message and "27880" not in f.message


def test_a_single_serial_number_among_real_dates_is_a_row_error_not_a_refusal(cfg):
    rows = [list(r) for r in ROWS] + rows_of("households", [household(f"BG-{i}") for i in (3, 4)])  # ROWS stays
    rows[0][HH.index("Eintritt")] = "43480"
    (cfg.inbox / "haushalte_20200131.csv").write_text(_text(rows=rows), encoding="utf-8")
    (f,) = ingest.ingest(cfg).files
    assert (f.status, f.rows_quarantined) == ("loaded", 1)
    assert _query(cfg, "SELECT rule_id, column_name FROM problems") == [("R03", "entry_date")]


def test_every_office_rule_is_in_the_catalogue_with_its_advice():
    for rid in ("F09", "F10", "F11", "F12", "F13", "F14", "F15", "F16"):
        r = rules()[rid]
        assert r.severity == "file_error" and r.title and "{file_name}" in r.message


def test_sep_hint_and_utf8_without_bom_unit():
    from pipeline import forms

    assert forms.sep_hint("sep=;\r\n") == ";" and forms.sep_hint('"sep=,"\n') == ","
    assert forms.sep_hint("BG-ID;Projektjahr\r\n") is None


def test_utf8_without_bom_is_detected_as_utf8(tmp_path):
    p = tmp_path / "haushalte_20200131.csv"
    p.write_bytes(_text().replace("Altenkirchen", "Müllerstraße").encode("utf-8"))
    assert read.detect_encoding(p) == "utf-8"
    d = read.decode_csv(p, tmp_path)
    assert d.csv_path == p and "Müllerstraße" in d.csv_path.read_text(encoding="utf-8")


COVER = [["BG-Coaching – Export für die Berichtspipeline"], ["erstellt am", "31.01.2020"], [], ["Hinweis: vertraulich"]]


def test_xlsx_with_a_cover_sheet_reads_the_table_sheet_and_says_so(cfg):
    data = workbook_bytes({"Deckblatt": COVER, "Notizen": [["frei"]], "Haushalte": [HH, *ROWS]})
    (cfg.inbox / "haushalte_20200131.xlsx").write_bytes(data)
    (f,) = ingest.ingest(cfg).files
    assert (f.status, f.rows_loaded, f.rows_quarantined) == ("loaded", 2, 0)
    assert "„Haushalte“" in f.message and "erste Blatt nicht die Tabelle" in f.message
    assert _query(cfg, "SELECT rule_id, severity FROM problems") == [("W03", "warning")]
    assert _query(cfg, "SELECT message FROM ingest_files") == [(f.message,)]
    assert _query(cfg, "SELECT household_id FROM core_households ORDER BY 1") == [("BG-1",), ("BG-2",)]


def test_xlsx_with_the_table_first_and_a_notes_sheet_after_it_is_read_without_a_note(cfg):
    (cfg.inbox / "haushalte_20200131.xlsx").write_bytes(workbook_bytes({"Export": [HH, *ROWS], "Notizen": COVER}))
    (f,) = ingest.ingest(cfg).files
    assert (f.status, f.rows_loaded, f.message) == ("loaded", 2, "")
    assert _query(cfg, "SELECT count(*) FROM problems") == [(0,)]


def test_xlsx_with_two_table_sheets_is_refused(cfg):
    data = workbook_bytes({"Deckblatt": COVER, "Januar": [HH, *ROWS], "Februar": [HH, ROWS[0]]})
    (cfg.inbox / "haushalte_20200131.xlsx").write_bytes(data)
    (f,) = ingest.ingest(cfg).files
    assert (f.status, f.rule_id) == ("failed", "F13")
    assert "„Januar“, „Februar“" in f.message and "nur das Blatt mit dem Export" in f.message


def test_xlsx_with_a_title_row_above_the_header_is_refused(cfg):
    data = workbook_bytes({"Deckblatt": COVER, "Haushalte": [["Haushalte Stand 31.01.2020"], [], HH, *ROWS]})
    (cfg.inbox / "haushalte_20200131.xlsx").write_bytes(data)
    (f,) = ingest.ingest(cfg).files
    assert (f.status, f.rule_id) == ("failed", "F09") and "Zeile 3" in f.message
