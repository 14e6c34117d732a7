"""Plans from TOML, their validation, half-up rounding and the charge arithmetic on
hand-computed cases (both implementations: Decimal lines and integer-cent arrays)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from outcome_pricing.errors import ConfigError
from outcome_pricing.kit.money import MICRO, round_half_up
from outcome_pricing.pricing import example_plans, example_plans_text
from outcome_pricing.pricing.charges import (
    Usage,
    UsageArrays,
    bill,
    bill_total,
    charge_line,
    plan_cents,
)
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.terms import Charge, LineKind, Metric, Mode, Plan, Tier

D = Decimal
LADDER = (Tier(D(100), D("1.00")), Tier(D(200), D("0.50")), Tier(None, D("0.25")))


def usage(**quantities: str | int) -> Usage:
    """Usage with the given metrics (as exact decimals); others 0."""
    human_ms = int(quantities.pop("human_ms", 0))
    seat_price = D(str(quantities.pop("seat_price", 0)))
    return Usage({Metric(k): D(str(v)) for k, v in quantities.items()}, human_ms, seat_price)


def as_arrays(u: Usage) -> UsageArrays:
    micro = {m: np.array([int(u.quantities.get(m, D(0)) * MICRO)], dtype=np.int64) for m in Metric if m is not Metric.SEATS_NEEDED}
    return UsageArrays(micro, np.array([u.human_ms], dtype=np.int64), np.array([int(u.seat_price * MICRO)], dtype=np.int64))


def totals(plan: Plan, u: Usage) -> tuple[Decimal, Decimal]:
    """The plan's total for one account-month by both implementations."""
    exact = bill_total(bill(plan, u))
    fast = D(int(plan_cents(plan, as_arrays(u)).total[0])) / 100
    return exact, fast


def one_charge(charge: Charge, **plan: str) -> Plan:
    return Plan("p", charges=(charge,), **{k: D(v) for k, v in plan.items()})


class TestRoundHalfUp:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("0.125", "0.13"), ("2.675", "2.68"), ("0.005", "0.01"), ("0.0049", "0.00"), ("10.395", "10.40"), ("-0.125", "-0.13")],
    )
    def test_halves_round_away_from_zero(self, value: str, expected: str) -> None:
        assert round_half_up(D(value)) == D(expected)

    def test_differs_from_python_round_on_the_classic_cases(self) -> None:
        assert round(D("0.125"), 2) == D("0.12")  # banker's rounding: why we have our own
        assert round(2.675, 2) == 2.67  # the float is 2.67499999...
        assert round_half_up(D("2.675")) == D("2.68")


class TestFlatCharge:
    def test_bills_quantity_after_allowance_times_price(self) -> None:
        plan = one_charge(Charge(Metric.OUTCOMES, included=D(50), price=D("0.99")))
        assert totals(plan, usage(outcomes=150)) == (D("99.00"), D("99.00"))

    def test_allowance_larger_than_usage_bills_nothing(self) -> None:
        charge = Charge(Metric.OUTCOMES, included=D(500), price=D("2.00"))
        line = charge_line(charge, usage(outcomes=300))
        assert (line.quantity, line.billable, line.amount) == (D(300), D(0), D("0.00"))
        assert totals(one_charge(charge), usage(outcomes=300)) == (D(0), D(0))

    def test_fractional_units_from_partial_credit_round_half_up_per_line(self) -> None:
        plan = one_charge(Charge(Metric.OUTCOMES, price=D("0.99")))
        # 10 outcomes + 1 partial handoff at 0.5 credit = 10.5 units; 10.5 x 0.99 = 10.395
        assert totals(plan, usage(outcomes="10.5")) == (D("10.40"), D("10.40"))

    def test_one_eighth_of_a_dollar_rounds_up(self) -> None:
        plan = one_charge(Charge(Metric.OUTCOMES, price=D(1)))
        assert totals(plan, usage(outcomes="0.125")) == (D("0.13"), D("0.13"))

    def test_account_price_uses_each_accounts_seat_price(self) -> None:
        plan = one_charge(Charge(Metric.SEATS, account_price=True))
        assert totals(plan, usage(seats=12, seat_price=94.5)) == (D("1134.00"), D("1134.00"))

    def test_tokens_are_billed_per_million(self) -> None:
        plan = one_charge(Charge(Metric.INPUT_TOKENS_M, price=D(25)))
        assert totals(plan, usage(input_tokens_m="1.234567")) == (D("30.86"), D("30.86"))


