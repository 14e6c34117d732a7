"""The terms of DESIGN 11 on hand-computed account-months, through the backtest and the
statement; their validation at load; and version hashes of plans that keep the defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from outcome_pricing.errors import ConfigError
from outcome_pricing.pricing import backtest, example_plans, statement
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.rules import Definition
from outcome_pricing.warehouse import Warehouse
from tests.deals_rows import load, task

D = Definition.preset("intercom-fin-2025")  # a confirmed answer is an outcome
MONTHS = [dt.date(2025, m, 10) for m in range(1, 13)]

GO_LIVE_PLANS = """
[[plans]]
name = "deal"
platform_fee = 10
charge_from = "go_live"
free_months = 2
implementation_cost = 5000
  [[plans.charges]]
  metric = "outcomes"
  price = 1.00
"""


def _month(m: int) -> pd.Timestamp:
    return pd.Timestamp(2025, m, 1)


def _rows(frame: pd.DataFrame, account: str) -> pd.DataFrame:
    return frame[frame["account_id"] == account].set_index("month")


def test_go_live_mid_year_with_free_months(fresh_wh: Warehouse) -> None:
    # A1: human-only tasks January to May, the AI live from June 15 (accounts.ai_go_live), 3 outcomes a month
    rows = []
    for i, day in enumerate(MONTHS):
        live = day.month >= 6
        rows += [task(i * 10 + k, "A1", day, ai_enabled=live, human_seconds=100.0) for k in range(3)]
    load(fresh_wh, rows, [{"account_id": "A1", "ai_go_live": dt.date(2025, 6, 15)}])
    bt = backtest(fresh_wh, PlanSet.from_toml_text(GO_LIVE_PLANS), D)
    a1 = _rows(bt.frame, "A1")
    # go-live June + 2 free months: nothing billed before August, then $10 + 3 x $1 a month
    assert a1.loc[[_month(m) for m in range(1, 8)], "revenue"].tolist() == [0.0] * 7
    assert a1.loc[[_month(m) for m in range(8, 13)], "revenue"].tolist() == [13.0] * 5
    # the funded deployment is COGS in June, charged or not
    assert a1.loc[_month(6), "implementation"] == 5000.0
    assert a1["implementation"].sum() == 5000.0
    assert a1.loc[_month(6), "cogs"] == pytest.approx(5000.0 + a1.loc[_month(7), "cogs"])
    # a month before the first charged month has no line at all
    july = statement(fresh_wh, PlanSet.from_toml_text(GO_LIVE_PLANS), "deal", D, "A1", "2025-07")
    assert july.lines == () and july.total == 0
    august = statement(fresh_wh, PlanSet.from_toml_text(GO_LIVE_PLANS), "deal", D, "A1", "2025-08")
    assert [(ln.kind.value, ln.amount) for ln in august.lines] == [("charge", Decimal("3.00")), ("platform_fee", Decimal("10.00"))]


GUARANTEE_PLANS = """
[[plans]]
name = "guaranteed"
  [[plans.charges]]
  metric = "outcomes"
  price = 0.99
  [plans.guarantee]
  min_resolution_rate = 0.65
  window_months = 3
  credit_pct = 1.0
