"""ROI case (sales): a customer's risk-adjusted multi-year business case, shareable as a link.

Draws what `roi` computed: choose an account, a prospect described by hand or
a prospect's uploaded logs; the plan and definition (defaults from the
sidebar scenario); adjust any assumption. The inputs live in the URL
(`?mode=account&account=A0001&plan=per-outcome&years=3&rate=0.1&risk=0.2...`)
so the link reopens the same case; `roi_link.request_from_query` validates them
and every bad value falls back to its default with a notice naming it.
Rates are entered in percent on the page and travel as fractions in the link
(older links keep working); the conversion happens here, at the boundary.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import fmt
import frame
import plotly.graph_objects as go
import roi_link
import roi_session as session
import scenario
import streamlit as st
from plotly.subplots import make_subplots
from streamlit.delta_generator import DeltaGenerator

from outcome_pricing.analysis import roi
from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.reports import pdf
from outcome_pricing.reports import roi_report as report
from outcome_pricing.reports.vendor import Vendor, load_vendor
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse

SCENARIO_DEFINITION = session.SCENARIO_DEFINITION
MODE_LABELS = {roi.SubjectKind.ACCOUNT: "Account in the warehouse", roi.SubjectKind.PROSPECT: "Prospect (by hand)",
               roi.SubjectKind.UPLOAD: "Prospect (upload logs)"}
K = session.K  # session-state key prefix of this page
MONEY_AXIS = {"tickformat": fmt.MONEY_TICKS}


# ------------------------------------------------------------------ cached engine calls
@st.cache_data(show_spinner=False, max_entries=4)
def _accounts(_wh: Warehouse, version: str) -> tuple[list[str], dict[str, str], str | None]:
    """Account ids, their names (id -> name) and the account a case opens on."""
    return roi.account_ids(_wh), roi.account_names(_wh), roi.default_account(_wh)


@st.cache_data(show_spinner="Measuring from the logs…", max_entries=64)
def _measure_account(_wh: Warehouse, version: str, account: str, plans_toml: str, plan: str,
                     definition_toml: str) -> roi.Measured:
    ctx = roi.CaseContext(PlanSet.from_toml_text(plans_toml), plan, Definition.from_toml_text(definition_toml))
    return roi.measure_account(_wh, account, ctx)


@st.cache_data(show_spinner="Measuring the portfolio…", max_entries=64)
def _measure_prospect(_wh: Warehouse, version: str, prospect: roi.Prospect, plans_toml: str, plan: str,
                      definition_toml: str) -> roi.Measured:
    ctx = roi.CaseContext(PlanSet.from_toml_text(plans_toml), plan, Definition.from_toml_text(definition_toml))
    return roi.measure_prospect(_wh, prospect, ctx)


# ------------------------------------------------------------------ inputs
def _account_label(names: dict[str, str]) -> Callable[[str], str]:
    """'Name (id)' for the account picker; the id alone when the accounts file has no name."""
    return lambda account: f"{names[account]} ({account})" if account in names else account


def _choose_case(accounts: list[str], names: dict[str, str], default_account: str | None,
                 sc: scenario.Scenario) -> tuple[roi.SubjectKind, Definition]:
    picked = st.segmented_control(
        "Case for", list(MODE_LABELS), format_func=lambda m: MODE_LABELS[roi.SubjectKind(m)], key=K + "mode",
        required=True,
        help="Whose case: an account in the warehouse (measured from its own logs), a prospect described "
             "by hand (the portfolio's measured AI effect applied to their figures), or a prospect's "
             "uploaded logs.",
    )
    plans = list(sc.planset.names)
    # The plan set (Price lab) or the data (Data page) may have changed since the choice.
    if st.session_state.get(K + "plan") not in plans:
        st.session_state[K + "plan"] = sc.proposed_plan
    if accounts and st.session_state.get(K + "account") not in accounts:
        st.session_state[K + "account"] = default_account if default_account in accounts else accounts[0]
    left, mid, right = st.columns(3)
    mode = roi.SubjectKind(picked or roi.SubjectKind.ACCOUNT)  # required: never None
    if mode is roi.SubjectKind.ACCOUNT:
        left.selectbox("Account", accounts, key=K + "account", format_func=_account_label(names),
                       help="An account in the warehouse: every measurable assumption comes from its own logs. "
                            "The page opens on the account with the most AI tasks (the most evidence).")
    elif mode is roi.SubjectKind.PROSPECT:
        left.text_input("Prospect name", key=K + "prospect", max_chars=roi_link.MAX_NAME_LENGTH,
                        help="Shown on the case and the report; it goes into the shared link.")
    mid.selectbox("Plan", plans, key=K + "plan", help="The plan the customer would buy (from the sidebar's plan set).")
    presets = Definition.presets()
    choice = right.selectbox("Definition of resolved", [SCENARIO_DEFINITION, *presets], key=K + "definition",
                             help="The rules that decide which tasks are billable outcomes under the plan.")
    return mode, sc.definition if choice == SCENARIO_DEFINITION else presets[choice]


def _frame_inputs() -> None:
    a, b, c = st.columns(3)
    a.number_input("Years", 1, roi.MAX_YEARS, step=1, key=K + "years",
                   help="Horizon of the case after the initial investment (TEI uses 3).")
    b.number_input("Discount rate (%)", 0.0, 100.0, step=1.0, format="%.1f", key=K + "rate_pct",
                   help="Yearly rate for later years; year 0 is not discounted. Forrester uses 10% "
                   "(typically 8% to 16%).")
    c.number_input("Risk adjustment (%)", 0.0, 100.0, step=5.0, format="%.0f", key=K + "risk_pct",
                   help="Haircut on every benefit line (20% = benefits counted at 80%). "
                   "Per line below under Assumptions.")


def _prospect_inputs() -> None:
    cols = st.columns(5)
    cols[0].number_input("Tasks per month", 0.0, roi.SPECS["monthly_volume"].maximum, step=500.0, format="%.0f",
                         key=K + "p.monthly_volume", help=roi.SPECS["monthly_volume"].help)
    cols[1].number_input("Human minutes per task today", *roi_link.HUMAN_MINUTES_RANGE, step=0.5,
                         key=K + "human_minutes",
                         help="Handling time without the AI; the portfolio's measured saving is applied to it.")
    cols[2].number_input("Agent hourly cost ($)", 0.0, roi.SPECS["agent_hourly_cost"].maximum, step=1.0,
                         key=K + "p.agent_hourly_cost", help=roi.SPECS["agent_hourly_cost"].help)
    cols[3].number_input("Seats today", 0.0, roi.SPECS["seats"].maximum, step=1.0, format="%.0f",
                         key=K + "p.seats", help=roi.SPECS["seats"].help)
    cols[4].number_input("Seat price per month ($)", 0.0, roi.SPECS["seat_price"].maximum, step=5.0,
                         key=K + "p.seat_price", help=roi.SPECS["seat_price"].help)


def _upload_inputs() -> tuple[Warehouse, str] | None:
    """A prospect's logs in a throw-away in-memory warehouse, kept for this session only."""
    left, right = st.columns(2)
    tasks = left.file_uploader("Prospect's task logs (CSV or Parquet)", type=["csv", "parquet", "pq"],
                               key=K + "upload.tasks",
                               help="The same columns as the Data page's task log; read into memory for this "
                                    "case only, never stored.")
    accounts = right.file_uploader("Their accounts file (optional)", type=["csv", "parquet", "pq"],
                                   key=K + "upload.accounts",
                                   help="Seats, seat price and agent hourly cost per account; without it those "
                                        "come from the defaults under Assumptions.")
    if tasks is None:
        st.info("Upload the prospect's task logs (the same columns as the Data page). They are read "
                "into memory for this case only and never stored. A shared link cannot carry the "
                "file: upload it again to reopen the case.")
        return None
    files = [f for f in (tasks, accounts) if f is not None]
    digest = hashlib.sha256(b"".join(f.getvalue() for f in files)).hexdigest()[:16]
    cache = st.session_state.setdefault(K + "upload.cache", {})
    if digest not in cache:
        cache.clear()  # one uploaded prospect per session is enough
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for f in files:
                path = Path(tmp) / Path(f.name).name
                path.write_bytes(f.getvalue())
                paths.append(path)
            cache[digest] = frame.guarded(lambda: roi.load_prospect_logs(
                paths[0], paths[1] if len(paths) > 1 else None,
                tasks_name=tasks.name, accounts_name=accounts.name if accounts else None))
    wh: Warehouse = cache[digest]
    ids = roi.account_ids(wh)
    account = st.selectbox("Account in the file", ids, key=K + "upload.account",
                           format_func=_account_label(roi.account_names(wh)),
                           help="The file holds several accounts: the one this case is for.") if len(ids) > 1 else ids[0]
    return wh, str(account)