class TestSeatsNeeded:
    @pytest.mark.parametrize(
        ("human_ms", "seats"),
        [(0, 0), (1, 1), (120 * 3_600_000, 1), (120 * 3_600_000 + 1, 2), (240 * 3_600_000, 2)],
    )
    def test_is_the_ceiling_of_hours_over_hours_per_seat(self, human_ms: int, seats: int) -> None:
        plan = one_charge(Charge(Metric.SEATS_NEEDED, price=D(10)))
        assert totals(plan, usage(human_ms=human_ms)) == (D(10 * seats), D(10 * seats))

    def test_hours_per_seat_is_a_charge_option(self) -> None:
        plan = one_charge(Charge(Metric.SEATS_NEEDED, price=D(10), hours_per_seat=D(100)))
        assert totals(plan, usage(human_ms=150 * 3_600_000)) == (D(20), D(20))


class TestGraduatedTiers:
    @pytest.mark.parametrize(
        ("quantity", "expected"),
        [(0, "0"), (1, "1.00"), (100, "100.00"), (101, "100.50"), (200, "150.00"), (201, "150.25"), (250, "162.50")],
    )
    def test_each_band_at_its_own_price_with_inclusive_bounds(self, quantity: int, expected: str) -> None:
        plan = one_charge(Charge(Metric.OUTCOMES, tiers=LADDER, mode=Mode.GRADUATED))
        assert totals(plan, usage(outcomes=quantity)) == (D(expected), D(expected))

    def test_first_tier_bills_from_unit_one_after_the_allowance(self) -> None:
        plan = one_charge(Charge(Metric.OUTCOMES, included=D(50), tiers=LADDER))
        # 150 used, 50 included: 100 billable, all in the first band
        assert totals(plan, usage(outcomes=150)) == (D("100.00"), D("100.00"))

    def test_line_shows_the_bands(self) -> None:
        line = charge_line(Charge(Metric.OUTCOMES, tiers=LADDER), usage(outcomes=250))
        assert line.detail == "100 x $1.00 + 100 x $0.50 + 50 x $0.25"


class TestVolumeTiers:
    @pytest.mark.parametrize(
        ("quantity", "expected"),
        [(0, "0"), (100, "100.00"), (101, "50.50"), (200, "100.00"), (201, "50.25"), (1000, "250.00")],
    )
    def test_all_units_at_the_price_of_the_band_the_quantity_falls_in(self, quantity: int, expected: str) -> None:
        plan = one_charge(Charge(Metric.OUTCOMES, tiers=LADDER, mode=Mode.VOLUME))
        assert totals(plan, usage(outcomes=quantity)) == (D(expected), D(expected))


