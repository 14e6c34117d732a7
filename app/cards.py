"""Headline cards as one HTML block with SVG sparklines (issue 20.1).

Eight `st.metric` cards with `chart_data` are eight React widgets and seven
Vega-Lite views per session (the Vega bundle parsed by every browser that opens
the page); a crowd opening the Overview at once waits for all of them. These
cards are one `st.html` element: a label (its help as the tooltip), the value,
the change with its arrow and colour, and the trend as a tiny SVG polyline or
bars (an image of a data URI), drawn by the browser like a picture. Colours read on the light and the dark
theme. Every string is html-escaped (plan names come from a user's TOML).

Each card carries `data-label` and `data-value` so tests read it as they read a metric.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape

UP_COLOUR, DOWN_COLOUR, OFF_COLOUR = "#2e7d32", "#c62828", "rgba(128,128,128,.9)"
SPARK_COLOUR = "#1565c0"
SPARK_W, SPARK_H = 100.0, 28.0  # the viewBox; the drawing stretches to the card's width

STYLE = """
.op-cards{display:grid;gap:12px;margin:0 0 12px}
.op-group{font-size:.95rem;margin:0 0 6px}
.op-card{border:1px solid rgba(128,128,128,.3);border-radius:.5rem;padding:10px 14px 8px;min-width:0}
.op-label{font-size:.85rem;opacity:.8;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:help}
.op-value{font-size:1.75rem;line-height:1.3;white-space:nowrap}
.op-delta{font-size:.85rem;min-height:1.2em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.op-delta span{opacity:.75;color:inherit}
.op-spark{display:block;width:100%;height:28px;margin-top:4px}
"""


class Tone(StrEnum):
    """How a change is coloured: up is good (normal), up is bad (inverse), or no colour (off)."""

    NORMAL = "normal"
    INVERSE = "inverse"
    OFF = "off"


@dataclass(frozen=True)
class Card:
    """One headline figure: texts already formatted (app/fmt.py), the change's sign for its colour."""

    label: str
    value: str
    help: str
    delta: str | None = None  # the change as shown; None: no change line
    sign: float = 0.0  # > 0 up, < 0 down, 0 no arrow
    tone: Tone = Tone.NORMAL
    description: str | None = None  # after the change, e.g. "vs Sep 2026"
    spark: Sequence[float] = ()
    bars: bool = False


def spark_img(values: Sequence[float], bars: bool = False, colour: str = SPARK_COLOUR) -> str:
    """The trend as a tiny SVG image (a line, or bars), y from the smallest value; '' for no values."""
    ys = [float(v) for v in values]
    if not ys:
        return ""
    lo, hi = min(min(ys), 0.0) if bars else min(ys), max(ys)
    span = hi - lo or 1.0

    def y(v: float) -> float:
        return SPARK_H - 2 - (v - lo) / span * (SPARK_H - 4)

    n = len(ys)
    if bars:
        width = SPARK_W / n
        body = "".join(
            f'<rect x="{i * width + width * 0.15:.2f}" y="{y(v):.2f}" width="{width * 0.7:.2f}" '
            f'height="{max(SPARK_H - 2 - y(v), 0.5):.2f}" fill="{colour}" opacity=".75"/>'
            for i, v in enumerate(ys)
        )
    else:
        step = SPARK_W / max(n - 1, 1)
        points = " ".join(f"{i * step:.2f},{y(v):.2f}" for i, v in enumerate(ys))
        body = (f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8" '
                'vector-effect="non-scaling-stroke" stroke-linejoin="round"/>')
    drawing = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SPARK_W:g} {SPARK_H:g}" '
               f'preserveAspectRatio="none">{body}</svg>')
    return svg_image(drawing, "trend", "op-spark")


def svg_image(drawing: str, alt: str, css_class: str = "") -> str:
    """An SVG drawing as an <img> of a data URI: st.html's sanitiser keeps HTML only (an
    inline <svg> is dropped). `alt` is html-escaped."""
    uri = "data:image/svg+xml;base64," + b64encode(drawing.encode()).decode()
    cls = f' class="{css_class}"' if css_class else ""
    return f'<img{cls} alt="{escape(alt)}" src="{uri}"/>'



def _delta_html(card: Card) -> str:
    if card.delta is None:
        text = "" if card.description is None else f"<span>{escape(card.description)}</span>"
        return f'<div class="op-delta">{text}</div>'
    good = card.sign > 0 if card.tone is Tone.NORMAL else card.sign < 0
    colour = OFF_COLOUR if card.tone is Tone.OFF or card.sign == 0 else UP_COLOUR if good else DOWN_COLOUR
    arrow = "" if card.tone is Tone.OFF or card.sign == 0 else ("▲ " if card.sign > 0 else "▼ ")
    after = "" if card.description is None else f" <span>{escape(card.description)}</span>"
    return f'<div class="op-delta" style="color:{colour}">{arrow}{escape(card.delta)}{after}</div>'


def card_html(card: Card) -> str:
    """One card (escaped)."""
    return (
        f'<div class="op-card" data-label="{escape(card.label)}" data-value="{escape(card.value)}">'
        f'<div class="op-label" title="{escape(card.help)}">{escape(card.label)}</div>'
        f'<div class="op-value">{escape(card.value)}</div>{_delta_html(card)}'
        f"{spark_img(card.spark, card.bars)}</div>"
    )


def row_html(cards: Sequence[Card], columns: int | None = None, heading: str | None = None) -> str:
    """Cards side by side in `columns` equal columns (default: one per card), under an optional
    heading given as (already escaped) HTML."""
    grid = f'style="grid-template-columns:repeat({columns or len(cards)},minmax(0,1fr))"'
    head = "" if heading is None else f'<div class="op-group">{heading}</div>'
    return f'<div>{head}<div class="op-cards" {grid}>{"".join(card_html(c) for c in cards)}</div></div>'


def block_html(*rows: str, columns: int = 1) -> str:
    """Rows (row_html) stacked, or side by side in `columns`, with the cards' style."""
    grid = f'style="display:grid;gap:0 16px;grid-template-columns:repeat({columns},minmax(0,1fr))"'
    return f'<style>{STYLE}</style><div {grid}>{"".join(rows)}</div>'
