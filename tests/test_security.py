"""Who may see what: the roles file, pages by role, the row-level rule in the
engine, the CLI (--as-user) and the app (URL, pages, downloads, ingest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcome_pricing.access import (
    ROLE_PAGES,
    AccessDeniedError,
    Principal,
    Role,
    load_roles,
    parse_roles,
)
from outcome_pricing.cli import main as cli_main
from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing import EXAMPLE_PLANS
from outcome_pricing.warehouse.handle import Warehouse
from tests.holder import held_by_another_process

REPO = Path(__file__).resolve().parents[1]
PLANS = EXAMPLE_PLANS
ALL_PAGES = {
    "overview", "resolution-rules", "price-lab", "forecast", "statements", "ai-impact", "roi-case", "data",
    "invoices", "disputes", "proof", "deal-desk",
}


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def owners(demo_wh: Warehouse) -> pd.DataFrame:
    """account_id, owner of the demo accounts that have tasks."""
    return demo_wh.query_df(
        "SELECT account_id, owner FROM accounts WHERE account_id IN (SELECT account_id FROM tasks) "
        "ORDER BY account_id"
    )


@pytest.fixture(scope="module")
def seller(owners: pd.DataFrame) -> str:
    """An owner with at least one account, but not all of them."""
    counts = owners["owner"].value_counts()
    return str(counts.index[0])


@pytest.fixture(scope="module")
def mine(owners: pd.DataFrame, seller: str) -> list[str]:
    return sorted(owners.loc[owners["owner"] == seller, "account_id"])


@pytest.fixture(scope="module")
def other(owners: pd.DataFrame, seller: str) -> str:
    return str(owners.loc[owners["owner"] != seller, "account_id"].iloc[0])


@pytest.fixture
def roles_file(tmp_path: Path, seller: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "roles.toml"
    path.write_text(
        "[people]\n"
        '"boss@example.com" = { role = "admin" }\n'
        '"pricer@example.com" = { role = "pricing" }\n'
        '"cfo@example.com" = { role = "executive" }\n'
        f'"Seller@Example.com" = {{ role = "sales", owner = "{seller}" }}\n'
        '"newbie@example.com" = { role = "sales", owner = "Nobody Yet" }\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("OUTCOME_PRICING_ROLES", str(path))
    return path


def sales(seller: str) -> Principal:
    return Principal("seller@example.com", Role.SALES, (seller,))


# ---------------------------------------------------------------------------- roles file
class TestRolesFile:
    def test_the_shipped_example_parses_and_names_every_role(self) -> None:
        roles = load_roles(REPO / "data" / "roles.toml")
        assert {p.role for p in roles.people.values()} == set(Role)

    def test_emails_match_ignoring_case_and_spaces(self) -> None:
        roles = parse_roles('[people]\n"Ana@Example.COM" = { role = "pricing" }\n')
        assert roles.principal("  ana@example.com ").role is Role.PRICING

    def test_a_person_not_listed_is_refused(self) -> None:
        roles = parse_roles('[people]\n"a@example.com" = { role = "admin" }\n', "r.toml")
        with pytest.raises(AccessDeniedError, match="not in the roles file r.toml"):
            roles.principal("intruder@example.com")

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            ('[people]\n"a@x" = { role = "root" }\n', "role 'root' is not one of"),
            ('[people]\n"a@x" = { role = "sales", owner = 3 }\n', "owner must be a name"),
            ('[people]\n"a@x" = { role = "admin", owner = "Bo" }\n', "sales role only"),
            ('[people]\n"a@x" = { role = "admin", pages = ["data"] }\n', "unknown key"),
            ('[people]\n"a@x" = { role = "admin" }\n"A@X" = { role = "sales" }\n', "listed twice"),
            ("[admins]\n", "unknown section"),
            ("[people\n", "not valid TOML"),
        ],
    )
    def test_mistakes_are_refused_naming_the_person_and_key(self, text: str, needle: str) -> None:
        with pytest.raises(ConfigError, match=needle):
            parse_roles(text, "roles.toml")

    def test_a_sales_person_without_owner_owns_accounts_under_their_email(self) -> None:
        p = parse_roles('[people]\n"bo@x.com" = { role = "sales" }\n').principal("bo@x.com")
        assert p.owners == ("bo@x.com",)

    def test_a_missing_roles_file_says_where_it_looked(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="No roles file at .*nope.toml"):
            load_roles(tmp_path / "nope.toml")


class TestPagesByRole:
    def test_admin_sees_every_page_and_alone_ingests(self) -> None:
        admin = Principal("a", Role.ADMIN)
        assert all(admin.may_open(p) for p in ALL_PAGES)
        assert [r for r in Role if Principal("x", r).can_ingest] == [Role.ADMIN]

    @pytest.mark.parametrize(
        ("role", "pages"),
        [
            (Role.PRICING, {"overview", "resolution-rules", "price-lab", "forecast", "statements", "data",
                            "invoices", "disputes", "proof", "deal-desk"}),
            (Role.SALES, {"overview", "ai-impact", "roi-case", "statements", "proof", "deal-desk"}),
            (Role.EXECUTIVE, {"overview", "forecast"}),
        ],
    )
    def test_each_role_sees_its_pages_only(self, role: Role, pages: set[str]) -> None:
        p = Principal("x", role)
        assert {page for page in ALL_PAGES if p.may_open(page)} == pages
        assert ROLE_PAGES[role] == pages

    def test_local_mode_is_a_single_admin(self) -> None:
        local = Principal.local_admin()
        assert local.local and local.can_ingest and not local.row_scoped


# ---------------------------------------------------------------------------- engine rows
class TestRowLevelScope:
    def test_a_sales_scope_holds_exactly_the_owned_accounts(
        self, demo_wh: Warehouse, seller: str, mine: list[str]
    ) -> None:
        scoped = sales(seller).scope(demo_wh)
        assert list(scoped.accounts or ()) == mine
        seen = set(scoped.query_df("SELECT DISTINCT account_id FROM tasks")["account_id"])
        assert seen == set(mine)

    def test_owner_names_match_ignoring_case_and_spaces(
        self, demo_wh: Warehouse, seller: str, mine: list[str]
    ) -> None:
        p = Principal("s", Role.SALES, (f"  {seller.upper()} ",))
        assert list(p.owned_accounts(demo_wh)) == mine

    @pytest.mark.parametrize("role", [Role.ADMIN, Role.PRICING, Role.EXECUTIVE])
    def test_other_roles_see_every_account(self, demo_wh: Warehouse, role: Role) -> None:
        assert Principal("x", role).scope(demo_wh) is demo_wh

    def test_outcomes_and_backtest_on_a_sales_scope_contain_only_owned_accounts(
        self, demo_wh: Warehouse, seller: str, mine: list[str]
    ) -> None:
        from outcome_pricing import pricing
        from outcome_pricing.pricing.plans import PlanSet
        from outcome_pricing.rules import Definition

        scoped = sales(seller).scope(demo_wh)
        d = Definition.preset("zendesk-ar")
        assert set(scoped.outcomes(d)["account_id"]) == set(mine)
        bt = pricing.backtest(scoped, PlanSet.from_toml(PLANS), d)
        assert set(bt.frame["account_id"]) <= set(mine)

    def test_a_statement_for_another_owners_account_is_refused(
        self, demo_wh: Warehouse, seller: str, other: str, mine: list[str], owners: pd.DataFrame
    ) -> None:
        from outcome_pricing.errors import OutcomePricingError
        from outcome_pricing.pricing import statements
        from outcome_pricing.pricing.plans import PlanSet
        from outcome_pricing.rules import Definition

        person = sales(seller)
        scoped = person.scope(demo_wh)
        with pytest.raises(AccessDeniedError, match=other):
            person.check_account(scoped, other)
        # and the engine itself, asked directly on the scoped handle, has nothing to show
        month = demo_wh.scalar("SELECT strftime(max(month), '%Y-%m') FROM tasks WHERE account_id = ?", [other])
        planset = PlanSet.from_toml(PLANS)
        with pytest.raises(OutcomePricingError) as info:
            statements.statement(scoped, planset, planset.plans[0].name, Definition.preset("zendesk-ar"), other, month)
        # the message may repeat the id asked for, but names no other account it may not see
        message = str(info.value).replace(repr(other), "")
        assert not [a for a in owners["account_id"] if a not in mine and a in message], message

    def test_the_refusal_does_not_say_whether_the_account_exists(
        self, demo_wh: Warehouse, seller: str, other: str
    ) -> None:
        person = sales(seller)
        scoped = person.scope(demo_wh)
        messages = []
        for account in (other, "NO-SUCH-ACCOUNT"):
            with pytest.raises(AccessDeniedError) as info:
                person.check_account(scoped, account)
            messages.append(str(info.value).replace(account, "X"))
        assert messages[0] == messages[1]

    def test_an_overlong_account_id_is_refused_before_any_query(self, demo_wh: Warehouse) -> None:
        with pytest.raises(ConfigError, match="at most 256"):
            Principal("a", Role.ADMIN).check_account(demo_wh, "A" * 10_000)


owner_names = st.sampled_from(["Ana Ruiz", "ana ruiz", " ANA RUIZ ", "Bo Li", "bo li", "Cy", "", None])


class TestScopeAgreesWithPlainPython:
    """The SQL scope against a plain-Python reading of the rule, on random ownership."""

    @pytest.mark.slow
    @settings(max_examples=30, deadline=None)
    @given(
        owners=st.lists(owner_names, min_size=1, max_size=8),
        mine=st.lists(st.sampled_from(["Ana Ruiz", "bo li", " cy "]), min_size=1, max_size=2, unique=True),
    )
    def test_a_scope_sees_exactly_the_accounts_whose_owner_matches(
        self, owners: list[str | None], mine: list[str]
    ) -> None:
        with Warehouse.in_memory() as wh:
            with wh.transaction() as cur:
                for i, owner in enumerate(owners):
                    cur.execute("INSERT INTO accounts (account_id, owner) VALUES (?, ?)", [f"A{i}", owner])
            person = Principal("p@x", Role.SALES, tuple(mine))
            wanted = {m.strip().lower() for m in mine}
            expected = {f"A{i}" for i, o in enumerate(owners) if o is not None and o.strip().lower() in wanted}
            scoped = person.scope(wh)
            assert set(scoped.accounts or ()) == expected
            assert set(scoped.query_df("SELECT account_id FROM accounts")["account_id"]) == expected


# ---------------------------------------------------------------------------- CLI --as-user
def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the real entry point (run_main: our errors -> one paragraph, exit 2) in-process."""
    monkeypatch.setattr(sys, "argv", ["outcome-pricing", *args])
    code = 0
    try:
        cli_main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