def _assumption_inputs(measured: roi.Measured, req: roi_link.CaseRequest) -> None:
    """One input per assumption, starting at its measured, default or derived value; a changed
    value becomes an entered one (and goes into the link)."""
    overrides = session.entries(req.mode, req.account)
    subject = session.subject_key(req.mode, req.account)
    reference = roi.editable_assumptions(measured, req.settings())
    skip = set(roi_link.PROSPECT_KEYS) if req.mode is roi.SubjectKind.PROSPECT else set()
    with st.expander("Assumptions (each with its source; change any value to enter your own)"):
        if st.button("Reset to measured values", key=K + "reset",
                     help="Forget every value entered below: each assumption goes back to its measured, "
                          "default or derived value."):
            overrides.clear()  # this subject's entries only
            for widget in [k for k in st.session_state if str(k).startswith(K + "a.")]:
                del st.session_state[widget]
            st.rerun()
        cols = st.columns(3)
        for i, (key, ref) in enumerate((k, a) for k, a in reference.items() if k not in skip):
            value = _assumption_input(cols[i % 3], subject, key, ref, overrides.get(key, ref.value))
            if abs(value - ref.value) <= 1e-9 * max(1.0, abs(ref.value)):
                overrides.pop(key, None)
            else:
                overrides[key] = float(value)


