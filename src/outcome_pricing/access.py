"""Who may see what: roles, the pages each role sees, and row-level scopes.

A roles file (TOML, default ``data/roles.toml``, or ``$OUTCOME_PRICING_ROLES``)
maps people (by e-mail, as the login provider reports it) to one role:

- ``admin``: every page, every account, and the only role that may ingest;
- ``pricing``: the pricing pages and the Data page (read-only), every account;
- ``executive``: overview and forecast, every account;
- ``sales``: overview, AI impact, ROI case and statements, and only the
  accounts whose ``accounts.owner`` is one of the person's owner names.

People not in the file get no access (deny by default). The row-level rule is
enforced by the warehouse itself: ``Principal.scope(wh)`` returns
``wh.scoped(owned accounts)``, whose every cursor sees only those accounts, so
an engine function, export or command run for a sales person cannot read
another owner's rows whatever it is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from outcome_pricing.errors import ConfigError, OutcomePricingError
from outcome_pricing.kit import tomlio
from outcome_pricing.warehouse.handle import Warehouse

ROLES_ENV = "OUTCOME_PRICING_ROLES"
# The person a command or the app runs as (the CLI's --as-user sets it for the app).
USER_ENV = "OUTCOME_PRICING_USER"
DEFAULT_ROLES = Path("data") / "roles.toml"
# Longest account id a URL or option may carry; longer input is refused unread.
MAX_ACCOUNT_ID_CHARS = 256


class Role(StrEnum):
    ADMIN = "admin"
    PRICING = "pricing"
    SALES = "sales"
    EXECUTIVE = "executive"


# Pages by their stable url_path (app/streamlit_app.py PAGES); None = every page.
ROLE_PAGES: dict[Role, frozenset[str] | None] = {
    Role.ADMIN: None,
    Role.PRICING: frozenset(
        {"overview", "resolution-rules", "price-lab", "forecast", "statements", "data", "proof", "disputes",
         "invoices", "deal-desk"}
    ),
    Role.SALES: frozenset({"overview", "ai-impact", "roi-case", "statements", "proof", "deal-desk"}),
    Role.EXECUTIVE: frozenset({"overview", "forecast"}),
}
# Who may mark a task genuine or not in the app (Proof page); every decision is kept.
AUDIT_REVIEWERS: frozenset[Role] = frozenset({Role.ADMIN, Role.PRICING})
# Who may accept or reject a customer's dispute in the app (Disputes page); every decision is kept.
DISPUTE_REVIEWERS: frozenset[Role] = frozenset({Role.ADMIN, Role.PRICING})


class AccessDeniedError(OutcomePricingError):
    """The person may not see this page, account or action."""

    title = "Access denied"


def roles_path() -> Path:
    """`OUTCOME_PRICING_ROLES` if set, else data/roles.toml."""
    return Path(os.environ.get(ROLES_ENV) or DEFAULT_ROLES)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_account_id(value: str, source: str = "account") -> str:
    """A user-given account id, bounded and printable, or ConfigError (never reaches SQL unbound)."""
    if len(value) > MAX_ACCOUNT_ID_CHARS:
        raise ConfigError(
            f"The {source} value is {len(value):,} characters long; account ids are at most "
            f"{MAX_ACCOUNT_ID_CHARS}. Check the link or option."
        )
    if not value.isprintable():
        raise ConfigError(f"The {source} value {value[:40]!r} contains control characters.")
    return value


def owned_accounts(wh: Warehouse, owners: Iterable[str]) -> tuple[str, ...]:
    """Account ids whose `owner` is one of `owners` (case and surrounding spaces ignored)."""
    rows = wh.query_df(
        "SELECT DISTINCT account_id FROM accounts "
        "WHERE lower(trim(owner)) IN (SELECT lower(trim(unnest(?::VARCHAR[])))) ORDER BY 1",
        [list(owners)],
    )
    return tuple(str(a) for a in rows["account_id"])


@dataclass(frozen=True)
class Principal:
    """One person using the app or a command run on their behalf."""

    email: str
    role: Role
    owners: tuple[str, ...] = ()  # accounts.owner values that are this person (sales)
    local: bool = False  # single-user local mode: no login configured

    @classmethod
    def local_admin(cls) -> Principal:
        """Whoever runs the app on their own machine with no login configured."""
        return cls(email="local user", role=Role.ADMIN, local=True)

    # ------------------------------------------------------------ pages and actions
    @property
    def pages(self) -> frozenset[str] | None:
        """url_paths this person may open (None = all)."""
        return ROLE_PAGES[self.role]

    def may_open(self, url_path: str) -> bool:
        pages = self.pages
        return pages is None or url_path in pages

    @property
    def can_ingest(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def row_scoped(self) -> bool:
        """True when this person sees only the accounts they own."""
        return self.role is Role.SALES

    def describe(self) -> str:
        text = f"{self.email} ({self.role.value})"
        if self.row_scoped:
            text += f", accounts owned by {', '.join(self.owners)}"
        return text

    # ------------------------------------------------------------ rows
    def owned_accounts(self, wh: Warehouse) -> tuple[str, ...]:
        return owned_accounts(wh, self.owners)

    def scope(self, wh: Warehouse, accounts: Iterable[str] | None = None) -> Warehouse:
        """The warehouse as this person may see it: scoped to owned accounts for sales.

        `accounts` passes an already-computed owned_accounts (the app caches it).
        """
        if not self.row_scoped:
            return wh
        return wh.scoped(tuple(accounts) if accounts is not None else self.owned_accounts(wh))

    def check_account(self, wh: Warehouse, account_id: str | None) -> None:
        """Refuse an account this person may not see, without saying whether it exists."""
        if account_id is None:
            return
        check_account_id(account_id)
        if not self.row_scoped:
            return
        allowed = wh.accounts if wh.accounts is not None else self.owned_accounts(wh)
        if account_id not in allowed:
            raise AccessDeniedError(
                f"Account {account_id!r} is not among the accounts {self.email} may see: "
                f"a sales user sees only the accounts whose owner in the accounts file is "
                f"{' or '.join(repr(o) for o in self.owners)}. Ask an admin if this is wrong."
            )


# ---------------------------------------------------------------------------- the roles file
@dataclass(frozen=True)
class Roles:
    """The parsed roles file: e-mail (lower case) -> Principal."""

    source: str
    people: Mapping[str, Principal]

    def principal(self, email: str) -> Principal:
        """The person's Principal, or AccessDeniedError (deny by default)."""
        found = self.people.get(normalise_email(email))
        if found is None:
            raise AccessDeniedError(
                f"{email} is not in the roles file {self.source}, so has no access. "
                f"An admin adds people under [people] with a role "
                f"({', '.join(r.value for r in Role)})."
            )
        return found