class TestCapAndMinimum:
    def two_charges(self, **plan: str) -> Plan:
        return Plan(
            "p",
            charges=(Charge(Metric.OUTCOMES, price=D("1.50")), Charge(Metric.CONVERSATIONS, price=D("0.50"))),
            **{k: D(v) for k, v in plan.items()},
        )

    def test_cap_limits_usage_lines_with_a_credit_line(self) -> None:
        plan = self.two_charges(cap="120", platform_fee="10")
        lines = bill(plan, usage(outcomes=100, conversations=100))  # 150 + 50 usage
        cap = [line for line in lines if line.kind is LineKind.CAP]
        assert cap[0].amount == D(-80)
        assert totals(plan, usage(outcomes=100, conversations=100)) == (D(130), D(130))

    def test_cap_below_usage_does_nothing(self) -> None:
        plan = self.two_charges(cap="500")
        assert all(line.kind is not LineKind.CAP for line in bill(plan, usage(outcomes=10)))
        assert totals(plan, usage(outcomes=10)) == (D(15), D(15))

    def test_minimum_true_up_tops_the_total_up(self) -> None:
        plan = self.two_charges(minimum="100", platform_fee="5")
        lines = bill(plan, usage(outcomes=10, conversations=10))  # 15 + 5 + fee 5 = 25
        assert [line.amount for line in lines if line.kind is LineKind.MINIMUM] == [D(75)]
        assert totals(plan, usage(outcomes=10, conversations=10)) == (D(100), D(100))

    def test_minimum_below_the_total_adds_no_line(self) -> None:
        plan = self.two_charges(minimum="10")
        assert totals(plan, usage(outcomes=10)) == (D(15), D(15))
        assert all(line.kind is not LineKind.MINIMUM for line in bill(plan, usage(outcomes=10)))

    def test_committed_outcomes_bill_the_commitment_then_pay_as_you_go(self) -> None:
        plan = example_plans().plan("outcome-committed")  # 50 x $1.50 minimum, $2.00 above
        assert totals(plan, usage(outcomes=30)) == (D(75), D(75))
        assert totals(plan, usage(outcomes=80)) == (D(135), D(135))


class TestPlanToml:
    def test_example_plans_load_and_cover_every_kind_of_plan(self) -> None:
        ps = example_plans()
        assert len(ps.plans) >= 7
        metrics = {c.metric for p in ps.plans for c in p.charges}
        assert {Metric.SEATS, Metric.SEATS_NEEDED, Metric.OUTCOMES, Metric.CONVERSATIONS, Metric.INPUT_TOKENS_M} <= metrics
        assert ps.costs.token_price("input", "advanced") == D("3.00")
        assert ps.costs.token_price("input", "no-such-tier") == ps.costs.input_per_million["default"]

    def test_round_trips_through_toml(self) -> None:
        ps = example_plans()
        assert PlanSet.from_toml_text(ps.to_toml()) == ps

    def test_money_is_decimal_as_written(self) -> None:
        assert example_plans().plan("per-outcome").charges[0].price == D("0.99")

    def test_missing_default_cost_tier_costs_nothing(self) -> None:
        ps = PlanSet.from_toml_text('[[plans]]\nname="a"\n[costs]\ninput_per_million = { standard = 1 }\n')
        assert ps.costs.token_price("input", "advanced") == 0

    def test_with_outcome_price_reprices_flat_and_scales_tiers(self) -> None:
        ps = example_plans()
        assert ps.plan("per-outcome").with_outcome_price(D("1.25")).charges[0].price == D("1.25")
        ladder = ps.plan("outcome-ladder").with_outcome_price(D("1.98")).charges[0].tiers
        assert [t.price for t in ladder] == [D("1.98"), D("1.78"), D("1.58")]

    def test_outcome_price_is_the_flat_price_or_the_first_tiers(self) -> None:
        ps = example_plans()
        assert ps.plan("per-outcome").outcome_price() == D("0.99")
        assert ps.plan("outcome-ladder").outcome_price() == ps.plan("outcome-ladder").charges[0].tiers[0].price
        assert ps.plan("seats-today").outcome_price() is None
        assert ps.plan("outcome-ladder").with_outcome_price(D("1.98")).outcome_price() == D("1.98")

    def test_a_form_price_is_rounded_to_six_decimals(self) -> None:
        plan = example_plans().plan("per-outcome")
        assert plan.with_outcome_price(1.2345678).outcome_price() == D("1.234568")
        assert plan.with_outcome_price(0.1 + 0.2).outcome_price() == D("0.3")

    def test_form_edits_round_fees_to_cents_and_prices_to_six_decimals(self) -> None:
        ps = example_plans()
        edited = ps.edited("per-outcome", {"platform_fee": 12.3456, "cap": 0.1 + 0.2}, {0: {"price": 0.98765432}})
        plan = edited.plan("per-outcome")
        assert (plan.platform_fee, plan.cap, plan.charges[0].price) == (D("12.35"), D("0.3"), D("0.987654"))



