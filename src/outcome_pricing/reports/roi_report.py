"""The ROI case as one self-contained HTML page (no network: no CDN, no web fonts).

Charts are inline SVG drawn here (a few kilobytes, readable without
JavaScript and printable); the CSV of the cash flows is embedded as a data
link. Every string that came from a user or a data file (account names,
plan and definition names, notes) goes through `html.escape` before it
reaches the page: a hostile account name shows as text, never runs.

PDF: `render_pdf` prints this same page with headless Chromium (reports/pdf.py),
so the PDF and the HTML carry the same content and figures. The sender (vendor
name and contact) comes from the vendor settings file (reports/vendor.py).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from outcome_pricing.analysis.roi import (
    RISK_KEYS,
    RoiCase,
    TornadoBar,
    cash_flow_table,
    period_labels,
    value_text,
)
from outcome_pricing.analysis.roi.cashflows import present_value
from outcome_pricing.analysis.roi.estimation import UNPROVEN_RULE
from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.reports.vendor import Vendor, load_vendor

BENEFIT_COLOUR = "#2e7d32"
COST_COLOUR = "#c62828"
NET_COLOUR = "#1565c0"
MUTED = "#666"


# ------------------------------------------------------------------ formats
def money(value: float | None) -> str:
    """Whole dollars: $1,234; negative as -$1,234; None as an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    dollars = f"${abs(value):,.0f}"
    return f"-{dollars}" if round(value) < 0 else dollars


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def payback_text(months: float | None, years: int) -> str:
    if months is None:
        return f"does not pay back within {years} years"
    return f"{months:.1f} months"


def assumption_value(value: float, unit: str) -> str:
    """An assumption as its unit reads (one rule for the report, the page and the sources)."""
    return value_text(value, unit)


def money_short(value: float) -> str:
    """Axis labels: $0, $500, $40k, $1.2M, -$25k."""
    a = abs(value)
    if a >= 1e6:
        shown = f"${a / 1e6:.1f}M".replace(".0M", "M")
    elif a >= 1e3:
        shown = f"${a / 1e3:.0f}k" if a >= 1e4 else f"${a / 1e3:.1f}k".replace(".0k", "k")
    else:
        shown = f"${a:,.0f}"
    return f"-{shown}" if value < 0 and shown != "$0" else shown


def nice_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round values (1, 2, 2.5 or 5 x a power of ten apart) covering lo..hi, at most ``most``."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) // step) + 1)]


# ------------------------------------------------------------------ SVG
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 520, 240, 70, 16, 16, 36


def scale(lo: float, hi: float, a: float, b: float) -> Any:
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def text(x: float, y: float, s: str, anchor: str = "middle", size: int = 11, fill: str = "#333") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}">{escape(s)}</text>'
    )


