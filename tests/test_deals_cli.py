"""The deal terms from the command line: a refused plans file exits 2 naming plan and key and
writes nothing; deal-risk gives machine-readable JSON; a statement shows the savings computation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from outcome_pricing.cli import cli, main

BAD = """
[[plans]]
name = "too-sure"
  [[plans.charges]]
  metric = "outcomes"
  price = 0.99
  [plans.guarantee]
  min_resolution_rate = 80
  window_months = 3
  credit_pct = 1
"""


def test_a_bad_guarantee_exits_2_naming_the_plan_and_the_key(
    demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = tmp_path / "deal.toml"
    plans.write_text(BAD)
    out = tmp_path / "never.csv"
    monkeypatch.setattr(sys, "argv", [
        "outcome-pricing", "--db", str(demo_db_path), "statement", "--account", "A0001", "--month", "2025-03",
        "--plans", str(plans), "--plan", "too-sure", "--definition", "intercom-fin-2025", "--out", str(out),
    ])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    message = capsys.readouterr().err
    assert "deal.toml" in message and "too-sure" in message and "min_resolution_rate" in message
    assert "0.8 = 80%" in message
    assert not out.exists()


@pytest.mark.slow
def test_deal_risk_json(demo_db_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(demo_db_path), "deal-risk", "--definition", "intercom-fin-2025",
                                      "--scenarios", "50", "--months", "6", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"months", "scenarios", "seed", "plans", "definition"} <= set(data)
    guaranteed = data["plans"]["guaranteed-outcomes"]
    assert {"p_any_trigger", "expected_credit", "p90_credit"} <= set(guaranteed["portfolio"])
    assert {"account_id", "p_trigger", "expected_credit", "p90_credit"} <= set(guaranteed["accounts"][0])
    assert all(0 <= a["p_trigger"] <= 1 for a in guaranteed["accounts"])
    assert {"gain_share_p10", "gain_share_p50", "gain_share_p90"} <= set(data["plans"]["funded-gain-share"]["portfolio"])


@pytest.mark.slow
def test_a_gain_share_statement_shows_its_savings_computation(demo_db_path: Path) -> None:
    from outcome_pricing.pricing import backtest, example_plans
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse import Warehouse

    with Warehouse.open(demo_db_path, read_only=True) as wh:
        frame = backtest(wh, example_plans(), Definition.preset("intercom-fin-2025")).frame
    row = frame[(frame["plan"] == "funded-gain-share") & (frame["usage"] > 0)].iloc[0]
    result = CliRunner().invoke(cli, ["--db", str(demo_db_path), "statement", "--account", row["account_id"],
                                      "--month", row["month"].strftime("%Y-%m"), "--plan", "funded-gain-share",
                                      "--definition", "intercom-fin-2025"])
    assert result.exit_code == 0, result.output
    assert "SAVINGS COMPUTATION" in result.output and "AI tasks x (baseline" in result.output
    assert f"{row['revenue']:,.2f}" in result.output
