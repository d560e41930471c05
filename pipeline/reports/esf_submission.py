"""``esf_submission.xlsx``: the ESF indicator table of the funding period by gender, for the Ministry / ESF."""

from __future__ import annotations

from pathlib import Path

from pipeline.reports import xlsx
from pipeline.reports.context import ReportContext, definitions, settings_notes
from pipeline.reports.figures import FUNDING_PERIOD_LABELS, GENDER_LABELS, esf_table, esf_tables

FILE_NAME = "esf_submission.xlsx"
# a range across the change-over has one ESF sheet per funding period
SHEET_NAMES = {"esf_2014_2020": "ESF-Indikatoren 2014-2020", "esfplus_2021_2027": "ESF+-Indikatoren 2021-2027"}


def esf_columns(ctx: ReportContext, genders: list[str]) -> list[xlsx.Column]:
    share_fmt = xlsx.FMT_SHARE_PUBLIC if ctx.public else xlsx.FMT_SHARE
    return [
        xlsx.Column("Kennung", 10),
        xlsx.Column("Indikator", 52, wrap=True),
        xlsx.Column("Insgesamt (Anzahl)", 12, xlsx.FMT_COUNT),
        *[xlsx.Column(f"{GENDER_LABELS[g]} (Anzahl)", 12, xlsx.FMT_COUNT) for g in genders],
        xlsx.Column("keine Angabe (Anzahl)", 13, xlsx.FMT_COUNT),
        xlsx.Column("Nenner (Anzahl)", 12, xlsx.FMT_COUNT),
        xlsx.Column("Anteil (%)", 11, share_fmt),
    ]


def write_esf_submission(ctx: ReportContext, out_dir: Path) -> Path:
    name = ctx.project.name
    wb = xlsx.new_workbook()
    notes = [ctx.rules.footnote()] if ctx.public else []
    xlsx.add_key_value_sheet(wb, "Deckblatt", f"ESF-Indikatoren – {name} – {ctx.period_label}",
                             ctx.master_data(), name, notes)

    tables = esf_tables(ctx.lk, ctx.funding_periods, ctx.rules)
    both = len(tables) > 1
    for table in tables:
        label = FUNDING_PERIOD_LABELS.get(table.funding_period, table.funding_period)
        cols = esf_columns(ctx, table.gender_columns)
        rows = []
        for r in table.rows:
            c = r.cells
            rows.append([r.id, r.label, c["total"], *[c[g] for g in table.gender_columns], c["keine_angabe"],
                         c.get("denominator"), c.get("share")])
        esf_notes = [
            "Gezählt werden vollständige Datensätze (Geschlecht, Geburtsdatum, Erwerbsstatus, ISCED-Stufe bekannt); "
            "unvollständige Datensätze zählen nur in K02.",
            "Ergebnisindikatoren: Verbleib bei Austritt (bis 28 Tage nach dem ESF-Austritt).",
            "keine Angabe: vollständige Teilnehmende, die die Frage nicht beantwortet haben (zählen in keinem "
            "Zähler).",
        ]
        if both:
            esf_notes.append(f"Der Zeitraum umfasst beide Förderperioden: gezählt werden hier nur die Teilnehmenden "
                             f"der Projektjahre der {label}.")
        if table.funding_period == "esf_2014_2020":
            esf_notes.append("ESF 2014–2020: Personen mit Geschlecht divers sind in »Insgesamt« enthalten.")
            if both:
                esf_notes.append("K02 (Teilnehmende insgesamt) zählt beide Förderperioden: siehe Blatt Teilnehmende.")
        if ctx.public:
            esf_notes.append(ctx.rules.footnote())
        sheet = SHEET_NAMES[table.funding_period] if both else "ESF-Indikatoren"
        xlsx.add_table_sheet(wb, xlsx.SheetTable(sheet, f"ESF-Indikatoren nach Geschlecht – {label}", cols, rows,
                                                 esf_notes), name)

    xlsx.add_table_sheet(wb, participants_table(ctx), name)

    ids = [r.id for t in tables for r in t.rows] + ["K02", "K20"]
    defs = definitions(ids, ctx.config)
    xlsx.add_table_sheet(wb, xlsx.SheetTable(
        "Definitionen", "Definitionen der Indikatoren",
        [xlsx.Column("Kennung", 10), xlsx.Column("Indikator", 40, wrap=True), xlsx.Column("Einheit", 11),
         xlsx.Column("Definition", 110, wrap=True)],
        [list(d) for d in defs], settings_notes(ctx.config)), name)
    return xlsx.atomic_save(wb, out_dir / FILE_NAME)