def svg(body: list[str], title: str, height: int = H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" role="img" '
        f'aria-label="{escape(title)}" width="100%" style="max-width:{W}px">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def y_axis(y: Any, lo: float, hi: float, fmt: Callable[[float], str] = money) -> list[str]:
    """Grid lines at the low end, zero and the high end, labelled in ``fmt`` (default whole
    dollars); labels that would overlap are dropped."""
    out: list[str] = []
    shown: list[float] = []
    for v in sorted({min(lo, 0.0), 0.0, max(hi, 0.0)}, key=lambda v: v != 0):
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="{"#999" if v == 0 else "#eee"}"/>')
        if all(abs(y(v) - s) >= 14 for s in shown):
            shown.append(y(v))
            out.append(text(PAD_L - 6, y(v) + 4, fmt(v), "end", 10, MUTED))
    return out


def benefits_costs_svg(labels: Sequence[str], benefits: Sequence[float], costs: Sequence[float]) -> str:
    """Grouped bars: risk-adjusted benefits and costs by period."""
    hi = max([*benefits, *costs, 1.0])
    y = scale(0.0, hi, H - PAD_B, PAD_T)
    slot = (W - PAD_L - PAD_R) / len(labels)
    bar = slot * 0.35
    body = y_axis(y, 0.0, hi)
    for i, label in enumerate(labels):
        x0 = PAD_L + i * slot + slot * 0.15
        for j, (v, colour) in enumerate(((benefits[i], BENEFIT_COLOUR), (costs[i], COST_COLOUR))):
            body.append(f'<rect x="{x0 + j * bar:.1f}" y="{y(v):.1f}" width="{bar:.1f}" '
                        f'height="{y(0) - y(v):.1f}" fill="{colour}"/>')
        body.append(text(PAD_L + (i + 0.5) * slot, H - PAD_B + 16, label))
    body.append(text(W - PAD_R, PAD_T + 4, "■ benefits", "end", 11, BENEFIT_COLOUR))
    body.append(text(W - PAD_R, PAD_T + 18, "■ costs", "end", 11, COST_COLOUR))
    return svg(body, "Benefits and costs by year")


def cumulative_svg(cumulative: Sequence[float], payback_months: float | None) -> str:
    """Cumulative net cash flow at each year end, with the payback point marked."""
    years = len(cumulative) - 1
    y = scale(min(cumulative), max(cumulative), H - PAD_B, PAD_T)

    def x(year: float) -> float:
        return PAD_L + year / max(years, 1) * (W - PAD_L - PAD_R)

    body = y_axis(y, min(cumulative), max(cumulative))
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(cumulative))
    body.append(f'<polyline points="{points}" fill="none" stroke="{NET_COLOUR}" stroke-width="2.5"/>')
    for i, v in enumerate(cumulative):
        body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{NET_COLOUR}"/>')
        body.append(text(x(i), H - PAD_B + 16, "Initial" if i == 0 else f"Year {i}"))
    if payback_months is not None and payback_months <= years * 12:
        px = x(payback_months / 12)
        body.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{PAD_T}" y2="{H - PAD_B}" '
                    f'stroke="{BENEFIT_COLOUR}" stroke-dasharray="4 3"/>')
        body.append(text(px + 4, PAD_T + 10, f"payback {payback_months:.1f} months", "start", 11,
                          BENEFIT_COLOUR))
    return svg(body, "Cumulative net cash flow")


def bar_label(b: TornadoBar) -> str:
    """'Tasks per month (225 to 337)': the assumption and the range it swings over."""
    if b.key == "discount_rate":
        return f"{b.label} ({b.low_value:.0%} to {b.high_value:.0%})"
    from outcome_pricing.analysis.roi import SPECS

    unit = SPECS[b.key].unit
    return f"{b.label} ({value_text(b.low_value, unit, bare=True)} to {value_text(b.high_value, unit, bare=True)})"


def tornado_svg(bars: Sequence[TornadoBar], base_npv: float) -> str:
    """NPV with each assumption at its low and high end, widest swing on top, on an NPV axis."""
    if not bars:
        return ""
    row_h, left, axis_h = 24, 250, 22
    height = PAD_T + row_h * len(bars) + axis_h + PAD_B
    values = [v for b in bars for v in (b.npv_at_low, b.npv_at_high)] + [base_npv]
    ticks = nice_ticks(min(values), max(values), 7)
    lo, hi = min([*values, *ticks]), max([*values, *ticks])
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return left + (v - lo) / span * (W - left - PAD_R)

    body = []
    bottom = PAD_T + row_h * len(bars)
    for t in ticks:
        body.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{PAD_T}" y2="{bottom}" stroke="#eee"/>')
        body.append(text(x(t), bottom + 14, money_short(t), "middle", 10, MUTED))
    for i, b in enumerate(bars):
        top = PAD_T + i * row_h
        for v, colour in ((b.npv_at_low, COST_COLOUR), (b.npv_at_high, BENEFIT_COLOUR)):
            a, c = sorted((x(v), x(base_npv)))
            body.append(f'<rect x="{a:.1f}" y="{top + 4}" width="{max(c - a, 1):.1f}" '
                        f'height="{row_h - 8}" fill="{colour}" opacity="0.8"/>')
        body.append(text(left - 6, top + row_h / 2 + 4, bar_label(b), "end", 10))
    bx = x(base_npv)
    body.append(f'<line x1="{bx:.1f}" x2="{bx:.1f}" y1="{PAD_T}" y2="{bottom}" stroke="#333"/>')
    body.append(text(left + (W - left - PAD_R) / 2, bottom + axis_h + 6,
                     f"NPV (base {money(base_npv)})", "middle", 10, MUTED))
    body.append(text(left, height - 4, "■ assumption at its low end", "start", 10, COST_COLOUR))
    body.append(text(W - PAD_R, height - 4, "■ at its high end", "end", 10, BENEFIT_COLOUR))
    return svg(body, "Sensitivity of NPV (tornado)", height)