class TestDefaultPlans:
    def test_reference_is_the_first_plan_and_proposed_the_first_with_an_outcome_charge(self) -> None:
        ps = example_plans()
        assert ps.default_reference() == ps.names[0] == "seats-today"
        assert ps.default_proposed() == "per-outcome"
        assert ps.plan(ps.default_proposed()).has_outcome_charge

    def test_without_an_outcome_charge_the_proposed_plan_is_the_last(self) -> None:
        ps = example_plans()
        no_outcomes = replace(ps, plans=tuple(p for p in ps.plans if not p.has_outcome_charge))
        assert no_outcomes.default_proposed() == no_outcomes.names[-1] != no_outcomes.default_reference()

    def test_a_single_plan_is_both_reference_and_proposed(self) -> None:
        ps = PlanSet((Plan("only"),))
        assert ps.default_reference() == ps.default_proposed() == "only"

def plan_text(charge: str = 'metric = "outcomes"\nprice = 0.99', plan: str = "") -> str:
    return f'[[plans]]\nname = "pilot"\n{plan}\n[[plans.charges]]\nmetric = "tasks"\nprice = 1\n[[plans.charges]]\n{charge}\n'


class TestPlanVersion:
    def test_a_plan_version_is_ten_hex_characters_and_ignores_name_and_description(self) -> None:
        plan = example_plans().plan("hybrid")
        assert len(plan.version) == 10 and int(plan.version, 16) >= 0
        assert replace(plan, name="renamed", description="other words").version == plan.version

    @pytest.mark.parametrize(
        "change",
        [
            {"platform_fee": D("1.00")},
            {"minimum": D("10.00")},
            {"cap": D("99.00")},
            {"charges": ()},
        ],
    )
    def test_a_plan_version_changes_with_any_term(self, change: dict[str, object]) -> None:
        plan = example_plans().plan("hybrid")
        assert replace(plan, **change).version != plan.version  # type: ignore[arg-type]

    def test_a_plan_version_changes_with_the_price_not_with_trailing_zeros(self) -> None:
        plan = one_charge(Charge(Metric.OUTCOMES, price=D("0.99")))
        assert plan.version != plan.with_outcome_price(D("1.00")).version
        assert plan.version == plan.with_outcome_price(D("0.990")).version

    def test_a_planset_version_survives_a_round_trip_and_ignores_descriptions(self) -> None:
        plans = example_plans()
        assert PlanSet.from_toml_text(plans.to_toml()).version == plans.version
        reworded = plans.replace_plan(replace(plans.plan("hybrid"), description="new words"))
        assert reworded.version == plans.version

    def test_a_planset_version_changes_with_any_plan_a_plan_name_or_the_costs(self) -> None:
        plans = example_plans()
        dearer = plans.replace_plan(plans.plan("per-outcome").with_outcome_price(D("1.50")))
        renamed = replace(plans, plans=(replace(plans.plans[0], name="other"), *plans.plans[1:]))
        costlier = replace(plans, costs=replace(plans.costs, per_ai_task=D("0.5")))
        versions = {plans.version, dearer.version, renamed.version, costlier.version}
        assert len(versions) == 4


