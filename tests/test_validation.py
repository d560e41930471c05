"""Validation rules: one fixture per rule that breaks exactly that rule, engines agree, outputs are safe."""

from __future__ import annotations

import copy
import json
import re

import pytest
from openpyxl import load_workbook
from validation_fixtures import clean_tables, load_all, open_db

from pipeline.validation import problem, rules, validate_cross_table, validate_file, write_validation_outputs

CYCLES = ["2019"]

# id: (mutations {(table, row index): {column: raw text}}, expected {(rule, table, source_row, column)})
# Row index 0 is spreadsheet row 2.
CASES = {
    "R01_missing_coach": ({("households", 0): {"coach_id": ""}}, {("R01", "households", 2, "coach_id")}),
    "R02_unknown_site": ({("households", 1): {"jobcenter_site": "Hamm"}}, {("R02", "households", 3, "jobcenter_site")}),
    "R02_unknown_topic": ({("contacts", 0): {"topics": "Arbeit/Beruf, Kochen"}}, {("R02", "contacts", 2, "topics")}),
    "R02_citizenship": ({("persons", 0): {"citizenship": "Deutsch"}}, {("R02", "persons", 2, "citizenship")}),
    "R03_bad_date": ({("contacts", 0): {"contact_date": "31.02.2019"}}, {("R03", "contacts", 2, "contact_date")}),
    "R04_bad_number": ({("contacts", 2): {"duration_min": "eine Stunde"}}, {("R04", "contacts", 4, "duration_min")}),
    "R05_duration": ({("contacts", 2): {"duration_min": "900"}}, {("R05", "contacts", 4, "duration_min")}),
    "R05_members_zero": (
        {("households", 1): {"n_members": "0"}},
        {("R05", "households", 3, "n_members"), ("X06", "households", 3, "n_members")},
    ),
    "R06_duplicate_id": (
        {("contacts", 1): {"contact_id": "K-1"}},
        {("R06", "contacts", 2, "contact_id"), ("R06", "contacts", 3, "contact_id")},
    ),
    "R07_entry_before_referral": (
        {("households", 0): {"entry_date": "05.01.2019"}},
        {("R07", "households", 2, "entry_date")},
    ),
    "R07_consent_after_entry": (
        {("persons", 0): {"consent_date": "20.01.2019"}},
        {("R07", "persons", 2, "consent_date")},
    ),
    "R07_status_before_initiated": (
        {("helps", 0): {"status_date": "01.01.2019"}},
        {("R07", "helps", 2, "status_date")},
    ),
    "R08_birth_in_future": ({("persons", 2): {"birth_date": "05.05.2021"}}, {("R08", "persons", 4, "birth_date")}),
    "R09_active_with_exit": ({("households", 1): {"exit_date": "30.11.2019"}}, {("R09", "households", 3, "exit_date")}),
    # a household marked ended without exit date: R09, and its participant has no ESF-Austritt (X08)
    "R09_ended_without_exit": (
        {("households", 1): {"status": "beendet regulär"}},
        {("R09", "households", 3, "exit_date"), ("X08", "persons", 5, "esf_exit_date")},
    ),
    "R10_no_consent": ({("persons", 3): {"consent_date": ""}}, {("R10", "persons", 5, "consent_date")}),
    "R11_not_met_took_place": (
        {("contacts", 2): {"contact_type": "nicht angetroffen"}},
        {("R11", "contacts", 4, "took_place")},
    ),
    "R12_initiated_missing": ({("helps", 1): {"help_status": "eingeleitet"}}, {("R12", "helps", 3, "initiated_date")}),
    "R13_unknown_cycle": ({("households", 1): {"project_cycle": "2017"}}, {("R13", "households", 3, "project_cycle")}),
    "P01_incomplete_esf": (
        {("persons", 3): {"school_qualification": ""}},
        {("P01", "persons", 5, "school_qualification")},
    ),
    "P02_exit_reason_missing": ({("persons", 0): {"exit_reason": ""}}, {("P02", "persons", 2, "exit_reason")}),
    "P03_age": ({("persons", 3): {"birth_date": "01.07.2010"}}, {("P03", "persons", 5, "age_at_esf_entry")}),
    "X01_household_missing": ({("contacts", 1): {"household_id": "BG-9999"}}, {("X01", "contacts", 3, "household_id")}),
    "X02_person_other_household": ({("helps", 0): {"person_id": "P-004"}}, {("X02", "helps", 2, "person_id")}),
    "X03_followup_no_exit": ({("followups", 0): {"person_id": "P-004"}}, {("X03", "followups", 2, "person_id")}),
    "X04_esf_before_household": (
        {("persons", 3): {"esf_entry_date": "15.02.2019", "consent_date": "10.02.2019"}},
        {("X04", "persons", 5, "esf_entry_date")},
    ),
    "X05_contact_late": ({("contacts", 1): {"contact_date": "10.01.2020"}}, {("X05", "contacts", 3, "contact_date")}),
    "X06_members_mismatch": ({("households", 0): {"n_members": "4"}}, {("X06", "households", 2, "n_members")}),
    "X07_duplicate_person": (
        {("persons", 2): {"name_hash": "n1", "birth_date": "03.02.1980"}},
        {("X07", "persons", 2, "person_id"), ("X07", "persons", 4, "person_id")},
    ),
    "X08_ended_no_esf_exit": (
        {("households", 1): {"status": "beendet regulär", "exit_date": "30.11.2019"}},
        {("X08", "persons", 5, "esf_exit_date")},
    ),
}


