"""AI impact (sales): what changed when the AI went live, with statistics an analyst would sign.

Draws what `impact` computed: the headline in words, KPI cards, every metric
with its 95% interval and p-value, the distributions baseline against AI, the
per-topic breakdown (the mix shift: AI takes the easy topics), the trend
around each account's go-live, and a power calculator for planning a pilot.
"""

from __future__ import annotations

from typing import Literal

import fmt
import frame
import links
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from outcome_pricing.errors import OutcomePricingError
from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.proof import impact, stats
from outcome_pricing.warehouse import Warehouse

ALL = "All accounts"
DISTRIBUTION_METRICS = {
    "human_minutes": "Human minutes per task",
    "human_minutes_per_handled_task": "Human minutes per human-handled task",
    "resolution_hours": "Resolution time (hours)",
    "csat": "CSAT (1-5)",
}
TREND_METRICS = {
    "human_minutes": "Human minutes per task",
    "resolution_hours": "Resolution time (hours)",
    "missed_issue_rate": "Missed-issue rate",
    "reopen_rate": "Reopen rate",
    "csat": "CSAT (1-5)",
}
ARM_COLORS = {"baseline": "#8c8c8c", "AI": "#1f77b4"}


# ------------------------------------------------------------------ cached engine calls
@st.cache_data(show_spinner=False, max_entries=8)
def _accounts(_wh: Warehouse, version: str) -> pd.DataFrame:
    return impact.go_live_months(_wh)


@st.cache_data(show_spinner="Measuring the AI's impact…", max_entries=64)
def _summary(_wh: Warehouse, account: str | None, window: float, version: str) -> impact.ImpactSummary:
    return impact.impact_summary(_wh, account, reopen_window_hours=window)


@st.cache_data(show_spinner=False, max_entries=64)
def _breakdown(_wh: Warehouse, by: Literal["topic", "account_id"], account: str | None, window: float, version: str) -> pd.DataFrame:
    return impact.impact_by(_wh, by, account, reopen_window_hours=window)


@st.cache_data(show_spinner=False, max_entries=64)
def _trend(_wh: Warehouse, account: str | None, window: float, version: str) -> pd.DataFrame:
    return impact.trend_by_go_live(_wh, account, reopen_window_hours=window)


@st.cache_data(show_spinner=False, max_entries=64)
def _sample(_wh: Warehouse, metric: str, account: str | None, version: str) -> pd.DataFrame:
    return impact.distribution_sample(_wh, metric, account, per_arm=3000)


@st.cache_data(show_spinner=False, max_entries=64)
def _sd(_wh: Warehouse, account: str | None, version: str) -> float | None:
    return impact.sd_of(_wh, "human_minutes", account)


# ------------------------------------------------------------------ controls
def _pick_account(accounts: pd.DataFrame) -> str | None:
    """All accounts, or one: from the link (?account=ID) until the user picks, then mirrored
    into it; an account the link names but the data lacks gets a notice."""
    labels: dict[str, str] = {ALL: ALL}
    for a, name in zip(accounts["account_id"], accounts["name"], strict=True):
        labels[a] = f"{name} ({a})" if isinstance(name, str) and name else a
    options = list(labels)
    links.start_from_link("account", "impact.account", options[1:], "account")
    choice = st.selectbox(
        "Account", options, format_func=lambda a: labels[a], key="impact.account",
        help="Compare one customer's own tasks before and after its AI went live, or all accounts pooled.",
    )
    picked = None if choice is None or choice == ALL else str(choice)
    links.follow("account", "impact.account", picked, labels[picked] if picked else ALL.lower())
    return picked


# ------------------------------------------------------------------ drawing
def _kpis(s: impact.ImpactSummary) -> None:
    cards = [
        ("human_minutes", "Human minutes per task"),
        ("human_minutes_mix_adjusted", "Human minutes, same topic mix"),
        ("missed_issue_rate", "Missed-issue rate"),
        ("reopen_rate", "Reopen rate"),
        ("resolution_hours", "Resolution hours"),
        ("handoff_rate", "Handoff rate (AI)"),
    ]
    for col, (key, title) in zip([*st.columns(3), *st.columns(3)], cards, strict=True):
        c = s.comparisons[key]
        # Colour only a change the data show (interval excluding zero): less human time,
        # fewer misses, fewer reopens is good; an interval across zero is "no clear change", grey.
        col.metric(
            title,
            impact.format_value(c.ai, c.unit),
            delta=impact.card_change(c),
            delta_color="inverse" if c.significant else "off",
            delta_arrow="auto" if c.significant else "off",
            help=f"AI arm; change against baseline ({impact.format_value(c.baseline, c.unit)}), "
            f"95% interval {impact.format_interval(c)}. {impact.METRICS[key].definition}",
        )