def _assumption_input(col: DeltaGenerator, subject: str, key: str, ref: roi.Assumption, value: float) -> float:
    """One assumption's input; fractions are entered in percent. Returns the value as the engine takes it."""
    spec = ref.spec
    shown = report.assumption_value(ref.value, spec.unit)
    help_text = f"{spec.help}\n\nWithout an entry: {shown} ({ref.source_text()})"
    # Per subject (another account never inherits an entry) and per reference value (new data
    # or another plan starts a new input).
    widget_key = f"{K}a.{subject}.{key}.{ref.value:.12g}"
    if spec.unit == "fraction":
        entered = col.number_input(f"{spec.label} (%)", fmt.to_percent(spec.minimum), fmt.to_percent(spec.maximum),
                                   fmt.to_percent(value), step=1.0, format="%.2f", key=widget_key, help=help_text)
        return fmt.from_percent(entered)
    whole = spec.unit in roi.WHOLE_UNITS
    return float(col.number_input(f"{spec.label} ({spec.unit})", spec.minimum, spec.maximum, value,
                                  step=1.0 if whole else None, format="%.0f" if whole else "%.2f",
                                  key=widget_key, help=help_text))


# ------------------------------------------------------------------ drawing
MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!<>|~$"


def _plain(text: str) -> str:
    """User text shown as itself in markdown (a name like **x** or [x](y) stays literal)."""
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIALS else c for c in text)


def _kpis(case: roi.RoiCase) -> None:
    cols = st.columns(5)
    cols[0].metric("Net present value", fmt.money(case.npv))
    cols[1].metric("ROI", fmt.pct(case.roi))
    cols[2].metric("Payback (months)", "never" if case.payback_months is None else f"{case.payback_months:.1f}",
                   help=report.payback_text(case.payback_months, case.years))
    cols[3].metric("PV of benefits", fmt.money(case.flows.pv_benefits))
    cols[4].metric("PV of costs", fmt.money(case.flows.pv_costs))


def _table(case: roi.RoiCase) -> None:
    """The report's own table (same rows, same formats), so page and report cannot differ."""
    st.html(f"<style>{report.TABLE_STYLE}</style>{report.cash_flow_html(case)}")


def _deal_terms(case: roi.RoiCase) -> None:
    """The plan's deal terms in words, with the totals of their cash-flow lines (the report's table)."""
    body = report.deal_terms_html(case)
    if not body:
        return
    st.subheader("Deal terms: what the contract changes for the customer", anchor=False)
    st.html(f"<style>{report.TABLE_STYLE}</style>{body}")
    st.caption("Each term is a line of the cash flows above with the same amounts (negative lowers the "
               "customer's costs), so the NPV and the payback count it. The projection starts at go-live.")