def build(tmp_path, mutations=None, engine="gx", name="v.duckdb"):
    tables = copy.deepcopy(clean_tables())
    for (table, idx), values in (mutations or {}).items():
        tables[table][idx].update(values)
    con = open_db(tmp_path / name)
    shas = load_all(con, tables)
    results = {t: validate_file(con, t, sha, "run-1", cycles=CYCLES, engine=engine) for t, sha in shas.items()}
    cross = validate_cross_table(con, "run-1")
    return con, shas, results, cross


def found(con):
    return set(con.execute("SELECT rule_id, table_name, source_row, column_name FROM problems").fetchall())


def test_clean_fixture_has_no_problem(tmp_path):
    con, _, results, cross = build(tmp_path)
    assert found(con) == set()
    assert all(r.quarantined == 0 and r.problems == {} for r in results.values())
    assert cross.problems == {}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_fixture_breaks_exactly_that_rule(tmp_path, case):
    mutations, expected = CASES[case]
    # SQL engine here for speed; test_gx_and_sql_engines_report_the_same runs every row fixture through GX.
    con, shas, _, _ = build(tmp_path, mutations, engine="sql")
    assert found(con) == expected
    error_rows = {(t, r) for rid, t, r, _ in expected if rules()[rid].severity == "row_error"}
    catalogue = rules()
    for rule_id, table, row, column in expected:
        sev, message, value = con.execute(
            "SELECT severity, message, value FROM problems WHERE rule_id = ? AND table_name = ? AND source_row = ? "
            "AND column_name = ?",
            [rule_id, table, row, column],
        ).fetchone()
        assert sev == catalogue[rule_id].severity
        assert message and "{" not in message
        quarantined = con.execute(
            f"SELECT quarantined FROM core_{table} WHERE file_sha256 = ? AND source_row = ?", [shas[table], row]
        ).fetchone()[0]
        assert quarantined == ((table, row) in error_rows)
    # row conservation: rows_read = rows_loaded + rows_quarantined, quarantined = flagged rows
    for table, sha in shas.items():
        read, loaded, q = con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined FROM ingest_files WHERE file_sha256 = ?", [sha]
        ).fetchone()
        flagged = con.execute(
            f"SELECT count(*) FILTER (WHERE quarantined) FROM core_{table} WHERE file_sha256 = ?", [sha]
        ).fetchone()[0]
        assert read == loaded + q and q == flagged


def test_every_row_and_cross_rule_has_a_fixture():
    covered = {rid for _, exp in CASES.values() for rid, *_ in exp}
    defined = {r for r in rules() if r[0] in "RPX"}
    # R00 comes from the reader, not from a value: test_hostile_inputs.py writes rows with wrong field counts
    assert defined - {"R00"} == covered