def _all_metrics(s: impact.ImpactSummary) -> None:
    table = s.display_table()
    if not table["Warning"].astype(bool).any():
        table = table.drop(columns=["Warning"])  # an empty column only takes the room the test names need
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"Metric": st.column_config.TextColumn(width="medium"),
                                "Test": st.column_config.TextColumn(width="medium")})
    st.caption(
        "Change = AI minus baseline. Means: percentile bootstrap interval "
        f"({fmt.count(s.resamples)} resamples, seed {s.seed}) and a Mann-Whitney U test. Rates: Newcombe "
        "(Wilson) interval and a chi-square test, or Fisher's exact test when an expected count "
        "is below 5. Same topic mix: per-topic differences weighted by the AI arm's topic mix."
    )
    scope = s.account_id or "all"
    st.download_button(
        "Download the metrics (CSV)", to_safe_csv(s.table()), file_name=f"ai_impact_{scope}.csv",
        mime="text/csv", icon=":material/download:",
        help="Every metric with both arms, the change, its interval, p-value, n and any warning.",
    )
    with st.expander("How each metric is defined"):
        for key, m in impact.METRICS.items():
            text = m.definition
            if key == "reopen_rate":
                text += f" Window: {s.reopen_window_hours:g} hours."
            st.markdown(f"**{m.label[0].upper()}{m.label[1:]}** ({m.unit}): {text}")


def _distributions(wh: Warehouse, account: str | None, version: str) -> None:
    metric = st.selectbox(
        "Metric", list(DISTRIBUTION_METRICS), format_func=lambda m: DISTRIBUTION_METRICS[m],
        key="impact.dist_metric", persist_state="session",
        help="Cumulative share of tasks at or below each value, for a seeded sample of up to "
        "3,000 tasks per arm.",
    )
    sample = _sample(wh, metric, account, version)
    if sample.empty:
        st.info("No tasks with this value in the selection.")
        return
    fig = px.ecdf(sample, x="value", color="arm", color_discrete_map=ARM_COLORS,
                  labels={"value": DISTRIBUTION_METRICS[metric], "arm": "", "probability": "share of tasks"})
    full = st.toggle("Show the longest 1% too", key="impact.full_range", persist_state="session",
                     help="Off: the axis stops at the 99th percentile so the bulk of tasks is readable.")
    if not full and metric != "csat":
        fig.update_xaxes(range=[0, float(sample["value"].quantile(0.99))])
    fig.update_yaxes(tickformat=fmt.PERCENT_TICKS, title="share of tasks at or below")
    st.plotly_chart(fig, width="stretch", config=frame.CHART_CONFIG)
    st.caption("A curve further left and higher means shorter times. Tasks with 0 human minutes "
               "(the AI closed them alone) form the step at the left of the AI curve.")


@frame.shared_figure
def _topic_figures(_topics: pd.DataFrame, version: str, account: str | None, window: float) -> tuple[go.Figure, go.Figure]:
    """Mix of work and human minutes by topic: built once per data version and selection (frame.shared_figure)."""
    topics = _topics.assign(topic=_topics["topic"].map(lambda t: fmt.label(str(t))))  # password_reset -> Password reset
    mix = topics.melt(id_vars="topic", value_vars=["share_baseline", "share_ai"], var_name="arm", value_name="share")
    mix["arm"] = mix["arm"].map({"share_baseline": "baseline", "share_ai": "AI"})
    mix_figure = px.bar(mix, x="share", y="topic", color="arm", barmode="group", color_discrete_map=ARM_COLORS,
                        title="Mix of work: share of each arm's tasks", labels={"share": "", "topic": "", "arm": ""})
    mix_figure.update_xaxes(tickformat=fmt.PERCENT_TICKS)
    minutes = topics.melt(id_vars="topic", value_vars=["human_minutes_baseline", "human_minutes_ai"],
                          var_name="arm", value_name="minutes")
    minutes["arm"] = minutes["arm"].map({"human_minutes_baseline": "baseline", "human_minutes_ai": "AI"})
    return mix_figure, px.bar(minutes, x="minutes", y="topic", color="arm", barmode="group",
                              color_discrete_map=ARM_COLORS, title="Human minutes per task, by topic",
                              labels={"minutes": "", "topic": "", "arm": ""})


