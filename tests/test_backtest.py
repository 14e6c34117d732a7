"""The backtest: its integer-cent arrays agree with the exact Decimal statement lines on
random plans and usage; its metrics agree with a plain-Python reading of the tasks;
portfolio, winners and losers, seat erosion, price sweep; the CLI's JSON."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcome_pricing.cli import cli
from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import MICRO, round_half_up
from outcome_pricing.pricing import (
    EXAMPLE_PLANS,
    account_month_metrics,
    backtest,
    backtest_metrics,
    example_plans,
    price_sweep_metrics,
    usage_arrays,
)
from outcome_pricing.pricing.charges import UsageArrays, bill, bill_total, month_lines, plan_cents
from outcome_pricing.pricing.deals.billing import account_bills
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.spanning import span_account
from outcome_pricing.pricing.terms import Costs, Plan
from outcome_pricing.rules import Definition, outcomes
from outcome_pricing.warehouse.handle import Warehouse
from tests.rows import load_tasks  # the shared way to ingest hand-made rows
from tests.strategies import plans, usages

DEF = Definition.preset("intercom-fin-2026")

def _refusal(fn: Any) -> str | None:
    try:
        fn()
    except ConfigError as exc:
        return str(exc)
    return None


def assert_paths_agree(plan: Plan, usage: UsageArrays) -> None:
    # An amount past LIMIT_CENTS is refused, never wrapped: then both paths refuse the bill.
    refused = _refusal(lambda: plan_cents(plan, usage))
    if refused is not None:
        assert "beyond what billing holds" in refused, refused
        slow = [_refusal(lambda i=i: bill(plan, usage.row(i))) for i in range(len(usage))]  # type: ignore[misc]
        assert any(r is not None and "beyond what billing holds" in r for r in slow), f"only the fast path refused: {refused}"
        return
    fast = plan_cents(plan, usage)
    for i in range(len(usage)):
        lines = bill(plan, usage.row(i))
        assert all(line.amount == round_half_up(line.amount) for line in lines)
        assert bill_total(lines) * 100 == int(fast.total[i]), f"row {i}: {lines}"


class TestStatementArithmeticEqualsBacktest:
    @settings(max_examples=60, deadline=None)
    @given(plans(), usages())
    def test_random_plans_and_usage_agree_to_the_cent(self, plan: Plan, usage: UsageArrays) -> None:
        assert_paths_agree(plan, usage)

    @settings(max_examples=20, deadline=None)
    @given(plans(), usages(big=True))
    def test_huge_quantities_do_not_overflow(self, plan: Plan, usage: UsageArrays) -> None:
        assert_paths_agree(plan, usage)

    def test_every_example_plan_on_every_demo_account_month(self, demo_wh: Warehouse) -> None:
        bt = backtest(demo_wh, example_plans(), DEF)
        usage = usage_arrays(bt.metrics)
        assert usage.account is not None and usage.month is not None and usage.start is not None
        for plan in example_plans().plans:
            revenue = bt.frame.loc[bt.frame["plan"] == plan.name, "revenue_cents"].to_numpy()
            exact = []
            for a in np.unique(usage.account):  # each account's months in order: commitments span them
                rows = np.nonzero(usage.account == a)[0]
                if not plan.deal.is_default:  # DESIGN 11: charge start and guarantee windows too
                    bills = account_bills(plan, bt.metrics.iloc[rows].reset_index(drop=True), bt.metrics["month"].max())
                    exact += [int(bill_total(lines) * 100) for lines in bills.lines]
                    continue
                months = [(int(usage.month[i]), month_lines(plan, usage.row(int(i)))) for i in rows]
                exact += [int(bill_total(s.lines) * 100) for s in span_account(plan, months, int(usage.start[rows[0]]))]
            assert exact == revenue.tolist(), plan.name

    @pytest.mark.slow
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(plan=plans())
    def test_random_plans_on_the_demo_history(self, demo_wh: Warehouse, plan: Plan) -> None:
        metrics = account_month_metrics(demo_wh, DEF)
        bt = backtest_metrics(metrics, PlanSet((plan,)))
        usage = usage_arrays(metrics)
        for i in range(0, len(metrics), 7):
            assert int(bill_total(bill(plan, usage.row(i))) * 100) == int(bt.frame["revenue_cents"].iloc[i])


# ----------------------------------------------------------------------------- metrics reference
COSTS = Costs(
    input_per_million={"standard": Decimal("0.40"), "default": Decimal("0.7")},
    output_per_million={"advanced": Decimal("15")},
    per_ai_task=Decimal("0.002"),
)

task_rows = st.lists(
    st.fixed_dictionaries(
        {
            "account_id": st.sampled_from(["A1", "A2"]),
            "day": st.integers(0, 70),
            "ai_enabled": st.booleans(),
            "tokens_in": st.integers(0, 3_000_000),
            "tokens_out": st.integers(0, 400_000),
            "model_tier": st.sampled_from(["standard", "advanced", "other", None]),
            "human_seconds": st.one_of(st.none(), st.floats(0, 500_000, allow_nan=False).map(lambda x: round(x, 3))),
        }
    ),
    min_size=1,
    max_size=25,
)


def reference_metrics(rows: list[dict[str, Any]], costs: Costs) -> dict[tuple[str, str], dict[str, Any]]:
    """Plain Python over the rows: usage and exact cost to serve per account-month."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["account_id"], r["closed_at"].strftime("%Y-%m"))
        m = out.setdefault(key, {"tasks": 0, "conversations": 0, "input_tokens": 0, "output_tokens": 0, "human_ms": 0, "cost": Decimal(0)})
        m["tasks"] += 1
        m["conversations"] += int(r["ai_enabled"])
        m["input_tokens"] += r["tokens_in"]
        m["output_tokens"] += r["tokens_out"]
        m["human_ms"] += round(Decimal(str(r["human_seconds"] or 0)) * 1000)
        m["cost"] += (
            Decimal(r["tokens_in"]) / MICRO * costs.token_price("input", r["model_tier"])
            + Decimal(r["tokens_out"]) / MICRO * costs.token_price("output", r["model_tier"])
            + (costs.per_ai_task if r["ai_enabled"] else 0)
        )
    return out


