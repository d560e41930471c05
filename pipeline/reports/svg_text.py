"""SVG text in the PDF set as whole strings: WeasyPrint 70 shapes and draws every SVG ``<text>`` letter by letter
(so that per-letter ``x``/``dx``/``rotate`` lists work), about a third of the time it spends on the report's
charts. Matplotlib's labels have one position each, so they are shaped once as a string, the "simple path"
WeasyPrint's maintainers proposed for it (Kozea/WeasyPrint#2249; a pull request for it, #2754, was not merged).
Whole-string shaping also keeps the font's kerning, as text outside SVG has it.

:func:`install` replaces WeasyPrint's SVG text function only for the version this was written and checked
against (:data:`CHECKED_VERSION`); any other version keeps its own. Text with per-letter positions, spacing or
``textLength`` always takes WeasyPrint's own path.
"""

from __future__ import annotations

from math import inf

CHECKED_VERSION = "70.0"
_PER_LETTER = ("dx", "dy", "rotate", "textLength", "lengthAdjust")
_STATE: dict = {}


def install() -> bool:
    """Use :func:`text` for SVG text (once per process); False when WeasyPrint is another version."""
    import weasyprint
    from weasyprint import svg

    if _STATE:
        return _STATE["on"]
    original = svg.TAGS["text"]
    on = weasyprint.__version__ == CHECKED_VERSION and getattr(svg, "text", None) is original
    if on:

        def text(svg_, node, font_size):
            return _whole(svg_, node, font_size) if _simple(node) else original(svg_, node, font_size)

        for tag, fn in list(svg.TAGS.items()):
            if fn is original:
                svg.TAGS[tag] = text
        svg.text = text  # draw_node compares TAGS entries with this name to find text nodes (anchors, boxes)
    _STATE.update(on=on, original=original)
    return on


def _simple(node) -> bool:
    """One position, no per-letter adjustments: the string can be shaped as a whole."""
    from weasyprint.svg.utils import normalize

    if not node.text or any(k in node.attrib for k in _PER_LETTER):
        return False
    if any(len(normalize(node.attrib[k]).strip().split(" ")) > 1 for k in ("x", "y") if k in node.attrib):
        return False
    return node.get("letter-spacing") in (None, "normal", "0", "0px")


def _style(svg, node, font_size):
    """The text style as WeasyPrint 70's ``svg.text.text`` builds it."""
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.svg.text import Style

    style = Style()
    style.update(INITIAL_VALUES)
    style.font_config = svg.font_config
    style["font_family"] = [font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")]
    style["font_style"] = node.get("font-style", "normal")
    weight = node.get("font-weight", 400)
    style["font_size"] = font_size
    if node.get("direction") in ("ltr", "rtl"):
        style["direction"] = node.get("direction")
    if weight == "normal":
        weight = 400
    elif weight == "bold":
        weight = 700
    else:
        try:
            weight = int(weight)
        except ValueError:
            weight = 400
    style["font_weight"] = weight
    return style


def _y_align(node, font_size: float, height: float) -> float:
    """Vertical alignment as WeasyPrint 70 does it (its own approximation of the baselines)."""
    ascent, descent = font_size * 0.8, font_size * 0.2
    anchor = node.get("display-anchor")
    baseline = node.get("dominant-baseline", node.get("alignment-baseline"))
    if anchor == "middle":
        return -height / 2
    if anchor == "top":
        return 0
    if anchor == "bottom":
        return -height
    if baseline in ("central", "middle"):
        return (ascent + descent) / 2 - descent
    if baseline in ("text-before-edge", "before_edge", "top", "hanging", "text-top"):
        return ascent
    if baseline in ("text-after-edge", "after_edge", "bottom", "text-bottom"):
        return -descent
    return 0


def _whole(svg, node, font_size) -> None:
    """Shape and draw the node's text as one string; same positions, bounding box and state as WeasyPrint's."""
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.text import TextBox
    from weasyprint.svg.utils import normalize, size
    from weasyprint.text.line_break import split_first_line

    style = _style(svg, node, font_size)
    layout, _, _, width, height, baseline = split_first_line(node.text, style, svg.context, inf, 0)
    x, y = svg.cursor_position
    if "x" in node.attrib:
        x = size(normalize(node.attrib["x"]).strip(), font_size, svg.inner_width)
        svg.cursor_d_position[0] = 0
    if "y" in node.attrib:
        y = size(normalize(node.attrib["y"]).strip(), font_size, svg.inner_height)
        svg.cursor_d_position[1] = 0
    svg.cursor_position = x + width, y
    x_position = x + svg.cursor_d_position[0]
    y_position = y + svg.cursor_d_position[1] + _y_align(node, font_size, height)
    points = ((x_position, y_position - baseline), (x_position + width, y_position - baseline + height))
    node.text_bounding_box = extend_bounding_box(node.text_bounding_box, points)

    svg.stream.push_state()
    fill, stroke = svg.set_graphical_state(node, font_size)
    svg.stream.begin_text()
    layout.reactivate(style)
    svg.fill_stroke(fill, stroke, text=True)
    box = TextBox(layout, style)
    box.baseline = baseline
    emojis = draw_first_line(svg.stream, box, "none", "none", Matrix(a=1, d=-1, e=x_position, f=y_position))
    svg.stream.end_text()
    svg.stream.pop_state()
    draw_emojis(svg.stream, style, x, y, emojis)
