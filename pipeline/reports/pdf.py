"""``project_report.pdf``: Sachbericht-style report (Jinja2 + WeasyPrint, PDF/A-3b, charts as inline SVG)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2
from markupsafe import Markup

from pipeline.reports import charts, timeseries
from pipeline.reports.context import ReportContext, de_date, definitions, settings_notes
from pipeline.reports.disclosure import Suppressed
from pipeline.reports.figures import (
    DIMENSION_LABELS,
    FUNDING_PERIOD_LABELS,
    GENDER_LABELS,
    UNIT_LABELS,
    breakdowns,
    esf_tables,
    k_table,
    public_key_figures,
)
from pipeline.reports.project_workbook import SEVERITY_LABELS, stale_notes
from pipeline.reports.xlsx import atomic_write_bytes

FILE_NAME = "project_report.pdf"
TEMPLATES = Path(__file__).parent / "templates"
HEADLINE_IDS = ("K01", "K02", "K03", "K05", "K06", "K09", "K10", "K17")


def fmt_number(v, unit: str = "count", public: bool = False, empty: str = "–") -> str:
    """German number formatting: 1.234 / 85,7 % / 12,3; suppressed cells show their symbol, empty shows '–'."""
    if isinstance(v, Suppressed):
        return str(v)
    if v is None or (isinstance(v, float) and v != v):
        return empty
    if isinstance(v, (dt.date, dt.datetime)):
        return de_date(v)
    if unit == "share":
        s = f"{v * 100:,.0f} %" if public else f"{v * 100:,.1f} %"
    elif unit == "count" and float(v).is_integer():
        s = f"{v:,.0f}"
    else:
        s = f"{v:,.1f}"
    return s.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def css_string(text: str) -> str:
    """Text for a CSS string literal (page headers): quotes and backslashes escaped, no line breaks."""
    text = " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"')
    # raw text inside <style>: no HTML escaping, but never a tag
    return Markup(text.replace("<", "\\3c ").replace(">", "\\3e "))


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_number
    env.filters["de_date"] = de_date
    env.filters["css_string"] = css_string
    return env


def _destinations(ctx: ReportContext, con) -> list[tuple[str, int]]:
    from pipeline import model

    labels = model.label_lists()["destination"].labels
    df = timeseries.destinations(con, ctx.config, ctx.period, ctx.result.data_state)
    counts = dict(zip(df["destination"], df["n"], strict=True))
    return [(label, int(counts.get(code, 0))) for code, label in labels.items()]


def report_context(ctx: ReportContext, con) -> dict:
    lk, rules, public = ctx.lk, ctx.rules, ctx.public
    tables = esf_tables(lk, ctx.funding_periods, rules)  # two for a range across the change-over
    esf = tables[-1]
    esf_ids = [r.id for t in tables for r in t.rows]
    data: dict = {
        "ctx": ctx,
        "public": public,
        "title": f"Sachbericht {ctx.project.name} – {ctx.period_label}",
        "master": [(k, fmt_number(v) if isinstance(v, (dt.date, int, float)) and not isinstance(v, bool) else v)
                   for k, v in ctx.master_data() if k not in ("Hinweis", "Periodenlogik")],
        "footnote": rules.footnote(),
        "esf": esf,
        "esf_genders": [(g, GENDER_LABELS[g]) for g in esf.gender_columns],
        "esf_sets": [{"label": FUNDING_PERIOD_LABELS.get(t.funding_period, t.funding_period), "table": t,
                      "genders": [(g, GENDER_LABELS[g]) for g in t.gender_columns], "chart": None} for t in tables],
        "units": UNIT_LABELS,
        "dims": DIMENSION_LABELS,
        "settings": settings_notes(ctx.config),
        "charts": {},
        "coach": None,
        "monthly": None,
        "quality": None,
    }
    if public:
        key = public_key_figures(lk, rules)
        data["key_figures"] = key
        data["headline"] = [r for r in key if r.id in HEADLINE_IDS]
        data["indicators"] = []
        data["breakdowns"] = []
        data["definitions"] = definitions([r.id for r in key] + esf_ids, ctx.config)
        return data
    rows = [r for r in k_table(lk, rules) if ctx.show_coach or r.id != "K18"]
    data["indicators"] = rows
    data["headline"] = [r for r in rows if r.id in HEADLINE_IDS]
    bds = breakdowns(lk, rules, dims=("jobcenter_site", "household_type", "help_group", "exit_reason", "statistic"))
    data["breakdowns"] = bds
    data["definitions"] = definitions([r.id for r in rows] + esf_ids, ctx.config)

    monthly = timeseries.monthly(con, ctx.config, ctx.period, ctx.result.data_state)
    data["monthly"] = monthly.to_dict("records")
    if len(monthly):
        data["charts"]["households"] = charts.households_over_time(
            list(monthly["month"]), list(monthly["active"]), list(monthly["entries"]), list(monthly["exits"]))
    helps = next((b for b in bds if b.id == "K06" and b.dimension == "help_group"), None)
    if helps:
        data["charts"]["help_groups"] = charts.horizontal_bars([r[0] for r in helps.rows], [r[3] for r in helps.rows],
                                                               "Eingeleitete Hilfen", name="helps")
    dest = _destinations(ctx, con)
    data["destinations"] = dest
    shown = [(d, n) for d, n in dest if n]
    if shown:
        data["charts"]["destinations"] = charts.horizontal_bars([d for d, _ in shown], [n for _, n in shown],
                                                                "Teilnehmende (Verbleib bei Austritt)",
                                                                name="destinations")
    for esf_set in data["esf_sets"]:
        t = esf_set["table"]
        count_rows = [r for r in t.rows if r.unit == "count" and r.id != "K02"]
        if count_rows:
            esf_set["chart"] = charts.grouped_by_gender(
                [r.id for r in count_rows],
                {GENDER_LABELS[g]: [r.cells[g] for r in count_rows] for g in t.gender_columns},
                name="gender" if len(tables) == 1 else f"gender-{t.funding_period}")
    data["charts"]["esf_gender"] = data["esf_sets"][-1]["chart"]
    if ctx.show_coach:
        data["coach"] = timeseries.by_coach(con, ctx.config, ctx.period, ctx.result.data_state).to_dict("records")
    files = timeseries.ingest_summary(con)
    probs = timeseries.problems_by_rule(con)
    data["quality"] = {
        "files": len(files),
        "failed": int((files["status"] != "loaded").sum()) if len(files) else 0,
        "rows_read": int(files["rows_read"].fillna(0).sum()) if len(files) else 0,
        "rows_loaded": int(files["rows_loaded"].fillna(0).sum()) if len(files) else 0,
        "rows_quarantined": int(files["rows_quarantined"].fillna(0).sum()) if len(files) else 0,
        "by_severity": [(SEVERITY_LABELS.get(s, s), int(n)) for s, n in
                        probs.groupby("severity", sort=False)["n"].sum().items()] if len(probs) else [],
        "stale": stale_notes(ctx),
    }
    return data


def render_html(ctx: ReportContext, con) -> str:
    return _env().get_template("project_report.html.j2").render(**report_context(ctx, con))


def write_pdf(ctx: ReportContext, con, out_dir: Path) -> Path:
    import weasyprint

    html = render_html(ctx, con)
    doc = weasyprint.HTML(string=html, base_url=str(TEMPLATES))
    pdf = doc.write_pdf(pdf_variant="pdf/a-3b",
                        stylesheets=[weasyprint.CSS(filename=str(TEMPLATES / "report.css"))])
    return atomic_write_bytes(pdf, out_dir / FILE_NAME)