# ------------------------------------------------------------------ HTML pieces
def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = (), kind: str = "num"
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{escape(classes[i]) if i < len(classes) else ""}">'
        + "".join(f"<td>{escape(c)}</td>" for c in r)
        + "</tr>"
        for i, r in enumerate(rows)
    )
    return f'<table class="roi {kind}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def cash_flow_html(case: RoiCase) -> str:
    df = cash_flow_table(case)
    periods = period_labels(case.years)
    headers = ["", "Risk adj.", *periods, "Total", "PV"]
    rows = []
    for r in df.to_dict(orient="records"):
        risk = r["risk_adjustment"]
        rows.append([
            r["line"],
            "" if math.isnan(risk) else pct(risk, 0),
            *(money(r[p]) for p in periods),
            money(r["Total"]),
            money(r["PV"]),
        ])
    return table(headers, rows, list(df["kind"]))


def deal_terms_html(case: RoiCase) -> str:
    """The plan's deal terms, each with what it means and the totals of its cash-flow line
    (empty for a plan without terms: no section at all)."""
    if not case.deal_terms:
        return ""
    rate = case.discount_rate
    rows = [[t.term, t.meaning, money(sum(t.amounts)), money(present_value(t.amounts, rate))] for t in case.deal_terms]
    return table(["Term", "What it means for you", f"Over {case.years} years", "PV"], rows, kind="text terms")


def assumptions_html(case: RoiCase) -> str:
    rows = [
        [a.spec.label, assumption_value(a.value, a.spec.unit), a.source_text()]
        for a in case.assumptions.values()
    ]
    return table(["Assumption", "Value", "Source"], rows, kind="text")


def scenarios_html(case: RoiCase) -> str:
    rows = [
        [s.name.capitalize(), money(s.npv), pct(s.roi), payback_text(s.payback_months, case.years)]
        for s in case.scenarios
    ]
    return table(["Scenario", "NPV", "ROI", "Payback"], rows)


def csv_data_link(case: RoiCase) -> str:
    data = base64.b64encode(to_safe_csv(cash_flow_table(case))).decode("ascii")
    return (
        f'<a download="roi-cash-flows.csv" href="data:text/csv;base64,{data}">'
        "Download the cash flows (CSV)</a>"
    )