def _charts(case: roi.RoiCase) -> None:
    years = [y.year for y in case.flows.years]
    labels = roi.period_labels(case.years)
    # Both over the years in one figure: one chart for the browser to draw, not two.
    flows = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                          subplot_titles=("Cumulative net cash flow", "Benefits and costs by year (risk-adjusted)"))
    flows.add_scatter(x=years, y=[y.cumulative for y in case.flows.years], mode="lines+markers",
                      name="cumulative net", line={"color": "#1f77b4"}, row=1, col=1)
    flows.add_hline(y=0, line_color="#999", row=1, col=1)
    if case.payback_years is not None:
        flows.add_vline(x=case.payback_years, line_dash="dash", line_color="green", row=1, col=1,
                        annotation_text=f"payback {case.payback_months:.1f} months")
    flows.add_bar(x=labels, y=[y.benefits for y in case.flows.years], name="benefits", marker_color="#2e7d32",
                  row=1, col=2)
    flows.add_bar(x=labels, y=[y.costs for y in case.flows.years], name="costs", marker_color="#c62828",
                  row=1, col=2)
    flows.update_xaxes(tickvals=years, ticktext=labels, row=1, col=1)
    flows.update_yaxes(MONEY_AXIS)
    flows.update_yaxes(title_text="Cumulative net (undiscounted)", row=1, col=1)
    flows.update_yaxes(title_text="Per year", row=1, col=2)
    flows.update_layout(barmode="group", height=360, margin={"t": 40, "b": 10},
                        legend={"orientation": "h", "y": -0.15})
    st.plotly_chart(flows, width="stretch", config=frame.CHART_CONFIG)
    bars_t = list(reversed(case.tornado))
    tornado = go.Figure([
        go.Bar(y=[report.bar_label(b) for b in bars_t], x=[b.delta_low for b in bars_t], base=case.npv,
               orientation="h", name="assumption at its low end", marker_color="#c62828"),
        go.Bar(y=[report.bar_label(b) for b in bars_t], x=[b.delta_high for b in bars_t], base=case.npv,
               orientation="h", name="at its high end", marker_color="#2e7d32"),
    ])
    tornado.update_layout(title="Sensitivity of NPV (tornado)", barmode="overlay",
                          xaxis={**MONEY_AXIS, "title": "Net present value"},
                          height=120 + 28 * len(bars_t), margin={"t": 40, "b": 10})
    st.plotly_chart(tornado, width="stretch", config=frame.CHART_CONFIG)
    st.caption("Each bar: the NPV with one assumption at the low or high end of the range in brackets. "
               "Measured assumptions swing over their likely range (95% interval), entered ones by ±20%, "
               "the discount rate from 8% to 16%.")


def _details(case: roi.RoiCase) -> None:
    st.subheader("Scenarios")
    # Three rows: a plain table, as the report has it (a data grid is the slowest thing to draw).
    rows = [[s.name.capitalize(), fmt.money(s.npv), fmt.pct(s.roi), report.payback_text(s.payback_months, case.years)]
            for s in case.scenarios]
    st.html(f"<style>{report.TABLE_STYLE}</style>{report.table(['Scenario', 'NPV', 'ROI', 'Payback'], rows)}")
    st.subheader("Assumptions and their sources")
    # The report's table: its Source column wraps, where a grid would cut the sentences off.
    st.html(f"<style>{report.TABLE_STYLE}</style>{report.assumptions_html(case)}")
    st.caption(roi.UNPROVEN_RULE)
    for note in case.notes:
        st.caption(note)
    st.caption(f"Versions: definition {case.definition_name} `{case.definition_version}`, plan {case.plan} "
               f"`{case.plan_version}` (short hashes of the rules and of the plan's terms).")


def _share_and_download(case: roi.RoiCase, req: roi_link.CaseRequest) -> None:
    st.subheader("Share and download")
    # The whole address: this case's parameters and the scenario's (its definition included).
    query = urlencode({**{k: st.query_params[k] for k in st.query_params}, **req.to_query()})
    base = str(st.context.url or "").split("?")[0]
    st.code(f"{base}?{query}" if base else f"?{query}", language=None, wrap_lines=True)
    st.caption("This link reopens the same case: the customer, plan, definition of resolved and every "
               "value you entered (a prospect's uploaded file must be uploaded again). Plans edited in the "
               "Price lab stay in this session: the link names the plan, the receiver sees their own.")
    vendor = frame.guarded(load_vendor)
    a, b, c = st.columns(3)
    a.download_button("Download the report (PDF)", _pdf_maker(case, vendor), file_name="roi-case.pdf",
                      mime="application/pdf", icon=":material/picture_as_pdf:", key=K + "dl.pdf",
                      type="primary", on_click="ignore", disabled=not pdf.pdf_available(),
                      help="The same report as the HTML, printed by Chromium." if pdf.pdf_available() else
                      "No Chromium on the server to print a PDF with (apt-get install chromium); download "
                      "the HTML report and print it to PDF from your browser.")
    # Made on the click, as the PDF: the report with its charts is not built on every run.
    b.download_button("Download the report (HTML)", lambda: report.render_html(case, vendor),
                      file_name="roi-case.html", mime="text/html", icon=":material/download:", key=K + "dl.html")
    c.download_button("Download the cash flows (CSV)", to_safe_csv(roi.cash_flow_table(case)),
                      file_name="roi-cash-flows.csv", mime="text/csv", icon=":material/download:",
                      key=K + "dl.csv")
    if not vendor.configured:
        st.caption(f"The report's sender is not set: {vendor.contact}.")