def test_gx_and_sql_engines_report_the_same(tmp_path):
    """All row-rule fixtures at once (non-overlapping cells): both engines find the same problems and messages."""
    merged: dict = {}
    for case, (mutations, _) in sorted(CASES.items()):
        if not case.startswith(("R", "P")):
            continue
        for key, values in mutations.items():
            if key in merged and set(values) & set(merged[key]):
                continue
            merged.setdefault(key, {}).update(values)
    out, stored = {}, {}
    for engine in ("gx", "sql"):
        con, _, results, _ = build(tmp_path, merged, engine=engine, name=f"{engine}.duckdb")
        assert {r.engine for r in results.values()} == {engine}
        out[engine] = sorted(
            con.execute(
                "SELECT rule_id, severity, table_name, source_row, column_name, value, message FROM problems"
            ).fetchall()
        )
        stored[engine] = _stored(con)
    assert len(out["gx"]) > 15
    assert out["gx"] == out["sql"]

    # the stored results (what Data Docs show) agree too: same suite, and per expectation success and counts
    def no_ids(d):
        return {k: v for k, v in d.items() if k != "id"}

    assert set(stored["gx"]) == set(stored["sql"]) == {"households", "persons", "contacts", "helps", "followups"}
    n_failed = 0
    for table, (gx_suite, gx_result) in stored["gx"].items():
        sql_suite, sql_result = stored["sql"][table]
        assert [no_ids(e) for e in sql_suite["expectations"]] == [no_ids(e) for e in gx_suite["expectations"]]
        assert sql_result["meta"]["engine"] == "sql"
        for key in ("success", "statistics", "suite_name"):
            assert sql_result[key] == gx_result[key], (table, key)
        gx_by_check = {r["expectation_config"]["meta"]["check"]: r for r in gx_result["results"]}
        sql_by_check = {r["expectation_config"]["meta"]["check"]: r for r in sql_result["results"]}
        assert set(sql_by_check) == set(gx_by_check)
        for check, g in gx_by_check.items():
            q = sql_by_check[check]
            assert (q["success"], q["result"]) == (g["success"], g["result"]), (table, check)
            assert no_ids(q["expectation_config"]) == no_ids(g["expectation_config"]), (table, check)
            n_failed += not g["success"]
    assert n_failed > 15  # the comparison covers failed expectations with their counts, not only passes


def test_problem_helper_for_file_rules():
    p = problem(
        "F04",
        table_name="households",
        file_name="haushalte_20190301.csv",
        file_sha256="abc",
        column_name="household_id",
        header="BG-ID",
        run_id="r",
    )
    assert p["severity"] == "file_error" and p["rule_id"] == "F04"
    assert "BG-ID" in p["message"] and "haushalte_20190301.csv" in p["message"]
    for rid in ("F01", "F02", "F03", "F05", "F06", "F07", "F08", "W01", "W02"):
        assert rules()[rid].severity == ("warning" if rid.startswith("W") else "file_error")