# No fixed text colours: the ROI page draws this table on the app's theme, dark included.
TABLE_STYLE = """
table.roi{border-collapse:collapse;width:100%;font-size:.88em;margin:6px 0}
table.roi th,table.roi td{border-bottom:1px solid rgba(128,128,128,.25);padding:4px 8px;text-align:right}
table.roi th:first-child,table.roi td:first-child,table.roi.text td,table.roi.text th{text-align:left}
table.roi.text td:nth-child(2){text-align:right;white-space:nowrap}
table.roi tr.total td,table.roi tr.net td{font-weight:600}
table.roi tr.cumulative td{opacity:.8;font-style:italic}
table.roi tr.memo td{opacity:.8;font-style:italic}table.roi tr.memo td:first-child{padding-left:22px}
table.roi.terms td:nth-child(2){text-align:left;white-space:normal}
table.roi.terms td:nth-child(3),table.roi.terms td:nth-child(4){text-align:right;white-space:nowrap}
"""
STYLE = TABLE_STYLE + """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1060px;
color:#222;line-height:1.4;padding:0 16px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.15em;margin:22px 0 8px;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9em}.kpis{display:flex;gap:14px;flex-wrap:wrap;margin:14px 0}
.kpi{border:1px solid #ddd;border-radius:8px;padding:8px 14px;min-width:140px}
.kpi b{display:block;font-size:1.35em}.kpi span{color:#666;font-size:.85em}
.charts{display:flex;flex-wrap:wrap;gap:18px}
.charts figure{margin:0;flex:1 1 480px}figcaption{font-size:.85em;color:#555}
.notes{font-size:.85em;color:#444}
.sender{display:flex;justify-content:space-between;align-items:baseline;gap:12px;flex-wrap:wrap;
border-bottom:3px solid #1565c0;padding-bottom:6px;margin-bottom:14px}
.sender b{font-size:1.15em}.sender span{color:#555;font-size:.85em}
.sender.unset{border-bottom-color:#c62828}.sender.unset b,.sender.unset span{color:#c62828}
.terms{font-size:1.02em;margin:6px 0 8px}.footnote{font-size:.8em;color:#555;margin:8px 0 0}
.charts figure.wide{flex:1 1 100%}
@page{size:A4;margin:10mm 11mm}
@media print{body{margin:0;max-width:none;font-size:8.5pt;padding:0}a{display:none}
h1{font-size:15pt}h2{font-size:10.5pt;margin:10px 0 5px;break-after:avoid}
.kpis{gap:6px;margin:8px 0;flex-wrap:nowrap}.kpi{min-width:0;flex:1 1 0;padding:4px 8px}.kpi b{font-size:12pt}
table.roi{font-size:8pt}table.roi th,table.roi td{padding:2px 5px}
table,svg,figure,.kpis{break-inside:avoid}.charts{gap:10px}.charts figure{flex:1 1 45%}
.charts figure.wide{flex:1 1 100%;max-width:66%}figcaption{font-size:7.5pt}
.notes{font-size:7.5pt;margin:4px 0;padding-left:16px}.footnote{font-size:7pt}}
"""


def _kpis_html(case: RoiCase) -> str:
    f = case.flows
    return "".join(
        f'<div class="kpi"><span>{escape(k)}</span><b>{escape(v)}</b></div>'
        for k, v in (
            ("Net present value", money(f.npv)),
            ("ROI", pct(f.roi)),
            ("Payback", payback_text(f.payback_months, case.years)),
            ("PV of benefits", money(f.pv_benefits)),
            ("PV of costs", money(f.pv_costs)),
        )
    )


def _charts_html(case: RoiCase) -> str:
    f = case.flows
    labels = period_labels(case.years)
    return "".join(
        f'<figure class="{kind}">{drawing}<figcaption>{escape(cap)}</figcaption></figure>'
        for kind, drawing, cap in (
            ("half", cumulative_svg([y.cumulative for y in f.years], f.payback_months),
             "Cumulative net cash flow (undiscounted), payback marked."),
            ("half", benefits_costs_svg(labels, [y.benefits for y in f.years], [y.costs for y in f.years]),
             "Risk-adjusted benefits and costs by year (undiscounted)."),
            ("wide", tornado_svg(case.tornado, f.npv),
             "NPV with each assumption at its low and high end (in brackets): measured ones over their "
             "likely range (95% interval), entered ones ±20%, the discount rate 8% to 16%."),
        )
    )


def _sender_html(vendor: Vendor) -> str:
    contact = vendor.contact_line()
    cls = "sender" if vendor.configured else "sender unset"
    return (f'<div class="{cls}"><b>{escape(vendor.name)}</b>'
            + (f"<span>{escape(contact)}</span>" if contact else "") + "</div>")