def _pdf_maker(case: roi.RoiCase, vendor: Vendor) -> Callable[[], bytes]:
    """The PDF, made when the button is clicked (printing takes a few seconds)."""
    return lambda: report.render_pdf(case, vendor)


# ------------------------------------------------------------------ the page
def _current_request(mode: roi.SubjectKind, definition_choice: str) -> roi_link.CaseRequest:
    s = st.session_state
    overrides = dict(session.entries(mode, s.get(K + "account")))
    if mode is roi.SubjectKind.PROSPECT:
        overrides.update({k: float(s[K + "p." + k]) for k in roi_link.PROSPECT_KEYS})
    return roi_link.CaseRequest(
        mode=mode, account=s.get(K + "account"), plan=s[K + "plan"],
        definition=None if definition_choice == SCENARIO_DEFINITION else definition_choice,
        years=int(s[K + "years"]), discount_rate=fmt.from_percent(float(s[K + "rate_pct"])),
        risk_adjustment=fmt.from_percent(float(s[K + "risk_pct"])),
        prospect_name=s[K + "prospect"] or "Prospect", human_minutes=float(s[K + "human_minutes"]),
        overrides=overrides,
    )


def _measure(page: frame.Page, mode: roi.SubjectKind, req: roi_link.CaseRequest,
             ctx: roi.CaseContext) -> roi.Measured | None:
    wh, version = page.wh, page.version
    plans_toml, definition_toml = ctx.planset.to_toml(), ctx.definition.to_toml()
    if mode is roi.SubjectKind.ACCOUNT:
        return frame.guarded(lambda: _measure_account(wh, version, str(req.account), plans_toml,
                                                   ctx.plan, definition_toml))
    if mode is roi.SubjectKind.PROSPECT:
        return frame.guarded(lambda: _measure_prospect(wh, version, req.prospect(), plans_toml,
                                                    ctx.plan, definition_toml))
    upload = _upload_inputs()
    if upload is None:
        return None
    up_wh, account = upload
    return frame.guarded(lambda: roi.measure_account(up_wh, account, ctx, kind=roi.SubjectKind.UPLOAD))


def _open_case(page: frame.Page) -> tuple[roi.SubjectKind, roi.CaseContext]:
    """The case's subject, plan and definition: from the link on the first run, then the widgets."""
    sc = page.scenario
    accounts, names, default_account = _accounts(page.wh, page.version)
    if session.STATE not in st.session_state:
        session.request_from_url(accounts, default_account, sc)
    session.restore()
    for notice in st.session_state.get(K + "notices", []):
        st.warning(notice, icon=":material/link_off:")
    if (st.session_state.get(K + "mode") == roi.SubjectKind.UPLOAD and st.session_state.get(session.FROM_LINK)
            and K + "upload.cache" not in st.session_state):
        st.info("This link is for a case built from uploaded logs: upload the same file again below.")
    mode, definition = _choose_case(accounts, names, default_account, sc)
    if mode is roi.SubjectKind.PROSPECT:
        _prospect_inputs()
    _frame_inputs()
    return mode, roi.CaseContext(sc.planset, str(st.session_state[K + "plan"]), definition)


def _draw(case: roi.RoiCase, req: roi_link.CaseRequest) -> None:
    st.subheader(f"Case: {_plain(case.subject)}", anchor=False)
    st.markdown(f"Plan **{_plain(case.plan)}**: {_plain(case.plan_terms)}.")
    st.caption(f"Plan {case.plan} · definition {case.definition_name} · prepared "
               f"{case.prepared_on.isoformat()} · {case.years} years at {fmt.pct(case.discount_rate)}")
    _kpis(case)
    _table(case)
    _deal_terms(case)
    _charts(case)
    _details(case)
    _share_and_download(case, req)


def main() -> None:
    page = frame.start("What the customer gains at this price: a risk-adjusted business case "
                       "(Forrester TEI style) from their own logs, to share as a link or a one-page report.",
                       empty="No account to build a case for yet.")
    mode, ctx = _open_case(page)
    req = _current_request(mode, st.session_state[K + "definition"])
    measured = _measure(page, mode, req, ctx)
    if measured is None:
        session.remember()
        return
    _assumption_inputs(measured, req)
    req = _current_request(mode, st.session_state[K + "definition"])  # with this run's entered values
    case = frame.guarded(lambda: roi.assemble_case(measured, req.settings(), ctx))
    if req.to_query() != st.session_state.setdefault(K + "opened", req.to_query()):
        st.session_state[K + "notices"] = []  # the user has moved on from the link's case
    session.write_url(req)
    session.remember()
    _draw(case, req)


main()
