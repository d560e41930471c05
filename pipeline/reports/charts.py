"""Matplotlib charts as SVG strings (for the PDF and for notebooks). No global pyplot state."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

matplotlib.rcParams["svg.fonttype"] = "none"  # keep text as text: the PDF embeds DejaVu, umlauts stay searchable
matplotlib.rcParams["font.family"] = "DejaVu Sans"
matplotlib.rcParams["svg.hashsalt"] = "esf-pipeline"  # stable ids: same data ⇒ same SVG

COLOURS = ["#1F4E79", "#C55A11", "#548235", "#7F6000", "#7030A0", "#2E75B6", "#A5A5A5"]


def _svg(fig: Figure, prefix: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    # drop the fixed size of the root element: the viewBox keeps the ratio and CSS scales it to the column
    head, sep, rest = svg.partition("<svg ")
    tag, gt, body = rest.partition(">")
    tag = re.sub(r'\s(width|height)="[^"]*"', "", tag)
    # ids are unique per SVG only; several charts in one HTML page need a prefix each
    body = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', body)
    body = body.replace("url(#", f"url(#{prefix}-").replace('href="#', f'href="#{prefix}-')
    return head + sep + tag + gt + body


def _figure(width: float = 7.0, height: float = 3.0) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def households_over_time(months: Sequence[str], active: Sequence[float], entries: Sequence[float],
                         exits: Sequence[float]) -> str:
    """Active households per month (line) with entries and exits (bars)."""
    fig, ax = _figure()
    x = range(len(months))
    ax.bar([i - 0.2 for i in x], entries, width=0.4, color=COLOURS[2], label="Eintritte")
    ax.bar([i + 0.2 for i in x], exits, width=0.4, color=COLOURS[1], label="Austritte")
    ax.plot(list(x), active, color=COLOURS[0], marker="o", markersize=3, linewidth=2, label="aktive BG")
    step = max(1, -(-len(months) // 12))  # at most 12 labels: more overlap at this width
    ax.set_xticks(list(x)[::step], [m[5:] + "/" + m[2:4] for m in months][::step], fontsize=8)
    ax.set_ylabel("Bedarfsgemeinschaften")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0))
    return _svg(fig, "households")


def horizontal_bars(labels: Sequence[str], values: Sequence[float], xlabel: str, percent: bool = False,
                    name: str = "bars") -> str:
    """One bar per category (help groups, destinations upon leaving)."""
    fig, ax = _figure(7.0, 0.35 * max(len(labels), 3) + 0.8)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    y = list(range(len(labels)))[::-1]
    vals = [v or 0 for v in values]
    ax.barh(y, vals, color=COLOURS[0])
    ax.set_yticks(y, list(labels), fontsize=8)
    ax.set_xlabel(xlabel)
    if not percent:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(vals) if vals and max(vals) > 0 else 1
    for yi, v in zip(y, vals, strict=True):
        ax.text(v + top * 0.01, yi, f"{v:.0%}" if percent else f"{v:g}", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.12)
    return _svg(fig, name)


def grouped_by_gender(labels: Sequence[str], series: dict[str, Sequence[float]], name: str = "gender") -> str:
    """ESF indicators by gender: one group per indicator, one bar per gender."""
    fig, ax = _figure(7.0, 3.2)
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
    return _svg(fig, name)