def test_workbook_and_data_docs_are_safe(tmp_path):
    mutations = {
        ("households", 1): {"jobcenter_site": '=HYPERLINK("x")'},
        ("persons", 2): {"birth_date": "05.05.2021"},
        ("persons", 3): {"birth_date": "01.07.2010"},  # too young at ESF entry: a derived column
        ("persons", 0): {"disability": "vielleicht"},
        ("contacts", 0): {"contact_date": "31.02.2019"},
    }
    con, _, _, _ = build(tmp_path, mutations)
    paths = write_validation_outputs(con, tmp_path / "out", run_id="run-1")
    xlsx = tmp_path / "out" / "validation_report.xlsx"
    assert xlsx in paths
    wb = load_workbook(xlsx)
    assert wb.sheetnames[:2] == ["Zusammenfassung", "Probleme"]
    assert "Zurückgestellt Personen" in wb.sheetnames
    ws = wb["Probleme"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.column_dimensions["J"].width >= 60 and ws["J2"].alignment.wrap_text  # long messages wrap
    for i, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):  # rows tall enough for them
        assert (ws.row_dimensions[i].height or 15) >= 15 * -(-len(row[9]) // 58), row[9]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Schweregrad", "Regel", "Regel (Titel)"]
    rows = {(r[1], r[7]): r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows[("R02", "jobcenter_site")][8] == '=HYPERLINK("x")'
    assert rows[("R08", "birth_date")][8] == "2021"  # year only
    assert rows[("R02", "disability")][8] is None  # no special-category value
    assert rows[("P03", "age_at_esf_entry")][6] == "Alter bei ESF-Eintritt (berechnet)"  # in no export
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                assert not any(x in str(cell.value) for x in ("05.05.2021", "01.07.2010", "vielleicht"))
    summary = {(r[0], r[1]): r[4] for r in wb["Zusammenfassung"].iter_rows(min_row=2, values_only=True)}
    assert summary[("Personen", "R08")] == 1 and summary[("Kontakte", "R03")] == 1
    quarantined = list(wb["Zurückgestellt Personen"].iter_rows(min_row=2, values_only=True))
    assert {r[2] for r in quarantined} == {"P-001", "P-003"}

    docs = tmp_path / "out" / "data_docs"
    assert (docs / "index.html").exists()
    pages = list(docs.rglob("*.html"))
    assert len(pages) >= 6
    # one validation result page per file in force (the site is built once, after all checkpoint runs)
    validated = {
        page.relative_to(docs / "validations").parts[0].rsplit("_", 1)[0]
        for page in (docs / "validations").rglob("*.html")
    }
    assert validated == {"households", "persons", "contacts", "helps", "followups"}
    referenced = set()
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "https://" not in html and "http://" not in html, page
        assert "vielleicht" not in html and "2021-05-05" not in html
        for tag in re.findall(r"<(?:link|script|img)\b[^>]*>", html, flags=re.I):
            for url in re.findall(r"\b(?:src|href)=[\"']([^\"']*)[\"']", tag, flags=re.I):
                assert not re.match(r"(?i)(https?:)?//", url), (page, url)
                if url and not url.startswith(("#", "data:")):
                    asset = (page.parent / url.split("?")[0]).resolve()
                    assert asset.is_file(), (page, url)
                    referenced.add(asset.relative_to(docs.resolve()).as_posix())
    # the CDN stylesheets/scripts are served from the vendored copies, styled offline
    vendor = "static/vendor/"
    for rel in (
        "bootstrap-4.3.1/css/bootstrap.min.css",
        "bootstrap-4.3.1/js/bootstrap.min.js",
        "jquery-3.7.1/jquery.min.js",
        "fontawesome-free-6.6.0/css/all.min.css",
        "bootstrap-table-1.19.1/bootstrap-table.min.js",
        "vega-5.33.1/vega.min.js",
    ):
        assert vendor + rel in referenced
    # a page in a subfolder reaches the same copy with its own depth
    deep = next((docs / "validations").rglob("*.html"))
    assert '"../../../../static/vendor/bootstrap-4.3.1/css/bootstrap.min.css"' in deep.read_text(encoding="utf-8")
    assert (docs / vendor / "bootstrap-4.3.1/css/bootstrap.min.css").stat().st_size > 100_000  # the real file
    # the webfonts Font Awesome loads (woff2 first in every @font-face) are there as well
    fa_css = (docs / vendor / "fontawesome-free-6.6.0/css/all.min.css").read_text(encoding="utf-8")
    woff2 = set(re.findall(r"url\((\.\./webfonts/[^)]+\.woff2)\)", fa_css))
    assert woff2 and all((docs / vendor / "fontawesome-free-6.6.0/css" / f).is_file() for f in woff2)


def _stored(con):
    return {
        t: (json.loads(suite), json.loads(result))
        for t, suite, result in con.execute("SELECT table_name, suite_json, result_json FROM gx_results").fetchall()
    }


def test_gx_results_are_stored_sanitized(tmp_path):
    mutations = {
        ("persons", 2): {"birth_date": "05.05.2021"},
        ("persons", 0): {"disability": "vielleicht"},
        ("contacts", 1): {"contact_id": "K-1"},
        ("households", 1): {"jobcenter_site": "Hamm"},
    }
    con, shas, _, _ = build(tmp_path, mutations)
    stored = _stored(con)
    assert set(stored) == set(shas)
    text = con.execute("SELECT string_agg(result_json, ' ') FROM gx_results").fetchone()[0]
    for forbidden in (
        '"unexpected_list"',
        '"unexpected_index_list"',
        '"partial_unexpected_counts"',
        '"partial_unexpected_index_list"',
        '"unexpected_index_query"',
        '"pandas_data_fingerprint"',
        "2021-05-05",
        "vielleicht",
        "Hamm",
        "K-1",
        "P-003",
    ):
        assert forbidden not in text, forbidden
    _, persons = stored["persons"]
    failed = {r["expectation_config"]["meta"]["rule_id"]: r for r in persons["results"] if not r["success"]}
    assert set(failed) == {"R02", "R08"}
    assert failed["R08"]["result"]["unexpected_count"] == 1 and failed["R08"]["result"]["partial_unexpected_list"] == []
    passed = [r for r in persons["results"] if r["success"]]
    assert passed and all(set(r["result"]) <= {"element_count", "unexpected_count"} for r in passed)
    assert persons["statistics"]["unsuccessful_expectations"] == 2
    # a re-validation in SQL (large file) replaces it with the SQL engine's result, as sanitized
    validate_file(con, "persons", shas["persons"], "run-2", cycles=CYCLES, engine="sql")
    _, persons = _stored(con)["persons"]
    assert persons["meta"]["engine"] == "sql"
    failed = {r["expectation_config"]["meta"]["rule_id"]: r for r in persons["results"] if not r["success"]}
    assert set(failed) == {"R02", "R08"} and failed["R08"]["result"]["unexpected_count"] == 1
    text = con.execute("SELECT result_json FROM gx_results WHERE table_name = 'persons'").fetchone()[0]
    assert "2021-05-05" not in text and "vielleicht" not in text and "P-003" not in text


def test_broken_expectation_raises_in_both_passes(tmp_path, monkeypatch):
    import dataclasses

    from pipeline.validation import checks as chk
    from pipeline.validation import gx_engine

    con, shas, _, _ = build(tmp_path)
    original = chk.checks_for

    def broken_first(table_name, cycles=None):
        out = original(table_name, cycles)
        return out + [dataclasses.replace(out[0], gx_kwargs={"column": "no_such_column"})]

    monkeypatch.setattr(chk, "checks_for", broken_first)
    with pytest.raises(gx_engine.ExpectationError):
        validate_file(con, "households", shas["households"], "run-2", cycles=CYCLES)
    monkeypatch.setattr(chk, "checks_for", original)

    # the second pass (COMPLETE, failed expectations only) raising is not read as "no failing rows" either
    run_suite = gx_engine.run_suite

    def second_pass_breaks(ctx, table_name, suite, frame, result_format=None):
        if result_format is gx_engine.COMPLETE:
            frame = frame.drop(columns=["raw__coach_id"])
        return run_suite(ctx, table_name, suite, frame, result_format)

    monkeypatch.setattr(gx_engine, "run_suite", second_pass_breaks)
    con2, shas2, _, _ = build(tmp_path, {("households", 0): {"coach_id": ""}}, engine="sql", name="b.duckdb")
    with pytest.raises(gx_engine.ExpectationError):
        validate_file(con2, "households", shas2["households"], "run-2", cycles=CYCLES)


def test_data_docs_are_built_from_stored_results_without_validating(tmp_path, monkeypatch):
    """Every file in force has its page, from its stored result, whichever engine validated it."""
    from pipeline.validation import gx_engine, outputs

    mutations = {("persons", 2): {"birth_date": "05.05.2021"}, ("contacts", 0): {"contact_date": "31.02.2019"}}
    con, shas, _, _ = build(tmp_path, mutations)
    # contacts and helps as a large file would be: checked by the SQL engine
    for table in ("contacts", "helps"):
        validate_file(con, table, shas[table], "run-1", cycles=CYCLES, engine="sql")

    def no_validation(*args, **kwargs):
        raise AssertionError("Data Docs validated again")

    monkeypatch.setattr(gx_engine, "run_suite", no_validation)
    monkeypatch.setattr(gx_engine, "validate_frame", no_validation)
    docs = outputs.write_data_docs(con, tmp_path / "docs")
    pages = {p.relative_to(docs / "validations").parts[0]: p for p in (docs / "validations").rglob("*.html")}
    assert set(pages) == {f"{t}_20191231" for t in shas}
    for table, word in (("persons", "2021-05-05"), ("contacts", "31.02.2019")):
        html = pages[f"{table}_20191231"].read_text(encoding="utf-8")
        assert "Unsuccessful Expectations" in html and "1 unexpected values found" in html, table
        assert word not in html and "05.05.2021" not in html
    text = {t: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", p.read_text(encoding="utf-8"))) for t, p in pages.items()}
    assert "Status: Failed" in text["contacts_20191231"] and "Unsuccessful Expectations 1 " in text["contacts_20191231"]
    assert "Status: Succeeded" in text["helps_20191231"] and "Evaluated Expectations 15 " in text["helps_20191231"]
    assert (docs / "expectations" / "persons_20191231.html").exists()
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert all(f"{t}_20191231" in index for t in shas)

    # a file without a stored result (a database from before every file had one) gets the SQL engine's, once
    con.execute("DELETE FROM gx_results WHERE table_name = 'contacts'")
    docs = outputs.write_data_docs(con, tmp_path / "docs")
    html = (next((docs / "validations" / "contacts_20191231").rglob("*.html"))).read_text(encoding="utf-8")
    assert "1 unexpected values found" in html and "31.02.2019" not in html
    assert con.execute("SELECT count(*) FROM gx_results WHERE table_name = 'contacts'").fetchone() == (0,)