ZERO_USAGE = {"tasks": 0, "conversations": 0, "input_tokens": 0, "output_tokens": 0, "human_ms": 0, "cost": Decimal(0)}


def reference_grid(expected: dict[tuple[str, str], Any]) -> list[tuple[str, str]]:
    """Each account from its first month to the last month of all: contracts run in quiet months too."""
    last = max(m for _, m in expected)
    months = [f"2025-{i:02d}" for i in range(1, 13)]
    return [(a, m) for a in {a for a, _ in expected} for m in months if min(k[1] for k in expected if k[0] == a) <= m <= last]


class TestAccountMonthMetrics:
    @pytest.mark.slow
    @settings(max_examples=30, deadline=None)
    @given(task_rows)
    def test_match_a_plain_python_reading_of_the_tasks(self, drawn: list[dict[str, Any]]) -> None:
        rows = []
        for i, r in enumerate(drawn):
            closed = dt.datetime(2025, 1, 1, 12) + dt.timedelta(days=r.pop("day"))
            rows.append({**r, "task_id": f"T{i}", "created_at": closed - dt.timedelta(hours=1), "closed_at": closed})
        with Warehouse.in_memory() as wh:
            load_tasks(wh, rows)
            got = account_month_metrics(wh, DEF, COSTS)
            expected = reference_metrics(rows, COSTS)
            assert len(got) == len(reference_grid(expected))
            for r in got.itertuples():
                ref = expected.get((r.account_id, r.month.strftime("%Y-%m")), ZERO_USAGE)
                assert (r.tasks, r.conversations, r.input_tokens, r.output_tokens, r.human_ms) == (
                    ref["tasks"], ref["conversations"], ref["input_tokens"], ref["output_tokens"], ref["human_ms"]
                )
                assert r.cogs_cents == int(round_half_up(ref["cost"]) * 100)
                assert r.seats == 0 and r.seat_price == 0  # no accounts file

    def test_outcomes_are_the_definitions_billable_units(self, demo_wh: Warehouse) -> None:
        d = DEF.with_knobs(partial_credit=0.3)
        got = account_month_metrics(demo_wh, d)
        ref = outcomes(demo_wh, d)
        merged = got.merge(ref, on=["account_id", "month"], how="left")
        assert merged["billable_units"].notna().sum() == len(ref)  # every month with tasks is there
        np.testing.assert_allclose(merged["outcomes"], merged["billable_units"].fillna(0), atol=1e-9)

    def test_seats_come_from_the_accounts_table(self, demo_wh: Warehouse) -> None:
        got = account_month_metrics(demo_wh, DEF).drop_duplicates("account_id")
        accounts = demo_wh.query_df("SELECT account_id, seats, seat_price FROM accounts")
        merged = got.merge(accounts, on="account_id", suffixes=("", "_acc"))
        assert (merged["seats"] == merged["seats_acc"]).all()
        assert np.allclose(merged["seat_price"], merged["seat_price_acc"])


