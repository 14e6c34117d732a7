"""Editing plans on the Price lab page: the form for the main knobs, new deal shapes
(prices by model tier, a prepaid commitment), the TOML itself, and the one per-outcome
price input. Every edit goes through the plans parser and becomes the scenario's plans."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import replace

import fmt
import frame
import scenario
import streamlit as st
import tomli_w

from outcome_pricing import pricing
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing import words as pricing_words
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Charge, Metric, Plan
from outcome_pricing.warehouse import Warehouse


def _widget_key(*parts: object) -> str:
    """Keys that change with the plans, so every input starts from the plan's current value
    (a key that outlived an edit would hold the old value and undo the edit)."""
    version = hashlib.sha1(scenario.plans_toml().encode()).hexdigest()[:10]
    return ".".join(["lab", version, *map(str, parts)])


# What each plan-level knob means to the account paying the bill.
KNOB_HELP = {
    "platform_fee": "A fixed amount every account pays each month, whatever its usage.",
    "minimum": "The least an account pays in a month: a lower bill is topped up to this amount "
               "(a minimum commitment). 0 means no minimum.",
    "cap": "The most an account pays for usage in a month; usage beyond it is not billed "
           "(the platform fee comes on top). 0 means no cap.",
}


def _priced_above(plan: Plan, proposed: str, charge: Charge) -> bool:
    """The proposed plan's per-outcome price has one input, above the tabs (not a second one here)."""
    if plan.name != proposed or charge.metric is not Metric.OUTCOMES or charge.account_price:
        return False
    return next((c for c in plan.charges if c.metric is Metric.OUTCOMES and not c.account_price), None) is charge


def _knob_form(planset: PlanSet, plan_name: str, proposed: str) -> PlanSet | None:
    """Number inputs for one plan's main knobs; the edited plan set, or None if unchanged."""
    plan = planset.plan(plan_name)
    fields: dict[str, float] = {}
    cols = st.columns(3)
    for col, key in zip(cols, ("platform_fee", "minimum", "cap"), strict=True):
        value = float(getattr(plan, key))
        new = col.number_input(key.replace("_", " ").capitalize() + " ($/month)", min_value=0.0, value=value,
                               step=10.0, format="%.2f", key=_widget_key(plan_name, key), help=KNOB_HELP[key])
        if new != value:
            fields[key] = new  # the plan set rounds form amounts (PlanSet.edited)
    charges: dict[int, dict[str, float]] = {}
    for i, charge in enumerate(plan.charges):
        left, right = st.columns(2)
        included = float(charge.included)
        new_inc = left.number_input(f"{charge.name}: included units", min_value=0.0, value=included, step=10.0,
                                    key=_widget_key(plan_name, i, "included"),
                                    help=f"How many {charge.metric.value.replace('_', ' ')} each account gets free "
                                         f"every month before the {charge.name} charge starts.")
        changes: dict[str, float] = {}
        if new_inc != included:
            changes["included"] = new_inc
        if _priced_above(plan, proposed, charge):
            right.caption(f"{charge.name}: {pricing_words.charge_in_words(charge)}; set with the per-outcome "
                          "price below")
        elif charge.price is not None and not charge.account_price:
            price = float(charge.price)
            new_price = right.number_input(f"{charge.name}: unit price ($)", min_value=0.0, value=price, step=0.01,
                                           format="%.4f", key=_widget_key(plan_name, i, "price"),
                                           help=f"What each {charge.metric.value.replace('_', ' ')} beyond the "
                                                "included units costs the account.")
            if new_price != price:
                changes["price"] = new_price
        else:
            right.caption(f"{charge.name}: {pricing_words.charge_in_words(charge)} (edit it in the TOML tab)")
        if changes:
            charges[i] = changes
    if not fields and not charges:
        return None
    return planset.edited(plan_name, fields, charges)


EDITED = "Edited in the Price lab"