def participants_table(ctx: ReportContext) -> xlsx.SheetTable:
    """Participant totals: entries by gender, complete and incomplete records, ESF+ EECO01."""
    lk, rules = ctx.lk, ctx.rules
    k02 = lk.count("K02")
    k20 = lk.row("K20")
    complete = k20[0] if k20 else None
    incomplete = (k20[1] - k20[0]) if k20 and k20[0] is not None and k20[1] is not None else None
    table = esf_table(lk, ctx.funding_period, rules)
    k02_cells = next((r.cells for r in table.rows if r.id == "K02"), None)
    if k02_cells is None:  # ESF+: K02 is not in the ESF table; suppress its gender row on its own
        from pipeline.reports.disclosure import suppress_groups

        exact = {g: lk.count("K02", "gender", g) for g in ("women", "men", "non_binary", "not_stated")}
        exact["total"] = k02
        hidden = suppress_groups(exact, [("total", ["women", "men", "non_binary", "not_stated"])], rules)
        k02_cells = {k: rules.hidden if k in hidden else v for k, v in exact.items()}
        k02_cells["keine_angabe"] = k02_cells["not_stated"]
    rows = [
        ["K02", "ESF-Teilnehmende (Eintritte) insgesamt", k02_cells["total"]],
        ["K02", "davon Frauen", k02_cells.get("women")],
        ["K02", "davon Männer", k02_cells.get("men")],
    ]
    if "non_binary" in k02_cells:  # ESF+ only; 2014-20 counts divers in the total
        rows.append(["K02", "davon divers", k02_cells["non_binary"]])
    rows.append(["K02", "davon Geschlecht keine Angabe", k02_cells.get("keine_angabe")])
    k20_hidden = rules.is_small(complete) or rules.is_small(incomplete)
    rows += [
        ["K20", "davon vollständige Datensätze", rules.hidden if k20_hidden else complete],
        ["K20", "davon unvollständige Datensätze", rules.hidden if k20_hidden else incomplete],
        ["K20", "Anteil vollständiger Datensätze", rules.share(*(k20 or (None, None, None)))],
    ]
    formats = [{} for _ in rows]
    formats[-1] = {2: xlsx.FMT_SHARE_PUBLIC if ctx.public else xlsx.FMT_SHARE}
    if lk.has("EECO01"):
        eeco01 = next((r.cells["total"] for r in table.rows if r.id == "EECO01"), lk.count("EECO01"))
        rows.append(["EECO01", "Teilnehmende mit vollständigem Datensatz (EECO01)", eeco01])
        formats.append({})
    notes = ["Vollständig: Geschlecht ≠ keine Angabe, Geburtsdatum, Erwerbsstatus bei Eintritt und ISCED-Stufe "
             "bekannt."]
    if len(ctx.funding_periods) > 1:
        notes.append("Der Zeitraum umfasst beide Förderperioden: K02 und K20 zählen die Teilnehmenden beider "
                     "Förderperioden, EECO01 nur die der ESF+-Projektjahre.")
    if ctx.public:
        notes.append(rules.footnote())
    return xlsx.SheetTable("Teilnehmende", "ESF-Teilnehmende und Vollständigkeit der Datensätze",
                           [xlsx.Column("Kennung", 10), xlsx.Column("Merkmal", 48), xlsx.Column("Wert", 14,
                                                                                                xlsx.FMT_COUNT)],
                           rows, notes, formats)
