"""Shareable links for a page's own choices (account, month, plan): the state that matters
is in the URL, a link reopens it, and a link value the page cannot use gets a notice.

A select box starts from the link only while the user has not touched it (its
session-state key is absent); afterwards the user's choice wins and is written
back into the URL. The scenario's own parameters (definition, plans) live in
scenario.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

_NOTICE = "links.notice."  # + widget key: (message, the value shown instead)
MAX_SHOWN = 60  # characters of a bad link value repeated in a notice


def start_from_link(param: str, widget_key: str, options: Sequence[str], what: str) -> None:
    """Before drawing the select box `widget_key`: take its first value from the link's
    `param` if it is one of `options`; otherwise remember a notice naming the value."""
    if widget_key in st.session_state:
        if st.session_state[widget_key] in options:
            return
        del st.session_state[widget_key]  # e.g. a plan the edited plan set no longer has
    raw = st.query_params.get(param)
    if raw is None:
        return
    if raw in options:
        st.session_state[widget_key] = raw
        return
    st.session_state[_NOTICE + widget_key] = (f"The link's {what} `{raw[:MAX_SHOWN]}` is not one this page "
                                               f"can show here, so it was ignored.", None)


def follow(param: str, widget_key: str, value: str | None, label: str | None = None) -> None:
    """After drawing the box: show its pending notice (until the user picks another value)
    and mirror the value into the URL (None removes the parameter). `label`: how the
    notice names the value shown instead."""
    pending = st.session_state.get(_NOTICE + widget_key)
    if pending is not None:
        message, shown = pending
        if shown is None:
            st.session_state[_NOTICE + widget_key] = (message, value)
            shown = value
        if shown == value:
            st.warning(f"{message} Showing {label or value or 'the default'} instead.",
                       icon=":material/link_off:")
        else:
            del st.session_state[_NOTICE + widget_key]
    if value is None:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != value:
        st.query_params[param] = value
