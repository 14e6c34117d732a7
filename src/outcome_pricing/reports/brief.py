"""The one-page executive brief: the Overview as one self-contained HTML page.

No network (no CDN, no web fonts, no scripts); charts are inline SVG. The frame,
table, chart primitives and number formats are the ROI report's (report.py), so
the two documents look alike. Every string that came from a user or a data file
(account, plan and definition names, descriptions) is html-escaped: a hostile
account name shows as text, never runs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from html import escape

import pandas as pd

from outcome_pricing.analysis.forecast import chance_text
from outcome_pricing.pricing.terms import DEFAULT_HOURS_PER_SEAT
from outcome_pricing.reports.overview import TOP_MOVERS, Overview
from outcome_pricing.reports.roi_report import (
    NET_COLOUR,
    PAD_B,
    PAD_L,
    PAD_R,
    STYLE,
    W,
    money,
    pct,
    scale,
    svg,
    table,
    text,
    y_axis,
)
from outcome_pricing.reports.verdict import Outlook, verdict, yearly_figures

H, PAD_T = 220, 26  # shorter than the report's charts, with room for the legend on top
REFERENCE_COLOUR = "#888"
AI_COLOUR = NET_COLOUR
BASELINE_COLOUR = "#999"
# The plans table wraps its terms (shared with the Overview page, which draws the same table).
PLANS_TABLE_STYLE = "table.roi.plans td:nth-child(2){text-align:left}table.roi.plans td:nth-child(4){white-space:nowrap}"
BRIEF_STYLE = STYLE + PLANS_TABLE_STYLE + """
.kpi small{display:block;color:#555;font-size:.8em}
.two{display:flex;flex-wrap:wrap;gap:18px}.two>div{flex:1 1 460px}
h1 small{font-size:.55em;color:#555;font-weight:normal}
table.movers td:nth-child(2),table.movers th:nth-child(2){text-align:left}
h3{font-size:1em;margin:10px 0 4px}
.kpis{display:grid;grid-template-columns:repeat(4,minmax(0,1fr))}.kpi{min-width:0}
.verdict{font-size:1.1em;border-left:4px solid #1565c0;padding:6px 12px;margin:10px 0;background:rgba(21,101,192,.06)}
"""

Series = tuple[str, Sequence[float], str, bool]  # name, values, colour, dashed


def month_label(month: pd.Timestamp) -> str:
    """October 2026."""
    return pd.Timestamp(month).strftime("%B %Y")


def count(value: float) -> str:
    return f"{value:,.0f}"


# ------------------------------------------------------------------ charts
def line_chart_svg(
    labels: Sequence[str], series: Sequence[Series], title: str, fmt: Callable[[float], str]
) -> str:
    """Lines over the same x labels (months), y from 0; axis labels in `fmt`; legend on top."""
    values = [v for _, vs, _, _ in series for v in vs if not math.isnan(v)]
    if not labels or not values:
        return ""
    lo, hi = 0.0, max(max(values), 1e-9)
    y = scale(lo, hi, H - PAD_B, PAD_T)
    step = (W - PAD_L - PAD_R) / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return PAD_L + i * step

    body = y_axis(y, lo, hi, fmt)
    every = max(1, math.ceil(len(labels) / 9))  # at most ~9 month labels
    for i, label in enumerate(labels):
        if (len(labels) - 1 - i) % every == 0:  # counted from the end: the latest month is labelled
            body.append(text(x(i), H - PAD_B + 16, label, "middle", 10))
    for k, (name, vs, colour, dashed) in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs) if not math.isnan(v))
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.2"{dash}/>')
        body.append(text(PAD_L + 4 + k * 170, 14, f"— {name}", "start", 11, colour))
    return svg(body, title, H)


def _short(month: pd.Timestamp) -> str:
    return pd.Timestamp(month).strftime("%b %y")


def trend_figures(ov: Overview, first: int | None = None) -> list[tuple[str, str, str]]:
    """(title, SVG, caption) of each trend by month: revenue (reference against proposed),
    billable outcomes, resolution rate, then the quality measures (AI live against the human
    baseline): missed-issue rate, CSAT and reopen rate. The brief draws the first four; the
    Overview draws all six as its first, light view (no chart library in the browser).
    `first`: only that many, the others not drawn."""
    rev = ov.revenue_trend.pivot(index="month", columns="plan", values="revenue").sort_index()
    act, qual = ov.activity_trend, ov.quality_trend
    months, activity, quality = ([_short(m) for m in frame] for frame in (rev.index, act["month"], qual["month"]))

    def versus(metric: str) -> list[Series]:
        return [("AI", list(qual[f"{metric}_ai"].astype(float)), AI_COLOUR, False),
                ("human baseline", list(qual[f"{metric}_baseline"].astype(float)), BASELINE_COLOUR, True)]

    rate: Callable[[float], str] = lambda v: pct(v, 0)  # noqa: E731
    drawn: list[tuple[str, list[str], list[Series], Callable[[float], str], str]] = [
        ("Revenue by month", months, [
            (f"{ov.reference} (reference)", list(rev[ov.reference]), REFERENCE_COLOUR, True),
            (f"{ov.proposed} (proposed)", list(rev[ov.proposed]), NET_COLOUR, False),
        ], money, "Revenue by month under the reference and the proposed plan."),
        ("Billable outcomes by month", activity,
         [("billable outcomes", list(act["billable_units"].astype(float)), NET_COLOUR, False)], count,
         f"Billable outcomes under {ov.definition_name}."),
        ("Resolution rate by month", activity,
         [("resolution rate", list(act["resolution_rate"].astype(float)), NET_COLOUR, False)], rate,
         "Tasks counted as a whole outcome / tasks with the AI live."),
        ("Missed-issue rate by month", quality, versus("missed_issue_rate"), rate,
         "Share of QA-audited tasks where an issue was missed or answered wrongly."),
        ("CSAT by month", quality, versus("csat"), lambda v: f"{v:.1f}", "Customer satisfaction, 1 to 5."),
        ("Reopen rate by month", quality, versus("reopen_rate"), rate,
         f"Tasks reopened within {ov.reopen_window_hours:g} hours."),
    ]
    return [(title, line_chart_svg(labels, series, title, shown), caption)
            for title, labels, series, shown, caption in drawn[:first]]


BRIEF_CHARTS = 4  # revenue, outcomes, resolution rate, missed-issue rate


def charts_html(ov: Overview) -> str:
    """Revenue (reference vs proposed), outcomes, resolution rate and missed-issue rate by month."""
    return "".join(
        f"<figure>{drawing}<figcaption>{escape(cap)}</figcaption></figure>"
        for _, drawing, cap in trend_figures(ov, BRIEF_CHARTS) if drawing
    )


# ------------------------------------------------------------------ pieces
def _versus_before(ov: Overview, field: str, fmt: Callable[[float], str]) -> str:
    change = ov.month_change(field)
    if change is None:
        return ""
    return f"{'+' if change >= 0 else ''}{fmt(change)} vs the month before"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else ''}{money(value)}"


def kpis_html(ov: Overview, chance: Outlook | None = None) -> str:
    k = ov.kpis
    cards = [
        (f"Revenue, {ov.reference} (reference)", money(k.revenue_reference),
         _versus_before(ov, "revenue_reference", money)),
        (f"Revenue, {ov.proposed} (proposed)", money(k.revenue_proposed),
         f"{_signed(k.revenue_change)} vs the reference"),
        (f"Gross margin, {ov.reference} (reference)", money(k.margin_reference),
         "" if k.margin_pct_reference is None else f"{pct(k.margin_pct_reference)} of revenue"),
        (f"Gross margin, {ov.proposed} (proposed)", money(k.margin),
         ("" if k.margin_pct is None else f"{pct(k.margin_pct)} of revenue; ")
         + f"{_signed(k.margin_change)} vs the reference"),
        ("Chance the proposed plan earns more", "—" if chance is None else chance_text(chance.chance),
         "" if chance is None else f"forecast, {month_label(chance.first)} to {month_label(chance.last)}"),
        ("Billable outcomes", count(k.outcomes), _versus_before(ov, "outcomes", count)),
        ("Resolution rate", "—" if k.resolution_rate is None else pct(k.resolution_rate),
         _versus_before(ov, "resolution_rate", lambda v: pct(v).replace("%", " pp"))),
        ("Seat revenue at risk", money(k.seat_revenue_at_risk),
         f"of {money(k.seat_revenue)} seat revenue" if k.seat_revenue else ""),
    ]
    return "".join(
        f'<div class="kpi"><span>{escape(label)}</span><b>{escape(value)}</b>'
        f"<small>{escape(note)}</small></div>"
        for label, value, note in cards
    )


def yearly_html(ov: Overview) -> str:
    """Revenue and margin under both plans per calendar year."""
    rows = [
        [f"{r['year']}" + ("" if r["months"] == 12 else f" ({r['months']} months)"),
         money(r["revenue_reference"]), money(r["revenue_proposed"]), _signed(r["revenue_change"]),
         money(r["margin_reference"]), money(r["margin_proposed"]),
         "—" if pd.isna(r["margin_pct_reference"]) else pct(r["margin_pct_reference"]),
         "—" if pd.isna(r["margin_pct_proposed"]) else pct(r["margin_pct_proposed"])]
        for r in yearly_figures(ov).to_dict("records")
    ]
    headers = ["Year", f"Revenue, {ov.reference}", f"Revenue, {ov.proposed}", "Change",
               f"Margin, {ov.reference}", f"Margin, {ov.proposed}", f"Margin %, {ov.reference}",
               f"Margin %, {ov.proposed}"]
    return table(headers, rows)


def movers_html(ov: Overview, months: int | None, n: int = TOP_MOVERS) -> str:
    gainers, losers = ov.top_movers(months, n)
    headers = ["Account", "Name", f"{ov.reference}", f"{ov.proposed}", "Change", "Change %"]

    def rows(df: pd.DataFrame) -> list[list[str]]:
        return [
            [r["account_id"], "" if not isinstance(r["name"], str) else r["name"], money(r["reference_revenue"]),
             money(r["revenue"]), money(r["change"]), "—" if pd.isna(r["change_pct"]) else pct(r["change_pct"])]
            for r in df.to_dict("records")
        ]

    def block(title: str, df: pd.DataFrame) -> str:
        shown = table(headers, rows(df), kind="num movers") if len(df) else "<p class='meta'>None.</p>"
        return f"<div><h3>{escape(title)}</h3>{shown}</div>"

    return (
        '<div class="two">'
        + block("Would pay more (the vendor gains)", gainers)
        + block("Would pay less (the vendor loses)", losers)
        + "</div>"
    )


def plans_html(ov: Overview) -> str:
    """Every plan with its role, its terms in words and its version."""
    rows = [[r["plan"], r["role"], r["terms"], r["version"]] for r in ov.plans.to_dict("records")]
    return table(["Plan", "Role", "Terms", "Version"], rows, kind="text plans")


def window_text(months: int | None, ov: Overview) -> str:
    first, last = ov.window(months)
    return month_label(last) if first == last else f"{month_label(first)} to {month_label(last)}"


def render_html(ov: Overview, movers_months: int | None = 1, prepared_on: dt.date | None = None,
                chance: Outlook | None = None) -> str:
    """The brief as one HTML document (self-contained, printable to one or two pages).
    ``chance``: the forecast's outlook (reports.verdict.outlook), in the verdict and a card."""
    prepared = (prepared_on or dt.date.today()).isoformat()
    partial = "" if ov.month_complete else " (the only month in the data, and not complete)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Executive brief: {escape(month_label(ov.month))}</title><style>{BRIEF_STYLE}</style></head>
<body>
<h1>Executive brief <small>{escape(month_label(ov.month))}{escape(partial)}</small></h1>
<p class="verdict"><b>Verdict:</b> {escape(verdict(ov, chance))}</p>
<div class="meta">Definition of resolved <b>{escape(ov.definition_name)}</b> (version
{escape(ov.definition_version)}) · reference plan <b>{escape(ov.reference)}</b> · proposed plan
<b>{escape(ov.proposed)}</b> · plan set version {escape(ov.planset_version)} · prepared {escape(prepared)}</div>
<h2>{escape(month_label(ov.month))}</h2>
<div class="kpis">{kpis_html(ov, chance)}</div>
<h2>Year by year</h2>
{yearly_html(ov)}
<h2>Trends by month</h2><div class="charts">{charts_html(ov)}</div>
<h2>Top movers: {escape(ov.proposed)} against {escape(ov.reference)}, {escape(window_text(movers_months, ov))}</h2>
{movers_html(ov, movers_months)}
<h2>Plans in force</h2>
{plans_html(ov)}
<h2>Method</h2>
<ul class="notes">
<li>"This month" is the last complete month in the data. Revenue, cost to serve and margin are the
backtest of each plan on the logged history, per account and month, exact to the cent.</li>
<li>Resolution rate = tasks counted as one whole outcome under the definition / tasks with the AI live.</li>
<li>Seat revenue at risk = contracted seats beyond the seats the human workload needs (human hours /
{DEFAULT_HOURS_PER_SEAT} h a seat, rounded up) x each account's seat price.</li>
<li>Quality compares tasks with the AI live against the human-only baseline; the reopen rate uses a
{ov.reopen_window_hours:g}-hour window.</li>
<li>The chance that the proposed plan earns more is the share of the forecast's seeded scenarios
(the Forecast page's default run) in which its revenue over the horizon exceeds the reference's.</li>
<li>Versions are short hashes of the definition's knobs and of each plan's terms: the same version
means the same rules.</li>
</ul>
<p class="meta">Prepared with Outcome Pricing Lab from the vendor's own task logs; nothing left the machine.</p>
</body></html>
"""


__all__ = ["line_chart_svg", "month_label", "render_html", "trend_figures"]