def _use_edited(before: PlanSet, after: PlanSet, plan_name: str) -> None:
    """Make `after` the scenario's plans, the edited plan's description restated from its new
    terms: a description that still said "$0.99 each" after a price edit would mislead every
    page, statement and report that shows it (descriptions are not part of the version)."""
    plan = after.plan(plan_name)
    if plan.version != before.plan(plan_name).version:
        plan = replace(plan, description=f"{EDITED}: {pricing_words.plan_in_words(plan)}.")
        after = after.replace_plan(plan)
    scenario.set_plans_toml(after.to_toml())
    st.rerun()


SHAPES = {
    "model_tier": "Per-outcome price by model tier",
    "commitment": "Prepaid commitment drawn down by outcomes",
}


@st.cache_data(show_spinner=False, max_entries=8)
def _model_tiers(_wh: Warehouse, version: str) -> list[str]:
    tiers = pricing.usage_by_tier(_wh)["model_tier"].dropna().astype(str).unique()
    return sorted(t for t in tiers if t != "default")


def _shape_form(sc: scenario.Scenario, wh: Warehouse, version: str) -> None:
    """A new plan of one of DESIGN 10's shapes from a few inputs, added to the plans and made
    the proposed plan. Written as plan TOML and read back by the plans parser, so every
    rule and bound of the TOML editor applies."""
    shape = st.radio("Shape", list(SHAPES), format_func=SHAPES.__getitem__, horizontal=True, key="lab.shape",
                     help="By model tier: one price per outcome on each model tier (a tier not listed, or "
                          "none, pays the default). Commitment: an amount billed at the start of every period, "
                          "drawn down by the outcome charge; usage beyond it is billed, the rest expires or rolls over.")
    name = st.text_input("New plan's name", value=f"try-{shape.replace('_', '-')}", key=f"lab.shape.{shape}.name",
                         max_chars=60, help="A name not used by another plan.")
    plan: dict[str, object] = {"name": name}
    if shape == "model_tier":
        tiers = _model_tiers(wh, version)
        cols = st.columns(len(tiers) + 1)
        prices: dict[str, float] = {}
        for col, tier in zip(cols, tiers, strict=False):
            prices[tier] = col.number_input(f"Price per outcome, {tier} ($)", min_value=0.0, value=0.99, step=0.05,
                                            format="%.2f", key=f"lab.shape.tier.{tier}",
                                            help=f"What an outcome resolved on the {tier} model costs.")
        prices["default"] = cols[-1].number_input("Price per outcome, any other tier ($)", min_value=0.0,
                                                  value=0.99, step=0.05, format="%.2f", key="lab.shape.tier.default",
                                                  help="Tasks on a tier not listed here, or without a tier.")
        plan["charges"] = [{"metric": "outcomes", "by": "model_tier", "prices": prices}]
    else:
        a, b, c, d = st.columns(4)
        amount = a.number_input("Commitment per period ($)", min_value=0.01, value=600.0, step=50.0, format="%.2f",
                                key="lab.shape.amount", help="Billed in the first month of every period.")
        months = b.number_input("Period (months)", min_value=1, max_value=36, value=3, step=1, key="lab.shape.months",
                                help="Periods start at each account's first charged month.")
        price = c.number_input("Price per outcome ($)", min_value=0.0, value=1.50, step=0.05, format="%.2f",
                               key="lab.shape.price", help="Drawn from the balance; beyond it, billed.")
        rollover = d.toggle("Unused balance rolls over", value=False, key="lab.shape.rollover",
                            help="Off: what is left at a period's end expires (breakage). On: up to the share "
                                 "below rolls into the next period.")
        share = d.number_input("Most that rolls over (% of the amount)", min_value=0.0, max_value=100.0, value=100.0,
                               step=5.0, format="%.0f", key="lab.shape.share", disabled=not rollover)
        commitment: dict[str, object] = {"amount": amount, "months": int(months), "rollover": rollover}
        if rollover:  # the parser takes the share only with a rollover
            commitment["rollover_max_pct"] = fmt.from_percent(share)
        plan["commitment"] = commitment
        plan["charges"] = [{"metric": "outcomes", "price": price}]
    if st.button("Add and propose this plan", icon=":material/add:", key="lab.shape.add"):
        data = tomllib.loads(scenario.plans_toml())
        data["plans"] = [p for p in data.get("plans", []) if p.get("name") != name] + [plan]
        text = tomli_w.dumps(data)
        try:
            PlanSet.from_toml_text(text, source="the new plan")
        except ConfigError as exc:
            frame.show_error(exc)
            return
        scenario.set_plans_toml(text)
        scenario.propose(name)
        st.rerun()


