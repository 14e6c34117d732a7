"""Every page the router lists, through AppTest: it renders without an exception or an
error box, its title is the menu's, every control has help, money and percentages
use the house formats; an empty warehouse gives every page its own empty state that
says what to do; a bad link is named, never a traceback; the scenario survives
switching pages.

Each page's own interactions (change a control, the figure moves) live in its
owner's AppTest (tests/test_app_<page>.py); this file covers what all pages share.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from streamlit.testing.v1 import AppTest

from outcome_pricing.pricing import example_plans
from outcome_pricing.warehouse import DB_ENV, Warehouse
from tests import apptest
from tests.apptest import open_app
from tests.e2e.server import AppPage, app_pages

TIMEOUT = 120
VIEWS = Path(__file__).resolve().parents[1] / "app" / "views"
PAGES = app_pages()
CONTROLS = (
    "selectbox", "multiselect", "slider", "select_slider", "number_input", "text_input", "text_area",
    "checkbox", "toggle", "radio", "button_group", "date_input", "file_uploader",
)
MONEY = re.compile(r"^-?\$\d{1,3}(,\d{3})*(\.\d\d)?$")  # fmt.money
PERCENT = re.compile(r"^-?\d+(\.\d+)?%$")  # fmt.pct


def run_page(page: AppPage, **query: str) -> AppTest:
    return open_app(page.file, timeout=TIMEOUT, query=query, check=False)


class View(NamedTuple):
    """What the checks below read from one view of a page (the page as drawn, or one of its
    lazy tabs open): AppTest's tree changes when a tab opens, so each view is read when shown."""

    exceptions: list[str]
    errors: list[str]
    titles: list[str]
    controls: list[tuple[str, str, str]]  # type, label, help
    figures: list[tuple[str, str]]
    tab_sets: dict[str, apptest.TabSet]


def view_of(at: AppTest) -> View:
    return View(
        exceptions=[str(e.value) for e in at.exception],
        errors=[str(e.value) for e in at.error],
        titles=[t.value for t in at.title],
        controls=[(w.type, w.label, w.proto.help or "") for w in controls(at)],
        figures=apptest.figures(at),
        tab_sets=apptest.lazy_tabs(at),
    )


@pytest.fixture(scope="module")
def rendered(_app_db_path: Path) -> Iterator[dict[str, dict[str, View]]]:
    """Each page rendered once on the demo warehouse, then each of its lazy tabs opened
    (tests/apptest.every_tab): page file -> view name ("" as drawn, "key: label") -> View."""
    cache: dict[str, dict[str, View]] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DB_ENV, str(_app_db_path))
        yield cache


def views_of(rendered: dict[str, dict[str, View]], page: AppPage) -> dict[str, View]:
    if page.file not in rendered:
        at = run_page(page)
        # Only as drawn when it fails at once: a tab cannot be opened on a page that raised.
        rendered[page.file] = dict(apptest.every_tab(at, view_of)) if not at.exception else {"": view_of(at)}
    return rendered[page.file]


def controls(at: AppTest) -> list:
    return [w for kind in CONTROLS for w in at.get(kind)]


@pytest.mark.parametrize("page", PAGES, ids=[p.url_path for p in PAGES])
class TestEveryPage:
    """On every page and every tab of it: a hidden lazy tab is not in AppTest's tree until opened."""

    def test_renders_without_exception_or_error(self, rendered: dict[str, dict[str, View]], page: AppPage) -> None:
        for tab, view in views_of(rendered, page).items():
            assert not view.exceptions, (tab, view.exceptions)
            assert not view.errors, (tab, view.errors)
            assert view.titles[:1] == [page.title], tab

    def test_every_control_has_help(self, rendered: dict[str, dict[str, View]], page: AppPage) -> None:
        missing = {
            f"{tab or 'as drawn'}: {kind} '{label}'"
            for tab, view in views_of(rendered, page).items() for kind, label, help_text in view.controls
            if not help_text.strip()
        }
        assert not missing, f"{page.file}: controls without help text: {sorted(missing)}"

    def test_money_and_percentages_use_the_house_formats(
        self, rendered: dict[str, dict[str, View]], page: AppPage
    ) -> None:
        odd = {
            f"{tab or 'as drawn'}: {label}: {value}"
            for tab, view in views_of(rendered, page).items() for label, value in view.figures
            if ("$" in value and not MONEY.match(value)) or ("%" in value and not PERCENT.match(value))
        }
        assert not odd, f"{page.file}: figures not in fmt.money / fmt.pct format: {sorted(odd)}"

    def test_every_lazy_tab_was_opened(self, rendered: dict[str, dict[str, View]], page: AppPage) -> None:
        """The checks above saw each tab: one view per tab of every lazy tab set, and a page that
        draws lazy tabs (app/frame.lazy_tabs in its source) has its tab sets found."""
        views = views_of(rendered, page)
        drawn = views[""].tab_sets
        if "frame.lazy_tabs(" in (VIEWS / page.file).read_text():
            assert drawn, f"{page.file} draws lazy tabs, none found in its tree"
        expected = {f"{key}: {label}" for key, tabs in drawn.items() for label in tabs.labels if label != tabs.open}
        assert expected <= set(views), sorted(expected - set(views))