class TestInvalidPlans:
    @pytest.mark.parametrize(
        ("charge", "names"),
        [
            ('metric = "resolutions"\nprice = 1', ["plan 'pilot'", "charge 2", "'metric'", "outcomes"]),
            ('metric = "outcomes"\ninclued = 5\nprice = 1', ["charge 2 (outcomes)", "'inclued'"]),
            ('metric = "outcomes"\nprice = -1', ["charge 2 (outcomes)", "'price'", ">= 0"]),
            ('metric = "outcomes"\nprice = "1.00"', ["charge 2 (outcomes)", "'price'", "without quotes"]),
            ('metric = "outcomes"\nprice = 0.1234567', ["'price'", "6 decimal places"]),
            ('metric = "outcomes"', ["charge 2 (outcomes)", "'price'", "exactly one"]),
            ('metric = "outcomes"\nprice = 1\ntiers = [{price = 1}]', ["'price'", "exactly one"]),
            ('metric = "outcomes"\nmode = "volume"\nprice = 1', ["'mode'", "only tiered"]),
            ('metric = "outcomes"\nmode = "bulk"\ntiers = [{price = 1}]', ["'mode'", "graduated"]),
            ('metric = "outcomes"\ntiers = [{up_to = 10, price = 1}]', ["tier 1", "'up_to'", "last tier"]),
            ('metric = "outcomes"\ntiers = [{price = 1}, {price = 2}]', ["tier 1", "'up_to'", "every tier but the last"]),
            ('metric = "outcomes"\ntiers = [{up_to = 10, price = 1}, {up_to = 5, price = 1}, {price = 1}]', ["tier 2", "'up_to'", "greater than"]),
            ('metric = "outcomes"\ntiers = [{up_to = 10}, {price = 1}]', ["tier 1", "'price'", "needs a price"]),
            ('metric = "outcomes"\nhours_per_seat = 100\nprice = 1', ["'hours_per_seat'", "seats_needed"]),
            ('metric = "seats_needed"\nhours_per_seat = 0\nprice = 1', ["charge 2 (seats_needed)", "'hours_per_seat'"]),
        ],
    )
    def test_bad_charge_names_plan_charge_and_key(self, charge: str, names: list[str]) -> None:
        with pytest.raises(ConfigError) as err:
            PlanSet.from_toml_text(plan_text(charge), source="plans.toml")
        message = str(err.value)
        assert message.startswith("plans.toml: plan 'pilot'")
        for name in names:
            assert name in message

    @pytest.mark.parametrize(
        ("plan", "key"),
        [("platform_fee = 0.001", "platform_fee"), ("minimum = -5", "minimum"), ("cap = true", "cap"), ("fee = 3", "fee")],
    )
    def test_bad_plan_key_is_named(self, plan: str, key: str) -> None:
        with pytest.raises(ConfigError, match=f"plan 'pilot', key '{key}'"):
            PlanSet.from_toml_text(plan_text(plan=plan))

    def test_duplicate_plan_names_are_refused(self) -> None:
        text = plan_text() + '[[plans]]\nname = "pilot"\n'
        with pytest.raises(ConfigError, match="names must be unique"):
            PlanSet.from_toml_text(text)

    def test_bad_costs_are_named(self) -> None:
        with pytest.raises(ConfigError, match=r"\[costs\].input_per_million, key 'advanced'"):
            PlanSet.from_toml_text(plan_text() + '[costs]\ninput_per_million = { advanced = "x" }\n')

    def test_no_plans_and_broken_toml_are_refused(self) -> None:
        with pytest.raises(ConfigError, match="at least one"):
            PlanSet.from_toml_text("[costs]\nper_ai_task = 0.01\n")
        with pytest.raises(ConfigError, match="not valid TOML"):
            PlanSet.from_toml_text("[[plans]\n")

    def test_unknown_plan_lists_the_plans(self) -> None:
        with pytest.raises(ConfigError, match="seats-today"):
            example_plans().plan("nope")

    def test_example_file_is_what_the_app_loads(self) -> None:
        assert PlanSet.from_toml_text(example_plans_text()) == example_plans()


