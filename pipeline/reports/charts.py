"""Matplotlib charts as SVG strings (for the PDF and for notebooks) and PNG (for Word). No global pyplot state.

The report writers use :class:`Chart`: one figure drawn once per report set, written as SVG (with its alternative
text as ``<title>``, which WeasyPrint tags as the figure's Alt) and as PNG for the Word draft.
"""

from __future__ import annotations

import io
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

matplotlib.rcParams["svg.fonttype"] = "none"  # keep text as text: the PDF embeds DejaVu, umlauts stay searchable
matplotlib.rcParams["font.family"] = "DejaVu Sans"
matplotlib.rcParams["svg.hashsalt"] = "esf-pipeline"  # stable ids: same data ⇒ same SVG

COLOURS = ["#1F4E79", "#C55A11", "#548235", "#7F6000", "#7030A0", "#2E75B6", "#A5A5A5"]


@dataclass
class Chart:
    """One figure with its alternative text; SVG and PNG are rendered on first use and kept.

    ``figure``: the figure, or a function that draws it (called on first use: the PDF's process can place a
    chart that its helper draws without drawing it, from ``size``). ``size``: width and height in inches, the size
    of its SVG and PNG.
    """

    name: str
    figure: Figure | Callable[[], Figure]
    alt: str
    size: tuple[float, float] | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def drawn(self) -> Figure:
        if not isinstance(self.figure, Figure):
            self.figure = self.figure()
        return self.figure

    def svg(self) -> str:
        if "svg" not in self._cache:
            self._cache["svg"] = _svg(self.drawn(), self.name, self.alt)
        return self._cache["svg"]

    def png(self, dpi: int = 120) -> bytes:
        if "png" not in self._cache:
            buf = io.BytesIO()
            _laid_out(self.drawn()).savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
            self._cache["png"] = buf.getvalue()
        return self._cache["png"]


def _laid_out(fig: Figure) -> Figure:
    """Labels, legends and axes fitted into the figure's own size, once per figure. The files then have exactly
    that size (known before drawing), and no savefig needs ``bbox_inches="tight"``, which lays the whole figure
    out once more for every file."""
    if not getattr(fig, "_esf_laid_out", False):
        fig.tight_layout(pad=0.6)
        fig._esf_laid_out = True
    return fig


def _svg(fig: Figure, prefix: str, title: str = "") -> str:
    buf = io.StringIO()
    _laid_out(fig).savefig(buf, format="svg", metadata={"Date": None})
    svg = _flattened(buf.getvalue())
    # drop the fixed size of the root element: the viewBox keeps the ratio and CSS scales it to the column
    head, sep, rest = svg.partition("<svg ")
    tag, gt, body = rest.partition(">")
    tag = re.sub(r'\s(width|height)="[^"]*"', "", tag)
    # ids are unique per SVG only; several charts in one HTML page need a prefix each
    body = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', body)
    body = body.replace("url(#", f"url(#{prefix}-").replace('href="#', f'href="#{prefix}-')
    if title:  # the accessible name of the chart: tagged PDF readers announce it as the figure's Alt text
        body = f"<title>{escape(title)}</title>" + body
    return head + sep + tag + gt + body


SVG_NS, XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"


def _flattened(svg: str) -> str:
    """The same drawing with fewer elements: matplotlib wraps nearly every element in a group that only names
    it, and WeasyPrint draws an SVG node by node in Python (about a sixth of the charts' time in the PDF). Groups
    with nothing but an id nobody refers to give way to their children; the metadata block goes."""
    head, _, rest = svg.partition("<svg")
    root = ET.fromstring("<svg" + rest)
    referred = set(re.findall(r'(?:url\(#|href="#)([^)"]+)', rest))

    def flatten(el) -> None:
        kept = []
        for child in el:
            flatten(child)
            if child.tag == f"{{{SVG_NS}}}metadata":
                continue
            if child.tag == f"{{{SVG_NS}}}g" and set(child.attrib) <= {"id"} and child.get("id") not in referred:
                kept.extend(child)
            else:
                kept.append(child)
        el[:] = kept

    flatten(root)
    # ElementTree's prefixes are global, and WeasyPrint's PDF metadata takes "" for its own: named each time
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return head + ET.tostring(root, encoding="unicode")


# figure sizes in inches (width, height), known before a chart is drawn (see Chart); one width for all, so that
# their text comes out the same size when the PDF and Word scale them to the text width (17 and 16 cm)
WIDTH = 6.4
HOUSEHOLDS_SIZE = (WIDTH, 3.1)
GENDER_SIZE = (WIDTH, 3.5)
CYCLES_SIZE = (WIDTH, 3.4)


def bars_size(n: int) -> tuple[float, float]:
    """One bar per category: the height grows with the number of bars."""
    return WIDTH, 0.35 * max(n, 3) + 0.8