"""


def _conversations(account: str, month: int, outcomes: int, total: int, start: int = 0) -> list[dict[str, object]]:
    day = dt.date(2025, month, 10)
    return [task(start + k, account, day, customer_confirmed=k < outcomes) for k in range(total)]


def test_a_guarantee_that_triggers_and_one_that_misses_by_one_outcome(fresh_wh: Warehouse) -> None:
    rows = []
    for m in (1, 2, 3, 4, 5):  # April and May: a second window cut by the data end (May)
        rows += _conversations("MET", m, 13, 20, start=m * 100)  # 39 / 60 = 65%: meets it
        rows += _conversations("SHORT", m, 13 if m != 2 else 12, 20, start=m * 100)  # 38 / 60: one short
    load(fresh_wh, rows)
    planset = PlanSet.from_toml_text(GUARANTEE_PLANS)
    bt = backtest(fresh_wh, planset, D)
    met, short = _rows(bt.frame, "MET"), _rows(bt.frame, "SHORT")
    assert met["guarantee_credit"].sum() == 0.0
    # SHORT: 12.87 + 11.88 + 12.87 = 37.62 of outcome charges in the window, all credited in March
    assert short.loc[_month(3), "guarantee_credit"] == -37.62
    assert short.loc[_month(3), "revenue"] == -24.75  # 12.87 billed, 37.62 credited: a credit note
    assert short["guarantee_credit"].sum() == -37.62  # April-May: the window is cut by the data end
    march = statement(fresh_wh, planset, "guaranteed", D, "SHORT", "2025-03")
    kinds = [ln.kind.value for ln in march.lines]
    assert kinds == ["charge", "guarantee"]
    assert march.total == Decimal("12.87") - Decimal("37.62")  # negative: a credit note
    assert march.total < 0
    assert float(march.total) == short.loc[_month(3), "revenue"]


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("[plans.guarantee]\nmin_resolution_rate = 1.2\nwindow_months = 3\ncredit_pct = 1", "min_resolution_rate"),
        ("[plans.guarantee]\nmin_resolution_rate = -0.1\nwindow_months = 3\ncredit_pct = 1", "min_resolution_rate"),
        ("[plans.guarantee]\nmin_resolution_rate = 0.8\nwindow_months = 0\ncredit_pct = 1", "window_months"),
        ("[plans.guarantee]\nmin_resolution_rate = 0.8\nwindow_months = 3\ncredit_pct = 1.5", "credit_pct"),
        ("[plans.guarantee]\nmin_resolution_rate = 0.8\nwindow_months = 3\ncredit_pct = \"all\"", "credit_pct"),
        ("[plans.guarantee]\nmin_resolution_rate = 0.8\ncredit_pct = 1", "window_months"),
    ],
)
def test_bad_guarantees_are_refused_naming_plan_and_key(table: str, key: str) -> None:
    text = f"[[plans]]\nname = \"g\"\n[[plans.charges]]\nmetric = \"outcomes\"\nprice = 1\n{table}\n"
    with pytest.raises(ConfigError) as err:
        PlanSet.from_toml_text(text, source="deal.toml")
    assert "deal.toml" in str(err.value) and "plan 'g'" in str(err.value) and f"'{key}'" in str(err.value)


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ("charge_from = \"contract\"", "charge_from"),
        ("free_months = -1", "free_months"),
        ("free_months = 1.5", "free_months"),
        ("implementation_cost = 10.001", "implementation_cost"),
    ],
)
def test_bad_start_terms_are_refused(keys: str, key: str) -> None:
    text = f"[[plans]]\nname = \"s\"\n{keys}\n[[plans.charges]]\nmetric = \"outcomes\"\nprice = 1\n"
    with pytest.raises(ConfigError, match=f"plan 's'.*'{key}'"):
        PlanSet.from_toml_text(text)


def test_gain_share_without_any_hourly_cost_is_refused() -> None:
    text = "[[plans]]\nname = \"gs\"\n[[plans.charges]]\nmetric = \"savings_usd\"\nprice = 0.2\n"
    with pytest.raises(ConfigError, match="plan 'gs'.*'hourly_cost_default'"):
        PlanSet.from_toml_text(text)
    ok = PlanSet.from_toml_text(text.replace("[[plans.charges]]", "hourly_cost_default = 30\n[[plans.charges]]"))
    assert ok.plan("gs").deal.hourly_cost_default == Decimal(30)


def test_a_guarantee_needs_an_outcomes_charge() -> None:
    text = ("[[plans]]\nname = \"g\"\n[[plans.charges]]\nmetric = \"conversations\"\nprice = 1\n"
            "[plans.guarantee]\nmin_resolution_rate = 0.5\nwindow_months = 1\ncredit_pct = 1\n")
    with pytest.raises(ConfigError, match="plan 'g'.*guarantee"):
        PlanSet.from_toml_text(text)


def test_plans_that_keep_the_defaults_keep_their_version() -> None:
    planset = example_plans()
    for plan in planset.plans:
        if not plan.deal.is_default:
            continue
        text = PlanSet((plan,), planset.costs).to_toml()
        explicit = text.replace("[[plans.charges]]", "charge_from = \"first_task\"\nfree_months = 0\n"
                                "implementation_cost = 0\n[[plans.charges]]", 1)
        again = PlanSet.from_toml_text(explicit).plan(plan.name)
        assert again.version == plan.version
        assert "charge_from" not in plan.canonical() and "guarantee" not in plan.canonical()


def test_deal_terms_round_trip_through_toml() -> None:
    planset = PlanSet.from_toml_text(GO_LIVE_PLANS + "\n" + GUARANTEE_PLANS)
    again = PlanSet.from_toml_text(planset.to_toml())
    assert again.version == planset.version
    assert again.plan("guaranteed").deal.guarantee == planset.plan("guaranteed").deal.guarantee


def test_the_go_live_rule_is_the_impact_pages(demo_wh: Warehouse) -> None:
    from outcome_pricing.pricing.deals.schedule import go_live_frame
    from outcome_pricing.proof.impact import go_live_months

    ours = go_live_frame(demo_wh).set_index("account_id")["go_live_month"].sort_index()
    theirs = pd.to_datetime(go_live_months(demo_wh).set_index("account_id")["go_live_month"]).sort_index()
    assert ours.notna().sum() > 0 and ours.isna().sum() + ours.notna().sum() == len(theirs)
    pd.testing.assert_series_equal(ours, theirs, check_names=False)
