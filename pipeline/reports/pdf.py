"""``project_report.pdf``: Sachbericht-style report (Jinja2 + WeasyPrint, tagged PDF/A-3a, charts as inline SVG)."""

from __future__ import annotations

import base64
import datetime as dt
import functools
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from pipeline.reports import shared, timeseries
from pipeline.reports.comparison import STATUS_LABELS
from pipeline.reports.context import ReportContext, de_date, definitions, settings_notes
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
from pipeline.reports.german import fmt_number
from pipeline.reports.project_workbook import SEVERITY_LABELS, stale_notes
from pipeline.reports.xlsx import atomic_write_bytes

FILE_NAME = "project_report.pdf"
TEMPLATES = Path(__file__).parent / "templates"
HEADLINE_IDS = ("K01", "K02", "K03", "K05", "K06", "K09", "K10", "K17")


def css_string(text: str) -> str:
    """Text for a CSS string literal (page headers): quotes and backslashes escaped, no line breaks."""
    text = " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"')
    # raw text inside <style>: no HTML escaping, but never a tag
    return Markup(text.replace("<", "\\3c ").replace(">", "\\3e "))


@functools.cache
def _env() -> jinja2.Environment:
    """One environment per process: it keeps the compiled template (a warm worker compiles it once)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_number
    env.filters["de_date"] = de_date
    env.filters["css_string"] = css_string
    return env


CHART_URL = "esf-chart:"  # a chart of the set by its key, served by ChartFetcher


def _placeholder(key: str, chart) -> Markup:
    """An SVG of the chart's size whose only content is the chart itself, fetched by key when WeasyPrint draws
    it (:class:`ChartFetcher`): the layout needs only the size, so the PDF can be laid out while another process
    still draws the chart."""
    w, h = (round(v * 72, 3) for v in chart.size)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" '
           f'height="{h}" viewBox="0 0 {w} {h}"><image x="0" y="0" width="{w}" height="{h}" '
           f'xlink:href="{CHART_URL}{escape(key)}"/></svg>')
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return Markup(f'<img src="data:image/svg+xml;base64,{data}" alt="{escape(chart.alt)}">')


def add_charts(ctx: ReportContext, con, data: dict) -> dict:
    """The charts into :func:`report_data`'s dict, as placeholders whose chart :func:`chart_fetcher` serves while
    the PDF is drawn (none is drawn here)."""
    images = {k: _placeholder(k, c) for k, c in shared.report_charts(ctx, con).items()}
    for s in data["esf_sets"]:
        s["chart"] = images.get(shared.esf_chart_key(ctx, s["table"]))
    data["charts"] = images
    return data


def chart_fetcher(svg_of):
    """WeasyPrint's URL fetcher, serving ``esf-chart:<key>`` with ``svg_of(key)`` (which must not fail: a chart
    it cannot serve would be left out of the PDF with a mere warning)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ChartFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith(CHART_URL):
                body = svg_of(url.removeprefix(CHART_URL)).encode("utf-8")
                return URLFetcherResponse(url, body, {"Content-Type": "image/svg+xml"})
            return super().fetch(url, headers)

    return ChartFetcher()


def report_data(ctx: ReportContext, con) -> dict:
    """What the template shows except the charts."""
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
                      "genders": [(g, GENDER_LABELS[g]) for g in t.gender_columns], "chart": None}
                     for t in tables],
        "units": UNIT_LABELS,
        "dims": DIMENSION_LABELS,
        "settings": settings_notes(ctx.config),
        "charts": {},
        "targets": shared.target_rows(ctx),
        "range_targets": ctx.period.kind != "cycle",
        "comparison": shared.cycle_comparison(ctx, con),
        "status_labels": STATUS_LABELS,
        "coach": None,
        "monthly": None,
        "quality": None,
        "press": shared.public_text(ctx, con) if public else None,
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
    data["monthly"] = shared.monthly(ctx, con).to_dict("records")
    data["destinations"] = shared.destinations(ctx, con)
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


@functools.cache
def _weasy() -> tuple:
    """WeasyPrint's font configuration and the parsed stylesheet, made once per process and reused (fonts
    found and loaded once); the charts' SVG text is set as whole strings (:mod:`svg_text`)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    from pipeline.reports import svg_text

    svg_text.install()

    fonts = FontConfiguration()
    return fonts, weasyprint.CSS(filename=str(TEMPLATES / "report.css"), font_config=fonts)


def html_to_pdf(html: str, url_fetcher=None) -> bytes:
    import weasyprint

    fonts, css = _weasy()
    doc = weasyprint.HTML(string=html, base_url=str(TEMPLATES), url_fetcher=url_fetcher)
    # PDF/A-3a: PDF/A-3 at the accessible conformance level, i.e. tagged (headings, tables with header cells,
    # figures with Alt text from the charts' alt attribute); the language comes from <html lang="de">
    return doc.write_pdf(pdf_variant="pdf/a-3a", stylesheets=[css], font_config=fonts)


def write_pdf(ctx: ReportContext, con, out_dir: Path, svg_of) -> Path:
    """``svg_of``: a chart's SVG by key, asked for only when WeasyPrint draws the chart (:func:`chart_fetcher`)."""
    html = _env().get_template("project_report.html.j2").render(**add_charts(ctx, con, report_data(ctx, con)))
    return atomic_write_bytes(html_to_pdf(html, chart_fetcher(svg_of)), out_dir / FILE_NAME)