def _terms_html(case: RoiCase) -> str:
    terms = f": {escape(case.plan_terms)}" if case.plan_terms else ""
    return (f'<p class="terms">Plan <b>{escape(case.plan)}</b>{terms}. What counts as resolved: '
            f"<b>{escape(case.definition_name)}</b><sup>1</sup>.</p>")


def _footnote_html(case: RoiCase, vendor: Vendor) -> str:
    plan = f"; plan {escape(case.plan)} version {escape(case.plan_version)}" if case.plan_version else ""
    by = f"by {escape(vendor.name)} " if vendor.configured else ""
    return (f'<p class="footnote"><sup>1</sup> Versions: definition of resolved {escape(case.definition_name)} '
            f"version {escape(case.definition_version)}{plan}. A version is a short hash of the rules "
            "(or of the plan's terms): the same version means the same rules.<br>"
            f"Prepared {by}with Outcome Pricing Lab. Figures are projections from the customer's logs and "
            "the assumptions above; every number can be recomputed from this page.</p>")


def _deal_terms_section(case: RoiCase) -> str:
    body = deal_terms_html(case)
    if not body:
        return ""
    return ('<h2>Deal terms: what the contract changes for you</h2>' + body
            + '<p class="notes">Each term is a line of the cash flows above with the same amounts (negative '
            "lowers your costs), so the NPV and the payback count it. The projection starts at go-live.</p>")


def render_html(case: RoiCase, vendor: Vendor | None = None) -> str:
    """The whole report as one HTML document (self-contained). ``vendor``: the sender
    (default: the vendor settings file, see reports/vendor.py)."""
    vendor = vendor or load_vendor()
    risk = ", ".join(f"{line} {pct(case.assumptions[key].value, 0)}" for line, key in RISK_KEYS.items())
    notes = "".join(f"<li>{escape(n)}</li>" for n in case.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ROI case: {escape(case.subject)}</title><style>{STYLE}</style></head>
<body>
{_sender_html(vendor)}
<h1>ROI case: {escape(case.subject)}</h1>
{_terms_html(case)}
<div class="meta">Prepared {escape(case.prepared_on.isoformat())}{escape(" by " + vendor.name) if vendor.configured else ""}
· {case.years} years ·
discount rate {pct(case.discount_rate)} · risk adjustment {escape(risk)}</div>
<div class="kpis">{_kpis_html(case)}</div>
<h2>Cash flows (risk-adjusted)</h2>
{cash_flow_html(case)}
<p class="meta">{csv_data_link(case)}</p>
{_deal_terms_section(case)}
<h2>Scenarios</h2>
{scenarios_html(case)}
<h2>Charts</h2><div class="charts">{_charts_html(case)}</div>
<h2>Assumptions and their sources</h2>
{assumptions_html(case)}
<h2>Method</h2>
<ul class="notes">
<li>Forrester Total Economic Impact structure: benefits, costs, risk adjustment. The initial
investment is at year 0 and is not discounted; later years are discounted at year end.</li>
<li>Each benefit line is multiplied by (1 - its risk adjustment) once, before summing; costs are
not adjusted.</li>
<li>NPV = Σ net<sub>y</sub> / (1 + r)<sup>y</sup>; ROI = (PV benefits - PV costs) / PV costs;
payback = months until the cumulative undiscounted net cash flow reaches zero, interpolated within
the year.</li>
<li>Labour = tasks x minutes saved / 60 x agent hourly cost. Quality = tasks x missed issues avoided
per task x cost per missed issue.</li>
<li>{escape(UNPROVEN_RULE)}</li>
{notes}
</ul>
{_footnote_html(case, vendor)}
</body></html>
"""


def render_pdf(case: RoiCase, vendor: Vendor | None = None) -> bytes:
    """The same report as a PDF, printed by headless Chromium (reports/pdf.py); raises
    PdfUnavailableError, saying what to install, where there is no Chromium."""
    from outcome_pricing.reports.pdf import html_to_pdf

    return html_to_pdf(render_html(case, vendor))
