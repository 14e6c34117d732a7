"""The Overview's HTML cards (app/cards.py): escaped text, the change's colour and arrow, and a
sparkline whose every point lies inside its drawing, in the order of the values."""

from __future__ import annotations

import base64
import re

from hypothesis import given
from hypothesis import strategies as st

from tests.appmodules import app_module

cards = app_module("cards")


def drawing(img: str) -> str:
    data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', img)
    assert data is not None
    return base64.b64decode(data.group(1)).decode()


def test_a_hostile_label_value_and_help_are_text() -> None:
    card = cards.Card('<img src=x onerror=alert(1)>', '"$1"', "a <b>help</b>", delta="<i>+1</i>", sign=1)
    html = cards.card_html(card)
    assert "<img src=x" not in html and "<b>help</b>" not in html and "<i>" not in html
    assert 'data-label="&lt;img src=x onerror=alert(1)&gt;"' in html and 'data-value="&quot;$1&quot;"' in html


def test_the_change_is_coloured_by_its_tone() -> None:
    up = cards.card_html(cards.Card("a", "1", "", delta="+1", sign=1.0))
    risk_up = cards.card_html(cards.Card("a", "1", "", delta="+1", sign=1.0, tone=cards.Tone.INVERSE))
    off = cards.card_html(cards.Card("a", "1", "", delta="9%", sign=1.0, tone=cards.Tone.OFF))
    assert cards.UP_COLOUR in up and "▲" in up
    assert cards.DOWN_COLOUR in risk_up and "▲" in risk_up  # more risk is bad
    assert cards.OFF_COLOUR in off and "▲" not in off and "▼" not in off
    assert cards.spark_img([]) == "" and "<img" not in cards.card_html(cards.Card("a", "1", ""))


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=24), st.booleans())
def test_every_point_is_inside_the_drawing_and_in_order(values: list[float], bars: bool) -> None:
    svg = drawing(cards.spark_img(values, bars))
    if bars:
        xs = [float(x) for x in re.findall(r'<rect x="([-\d.]+)"', svg)]
        ys = [float(y) for y in re.findall(r'y="([-\d.]+)" width', svg)]
    else:
        pairs = re.search(r'points="([^"]+)"', svg)
        assert pairs is not None
        xs, ys = zip(*((float(a), float(b)) for a, b in (p.split(",") for p in pairs.group(1).split())), strict=True)
    assert len(xs) == len(values) and list(xs) == sorted(xs)
    assert all(0 <= x <= cards.SPARK_W for x in xs) and all(0 <= y <= cards.SPARK_H for y in ys)
    # a higher value is drawn higher (a smaller y), as a plain comparison of the values says
    for (v1, y1), (v2, y2) in zip(zip(values, ys, strict=True), list(zip(values, ys, strict=True))[1:], strict=False):
        if v1 < v2 and v2 - v1 > 1e-6 * (max(values) - min(values) or 1):
            assert y2 < y1 + 1e-6
