"""``project_report.xlsx``: K indicators, breakdowns, monthly series, definitions, data quality (project lead)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.reports import shared, timeseries, xlsx
from pipeline.reports.context import ReportContext, definitions, settings_notes
from pipeline.reports.figures import (
    DIMENSION_LABELS,
    UNIT_LABELS,
    breakdowns,
    k_table,
    public_key_figures,
)

FILE_NAME = "project_report.xlsx"

SEVERITY_LABELS = {"file_error": "Dateifehler", "row_error": "Zeilenfehler (Quarantäne)", "warning": "Warnung"}


def value_format(unit: str, public: bool) -> str:
    if unit == "share":
        return xlsx.FMT_SHARE_PUBLIC if public else xlsx.FMT_SHARE
    if unit == "count":
        return xlsx.FMT_COUNT
    return xlsx.FMT_DECIMAL


def indicator_sheet(ctx: ReportContext, rows, title: str, sheet: str) -> xlsx.SheetTable:
    cols = [xlsx.Column("Kennung", 10), xlsx.Column("Indikator", 48, wrap=True), xlsx.Column("Einheit", 12),
            xlsx.Column("Zähler", 11, xlsx.FMT_COUNT), xlsx.Column("Nenner", 11, xlsx.FMT_COUNT),
            xlsx.Column("Wert", 12)]
    data, fmts = [], []
    for r in rows:
        data.append([r.id, r.label, UNIT_LABELS.get(r.unit, r.unit), r.numerator, r.denominator, r.value])
        fmts.append({5: value_format(r.unit, ctx.public)})
    notes = ["Anteile: Zähler ÷ Nenner; ein Anteil mit Nenner 0 bleibt leer. Tage und Verhältnisse ohne Zähler/Nenner."]
    if ctx.public:
        notes.append(ctx.rules.footnote())
    return xlsx.SheetTable(sheet, title, cols, data, notes, fmts)


def write_project_workbook(ctx: ReportContext, con, out_dir: Path) -> Path:
    name = ctx.project.name
    wb = xlsx.new_workbook()
    xlsx.add_key_value_sheet(wb, "Deckblatt", f"Projektbericht – {name} – {ctx.period_label}", ctx.master_data(),
                             name, [ctx.rules.footnote()] if ctx.public else [])
    if ctx.public:
        rows = public_key_figures(ctx.lk, ctx.rules)
        xlsx.add_table_sheet(wb, indicator_sheet(ctx, rows, "Kennzahlen (öffentliche Fassung)", "Kennzahlen"), name)
        ids = [r.id for r in rows]
    else:
        rows = k_table(ctx.lk, ctx.rules)
        if not ctx.show_coach:
            rows = [r for r in rows if r.id != "K18"]
        xlsx.add_table_sheet(wb, indicator_sheet(ctx, rows, "Projektindikatoren", "Indikatoren"), name)
        xlsx.add_table_sheet(wb, breakdown_sheet(ctx), name)
        xlsx.add_table_sheet(wb, monthly_sheet(ctx, con), name)
        if ctx.show_coach:
            xlsx.add_table_sheet(wb, coach_sheet(ctx, con), name)
        ids = [r.id for r in rows]
    xlsx.add_table_sheet(wb, targets_sheet(ctx), name)
    xlsx.add_table_sheet(wb, cycles_sheet(ctx, con), name)
    xlsx.add_table_sheet(wb, xlsx.SheetTable(
        "Definitionen", "Definitionen der Indikatoren",
        [xlsx.Column("Kennung", 10), xlsx.Column("Indikator", 40, wrap=True), xlsx.Column("Einheit", 11),
         xlsx.Column("Definition", 110, wrap=True)],
        [list(d) for d in definitions(ids, ctx.config)], settings_notes(ctx.config)), name)
    if not ctx.public:
        for table in data_quality_sheets(ctx, con):
            xlsx.add_table_sheet(wb, table, name)
    return xlsx.atomic_save(wb, out_dir / FILE_NAME)


def targets_sheet(ctx: ReportContext) -> xlsx.SheetTable:
    """Targets of the grant against the results: shares as fractions (percent format), differences in points."""
    cols = [xlsx.Column("Kennung", 10), xlsx.Column("Indikator", 40, wrap=True), xlsx.Column("Richtung", 12),
            xlsx.Column("Ziel", 11), xlsx.Column("Ergebnis", 11),
            xlsx.Column("Abweichung (Anteile: Prozentpunkte)", 16, xlsx.FMT_DECIMAL),
            xlsx.Column("Bewertung", 20), xlsx.Column("Hinweis", 44, wrap=True)]
    data, fmts = [], []
    for t in shared.target_rows(ctx):
        diff = t.difference * 100 if t.unit == "share" and isinstance(t.difference, float) else t.difference
        data.append([t.id, t.label, t.target_label.split(" ")[0], t.target, t.result, diff,
                     t.status, t.note or ("Begründung im Sachbericht erforderlich" if t.missed else None)])
        f = value_format(t.unit, ctx.public)
        fmts.append({3: value_format(t.unit, False), 4: f})
    notes = ["Zielwerte aus der Bewilligung (config.toml, [[cycles]] targets). Ein Anteil mit Nenner 0 ist noch "
             "nicht bewertbar."]
    if ctx.period.kind != "cycle":
        notes.append("Zeitraumbericht: die Zielwerte gelten je Projektjahr; die Werte des Zeitraums sind ein "
                     "Zwischenstand.")
    if not data:
        notes.insert(0, "Für diesen Berichtszeitraum sind keine Zielwerte hinterlegt.")
    if ctx.public:
        notes.append(ctx.rules.footnote())
    return xlsx.SheetTable("Ziele", "Ziele und Ergebnisse", cols, data, notes, fmts)


def cycles_sheet(ctx: ReportContext, con) -> xlsx.SheetTable:
    """Every cycle of the database, one row each; provisional cycles marked in the status column."""
    comp = shared.cycle_comparison(ctx, con)
    cols = [xlsx.Column("Projektjahr", 11), xlsx.Column("Förderperiode", 26), xlsx.Column("Status", 30)]
    cols += [xlsx.Column(f"{c.key} {c.label} ({UNIT_LABELS[c.unit]})" if c.key.startswith("K") else
                         f"{c.label} ({UNIT_LABELS[c.unit]})", 16, value_format(c.unit, ctx.public), wrap=True)
             for c in comp.columns]
    data = [[r.cycle_id, r.funding_label, r.status_label + ("" if r.final else " (vorläufig)")]
            + [r.cells[c.key].value for c in comp.columns] for r in comp.rows]
    notes = [f"Kohorte je Projektjahr mit allen Ereignissen bis zum Datenstand "
             f"{comp.data_state:%d.%m.%Y}." if comp.data_state else "Keine Daten.",
             "Vorläufig: Projektjahr läuft noch, Bedarfsgemeinschaften oder Teilnehmende sind noch nicht ausgetreten, "
             "oder die Nachbefragung sechs Monate nach dem letzten Austritt ist noch nicht fällig. Vorläufige Werte "
             "nicht wie abgeschlossene vergleichen."]
    if ctx.public:
        notes.append(ctx.rules.footnote())
    return xlsx.SheetTable("Projektjahre", "Projektjahre im Vergleich", cols, data, notes)


def breakdown_sheet(ctx: ReportContext) -> xlsx.SheetTable:
    cols = [xlsx.Column("Kennung", 10), xlsx.Column("Indikator", 40), xlsx.Column("Merkmal", 20),
            xlsx.Column("Kategorie", 44), xlsx.Column("Zähler", 11, xlsx.FMT_COUNT),
            xlsx.Column("Nenner", 11, xlsx.FMT_COUNT), xlsx.Column("Wert", 12)]
    data, fmts = [], []
    for b in breakdowns(ctx.lk, ctx.rules):
        for cat, n, d, v in b.rows:
            data.append([b.id, b.label, DIMENSION_LABELS.get(b.dimension, b.dimension), cat, n, d, v])
            fmts.append({6: value_format(b.unit, ctx.public)})
    return xlsx.SheetTable("Aufschlüsselungen", "Aufschlüsselungen (Standort, BG-Typ, Hilfebereich, Austrittsgrund, "
                           "Monat)", cols, data, ["Jede Kategorie der Liste erscheint, auch ohne Fälle (0)."], fmts)


def monthly_sheet(ctx: ReportContext, con) -> xlsx.SheetTable:
    df = timeseries.monthly(con, ctx.config, ctx.period, ctx.result.data_state)
    cols = [xlsx.Column(h, 14 if k != "month" else 10, None if k == "month" else xlsx.FMT_COUNT)
            for k, h in timeseries.MONTHLY_COLUMNS.items()]
    data = [[r[k] for k in timeseries.MONTHLY_COLUMNS] for r in df.to_dict("records")]
    return xlsx.SheetTable("Zeitreihe", "Monatliche Zeitreihe", cols, data, [
        "Aktive BG: Betreuungszeitraum berührt den Monat. Hilfen: gezählte Hilfen nach Einleitungsdatum. "
        "Kontakte: stattgefundene Kontakte der BG des Berichts."])


def coach_sheet(ctx: ReportContext, con) -> xlsx.SheetTable:
    df = timeseries.by_coach(con, ctx.config, ctx.period, ctx.result.data_state)
    cols = [xlsx.Column("Coach (Kürzel)", 14), xlsx.Column("BG", 10, xlsx.FMT_COUNT),
            xlsx.Column("davon aktiv", 12, xlsx.FMT_COUNT), xlsx.Column("Kontakte", 12, xlsx.FMT_COUNT),
            xlsx.Column("Hilfen (gezählte Status)", 14, xlsx.FMT_COUNT)]
    data = [[r["coach"], r["households"], r["active_households"], r["contacts"], r["helps"]]
            for r in df.to_dict("records")]
    return xlsx.SheetTable("Coaches", "Aufschlüsselung nach Coach (nur intern)", cols, data,
                           ["Nur für die interne Steuerung; nicht an Fördergeber oder Öffentlichkeit weitergeben."])


def _none(v):
    return None if v is None or (isinstance(v, float) and v != v) or v is pd.NaT else v


def data_quality_sheets(ctx: ReportContext, con) -> list[xlsx.SheetTable]:
    files = timeseries.ingest_summary(con)
    file_rows = [[r["file_name"], r["table_name"], _none(r["snapshot_date"]), _none(r["rows_read"]),
                  _none(r["rows_loaded"]), _none(r["rows_quarantined"]),
                  "geladen" if r["status"] == "loaded" else "abgewiesen", _none(r["message"])]
                 for r in files.to_dict("records")]
    files_table = xlsx.SheetTable(
        "Datenqualität", "Datenqualität: eingelesene Dateien",
        [xlsx.Column("Datei", 30), xlsx.Column("Tabelle", 12), xlsx.Column("Stichtag", 12),
         xlsx.Column("Zeilen gelesen", 10, xlsx.FMT_COUNT), xlsx.Column("geladen", 10, xlsx.FMT_COUNT),
         xlsx.Column("in Quarantäne", 12, xlsx.FMT_COUNT), xlsx.Column("Status", 12),
         xlsx.Column("Meldung", 60, wrap=True)],
        file_rows, stale_notes(ctx))
    probs = timeseries.problems_by_rule(con)
    prob_rows = [[SEVERITY_LABELS.get(r["severity"], r["severity"]), r["rule_id"], r["table_name"], r["n"],
                  _none(r["message"])] for r in probs.to_dict("records")]
    probs_table = xlsx.SheetTable(
        "Prüfregeln", "Datenqualität: Befunde nach Prüfregel",
        [xlsx.Column("Schwere", 22), xlsx.Column("Regel", 8), xlsx.Column("Tabelle", 12),
         xlsx.Column("Anzahl", 10, xlsx.FMT_COUNT), xlsx.Column("Prüfregel", 80, wrap=True)],
        prob_rows, ["Einzelbefunde mit Datei und Zeile: validation_report.xlsx (intern)."])
    return [files_table, probs_table]


def stale_notes(ctx: ReportContext) -> list[str]:
    stale = timeseries.stale_tables(ctx.result.snapshots or {}, ctx.result.data_state)
    if not stale:
        return ["Alle Tabellen liegen mit dem Stand des Datenstands vor."]
    from pipeline import model

    labels = {n: t.label for n, t in model.tables().items()}
    out = []
    for name, snap, days in stale:
        if snap is None:
            out.append(f"Veraltet/fehlend: {labels.get(name, name)} – keine geladene Lieferung.")
        else:
            out.append(f"Veraltet: {labels.get(name, name)} – Stand {snap:%d.%m.%Y}, {days} Tage vor dem Datenstand.")
    return out