# ----------------------------------------------------------------------------- the keys of DESIGN 8-10
SHAPED_TEXT = """
[[plans]]
name = "shaped"
close_lag_days = 5
  [plans.commitment]
  amount = 1200
  months = 12
  rollover = true
  rollover_max_pct = 0.25
  [[plans.charges]]
  metric = "outcomes"
  by = "model_tier"
  prices = { advanced = 1.49, default = 0.99 }
  audit_settlement = "upper_bound"
  audit_window_months = 6
  [[plans.charges]]
  metric = "tasks"
  block = 100
  included = 50
  mode = "volume"
  tiers = [ { up_to = 10, price = 2, flat = 5 }, { price = 1.5, flat = 7.25 } ]
"""


class TestNewPlanKeys:
    def test_every_new_key_reads_and_round_trips_through_toml(self) -> None:
        ps = PlanSet.from_toml_text(SHAPED_TEXT)
        plan = ps.plans[0]
        assert plan.close_lag_days == 5
        assert plan.commitment is not None and plan.commitment.months == 12 and plan.commitment.rollover_max_pct == D("0.25")
        by, blocks = plan.charges
        assert by.by is not None and by.by.value == "model_tier" and by.price_of("advanced") == D("1.49")
        assert by.audit_settlement.value == "upper_bound" and by.audit_window_months == 6
        assert blocks.block == D(100) and blocks.tiers[1].flat == D("7.25")
        again = PlanSet.from_toml_text(ps.to_toml())
        assert again == ps and again.version == ps.version

    def test_a_key_left_at_its_default_leaves_the_version_unchanged(self) -> None:
        bare = PlanSet.from_toml_text(plan_text())
        explicit = PlanSet.from_toml_text(plan_text(
            'metric = "outcomes"\nprice = 0.99\naudit_settlement = "none"\naudit_window_months = 3',
            plan="close_lag_days = 0"))
        assert explicit.version == bare.version and explicit.plans[0].version == bare.plans[0].version
        tiered = PlanSet.from_toml_text(plan_text('metric = "outcomes"\ntiers = [ { price = 1, flat = 0 } ]'))
        assert "flat" not in tiered.canonical()
        for key in ("close_lag_days", "commitment", "audit_settlement", "audit_window_months", "block", "flat", "by"):
            assert key not in example_plans().plan("hybrid").canonical()

    @pytest.mark.parametrize(
        "change",
        [{"close_lag_days": 1}, {"commitment": {"amount": 10, "months": 1}}],
    )
    def test_a_new_key_changes_the_version_when_set(self, change: dict[str, object]) -> None:
        ps = example_plans()
        assert ps.edited("hybrid", change).plan("hybrid").version != ps.plan("hybrid").version

    def test_the_form_api_sets_a_price_by_model_tier_and_a_commitment(self) -> None:
        ps = example_plans().edited(
            "per-outcome",
            fields={"commitment": {"amount": 1000.004, "months": 3, "rollover": True, "rollover_max_pct": 0.5}},
            charges={0: {"price": None, "by": "model_tier", "prices": {"advanced": 1.4900001, "default": 0.99}}},
        )
        plan = ps.plan("per-outcome")
        assert plan.commitment is not None and plan.commitment.amount == D("1000.00")
        assert plan.charges[0].prices == (("advanced", D("1.49")), ("default", D("0.99")))
        assert ps.edited("per-outcome", {"commitment": None}).plan("per-outcome").commitment is None


