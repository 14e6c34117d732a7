"""The house formats: one formatter for each kind of figure the pages show.

Text (cards, captions), chart axes (d3 formats) and table columns read the same:
$1,234 and -$1,234, 42.3%, +1.2 pp, 12,345, Oct 2026. Display only: nothing is
computed from a formatted value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, cast

import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

NOTHING: Final = "—"  # a figure that does not exist (no month before, no break-even)

# Chart axes: d3 puts the sign before the symbol (-$2,000, never $-2,000).
MONEY_TICKS: Final = "$,.0f"
PRICE_TICKS: Final = "$,.2f"
PERCENT_TICKS: Final = ".0%"
PERCENT_HOVER: Final = ".1%"
COUNT_TICKS: Final = ",.0f"
# The two plans every page compares, drawn alike on every chart: the reference in grey (dashed
# where a line), the proposed plan in the house blue.
REFERENCE_COLOUR: Final = "#8a8a8a"
PROPOSED_COLOUR: Final = "#1565c0"

Number = float | int | Decimal


# ------------------------------------------------------------------ text
def money(value: Number | None, cents: bool = False) -> str:
    """$1,234 (or $1,234.56 with cents); negative as -$1,234; None as an em dash."""
    if value is None:
        return NOTHING
    v = float(value)
    text = f"${abs(v):,.2f}" if cents else f"${abs(v):,.0f}"
    return f"-{text}" if v < 0 else text


def pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: 0.423 -> 42.3%."""
    return NOTHING if value is None else f"{value * 100:.{digits}f}%"


def points(change: float | None, digits: int = 1, signed: bool = True) -> str:
    """A change between two fractions in percentage points: 0.012 -> +1.2 pp (1.2 pp unsigned)."""
    return NOTHING if change is None else f"{change * 100:{'+' if signed else ''}.{digits}f} pp"


def count(value: Number | None, digits: int = 0) -> str:
    """12,345 (or 12,345.67 with digits=2 for fractional units)."""
    return NOTHING if value is None else f"{float(value):,.{digits}f}"


def signed_count(value: Number) -> str:
    """A change in a count: +1,234 or -1,234."""
    return f"{float(value):+,.0f}"


def hours(value: Number) -> str:
    """120 h, 0.5 h."""
    return f"{float(value):g} h"


def month(when: pd.Timestamp, full: bool = False) -> str:
    """Oct 2026 (or October 2026)."""
    return pd.Timestamp(when).strftime("%B %Y" if full else "%b %Y")


def month_key(when: pd.Timestamp) -> str:
    """2026-10: the month as it is typed, sorted and put in file names."""
    return pd.Timestamp(when).strftime("%Y-%m")


def months(first: pd.Timestamp, last: pd.Timestamp, key: bool = False) -> str:
    """Oct 2026 to Mar 2027 (or 2026-10 to 2027-03)."""
    shown = month_key if key else month
    return f"{shown(first)} to {shown(last)}"


ACRONYMS: Final = {"ai": "AI", "csat": "CSAT", "id": "ID", "cogs": "COGS", "pct": "%"}


def label(name: str) -> str:
    """A column name or code as people read it: ai_not_live -> AI not live, account_id -> Account ID."""
    words = [ACRONYMS.get(w, w) for w in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]]) if words else name


def units(value: Number) -> str:
    """Billable units: whole (126) when whole, else two decimals (12.50)."""
    v = float(value)
    return count(v, digits=0 if v.is_integer() else 2)


# ------------------------------------------------------------------ inputs
def to_percent(fraction: float) -> float:
    """A fraction as the percent an input shows (rounded so 0.12 shows 12, not 12.000000000000002)."""
    return round(fraction * 100.0, 9)


def from_percent(percent: float) -> float:
    """What a percent input holds, back as the fraction the engine takes."""
    return percent / 100.0


# ------------------------------------------------------------------ tables
# Table columns read like `money` ($10,817, -$37,759) and `pct` (96.0%). Streamlit cuts a
# number column's values to its `step` before formatting (10,816.74 would read $10,816),
# so `shown_rounded` rounds the shown copy first; a printf "$%,.0f" would round but
# print $-37,759.
def dollars_column(label: str | None = None, tip: str | None = None, width: int | None = None) -> ColumnConfig:
    """A table column of money in whole dollars."""
    return st.column_config.NumberColumn(label, format="dollar", step=1, help=tip, width=width)


def price_column(label: str | None = None, tip: str | None = None) -> ColumnConfig:
    """A table column of money to the cent (prices, statement lines)."""
    return st.column_config.NumberColumn(label, format="dollar", help=tip)


def percent_column(label: str | None = None, tip: str | None = None, width: int | None = None) -> ColumnConfig:
    """A table column of shares or changes (fractions) as percentages with one decimal."""
    return st.column_config.NumberColumn(label, format="percent", step=0.001, help=tip, width=width)


ROW_PX: Final = 35  # Streamlit's table row height (header included)


def table_height(rows: int, most: int = 20) -> int:
    """Pixels for a table that shows all its rows (up to `most`, then it scrolls)."""
    return ROW_PX * (min(rows, most) + 1) + 3


def cell(table: pd.DataFrame, row: str, column: str) -> float:
    """One cell of a table (per plan, per account) as the number a card formats
    (pandas types a cell as any scalar)."""
    return float(cast(float, table.at[row, column]))


def shown_rounded(frame: pd.DataFrame, dollars: tuple[str, ...], shares: tuple[str, ...] = ()) -> pd.DataFrame:
    """A copy rounded as the table shows it (display only: nothing is computed from it)."""
    return frame.assign(**{c: frame[c].round(0) for c in dollars}, **{c: frame[c].round(3) for c in shares})
