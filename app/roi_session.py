"""The ROI page's state: the link on the first run, then the session (app/views/roi_case.py).

Streamlit forgets a widget's value when the widget is not drawn (another mode,
another page): `STATE` keeps the last value of each input, so switching modes
or pages never resets the account or the case. Entered assumptions are kept per
subject (`entries`): one account's entries never follow to the next account
or into the prospect tabs. `FROM_LINK` says whether the page was opened from a
link carrying a case (only then does a notice talk about "this link").
"""

from __future__ import annotations

import fmt
import roi_link
import scenario
import streamlit as st

from outcome_pricing.analysis import roi
from outcome_pricing.rules import Definition

K = "roi."  # session-state key prefix of the ROI page
SCENARIO_DEFINITION = "the scenario's definition"


# The page's inputs, as widget keys (K + name).
WIDGETS = ("mode", "account", "plan", "definition", "years", "rate_pct", "risk_pct", "prospect",
           "human_minutes", *(f"p.{k}" for k in roi_link.PROSPECT_KEYS))
STATE = K + "state"
ENTRIES = K + "entries"  # subject -> the assumptions entered for it (never shared between subjects)
FROM_LINK = K + "from_link"  # the page was opened from a link carrying a case


def subject_key(mode: roi.SubjectKind, account: str | None) -> str:
    """Whose entries: one account, the prospect by hand, or the uploaded logs."""
    return f"account:{account}" if mode is roi.SubjectKind.ACCOUNT else str(mode)


def entries(mode: roi.SubjectKind, account: str | None) -> dict[str, float]:
    """The assumptions entered for this subject (a live dict kept in the session)."""
    book: dict[str, dict[str, float]] = st.session_state.setdefault(ENTRIES, {})
    return book.setdefault(subject_key(mode, account), {})


def request_from_url(accounts: list[str], default_account: str | None, sc: scenario.Scenario) -> None:
    """First run of the page in this session: the widgets start from the link."""
    query = {k: st.query_params[k] for k in roi_link.URL_KEYS if k in st.query_params}
    req, notices = roi_link.request_from_query(
        query, accounts=accounts, plans=list(sc.planset.names),
        definitions=list(Definition.presets()), default_plan=sc.proposed_plan,
        default_account=default_account,
    )
    st.session_state[K + "notices"] = notices
    st.session_state[FROM_LINK] = bool(query)
    st.session_state.pop(K + "opened", None)
    skip = set(roi_link.PROSPECT_KEYS) if req.mode is roi.SubjectKind.PROSPECT else set()
    st.session_state[ENTRIES] = {
        subject_key(req.mode, req.account): {k: v for k, v in req.overrides.items() if k not in skip}
    }
    defaults = {
        "mode": str(req.mode), "account": req.account, "plan": req.plan,
        "definition": req.definition or SCENARIO_DEFINITION, "years": req.years,
        "rate_pct": fmt.to_percent(req.discount_rate), "risk_pct": fmt.to_percent(req.risk_adjustment),
        "prospect": req.prospect_name,
        "human_minutes": req.human_minutes,
    }
    prospect = req.prospect()
    defaults.update({f"p.{key}": float(getattr(prospect, key)) for key in roi_link.PROSPECT_KEYS})
    for key, value in defaults.items():
        st.session_state[K + key] = value
    remember()


def restore() -> None:
    """Widgets Streamlit forgot (not drawn on the last run) start from their last value."""
    for key, value in st.session_state.get(STATE, {}).items():
        if K + key not in st.session_state:
            st.session_state[K + key] = value


def remember() -> None:
    state: dict[str, object] = st.session_state.setdefault(STATE, {})
    state.update({key: st.session_state[K + key] for key in WIDGETS if K + key in st.session_state})


def write_url(req: roi_link.CaseRequest) -> None:
    """Keep the address bar equal to the case on screen (only this page's parameters)."""
    wanted = req.to_query()
    for key in roi_link.URL_KEYS:
        if key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
