"""The scenario every page shares: chosen in the sidebar, kept in the session and the URL.

Definition part: the definition of "resolved", a preset or "custom"
knobs set on the Resolution rules page. Mirrored into the URL as `def=<preset>`,
or `def=custom` plus one `d_<knob>` parameter per knob; validated on load, with a
notice (and the default preset) when a link carries bad values.

Plans part: the plan set (the example plans until edited on the Price lab page)
and the reference and proposed plans, mirrored into the URL as `reference_plan=`
and `proposed_plan=`; a name the plan set lacks falls back to the plan set's
defaults (`PlanSet.default_reference` / `default_proposed`, the one place).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from outcome_pricing import pricing
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.rules import (
    DEFAULT_PRESET,
    KNOB_NAMES,
    Definition,
    knobs_from_text,
    knobs_to_text,
    presets,
)

CUSTOM = "custom"

# Session-state keys (one place, so pages never spell them).
_DEFINITION = "scenario.definition"
_PICK = "scenario.definition_pick"  # the sidebar select box
_NOTICE = "scenario.definition_notice"  # why a link's definition was not used

# URL parameters.
URL_DEF = "def"
URL_KNOB_PREFIX = "d_"


@dataclass(frozen=True)
class Scenario:
    """What the user is looking at, the same on every page."""

    definition: Definition
    planset: PlanSet  # the plans being compared
    reference_plan: str  # a name in planset: what changes are measured against
    proposed_plan: str  # a name in planset: the plan the pages examine
    plans_toml: str  # the plan set's TOML text, as edited: what cached functions key on


def current() -> Scenario:
    """The scenario of this browser session."""
    planset = current_planset()
    reference, proposed = _plan_choice(planset)
    return Scenario(definition=definition(), planset=planset, reference_plan=reference, proposed_plan=proposed,
                    plans_toml=plans_toml())


# ------------------------------------------------------------------ definition
def definition() -> Definition:
    """The session's definition: from session state, else from the URL, else the default."""
    stored = st.session_state.get(_DEFINITION)
    if not isinstance(stored, Definition):
        stored = _definition_from_url()
        st.session_state[_DEFINITION] = stored
    return stored


def set_definition(d: Definition) -> None:
    """Make `d` the scenario's definition (a preset, or custom knobs) and mirror it in the URL."""
    st.session_state[_DEFINITION] = d
    st.session_state.pop(_NOTICE, None)
    _definition_to_url(d)


def preset_name(d: Definition) -> str:
    """The preset `d` is exactly (same name and knobs), else "custom"."""
    shipped = presets().get(d.name)
    return d.name if shipped is not None and shipped == d else CUSTOM


def _definition_from_url() -> Definition:
    spec = st.query_params.get(URL_DEF)
    default = Definition.default()
    if spec is None:
        return default
    try:
        if spec == CUSTOM:
            knobs = {
                k: st.query_params[URL_KNOB_PREFIX + k]
                for k in KNOB_NAMES
                if URL_KNOB_PREFIX + k in st.query_params
            }
            return knobs_from_text(knobs, name=CUSTOM, source="the link's definition")
        return Definition.preset(spec)
    except ConfigError as exc:
        # Kept until the user picks a definition, so it survives the page's reruns.
        st.session_state[_NOTICE] = (
            f"The link's definition was not used ({exc}). Showing **{DEFAULT_PRESET}** instead."
        )
        return default


def _definition_to_url(d: Definition) -> None:
    wanted = {URL_DEF: preset_name(d)}
    if wanted[URL_DEF] == CUSTOM:
        wanted |= {URL_KNOB_PREFIX + k: v for k, v in knobs_to_text(d).items()}
    ours = {URL_KNOB_PREFIX + k for k in KNOB_NAMES}
    stale = [k for k in st.query_params if k in ours and k not in wanted]
    for key in stale:
        del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def _picked() -> None:
    """Sidebar callback: runs before the script, so every page sees the new choice."""
    pick = st.session_state[_PICK]
    if pick != CUSTOM:
        set_definition(presets()[pick])


