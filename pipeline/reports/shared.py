"""What several writers of one report set show, computed once per set and kept on the context.

The PDF, the project workbook and the Word draft of one audience share the monthly series, the destinations, the
targets, the cycle comparison, the drafted texts and the charts (drawn once; SVG for the PDF, PNG for Word).
"""

from __future__ import annotations

import functools
import math

from pipeline.reports import charts, comparison, narrative, press, targets, timeseries
from pipeline.reports.context import ReportContext
from pipeline.reports.disclosure import Rules, Suppressed
from pipeline.reports.figures import FUNDING_PERIOD_LABELS, GENDER_LABELS, breakdowns, esf_tables
from pipeline.reports.german import fmt_number, join


def _memo(ctx: ReportContext, key: str, make):
    if key not in ctx.cache:
        ctx.cache[key] = make()
    return ctx.cache[key]


# figures another process of the same set may take over instead of computing them again (plain data, pickled)
SEEDED = ("comparison_exact",)


def seed(ctx: ReportContext, con) -> dict:
    """The figures of :data:`SEEDED`, computed now, for :func:`plant` in another process."""
    exact_comparison(ctx, con)
    return {k: ctx.cache[k] for k in SEEDED if k in ctx.cache}


def plant(ctx: ReportContext, seeded: dict) -> None:
    ctx.cache.update({k: v for k, v in seeded.items() if k in SEEDED})


def monthly(ctx: ReportContext, con):
    return _memo(ctx, "monthly", lambda: timeseries.monthly(con, ctx.config, ctx.period, ctx.result.data_state))


def destinations(ctx: ReportContext, con) -> list[tuple[str, int]]:
    """(German label, participants) per destination upon leaving, every destination of the list."""
    def make():
        from pipeline import model

        labels = model.label_lists()["destination"].labels
        df = timeseries.destinations(con, ctx.config, ctx.period, ctx.result.data_state)
        counts = dict(zip(df["destination"], df["n"], strict=True))
        return [(label, int(counts.get(code, 0))) for code, label in labels.items()]

    return _memo(ctx, "destinations", make)


def target_rows(ctx: ReportContext) -> list[targets.TargetRow]:
    return _memo(ctx, "targets", lambda: targets.target_rows(
        ctx.lk, targets.targets_for(ctx.config, ctx.period), ctx.rules))


def exact_comparison(ctx: ReportContext, con) -> comparison.CycleComparison:
    return _memo(ctx, "comparison_exact", lambda: comparison.compare_cycles(
        con, ctx.config, ctx.result.data_state, current=ctx.result))


def cycle_comparison(ctx: ReportContext, con) -> comparison.CycleComparison:
    """The comparison as this audience sees it (public: disclosure-controlled)."""
    return _memo(ctx, "comparison", lambda: comparison.published(exact_comparison(ctx, con), ctx.rules))


def own_cycle_status(ctx: ReportContext, con) -> str | None:
    cycle = getattr(ctx.period, "cycle", None)
    if cycle is None:
        return None
    row = next((r for r in exact_comparison(ctx, con).rows if r.cycle_id == cycle.id), None)
    return row.status if row else None


def frame(ctx: ReportContext, con) -> narrative.Frame:
    return _memo(ctx, "frame", lambda: narrative.Frame.of(ctx, own_cycle_status(ctx, con)))


def public_text(ctx: ReportContext, con) -> press.PublicText:
    """Always from the public rules, whatever the audience (the Word draft quotes it as the press suggestion)."""
    rules = Rules.for_audience(ctx.config, "oeffentlich")
    return _memo(ctx, "public_text", lambda: press.public_text(ctx.lk, rules, frame(ctx, con), ctx.funding_note))


def earlier_final(ctx: ReportContext, con) -> tuple[str | None, bool | None]:
    """The last final cycle before the report's cycle, and whether its K05 was higher (None: equal/unknown)."""
    cycle = getattr(ctx.period, "cycle", None)
    if cycle is None:
        return None, None
    before = [r for r in exact_comparison(ctx, con).final_rows() if r.start < cycle.start]
    if not before:
        return None, None
    prev, now = before[-1].value("K05"), ctx.lk.value("K05")
    if prev is None or now is None or abs(prev - now) < 1e-9:
        return before[-1].cycle_id, None
    return before[-1].cycle_id, prev > now


def chapters(ctx: ReportContext, con) -> list[narrative.Chapter]:
    def make():
        prev, higher = earlier_final(ctx, con)
        return narrative.chapters(ctx.lk, frame(ctx, con), target_rows(ctx), public_text(ctx, con).paragraph,
                                  prev, higher)

    return _memo(ctx, "chapters", make)