def _by_topic(wh: Warehouse, account: str | None, window: float, version: str) -> None:
    topics = _breakdown(wh, "topic", account, window, version)
    if topics.empty:
        st.info("No tasks in the selection.")
        return
    mix_figure, minutes_figure = _topic_figures(topics, version, account, window)
    left, right = st.columns(2)
    left.plotly_chart(mix_figure, width="stretch", config=frame.CHART_CONFIG)
    right.plotly_chart(minutes_figure, width="stretch", config=frame.CHART_CONFIG)
    st.caption("If the AI arm leans to topics that were quick anyway, the pooled saving overstates the "
               "speed-up; the 'same topic mix' figure compares topic by topic.")
    _breakdown_table(topics, "topic")


def _breakdown_table(df: pd.DataFrame, key: str) -> None:
    shown = [key, "tasks_baseline", "tasks_ai", "human_minutes_baseline", "human_minutes_ai",
             "human_minutes_diff", "human_minutes_diff_ci_low", "human_minutes_diff_ci_high",
             "missed_issue_rate_baseline", "missed_issue_rate_ai", "reopen_rate_baseline", "reopen_rate_ai",
             "handoff_rate_ai", "csat_baseline", "csat_ai", "small_sample"]
    if "share_ai" in df:
        shown[3:3] = ["share_baseline", "share_ai"]
    def label(column: str) -> str:
        for suffix, arm in (("_baseline", " (baseline)"), ("_ai", " (AI)"), ("_diff", ", change")):
            column = column.replace(suffix, arm)
        column = column.replace("_ci_low", ", interval low").replace("_ci_high", ", interval high")
        return fmt.label(column.replace(" ", "_")).replace("_", " ")

    shown_df = df[shown].copy()
    if key == "topic":
        shown_df["topic"] = shown_df["topic"].map(lambda t: fmt.label(str(t)))
    st.dataframe(
        shown_df, hide_index=True, width="stretch",
        column_config={
            "topic": st.column_config.TextColumn("Topic"),
            "account_id": st.column_config.TextColumn("Account"),
            **{c: fmt.percent_column(label(c))
               for c in shown if "rate" in c or c.startswith("share")},
            **{c: st.column_config.NumberColumn(label(c), format="%.2f")
               for c in shown if "minutes" in c or c.startswith("csat")},
            **{c: st.column_config.NumberColumn(label(c), format="localized") for c in shown if c.startswith("tasks")},
            "small_sample": st.column_config.CheckboxColumn(
                "Small sample", help="Fewer than 30 tasks in an arm: read with care."),
        },
    )
    st.caption("Interval per row: normal approximation (Welch); the headline figures use the bootstrap.")


def _trend_view(wh: Warehouse, account: str | None, window: float, version: str) -> None:
    trend = _trend(wh, account, window, version)
    if trend.empty:
        st.info("No account in the selection has gone live (no ai_go_live date and no AI tasks).")
        return
    metric = st.selectbox("Metric", list(TREND_METRICS), format_func=lambda m: TREND_METRICS[m],
                          key="impact.trend_metric", persist_state="session",
                          help="Months are counted from each account's go-live month (0): "
                          "accounts.ai_go_live, else its first month with an AI task.")
    st.plotly_chart(_trend_figure(trend, version, account, window, metric), width="stretch",
                    config=frame.CHART_CONFIG)
    st.caption("Months far from go-live rest on few accounts (hover for counts).")


@frame.shared_figure
def _trend_figure(_trend: pd.DataFrame, version: str, account: str | None, window: float, metric: str) -> go.Figure:
    """The metric by months from go-live: built once per data version and selection (frame.shared_figure)."""
    trend = _trend
    cols = {f"{metric}_baseline": "baseline", f"{metric}_ai": "AI"}
    if metric == "human_minutes":
        cols["human_minutes"] = "all tasks"
    long = trend.melt(id_vars=["months_from_go_live", "accounts", "tasks"], value_vars=list(cols),
                      var_name="series", value_name="value")
    long["series"] = long["series"].map(cols)
    fig = px.line(long, x="months_from_go_live", y="value", color="series", markers=True,
                  hover_data=["accounts", "tasks"],
                  color_discrete_map={**ARM_COLORS, "all tasks": "#2ca02c"},
                  labels={"months_from_go_live": "Months from go-live", "value": TREND_METRICS[metric],
                          "series": ""})
    fig.add_vline(x=0, line_dash="dot", annotation_text="go-live")
    if "rate" in metric:
        fig.update_yaxes(tickformat=fmt.PERCENT_HOVER)
    return fig


def _per_account(wh: Warehouse, window: float, version: str) -> None:
    accounts = _breakdown(wh, "account_id", None, window, version)
    _breakdown_table(accounts, "account_id")