# ----------------------------------------------------------------------------- backtest views
@pytest.fixture(scope="module")
def bt(demo_wh: Warehouse) -> Any:
    return backtest(demo_wh, example_plans(), DEF)


class TestBacktest:
    def test_one_row_per_account_month_and_plan_with_margin(self, bt: Any) -> None:
        assert len(bt.frame) == len(bt.metrics) * len(bt.plans)
        assert np.allclose(bt.frame["margin"], bt.frame["revenue"] - bt.frame["cogs"])
        assert {"account_id", "month", "plan", "revenue", "cogs", "margin", "outcomes", "seats"} <= set(bt.frame)

    def test_portfolio_and_totals_add_up_the_frame(self, bt: Any) -> None:
        port = bt.portfolio()
        assert port["revenue"].sum() == pytest.approx(bt.frame["revenue"].sum())
        totals = bt.totals().set_index("plan")
        assert totals.loc["seats-today", "change_vs_reference"] == 0
        per_outcome = bt.frame.loc[bt.frame["plan"] == "per-outcome", "revenue"].sum()
        assert totals.loc["per-outcome", "revenue"] == pytest.approx(per_outcome)

    def test_account_changes_are_plan_minus_reference(self, bt: Any) -> None:
        changes = bt.account_changes("per-outcome")
        assert list(changes["change"]) == sorted(changes["change"], reverse=True)
        row = changes.iloc[0]
        f = bt.frame[bt.frame["account_id"] == row["account_id"]]
        assert row["change"] == pytest.approx(
            f.loc[f["plan"] == "per-outcome", "revenue"].sum() - f.loc[f["plan"] == "seats-today", "revenue"].sum()
        )

    def test_winners_and_losers_split_by_the_sign_of_the_change(self, bt: Any) -> None:
        more, less = bt.winners_losers("per-outcome", n=3)
        assert len(more) <= 3 and len(less) <= 3
        assert (more["change"] > 0).all() and (less["change"] < 0).all()
        assert list(less["change"]) == sorted(less["change"])

    def test_seat_revenue_at_risk_is_the_unneeded_seats(self, bt: Any) -> None:
        by_account = bt.seat_erosion(by="account")
        expected = np.maximum(by_account["seats"] - by_account["seats_needed"], 0) * bt.metrics.set_index(
            ["account_id", "month"]
        ).loc[list(zip(by_account["account_id"], by_account["month"], strict=True)), "seat_price"].to_numpy()
        assert np.allclose(by_account["seat_revenue_at_risk"], expected)
        by_month = bt.seat_erosion()
        assert by_month["seat_revenue_at_risk"].sum() == pytest.approx(by_account["seat_revenue_at_risk"].sum())
        seats_rev = bt.frame.loc[bt.frame["plan"] == "seats-today", "revenue"].sum()
        assert by_month["seat_revenue"].sum() == pytest.approx(seats_rev)

    def test_unknown_reference_is_refused(self, demo_wh: Warehouse) -> None:
        from outcome_pricing.errors import ConfigError

        with pytest.raises(ConfigError, match="no plan named 'nope'"):
            backtest(demo_wh, example_plans(), DEF, reference="nope")


