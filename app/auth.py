"""Who is using the app: an OIDC login when `[auth]` is configured, else single-user local mode.

- `[auth]` in .streamlit/secrets.toml (see secrets.toml.example): Streamlit's
  own `st.login` / `st.user` / `st.logout` do the OIDC flow and keep the
  identity in a signed cookie; we map `st.user.email` to a role through the
  roles file (access.py). Anyone not in the file is refused (deny by default).
- No secrets file, or one without `[auth]`: single-user local mode. Whoever
  can open the app is its admin (it listens on 127.0.0.1 by default), and a
  banner says so.
- A secrets file that exists but cannot be read fails closed: the app stops
  with a message rather than falling back to local mode.
- `outcome-pricing --as-user EMAIL app` (it sets $OUTCOME_PRICING_USER for the
  server): without a login, the app is served as that person from the roles file,
  with their role and row scope (to show a sales view, say). Fails closed: an empty
  value, a person not in the roles file, or the variable together with a configured
  login (two identities) stop the app with a message.

There is no test-only way in: tests use Streamlit's AppTest, which seeds
`st.user` (AppTest.user) and `st.secrets` (AppTest.secrets) the way a real
login does, so they go through exactly this code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import streamlit as st

from outcome_pricing.access import (
    USER_ENV,
    AccessDeniedError,
    Principal,
    load_roles,
    principal_for,
    requested_identity,
)
from outcome_pricing.errors import ConfigError

LOCAL_MODE_BANNER = (
    ":material/lock_open: **Single-user local mode.** No login is configured "
    "(no `[auth]` section in `.streamlit/secrets.toml`), so whoever opens this app is an admin. "
    "Configure a login before sharing it with a team."
)


class SecretsUnreadable(Exception):
    """A secrets file exists but Streamlit could not load it."""


def auth_settings() -> Mapping[str, object] | None:
    """The `[auth]` section of the secrets, or None when login is not configured.

    Raises SecretsUnreadable when a secrets file exists but did not load, so a
    typo in secrets.toml cannot silently turn login off.
    """
    if st.secrets.load_if_toml_exists():
        section = st.secrets.get("auth")
        return section if isinstance(section, Mapping) and section else None
    files = [Path(f) for f in st.get_option("secrets.files") or []]
    present = [str(f) for f in files if f.exists()]
    if present:
        raise SecretsUnreadable(", ".join(present))
    return None


def current_principal() -> Principal:
    """The person using this session; shows the login or refusal screen and stops if needed."""
    try:
        settings = auth_settings()
    except SecretsUnreadable as exc:
        _stop_with(f"The secrets file {exc} exists but could not be read (invalid TOML?). "
                   "Fix it; the app does not start without the login it may configure.")
    imposed = requested_identity()
    if imposed is not None:
        return _imposed_principal(imposed, settings)
    if settings is None:
        return Principal.local_admin()
    if not st.user.get("is_logged_in"):
        _login_screen(settings)
    email = str(st.user.get("email") or "")
    if not email or st.user.get("email_verified") is False:
        _stop_with("Your login did not give a verified e-mail address, so no role can be found.",
                   logout=True)
    try:
        return load_roles().principal(email)
    except (AccessDeniedError, ConfigError) as exc:
        _stop_with(str(exc), logout=True)


def _imposed_principal(email: str, settings: Mapping[str, object] | None) -> Principal:
    """The person named by --as-user ($OUTCOME_PRICING_USER), or the refusal screen."""
    if settings is not None:
        _stop_with(f"${USER_ENV} (from `--as-user`) is set while a login is configured: the app "
                   "does not choose between two identities. Unset it, or remove the [auth] section.")
    try:
        return principal_for(email)
    except (AccessDeniedError, ConfigError) as exc:
        _stop_with(str(exc))


def _login_screen(settings: Mapping[str, object]) -> NoReturn:
    st.title("Outcome Pricing Lab")
    st.info("Pricing data and customer logs are confidential: log in to continue.")
    # [auth.<name>] sub-sections are named providers; client_id in [auth] itself is the default one.
    named = [k for k, v in settings.items() if isinstance(v, Mapping)]
    default = [None] if "client_id" in settings or not named else []
    for provider in default + named:
        label = f"Log in with {provider}" if provider else "Log in"
        st.button(label, on_click=st.login, args=(provider,) if provider else (), type="primary",
                  key=f"login_{provider or 'default'}")
    st.stop()


def _stop_with(message: str, logout: bool = False) -> NoReturn:
    st.title("Outcome Pricing Lab")
    st.error(f"**Access denied.** {message}")
    if logout:
        st.button("Log out", on_click=st.logout, key="logout_refused")
    st.stop()


def sidebar(person: Principal) -> None:
    """Who is logged in and a log-out button; in local mode, the banner."""
    if person.local:
        st.sidebar.info(LOCAL_MODE_BANNER)
        return
    st.sidebar.caption(f":material/person: {person.email} · {person.role.value}")
    if requested_identity() is not None:  # served --as-user: nobody logged in to log out
        st.sidebar.caption(f"Served as this person (`--as-user`, ${USER_ENV}); no login.")
        return
    st.sidebar.button("Log out", on_click=st.logout, key="logout")