def plan_editor(sc: scenario.Scenario, wh: Warehouse, version: str) -> None:
    with st.expander("Edit plans", expanded=False, icon=":material/edit:"):
        form_tab, shape_tab, toml_tab = st.tabs(["Main knobs", "New deal shape", "TOML"])
        with shape_tab:
            _shape_form(sc, wh, version)
        with form_tab:
            plan_name = st.selectbox("Plan", sc.planset.names, index=sc.planset.names.index(sc.proposed_plan),
                                     key="lab.edit_plan",
                                     help="The plan whose prices you change here. Edits apply to every page, "
                                          "since all pages share the plans chosen in the sidebar.")
            try:
                edited = _knob_form(sc.planset, plan_name, sc.proposed_plan)
            except ConfigError as exc:
                frame.show_error(exc)
                edited = None
            if edited is not None:
                _use_edited(sc.planset, edited, plan_name)
        with toml_tab:
            text = st.text_area("Plans TOML", value=scenario.plans_toml(), height=360, key=_widget_key("toml"),
                                help="Every plan written out: platform fee, minimum, cap and charges (flat or "
                                     "tiered prices, included units), plus the cost to serve. Edit, then press "
                                     "Apply TOML; a mistake is named by plan and key and nothing changes.")
            upload = st.file_uploader("Upload a plans TOML", type=["toml"], key="lab.upload",
                                      help="A plans file downloaded from here or written by hand in the same "
                                           "format. Press Use uploaded file to price the history with it.")
            left, mid, right = st.columns(3)
            if left.button("Apply TOML", icon=":material/check:"):
                _apply_text(text)
            if upload is not None and mid.button("Use uploaded file", icon=":material/upload:"):
                _apply_text(upload.getvalue().decode("utf-8", errors="replace"), upload.name)
            right.download_button("Download plans.toml", scenario.plans_toml(), file_name="plans.toml",
                                  mime="application/toml", icon=":material/download:")
            if st.button("Back to the example plans", icon=":material/restart_alt:"):
                scenario.set_plans_toml(pricing.example_plans_text())
                st.rerun()


def _apply_text(text: str, source: str = "plans TOML") -> None:
    try:
        PlanSet.from_toml_text(text, source=source)
    except ConfigError as exc:
        frame.show_error(exc)
        return
    scenario.set_plans_toml(text)
    st.rerun()


def outcome_price_input(sc: scenario.Scenario) -> None:
    """The one knob everybody asks about: the proposed plan's per-outcome price."""
    plan = sc.planset.plan(sc.proposed_plan)
    current = plan.outcome_price()
    if current is None:
        st.caption(f"Plan **{plan.name}** has no outcome charge; pick one with outcomes to sweep its price.")
        return
    new = st.number_input(f"Per-outcome price of **{plan.name}** ($)", min_value=0.0, value=float(current), step=0.05,
                          format="%.2f", key=_widget_key("outcome_price", plan.name),
                          help="What the proposed plan charges for each resolved conversation (a billable "
                               "outcome under the sidebar's definition of resolved). Changing it re-prices the "
                               "whole history on every page; a tiered price keeps its ladder's shape.")
    repriced = plan.with_outcome_price(new)  # the plan rounds a form's float (one place)
    if repriced.outcome_price() != current:
        _use_edited(sc.planset, sc.planset.replace_plan(repriced), plan.name)