class TestNonsenseCombinationsAreRefused:
    @pytest.mark.parametrize(
        ("charge", "names"),
        [
            ('metric = "outcomes"\nby = "model_tier"\nprices = { default = 1 }\ntiers = [{price = 1}]', ["'by'", "no `tiers`"]),
            ('metric = "outcomes"\nby = "model_tier"\nprices = { default = 1 }\nprice = 1', ["'by'", "no `price`"]),
            ('metric = "outcomes"\nby = "model_tier"\nprices = { default = 1 }\nincluded = 5', ["'included'", "allowance"]),
            ('metric = "outcomes"\nby = "model_tier"\nprices = { default = 1 }\nblock = 5', ["'block'", "blocks"]),
            ('metric = "outcomes"\nby = "model_tier"\nprices = { advanced = 1 }', ["'prices'", "`default`"]),
            ('metric = "outcomes"\nby = "model_tier"', ["'prices'", "must be a table"]),
            ('metric = "outcomes"\nby = "region"\nprices = { default = 1 }', ["'by'", "not a dimension"]),
            ('metric = "seats"\nby = "channel"\nprices = { default = 1 }', ["'by'", "cannot be priced by dimension"]),
            ('metric = "outcomes"\nprice = 1\nprices = { default = 1 }', ["'prices'", "go with `by`"]),
            ('metric = "outcomes"\nprice = 1\nblock = 0', ["'block'", "> 0"]),
            ('metric = "outcomes"\nprice = 1\nblock = -2', ["'block'", "> 0"]),
            ('metric = "seats"\nprice = "account"\nblock = 5', ["'block'", "per seat"]),
            ('metric = "tasks"\nprice = 1\naudit_settlement = "point"', ["charge 2 (tasks)", "'audit_settlement'", "outcomes"]),
            ('metric = "outcomes"\nprice = 1\naudit_settlement = "maybe"', ["'audit_settlement'", "'upper_bound'"]),
            ('metric = "outcomes"\nprice = 1\naudit_window_months = 0', ["'audit_window_months'", "from 1"]),
            ('metric = "outcomes"\nprice = 1\naudit_window_months = 2.5', ["'audit_window_months'", "whole number"]),
            ('metric = "outcomes"\ntiers = [{price = 1, flat = -1}]', ["tier 1", "'flat'", ">= 0"]),
        ],
    )
    def test_named_by_plan_charge_and_key(self, charge: str, names: list[str]) -> None:
        with pytest.raises(ConfigError) as err:
            PlanSet.from_toml_text(plan_text(charge), source="plans.toml")
        message = str(err.value)
        assert message.startswith("plans.toml: plan 'pilot', charge 2")
        for name in names:
            assert name in message

    @pytest.mark.parametrize(
        ("plan", "key", "words"),
        [
            ("minimum = 10\n[plans.commitment]\namount = 100\nmonths = 3", "minimum", "takes no minimum"),
            ("[plans.commitment]\namount = 100", "months", "required"),
            ("[plans.commitment]\namount = 0\nmonths = 3", "amount", "> 0"),
            ("[plans.commitment]\namount = 100\nmonths = 0", "months", "from 1"),
            ("[plans.commitment]\namount = 100\nmonths = 3\nrollover_max_pct = 0.5", "rollover_max_pct", "rollover = true"),
            ("[plans.commitment]\namount = 100.001\nmonths = 3", "amount", "decimal places"),
            ("[plans.commitment]\namount = 100\nmonths = 3\nrollover = 1", "rollover", "true or false"),
            ("close_lag_days = 32", "close_lag_days", "from 0 to 31"),
            ("close_lag_days = true", "close_lag_days", "whole number"),
            ("close_lag_days = -1", "close_lag_days", "from 0 to 31"),
        ],
    )
    def test_plan_keys_named(self, plan: str, key: str, words: str) -> None:
        text = f'[[plans]]\nname = "pilot"\n{plan}\n[[plans.charges]]\nmetric = "tasks"\nprice = 1\n'
        with pytest.raises(ConfigError) as err:
            PlanSet.from_toml_text(text, source="plans.toml")
        assert str(err.value).startswith("plans.toml: plan 'pilot'") and f"key '{key}'" in str(err.value)
        assert words in str(err.value)

    def test_the_packaged_examples_carry_the_three_new_shapes(self) -> None:
        ps = example_plans()
        assert ps.plan("outcome-by-model-tier").charges[0].by is not None
        committed = ps.plan("committed-rollover").commitment
        assert committed is not None and committed.rollover
        assert any(t.flat for t in ps.plan("graduated-flat-fees").charges[0].tiers)