class TestPriceSweep:
    def test_revenue_at_the_current_price_is_the_backtests(self, bt: Any) -> None:
        sweep = price_sweep_metrics(bt.metrics, example_plans(), "per-outcome", prices=[Decimal("0.99"), Decimal(2)])
        assert sweep.portfolio["revenue"].iloc[0] == pytest.approx(bt.totals().set_index("plan").loc["per-outcome", "revenue"])
        assert sweep.portfolio["revenue"].is_monotonic_increasing

    def test_break_even_price_earns_the_reference_revenue(self, bt: Any) -> None:
        ps = example_plans()
        sweep = price_sweep_metrics(bt.metrics, ps, "per-outcome", reference="seats-today")
        assert sweep.break_even_price > 0
        at = price_sweep_metrics(bt.metrics, ps, "per-outcome", prices=[Decimal(str(round(sweep.break_even_price, 2)))])
        ref = bt.totals().set_index("plan").loc["seats-today", "revenue"]
        outcomes_total = bt.metrics["outcomes"].sum()
        # within one cent of price times all outcomes
        assert abs(at.portfolio["revenue"].iloc[0] - ref) <= 0.01 * outcomes_total
        no_outcomes = sweep.break_even[sweep.break_even["outcomes"] == 0]
        assert no_outcomes["break_even_price"].isna().all()

    def test_the_default_sweep_reaches_past_the_portfolio_break_even(self, bt: Any) -> None:
        sweep = price_sweep_metrics(bt.metrics, example_plans(), "per-outcome", reference="seats-today")
        assert sweep.break_even_price < sweep.portfolio["price"].max()
        assert (sweep.portfolio["revenue"] >= sweep.portfolio["reference_revenue"]).any()

    def test_plan_without_outcome_charge_is_refused(self, bt: Any) -> None:
        from outcome_pricing.errors import ConfigError

        with pytest.raises(ConfigError, match="no outcome charge"):
            price_sweep_metrics(bt.metrics, example_plans(), "seats-today")


# ----------------------------------------------------------------------------- CLI
class TestBacktestCli:
    def test_json_has_the_contract_keys_and_numbers(self, demo_db_path: Path) -> None:
        result = CliRunner().invoke(
            cli, ["--db", str(demo_db_path), "backtest", "--plans", str(EXAMPLE_PLANS), "--definition", "zendesk-ar", "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        rows = json.loads(result.output)
        assert {"account_id", "month", "plan", "revenue", "cogs", "margin"} <= set(rows[0])
        assert isinstance(rows[0]["revenue"], float | int) and len(rows[0]["month"]) == 7
        assert {r["plan"] for r in rows} == set(example_plans().names)

    def test_bad_plans_file_exits_non_zero_with_the_key(self, demo_db_path: Path, tmp_path: Path) -> None:
        bad = tmp_path / "bad.toml"
        bad.write_text('[[plans]]\nname = "x"\n[[plans.charges]]\nmetric = "outcomes"\n')
        result = CliRunner().invoke(cli, ["--db", str(demo_db_path), "backtest", "--plans", str(bad), "--definition", "strict"])
        assert result.exit_code != 0
        assert "plan 'x', charge 1 (outcomes), key 'price'" in str(result.exception or result.output)

    def test_table_and_csv_formats(self, demo_db_path: Path) -> None:
        for fmt in ("table", "csv"):
            result = CliRunner().invoke(
                cli, ["--db", str(demo_db_path), "backtest", "--plans", str(EXAMPLE_PLANS), "--definition", "strict", "--format", fmt]
            )
            assert result.exit_code == 0, result.output
            assert "per-outcome" in result.output
            if fmt == "csv":
                assert len(pd.read_csv(__import__("io").StringIO(result.output))) > 0


class TestPlansDefault:
    """--plans is optional on every command that prices: without it, the packaged example plans."""

    @pytest.mark.parametrize("command", ["backtest", "statement", "forecast", "roi"])
    def test_help_says_the_packaged_plans_are_the_default(self, command: str) -> None:
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0, result.output
        help_text = " ".join(result.output.split())
        assert "Default: the example plans shipped with the package" in help_text
        assert "data/plans.toml" not in help_text

    @pytest.mark.parametrize(
        "args",
        [
            ["backtest", "--definition", "zendesk-ar", "--format", "json"],
            ["forecast", "--definition", "zendesk-ar", "--months", "2", "--scenarios", "50", "--format", "json"],
            ["roi", "--account", "A0002", "--plan", "per-outcome", "--definition", "zendesk-ar"],
        ],
        ids=["backtest", "forecast", "roi"],
    )
    def test_without_plans_the_output_is_that_of_the_example_plans(self, demo_db_path: Path, args: list[str]) -> None:
        base = ["--db", str(demo_db_path), *args]
        without = CliRunner().invoke(cli, base)
        assert without.exit_code == 0, without.output
        with_file = CliRunner().invoke(cli, [*base, "--plans", str(EXAMPLE_PLANS)])
        assert with_file.exit_code == 0, with_file.output
        assert without.output == with_file.output
        assert "per-outcome" in without.output