# ------------------------------------------------------------------ sidebar
def render_sidebar() -> None:
    """The scenario controls in the sidebar (called by the router on every page)."""
    d = definition()
    pick = preset_name(d)
    options = [*presets(), *([CUSTOM] if pick == CUSTOM else [])]
    # Set the box from the scenario before drawing it: the Resolution rules page may
    # have switched to custom knobs since the last run.
    if st.session_state.get(_PICK) != pick:
        st.session_state[_PICK] = pick
    with st.sidebar:
        st.selectbox(
            "Definition of resolved",
            options,
            key=_PICK,
            on_change=_picked,
            format_func=lambda name: "custom (set on Resolution rules)" if name == CUSTOM else name,
            help="What counts as a billable outcome on every page. Presets are modelled on public "
            "descriptions of vendors' rules, not the vendors' own rules; edit the knobs on the "
            "Resolution rules page.",
        )
        st.caption(f"Version `{d.version}` · {d.description or 'custom knobs'}")
        if _NOTICE in st.session_state:
            st.warning(st.session_state[_NOTICE])
        _definition_to_url(d)
        render_plan_pickers()


# ------------------------------------------------------------------ plans
# The plans TOML text is the source of truth (plain session state, so it survives page
# changes): the example plans until edited or uploaded on the Price lab page. The reference
# and proposed plans are sidebar select boxes, mirrored in the URL as reference_plan=... and proposed_plan=...
_PLANS_TOML = "scenario.plans_toml"
_REFERENCE = "scenario.reference_plan"
_PROPOSED = "scenario.proposed_plan"
URL_REFERENCE = "reference_plan"
URL_PROPOSED = "proposed_plan"


@st.cache_data(show_spinner=False, max_entries=32)
def _parse_plans(text: str) -> PlanSet:
    return PlanSet.from_toml_text(text, source="plans TOML")


def plans_toml() -> str:
    """The plans TOML in use (pass it to cached functions; parse with PlanSet.from_toml_text)."""
    if _PLANS_TOML not in st.session_state:
        st.session_state[_PLANS_TOML] = pricing.example_plans_text()
    return str(st.session_state[_PLANS_TOML])


def set_plans_toml(text: str) -> None:
    """Use these plans on every page (the Price lab validates the text first)."""
    st.session_state[_PLANS_TOML] = text


def current_planset() -> PlanSet:
    """The session's plan set; the example plans if the stored text no longer parses."""
    try:
        return _parse_plans(plans_toml())
    except ConfigError as exc:
        st.warning(f"The plans in use were not valid ({exc}). Showing the example plans instead.")
        set_plans_toml(pricing.example_plans_text())
        return _parse_plans(plans_toml())


def _plan_choice(planset: PlanSet) -> tuple[str, str]:
    """Reference and proposed plan names valid for this plan set: the sidebar, else the URL, else defaults."""
    defaults = (planset.default_reference(), planset.default_proposed())
    chosen: list[str] = []
    for key, param, default in zip((_REFERENCE, _PROPOSED), (URL_REFERENCE, URL_PROPOSED), defaults, strict=True):
        value = st.session_state.get(key, st.query_params.get(param, default))
        chosen.append(value if isinstance(value, str) and value in planset.names else default)
    return chosen[0], chosen[1]


def propose(name: str) -> None:
    """Make `name` (a plan of the plan set in use) the proposed plan from the next run on:
    the sidebar box takes it from the URL, since its own state cannot be set once drawn."""
    st.session_state.pop(_PROPOSED, None)
    st.query_params[URL_PROPOSED] = name


def render_plan_pickers() -> None:
    """Sidebar: the reference and proposed plans (a new plan set may drop a chosen name)."""
    planset = current_planset()
    reference, proposed = _plan_choice(planset)
    st.session_state[_REFERENCE], st.session_state[_PROPOSED] = reference, proposed
    names = list(planset.names)
    st.selectbox("Reference plan", names, key=_REFERENCE,
                 help="Today's plan: winners and losers and break-even prices are measured against it.")
    st.selectbox("Proposed plan", names, key=_PROPOSED,
                 help="The plan the pages examine (edit plans on the Price lab page).")
    for param, value in ((URL_REFERENCE, reference), (URL_PROPOSED, proposed)):
        if st.query_params.get(param) != value:
            st.query_params[param] = value