class TestCliOnBehalf:
    @pytest.mark.parametrize(
        "command",
        [
            ["statement", "--month", "2025-01", "--plans", str(PLANS), "--plan", "per-outcome",
             "--definition", "zendesk-ar"],
            ["roi", "--plans", str(PLANS), "--plan", "per-outcome", "--definition", "zendesk-ar"],
            ["impact"],
        ],
        ids=["statement", "roi", "impact"],
    )
    def test_another_owners_account_is_refused_with_exit_2(
        self, command: list[str], app_env: Path, roles_file: Path, other: str,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        args = ["--as-user", "seller@example.com", *command, "--account", other]
        code, out, err = run_cli(args, capsys, monkeypatch)
        assert code == 2
        assert err.startswith("Access denied:") and other in err
        assert out == ""

    @pytest.mark.parametrize("command", ["outcomes", "backtest"])
    def test_portfolio_commands_on_behalf_of_sales_list_only_owned_accounts(
        self, command: str, app_env: Path, roles_file: Path, mine: list[str],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        args = ["--as-user", "seller@example.com", command, "--definition", "zendesk-ar", "--format", "json"]
        if command == "backtest":
            args[3:3] = ["--plans", str(PLANS)]
        code, out, err = run_cli(args, capsys, monkeypatch)
        assert code == 0, err
        rows = json.loads(out)
        assert rows and {r["account_id"] for r in rows} <= set(mine)

    def test_the_env_var_names_the_person_too(
        self, app_env: Path, roles_file: Path, mine: list[str],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("OUTCOME_PRICING_USER", "seller@example.com")
        code, out, _ = run_cli(["outcomes", "--definition", "zendesk-ar", "--format", "json"], capsys, monkeypatch)
        assert code == 0 and {r["account_id"] for r in json.loads(out)} == set(mine)

    @pytest.mark.parametrize("person", ["pricer@example.com", "seller@example.com", "cfo@example.com"])
    def test_only_admins_may_ingest(
        self, person: str, tmp_path: Path, roles_file: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        db = tmp_path / "w.duckdb"
        Warehouse.open(db).close()
        tasks = tmp_path / "t.csv"
        tasks.write_text("task_id\n1\n", encoding="utf-8")
        code, _, err = run_cli(["--db", str(db), "--as-user", person, "ingest", "--tasks", str(tasks)], capsys, monkeypatch)
        assert code == 2 and "only admins ingest" in err

    def test_explaining_a_task_of_another_owner_finds_nothing(
        self, app_env: Path, roles_file: Path, demo_wh: Warehouse, other: str,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        task = demo_wh.scalar("SELECT min(task_id) FROM tasks WHERE account_id = ?", [other])
        code, out, err = run_cli(
            ["--as-user", "seller@example.com", "explain", task, "--definition", "zendesk-ar", "--format", "json"],
            capsys, monkeypatch,
        )
        assert code == 2 and f"No task with task_id '{task}'" in err and out == ""  # like every refusal
        assert other not in err

    def test_an_unknown_person_is_refused(
        self, app_env: Path, roles_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        code, out, err = run_cli(
            ["--as-user", "mallory@example.com", "outcomes", "--definition", "zendesk-ar"], capsys, monkeypatch
        )
        assert code == 2 and "not in the roles file" in err and out == ""

    def test_an_admin_on_behalf_sees_every_account(
        self, app_env: Path, roles_file: Path, owners: pd.DataFrame,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        code, out, _ = run_cli(
            ["--as-user", "boss@example.com", "outcomes", "--definition", "zendesk-ar", "--format", "json"],
            capsys, monkeypatch,
        )
        assert code == 0 and {r["account_id"] for r in json.loads(out)} == set(owners["account_id"])


class TestCliLockedWarehouse:
    @pytest.mark.slow
    def test_a_file_held_by_another_process_exits_2_naming_the_file(self, tmp_path: Path) -> None:
        db = tmp_path / "held.duckdb"
        Warehouse.open(db).close()
        with held_by_another_process(db):
            run = subprocess.run(
                [sys.executable, "-c", "from outcome_pricing.cli import main; main()",
                 "--db", str(db), "outcomes", "--definition", "zendesk-ar"],
                capture_output=True, text=True, timeout=60,
                env=dict(os.environ, OUTCOME_PRICING_LOCK_TIMEOUT="0.5"),
            )
        assert run.returncode == 2
        waiting, refusal = run.stderr.splitlines()[0], "\n".join(run.stderr.splitlines()[1:])
        assert waiting.startswith("Waiting for the warehouse file") and str(db) in waiting
        assert refusal.startswith("Warehouse in use:") and str(db) in refusal
        assert "Traceback" not in run.stderr and "Conflicting lock" not in run.stderr


# ---------------------------------------------------------------------------- the app
APP = str(REPO / "app" / "streamlit_app.py")
VIEWS = REPO / "app" / "views"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-only",
    "client_id": "test-only", "client_secret": "test-only",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}
URL_PATHS = {  # view file -> url_path (app/streamlit_app.py PAGES)
    "overview.py": "overview", "resolution_rules.py": "resolution-rules", "price_lab.py": "price-lab",
    "forecast.py": "forecast", "statements.py": "statements", "ai_impact.py": "ai-impact",
    "roi_case.py": "roi-case", "data.py": "data", "invoices.py": "invoices", "disputes.py": "disputes",
    "deal_desk.py": "deal-desk",
}


def app_as(email: str | None, **query: str):  # noqa: ANN201 - AppTest
    """The app as a browser session of `email` logged in through OIDC (None: not logged in).

    AppTest seeds st.user and st.secrets the way a real login does: the app's
    own auth code runs unchanged (there is no test-only way in).
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email}
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def open_page(at, view: str):  # noqa: ANN001, ANN201
    at.switch_page(f"views/{view}")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:  # noqa: ANN001
    """Every text the page drew (markdown, captions, alerts, metrics, table cells)."""
    parts = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "title")
             for e in at.get(kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [d.value.to_csv() for d in at.dataframe]
    parts += [str(o) for s in at.selectbox for o in s.options]
    return "\n".join(parts)


@pytest.mark.usefixtures("app_env", "roles_file")
class TestAppLogin:
    def test_without_auth_the_app_is_single_user_local_mode_and_says_so(self) -> None:
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(APP, default_timeout=90).run()
        assert not at.exception
        assert any("Single-user local mode" in i.value for i in at.sidebar.info)
        for view in URL_PATHS:  # the local user is an admin: every page is listed
            if (VIEWS / view).exists():
                at.switch_page(f"views/{view}")

    def test_the_app_command_listens_on_loopback_unless_told_otherwise(self) -> None:
        from outcome_pricing.cli.serve import app_command

        address = next(p for p in app_command.params if p.name == "address")
        assert address.default == "127.0.0.1"

    def test_an_anonymous_visitor_sees_only_the_login_button(self) -> None:
        at = app_as(None)
        assert [b.label for b in at.button] == ["Log in"]
        assert not at.metric and not at.dataframe and not at.get("plotly_chart")
        assert not any("Single-user" in i.value for i in at.sidebar.info)

    def test_a_login_unknown_to_the_roles_file_is_refused(self) -> None:
        at = app_as("mallory@example.com")
        assert any("not in the roles file" in e.value for e in at.error)
        assert [b.label for b in at.button] == ["Log out"]
        assert not at.metric and not at.dataframe

    def test_a_login_without_a_verified_email_is_refused(self) -> None:
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(APP, default_timeout=90)
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": "boss@example.com", "email_verified": False}
        at.run()
        assert any("verified e-mail" in e.value for e in at.error) and not at.metric

    @pytest.mark.parametrize("email", ["boss@example.com", "pricer@example.com", "cfo@example.com",
                                       "seller@example.com"])
    def test_each_role_is_offered_only_its_pages(self, email: str) -> None:
        at = app_as(email)
        assert not at.exception, [e.value for e in at.exception]
        person = load_roles().principal(email)
        for view, url_path in URL_PATHS.items():
            if not (VIEWS / view).exists():
                continue
            if person.may_open(url_path):
                at.switch_page(f"views/{view}")
            else:
                with pytest.raises(ValueError, match="Could not find a navigation page"):
                    at.switch_page(f"views/{view}")

    def test_a_secrets_file_read_from_disk_turns_the_login_on(self, secrets_file) -> None:  # noqa: ANN001
        """The production path (not AppTest's seeded secrets): a real file with [auth]."""
        example = (REPO / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")
        settings = secrets_file(example + '\n[auth.microsoft]\nclient_id = "x"\n').auth_settings()
        assert settings is not None and settings["client_id"].startswith("REPLACE")

    def test_a_secrets_file_that_does_not_load_stops_the_app_rather_than_dropping_login(
        self, secrets_file  # noqa: ANN001
    ) -> None:
        auth = secrets_file('[auth\nclient_id = "x"\n')  # a typo: no closing bracket
        with pytest.raises(auth.SecretsUnreadable, match="secrets.toml"):
            auth.auth_settings()


@pytest.fixture
def secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    """Streamlit reading secrets from one file on disk; returns a function(text) -> app's auth module."""
    import streamlit
    from streamlit import config
    from streamlit.runtime.secrets import Secrets

    monkeypatch.syspath_prepend(str(REPO / "app"))
    import auth

    path = tmp_path / "secrets.toml"
    monkeypatch.setattr(streamlit, "secrets", Secrets())
    saved = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])

    def write(text: str) -> Any:
        path.write_text(text, encoding="utf-8")
        return auth

    yield write
    config.set_option("secrets.files", saved)


@pytest.mark.usefixtures("app_env", "roles_file")
class TestAppRowLevel:
    @pytest.mark.parametrize("view", ["roi_case.py", "statements.py"])
    def test_another_owners_account_in_the_url_is_refused_and_not_drawn(self, view: str, other: str) -> None:
        at = open_page(app_as("seller@example.com", account=other), view)
        assert any("Access denied" in e.value and other in e.value for e in at.error)
        assert not at.metric and not at.dataframe and not at.get("download_button")

    def test_an_own_account_in_the_url_opens_the_roi_case(self, mine: list[str]) -> None:
        at = open_page(app_as("seller@example.com", mode="account", account=mine[0]), "roi_case.py")
        assert not at.error, [e.value for e in at.error]
        assert any(m.label == "Net present value" for m in at.metric)

    @pytest.mark.slow
    @pytest.mark.parametrize("view", ["statements.py", "roi_case.py", "ai_impact.py"])
    def test_pages_offer_only_owned_accounts_even_after_an_admin_filled_the_caches(
        self, view: str, mine: list[str], owners: pd.DataFrame
    ) -> None:
        if not (VIEWS / view).exists():
            pytest.skip(f"{view} not written yet")
        open_page(app_as("boss@example.com"), view)  # caches now hold every account
        at = open_page(app_as("seller@example.com"), view)
        shown = texts(at)
        foreign = [a for a in owners["account_id"] if a not in mine]
        assert any(a in shown for a in mine)
        assert not [a for a in foreign if a in shown]

    def test_a_sales_user_owning_no_account_is_told_so_and_sees_no_data(self) -> None:
        at = open_page(app_as("newbie@example.com"), "statements.py")
        assert any("None of the accounts you own" in i.value for i in at.info)
        assert not at.dataframe and not at.metric

    def test_an_overlong_account_parameter_is_dropped_with_a_notice(self) -> None:
        at = app_as("boss@example.com", account="A" * 5_000)
        assert not at.exception and any("was ignored" in w.value for w in at.warning)
        assert "account" not in at.query_params


@pytest.mark.usefixtures("app_env", "roles_file")
class TestAppIngestIsForAdmins:
    @pytest.mark.parametrize("email", ["pricer@example.com"])
    def test_the_data_page_offers_no_upload_to_non_admins(self, email: str) -> None:
        at = open_page(app_as(email), "data.py")
        assert not at.get("file_uploader")
        assert not [b for b in at.button if "ngest" in b.label or "demo" in b.label.lower()]

    def test_the_data_page_offers_upload_to_admins(self) -> None:
        at = open_page(app_as("boss@example.com"), "data.py")
        assert at.get("file_uploader")


@pytest.mark.e2e
@pytest.mark.slow
class TestServedApp:
    def test_a_served_app_with_auth_shows_every_url_only_the_login(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`streamlit run` with a real secrets file and a real browser: no page, no data."""
        playwright_api = pytest.importorskip("playwright.sync_api")
        from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, EXCEPTION, READY, streamlit_server

        if not Path(CHROMIUM).exists():
            pytest.skip("Debian chromium not installed")
        secrets = tmp_path / "secrets.toml"
        secrets.write_text((REPO / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8"),
                           encoding="utf-8")
        monkeypatch.setenv("STREAMLIT_SECRETS_FILES", str(secrets))
        db = tmp_path / "w.duckdb"
        with Warehouse.open(db) as wh:
            from outcome_pricing import demo

            demo.build_demo(wh, tasks=2_000, accounts=3, months=3, seed=5)
        with streamlit_server(db) as url, playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()
            for path in ("", "/statements", "/data?account=A0001", "/roi-case"):
                page.goto(url + path)
                page.wait_for_selector(READY, timeout=90_000)
                page.wait_for_timeout(300)
                page.wait_for_selector(READY, timeout=90_000)
                assert [b.inner_text() for b in page.locator("button").all()] == ["Log in"], path
                for widget in ("stMetric", "stDataFrame", "stPlotlyChart", "stFileUploader"):
                    assert page.locator(f"[data-testid={widget}]").count() == 0, (path, widget)
                assert page.locator(EXCEPTION).count() == 0, path
            browser.close()


# ---------------------------------------------------------------------------- identity fails closed (issue 13)
class TestIdentityFailsClosed:
    @pytest.mark.parametrize("args", [["--as-user", ""], ["--as-user", "   "]])
    def test_an_empty_as_user_is_refused(
        self, app_env: Path, roles_file: Path, args: list[str],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        code, out, err = run_cli([*args, "outcomes", "--definition", "zendesk-ar"], capsys, monkeypatch)
        assert code == 2 and "Access denied" in err and "empty identity" in err and out == ""

    def test_an_empty_user_variable_is_refused_not_read_as_everyone(
        self, app_env: Path, roles_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("OUTCOME_PRICING_USER", "")
        code, out, err = run_cli(["outcomes", "--definition", "zendesk-ar", "--format", "json"], capsys, monkeypatch)
        assert code == 2 and "empty identity" in err and out == ""

    @pytest.mark.parametrize("person", ["mallory@example.com", ""])
    def test_the_app_as_an_unknown_or_empty_person_is_refused_before_it_starts(
        self, app_env: Path, roles_file: Path, person: str,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from outcome_pricing.cli import serve

        started: list[dict[str, str]] = []
        monkeypatch.setattr(serve, "serve", lambda cmd, cwd, env: started.append(env) or 0)
        code, _, err = run_cli(["--as-user", person, "app"], capsys, monkeypatch)
        assert code == 2 and "Access denied" in err and not started

    def test_the_app_as_a_person_hands_that_person_to_the_server(
        self, app_env: Path, roles_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from outcome_pricing.cli import serve

        started: list[dict[str, str]] = []
        monkeypatch.setattr(serve, "serve", lambda cmd, cwd, env: started.append(env) or 0)
        code, out, _ = run_cli(["--as-user", "Seller@Example.com", "app"], capsys, monkeypatch)
        assert code == 0 and started and started[0]["OUTCOME_PRICING_USER"] == "seller@example.com"
        assert "(sales)" in out

    @pytest.mark.slow
    def test_the_app_served_as_a_sales_person_applies_their_role_and_scope(
        self, app_env: Path, roles_file: Path, mine: list[str], owners: pd.DataFrame,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from streamlit.testing.v1 import AppTest

        monkeypatch.setenv("OUTCOME_PRICING_USER", "seller@example.com")
        at = AppTest.from_file(APP, default_timeout=90).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not any("Single-user local mode" in i.value for i in at.sidebar.info)
        assert any("seller@example.com" in c.value for c in at.sidebar.caption)
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page("views/data.py")  # sales has no Data page
        shown = texts(at.switch_page("views/statements.py").run())
        foreign = [a for a in owners["account_id"] if a not in mine]
        assert any(a in shown for a in mine) and not [a for a in foreign if a in shown]

    @pytest.mark.parametrize("person", ["", "mallory@example.com"])
    def test_the_app_with_an_empty_or_unknown_person_is_refused(
        self, app_env: Path, roles_file: Path, person: str, monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from streamlit.testing.v1 import AppTest

        monkeypatch.setenv("OUTCOME_PRICING_USER", person)
        at = AppTest.from_file(APP, default_timeout=90).run()
        assert any("Access denied" in e.value for e in at.error), [e.value for e in at.error]
        assert not at.metric and not at.dataframe

    def test_an_imposed_person_with_a_login_configured_is_refused(
        self, app_env: Path, roles_file: Path, monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("OUTCOME_PRICING_USER", "boss@example.com")
        at = app_as("boss@example.com")
        assert any("two identities" in e.value for e in at.error) and not at.metric