def _figure(width: float, height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def households_over_time(months: Sequence[str], active: Sequence[float], entries: Sequence[float],
                         exits: Sequence[float]) -> str:
    """Active households per month (line) with entries and exits (bars)."""
    return _svg(households_figure(months, active, entries, exits), "households")


def households_figure(months: Sequence[str], active: Sequence[float], entries: Sequence[float],
                      exits: Sequence[float]) -> Figure:
    fig, ax = _figure(*HOUSEHOLDS_SIZE)
    x = range(len(months))
    ax.bar([i - 0.2 for i in x], entries, width=0.4, color=COLOURS[2], label="Eintritte")
    ax.bar([i + 0.2 for i in x], exits, width=0.4, color=COLOURS[1], label="Austritte")
    ax.plot(list(x), active, color=COLOURS[0], marker="o", markersize=3, linewidth=2, label="aktive BG")
    step = max(1, -(-len(months) // 12))  # at most 12 labels: more overlap at this width
    ax.set_xticks(list(x)[::step], [m[5:] + "/" + m[2:4] for m in months][::step], fontsize=8)
    ax.set_ylabel("Bedarfsgemeinschaften")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0))
    return fig


def horizontal_bars(labels: Sequence[str], values: Sequence[float], xlabel: str, percent: bool = False,
                    name: str = "bars") -> str:
    """One bar per category (help groups, destinations upon leaving)."""
    return _svg(bars_figure(labels, values, xlabel, percent), name)


def _wrapped(label: str, width: int = 48) -> str:
    """A long category name on two lines (the figure keeps its width; a bar has room for two lines), never
    broken inside parentheses ("(§ 16e SGB II)")."""
    kept = re.sub(r"\([^)]*\)", lambda m: m.group(0).replace(" ", "\u00a0"), label)
    return textwrap.fill(kept, width) if len(label) > width else label


def bars_figure(labels: Sequence[str], values: Sequence[float], xlabel: str, percent: bool = False) -> Figure:
    fig, ax = _figure(*bars_size(len(labels)))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    y = list(range(len(labels)))[::-1]
    vals = [v or 0 for v in values]
    ax.barh(y, vals, color=COLOURS[0])
    ax.set_yticks(y, [_wrapped(str(label)) for label in labels], fontsize=8)
    ax.set_xlabel(xlabel)
    if not percent:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(vals) if vals and max(vals) > 0 else 1
    for yi, v in zip(y, vals, strict=True):
        ax.text(v + top * 0.01, yi, f"{v:.0%}" if percent else f"{v:g}", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.12)
    return fig


def grouped_by_gender(labels: Sequence[str], series: dict[str, Sequence[float]], name: str = "gender") -> str:
    """ESF indicators by gender: one group per indicator, one bar per gender."""
    return _svg(gender_figure(labels, series), "gender")


def gender_figure(labels: Sequence[str], series: dict[str, Sequence[float]]) -> Figure:
    fig, ax = _figure(*GENDER_SIZE)
    n = max(len(series), 1)
    width = 0.8 / n
    x = range(len(labels))
    for k, (series_label, vals) in enumerate(series.items()):
        ax.bar([i - 0.4 + width * (k + 0.5) for i in x], [v or 0 for v in vals], width=width,
               color=COLOURS[k % len(COLOURS)], label=series_label)
    ax.set_xticks(list(x), list(labels), fontsize=7, rotation=60, ha="right")
    ax.set_ylabel("Teilnehmende")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, fontsize=8, ncols=n, loc="lower left", bbox_to_anchor=(0, 1.0))
    return fig


def cycles_figure(cycles: Sequence[str], provisional: Sequence[bool], counts: dict[str, Sequence[float | None]],
                  shares: dict[str, Sequence[float | None]], period_break: int | None = None) -> Figure:
    """Cycles side by side: counts (left) and shares in percent (right); provisional cycles hatched and pale.

    ``period_break``: index of the first cycle of the later funding period (a dashed line before it).
    """
    fig = Figure(figsize=CYCLES_SIZE)
    axes = fig.subplots(1, 2)
    labels = [f"{c}\n(vorläufig)" if p else c for c, p in zip(cycles, provisional, strict=True)]
    for ax, series, percent in ((axes[0], counts, False), (axes[1], shares, True)):
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        n = max(len(series), 1)
        width = 0.8 / n
        x = range(len(cycles))
        for k, (name, vals) in enumerate(series.items()):
            xs = [i - 0.4 + width * (k + 0.5) for i in x]
            ys = [(v or 0) * (100 if percent else 1) for v in vals]
            bars = ax.bar(xs, ys, width=width, color=COLOURS[k % len(COLOURS)], label=name)
            for bar, p in zip(bars, provisional, strict=True):
                if p:  # provisional cohort: not to be read as a final result
                    bar.set_alpha(0.45)
                    bar.set_hatch("///")
        ax.set_xticks(list(x), labels, fontsize=7)
        if period_break:
            ax.axvline(period_break - 0.5, color="#888888", linestyle="--", linewidth=0.8)
        if percent:
            ax.set_ylim(0, 100)
            ax.set_ylabel("Prozent", fontsize=8)
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("Anzahl", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(frameon=False, fontsize=7, ncols=1, loc="lower left", bbox_to_anchor=(0, 1.0))
    return fig