@pytest.fixture
def empty_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "empty.duckdb"
    Warehouse.open(path).close()
    monkeypatch.setenv(DB_ENV, str(path))
    monkeypatch.setenv("OUTCOME_PRICING_NO_DEMO", "1")
    return path


# Each page's own first sentence on an empty warehouse (the frame adds what to do about it).
EMPTY_STATES = {
    "overview.py": "No month to report on yet.",
    "resolution_rules.py": "No tasks to count outcomes in yet.",
    "price_lab.py": "No history to price yet.",
    "forecast.py": "No history to forecast from yet.",
    "statements.py": "No bill to make yet.",
    "invoices.py": "No invoices to make yet.",
    "disputes.py": "No billed outcomes to dispute yet.",
    "ai_impact.py": "No tasks to compare before and after the go-live yet.",
    "roi_case.py": "No account to build a case for yet.",
    "deal_desk.py": "No history to price a deal on yet.",
    "proof.py": "No billed outcomes to prove yet.",
    "data.py": "No tasks yet: load a file or the demo data to see its quality.",
}


def test_every_page_has_its_own_empty_state() -> None:
    assert set(EMPTY_STATES) == {p.file for p in PAGES}
    assert len(set(EMPTY_STATES.values())) == len(EMPTY_STATES)


@pytest.mark.parametrize("page", PAGES, ids=[p.url_path for p in PAGES])
def test_an_empty_warehouse_gives_every_page_its_empty_state(empty_db: Path, page: AppPage) -> None:
    """In the page itself (the sidebar always shows a banner), below the page's own title."""
    at = run_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.main.title][:1] == [page.title]
    shown = [i.value for i in at.main.info]
    assert any(i.startswith(EMPTY_STATES[page.file]) for i in shown), shown
    if page.file == "data.py":  # the page where data comes in: it offers the upload and the demo
        assert at.get("file_uploader") and at.button
    else:  # and says what to do: load data on the Data page
        assert any("no tasks yet" in i and "**Data** page" in i for i in shown), shown


@pytest.mark.slow
@pytest.mark.usefixtures("app_env")
def test_the_scenario_survives_switching_pages() -> None:
    """Chosen on the Overview, kept on the Price lab, in the session and in the URL."""
    overview, price_lab = (next(p for p in PAGES if p.file == f) for f in ("overview.py", "price_lab.py"))
    at = run_page(overview)
    at.selectbox(key="scenario.definition_pick").set_value("strict").run()
    at.selectbox(key="scenario.proposed_plan").set_value("hybrid").run()
    at.switch_page(f"views/{price_lab.file}").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == price_lab.title
    assert at.selectbox(key="scenario.definition_pick").value == "strict"
    assert at.selectbox(key="scenario.proposed_plan").value == "hybrid"
    assert at.query_params["def"] == ["strict"] or at.query_params["def"] == "strict"
    assert any(m.label.startswith("Revenue, hybrid") for m in at.metric)


BAD_LINK = {
    "def": "no-such-preset",
    "reference_plan": "<script>alert(1)</script>",
    "proposed_plan": "",
    "account": "NO-SUCH-ACCOUNT",
    "month": "2099-13",
}


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize("page", PAGES, ids=[p.url_path for p in PAGES])
def test_a_bad_link_gives_a_message_never_a_traceback(page: AppPage) -> None:
    at = run_page(page, **BAD_LINK)
    assert not at.exception, [e.value for e in at.exception]
    notices = [w.value for w in at.sidebar.warning]
    assert any("The link's definition was not used" in n and "no-such-preset" in n for n in notices), notices
    assert at.selectbox(key="scenario.definition_pick").value == "intercom-fin-2025"
    plans = example_plans()  # plan names the plan set lacks fall back to its defaults, silently
    assert at.selectbox(key="scenario.reference_plan").value == plans.default_reference()
    assert at.selectbox(key="scenario.proposed_plan").value == plans.default_proposed()
    assert [t.value for t in at.main.title][:1] == [page.title]  # and the page itself still opens


# The figure on each page that the sidebar's definition of "resolved" must move
# (AI impact and Data do not depend on the definition).
DEFINITION_FIGURES = {
    "overview.py": "Billable outcomes",
    "resolution_rules.py": "Billable outcomes",
    "price_lab.py": "Revenue, per-outcome",
    "forecast.py": "per-outcome: horizon revenue",
    "statements.py": "Total",
    "roi_case.py": "Net present value",
}


def figure(at: AppTest, label_start: str) -> str:
    shown = apptest.figures(at)
    values = [value for label, value in shown if label.startswith(label_start)]
    assert values, f"no figure labelled {label_start!r}: {[label for label, _ in shown]}"
    return values[0]


@pytest.mark.slow
@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.file in DEFINITION_FIGURES], ids=lambda p: p.url_path
)
def test_the_sidebar_definition_moves_the_pages_figure(page: AppPage) -> None:
    at = run_page(page, **{"def": "lenient"})
    label = DEFINITION_FIGURES[page.file]
    lenient = figure(at, label)
    at.selectbox(key="scenario.definition_pick").set_value("strict").run()
    assert not at.exception, [e.value for e in at.exception]
    assert figure(at, label) != lenient