def _power(wh: Warehouse, s: impact.ImpactSummary, account: str | None, version: str) -> None:
    st.markdown("How many tasks per arm a pilot needs to show a change, two-sided test.")
    kind = st.radio("Change in", ["human minutes per task", "a rate (e.g. missed issues)"], horizontal=True,
                    key="impact.power_kind", persist_state="session",
                    help="Means use the two-sample t-test; rates the two-proportion normal approximation.")
    a, b, c, d = st.columns(4)
    alpha = a.number_input("False-alarm rate (alpha)", 0.001, 0.5, 0.05, 0.01, key="impact.alpha",
                           persist_state="session",
                           help="Chance of declaring a change when there is none.")
    power = b.number_input("Power", 0.5, 0.99, 0.8, 0.05, key="impact.power", persist_state="session",
                           help="Chance of detecting the change if it is real.")
    try:
        if kind.startswith("human"):
            sd = stats.pilot_sd(_sd(wh, account, version))
            sd = c.number_input("Standard deviation (minutes)", 0.01, 1000.0, round(sd, 2), key="impact.sd",
                                persist_state="session",
                                help="Spread of human minutes per task; defaults to the selection's.")
            change = d.number_input("Change to detect (minutes)", 0.01, 1000.0, 1.0, 0.1, key="impact.delta",
                                    persist_state="session",
                                    help="The smallest saving worth detecting.")
            n = stats.tasks_per_arm_for_mean(change, sd, alpha, power)
            st.metric("Tasks needed per arm", fmt.count(n))
            have = min(s.human_minutes.n_baseline, s.human_minutes.n_ai)
            if have >= 2:
                st.caption(f"With the {fmt.count(have)} tasks of the smaller arm here, the detectable change is "
                           f"{stats.detectable_mean_change(have, sd, alpha, power):.2f} minutes.")
        else:
            base = stats.pilot_baseline_rate(s.missed_issue_rate.baseline)
            p1 = c.number_input("Baseline rate", 0.0, 1.0, round(base, 3), 0.005, format="%.3f", key="impact.p1",
                                persist_state="session",
                                help="Defaults to the selection's baseline missed-issue rate.")
            p2 = d.number_input("Rate to detect", 0.0, 1.0, round(stats.pilot_target_rate(p1), 3), 0.005, format="%.3f",
                                key="impact.p2", persist_state="session", help="The rate you expect with the AI.")
            n = stats.tasks_per_arm_for_rates(p1, p2, alpha, power)
            st.metric("Tasks needed per arm", fmt.count(n),
                      help="For the missed-issue rate these are QA-audited tasks.")
            have = min(s.missed_issue_rate.n_baseline, s.missed_issue_rate.n_ai)
            if have >= 1:
                drop = stats.detectable_rate_change(have, p1, alpha, power, "decrease")
                st.caption(
                    f"With the {fmt.count(have)} audited tasks of the smaller arm here, the smallest detectable "
                    + ("drop is beyond reach." if drop is None else f"drop from {fmt.pct(p1)} is {fmt.points(drop, 2, signed=False)}.")
                )
    except OutcomePricingError as exc:
        frame.show_error(exc)


def main() -> None:
    page = frame.start(
        "What changed when the AI went live: human minutes, resolution time, missed issues, "
        "reopens, handoffs and CSAT, baseline (AI not live) against AI, with 95% intervals.",
        empty="No tasks to compare before and after the go-live yet.",
    )
    wh, version = page.wh, page.version
    if frame.needs_every_task(wh, "Comparing tasks before and after the go-live"):
        return
    top_left, top_right = st.columns([3, 1])
    with top_left:
        account = _pick_account(_accounts(wh, version))
    window = top_right.number_input(
        "Reopen window (hours)", min_value=0.0, max_value=720.0, value=impact.DEFAULT_REOPEN_WINDOW_HOURS,
        step=12.0, format="%.0f", key="impact.window",
        help="A next task from the same requester on the same topic within this many hours of closing "
        "counts as a reopen.",
    )
    s = frame.guarded(lambda: _summary(wh, account, float(window), version))
    _kpis(s)
    st.info(impact.plain_language(s), icon=":material/record_voice_over:")
    for warning in s.warnings:
        st.warning(warning, icon=":material/warning:")
    # Only the open tab is drawn (frame.lazy_tabs): every tab's charts and grids drawn on each run,
    # hidden or not, were most of the page's time in the browser.
    frame.lazy_tabs("impact.view", {
        "All metrics": lambda: _all_metrics(s),
        "Distributions": lambda: _distributions(wh, account, version),
        "By topic": lambda: _by_topic(wh, account, float(window), version),
        "Around go-live": lambda: _trend_view(wh, account, float(window), version),
        "By account": lambda: _per_account(wh, float(window), version),
        "Plan a pilot": lambda: _power(wh, s, account, version),
    })


main()