def _num(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def _listing(labels, values, unit: str = "count") -> str:
    return join([f"{lab} {fmt_number(v, unit)}" for lab, v in zip(labels, values, strict=True)])


# the charts of a set in groups, in the order the writers list them; one group's data comes from one place
CHART_GROUPS = ("households", "help_groups", "destinations", "esf", "cycles")


def report_charts(ctx: ReportContext, con, groups: tuple[str, ...] = CHART_GROUPS) -> dict[str, charts.Chart]:
    """The charts of ``groups``, each with its German alternative text and size; a chart is drawn on first use of
    its SVG or PNG. Public: the cycle comparison only."""
    drawn = ctx.cache.setdefault("charts", {})
    for g in groups:
        if g not in drawn:
            drawn[g] = {} if ctx.public and g != "cycles" else _DRAW[g](ctx, con)
    return {k: c for g in CHART_GROUPS if g in groups for k, c in drawn[g].items()}


def chart_svgs(ctx: ReportContext, con, groups: tuple[str, ...] = CHART_GROUPS) -> dict[str, str]:
    """The SVG of every chart of ``groups`` by key (drawn in a helper process for the PDF of another)."""
    return {k: c.svg() for k, c in report_charts(ctx, con, groups).items()}


def _households(ctx: ReportContext, con) -> dict[str, charts.Chart]:
    m = monthly(ctx, con)
    if not len(m):
        return {}
    months = list(m["month"])
    return {"households": charts.Chart("households", lambda: charts.households_figure(
        months, list(m["active"]), list(m["entries"]), list(m["exits"])),
        f"Diagramm: aktive Bedarfsgemeinschaften je Monat (Linie) mit Eintritten und Austritten (Balken) von "
        f"{months[0]} bis {months[-1]}; höchstens {fmt_number(max(m['active']))} aktive Bedarfsgemeinschaften "
        "in einem Monat. Die Werte stehen in der monatlichen Zeitreihe.", charts.HOUSEHOLDS_SIZE)}


def _help_groups(ctx: ReportContext, con) -> dict[str, charts.Chart]:
    bds = breakdowns(ctx.lk, ctx.rules, ids=["K06"], dims=("help_group",))
    if not bds:
        return {}
    labels, values = [r[0] for r in bds[0].rows], [r[3] for r in bds[0].rows]
    return {"help_groups": charts.Chart("helps", lambda: charts.bars_figure(labels, values, "Eingeleitete Hilfen"),
                                        "Balkendiagramm: eingeleitete Hilfen nach Hilfebereich: "
                                        + _listing(labels, values) + ".", charts.bars_size(len(labels)))}


def _destinations(ctx: ReportContext, con) -> dict[str, charts.Chart]:
    shown = [(d, n) for d, n in destinations(ctx, con) if n]
    if not shown:
        return {}
    return {"destinations": charts.Chart(
        "destinations", lambda: charts.bars_figure([d for d, _ in shown], [n for _, n in shown],
                                                   "Teilnehmende (Verbleib bei Austritt)"),
        "Balkendiagramm: Verbleib der ausgetretenen Teilnehmenden bei Austritt: "
        + _listing([d for d, _ in shown], [n for _, n in shown]) + ".", charts.bars_size(len(shown)))}


def _esf(ctx: ReportContext, con) -> dict[str, charts.Chart]:
    out = {}
    for esf in esf_tables(ctx.lk, ctx.funding_periods, ctx.rules):  # two for a range across the change-over
        rows = [r for r in esf.rows if r.unit == "count" and r.id != "K02"]
        if rows:
            key = esf_chart_key(ctx, esf)
            labels = [r.id for r in rows]
            series = {GENDER_LABELS[g]: [r.cells[g] for r in rows] for g in esf.gender_columns}
            out[key] = charts.Chart(key.replace("esf_", ""), functools.partial(charts.gender_figure, labels, series),
                                    "Balkendiagramm: ESF-Indikatoren nach Geschlecht ("
                                    + join([GENDER_LABELS[g] for g in esf.gender_columns]) + "), "
                                    + FUNDING_PERIOD_LABELS.get(esf.funding_period, esf.funding_period)
                                    + "; die Werte stehen in der Tabelle der ESF-Indikatoren.", charts.GENDER_SIZE)
    return out


def _cycles(ctx: ReportContext, con) -> dict[str, charts.Chart]:
    chart = _comparison_chart(cycle_comparison(ctx, con))
    return {"cycles": chart} if chart else {}


_DRAW = {"households": _households, "help_groups": _help_groups, "destinations": _destinations, "esf": _esf,
         "cycles": _cycles}


def esf_chart_key(ctx: ReportContext, esf) -> str:
    """ "esf_gender", or one key per funding period when the report shows both sets."""
    return "esf_gender" if len(ctx.funding_periods) == 1 else f"esf_gender-{esf.funding_period}"


def _comparison_chart(comp: comparison.CycleComparison) -> charts.Chart | None:
    if not comp.rows:
        return None
    keys = {c.key for c in comp.columns}
    counts = {comp.column(k).label: [_num(r.value(k)) for r in comp.rows] for k in ("K01", "K02") if k in keys}
    shares = {f"{k} {comp.column(k).label}": [_num(r.value(k)) for r in comp.rows]
              for k in ("K05", "K10", "K19") if k in keys}
    cycles = [r.cycle_id for r in comp.rows]
    periods = [r.funding_period for r in comp.rows]
    brk = next((i for i, p in enumerate(periods) if i and p != periods[i - 1]), None)
    fig = functools.partial(charts.cycles_figure, cycles, [not r.final for r in comp.rows], counts, shares, brk)
    parts = []
    for r in comp.rows:
        vals = []
        for k in ("K01", "K02", "K05", "K10", "K19"):
            if k in keys:
                v = r.value(k)
                shown = str(v) if isinstance(v, Suppressed) else fmt_number(v, comp.column(k).unit)
                vals.append(f"{k} {shown}")
        parts.append(f"{r.cycle_id} ({r.status_label}{'' if r.final else ', vorläufig'}): " + ", ".join(vals))
    alt = ("Diagramm: Projektjahre im Vergleich, links Anzahlen (K01 Bedarfsgemeinschaften, K02 Teilnehmende), "
           "rechts Anteile in Prozent; vorläufige Projektjahre schraffiert. " + "; ".join(parts) + ".")
    return charts.Chart("cycles", fig, alt, charts.CYCLES_SIZE)