PERSON_KEYS = {"role", "owner"}


def parse_roles(text: str, source: str = "roles file") -> Roles:
    """Parse roles TOML; ConfigError naming the file, person and key on any mistake."""
    data = tomlio.parse(text, source)
    unknown = set(data) - {"people"}
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {sorted(unknown)}; only [people] is read.")
    people_raw = data.get("people", {})
    if not isinstance(people_raw, dict):
        raise ConfigError(f"{source}: [people] must be a table of e-mail = {{ role = ... }}.")
    people: dict[str, Principal] = {}
    for email, entry in people_raw.items():
        principal = _person(source, email, entry)
        if principal.email in people:
            raise ConfigError(f"{source}: {email!r} is listed twice (e-mails ignore case).")
        people[principal.email] = principal
    return Roles(source, people)


def _person(source: str, email: str, entry: Any) -> Principal:
    where = f"{source}, person {email!r}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: write {{ role = \"sales\", owner = \"Name\" }}.")
    extra = set(entry) - PERSON_KEYS
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}; allowed: {sorted(PERSON_KEYS)}.")
    try:
        role = Role(str(entry.get("role", "")).strip().lower())
    except ValueError:
        raise ConfigError(
            f"{where}: role {entry.get('role')!r} is not one of {', '.join(r.value for r in Role)}."
        ) from None
    owner = entry.get("owner", email)  # a sales person's accounts name them as owner
    owners = (owner,) if isinstance(owner, str) else owner
    if not isinstance(owners, list | tuple) or not owners or not all(
        isinstance(o, str) and o.strip() for o in owners
    ):
        raise ConfigError(f"{where}: owner must be a name or a list of names (accounts.owner values).")
    if "owner" in entry and role is not Role.SALES:
        raise ConfigError(f"{where}: owner applies to the sales role only (role is {role.value}).")
    return Principal(
        email=normalise_email(email),
        role=role,
        owners=tuple(o.strip() for o in owners) if role is Role.SALES else (),
    )


def requested_identity(option: str | None = None) -> str | None:
    """Who was asked for: the --as-user value, else $OUTCOME_PRICING_USER if it is set at all.

    A variable set to an empty string counts as asked for (and is then refused), so an
    empty identity never quietly means "everyone".
    """
    if option is not None:
        return option
    return os.environ.get(USER_ENV)


def principal_for(email: str, roles: Roles | None = None) -> Principal:
    """The person named by --as-user or $OUTCOME_PRICING_USER; an empty name is refused."""
    if not email.strip():
        raise AccessDeniedError(
            f"An empty identity was given (--as-user \"\" or an empty ${USER_ENV}), so no role "
            f"applies. Name a person from the roles file, or leave both unset."
        )
    return (roles or load_roles()).principal(email)


def load_roles(path: str | Path | None = None) -> Roles:
    """Read the roles file (default: roles_path()); ConfigError if it is missing."""
    p = Path(path) if path is not None else roles_path()
    if not p.exists():
        raise ConfigError(f"No roles file at {p}. Create one (see data/roles.toml) or set {ROLES_ENV}.")
    return parse_roles(tomlio.read_text(p, "the roles file"), str(p))
