"""`audit` and `audit-sample`: how many billed outcomes were genuine, and what to audit next."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pandas as pd

from outcome_pricing.cli._common import DEF_HELP, Context, pass_context
from outcome_pricing.errors import ConfigError
from outcome_pricing.proof import audit as proof_audit
from outcome_pricing.rules import load_definition

ACCOUNT_HELP = "Only this account (default: the whole portfolio)."
MONTH_HELP = "Only this close month, YYYY-MM (repeat for several; default: every month)."


def audit_record(wh: Any, d: Any, selection: proof_audit.Selection, margin: float | None) -> dict[str, Any]:
    """The JSON of `audit` (DESIGN section 6 keys, plus the units, genuine outcomes and warnings)."""
    est = proof_audit.estimate(wh, d, selection)
    record = est.record()
    record["judge"] = proof_audit.judge(wh, d, selection).record()
    if margin is not None:
        record["sample_size"] = proof_audit.sample_size(margin, est.billable_outcomes, est.overall.rate)
    record |= {"definition": d.name, "definition_version": d.version,
               "account_id": selection.account_id,
               "months": [m.strftime("%Y-%m") for m in selection.months], "sentence": est.sentence()}
    return record


@click.command("audit")
@click.option("--definition", "definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--account", "account", default=None, metavar="ID", help=ACCOUNT_HELP)
@click.option("--month", "months", multiple=True, metavar="YYYY-MM", help=MONTH_HELP)
@click.option("--margin", "margin", type=float, default=None, metavar="M",
              help="Also give the audits needed for a 95% interval of half-width M (e.g. 0.02).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_context
def audit_command(ctx: Context, definition: str, account: str | None, months: tuple[str, ...],
                  margin: float | None, fmt: str) -> None:
    """Of the billed outcomes, how many were genuine: the false-resolution rate with its 95%
    Wilson interval, by reason code (stratified), and how good the `verified` judge is."""
    d = load_definition(definition)
    if margin is not None and not 0 < margin < 1:
        raise ConfigError(f"--margin {margin}: give a half-width between 0 and 1, e.g. 0.02 for +-2 points.")
    selection = proof_audit.Selection.of(account, months)
    with ctx.open(read_only=True) as wh:
        if account is not None:
            wh.require_account(account, "so there is nothing to audit")
        record = audit_record(wh, d, selection, margin)
    if fmt == "json":
        click.echo(json.dumps(record, indent=2))
        return
    _echo_table(record)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _echo_table(r: dict[str, Any]) -> None:
    click.echo(f"Definition {r['definition']}, version {r['definition_version']}")
    click.echo(r["sentence"])
    click.echo(f"False-resolution rate {_pct(r['false_rate'])} (95% {_pct(r['ci_low'])} to {_pct(r['ci_high'])}); "
               f"stratified by reason {_pct(r['stratified_false_rate'])}; "
               f"billable outcomes in reasons without audits {_pct(r['unaudited_share'])}.")
    rows = pd.DataFrame(r["by_reason"])
    if len(rows):
        shown = rows.assign(**{c: rows[c].map(_pct) for c in ("false_rate", "ci_low", "ci_high")})
        click.echo(shown.to_string(index=False))
    j = r["judge"]
    click.echo(f"Judge (verified flag) on {j['n']:,} audited answered tasks: sensitivity {_pct(j['sensitivity'])}, "
               f"specificity {_pct(j['specificity'])}; corrected genuine rate {_pct(j['corrected_genuine_rate'])}.")
    if "sample_size" in r:
        click.echo(f"Audits needed for the margin asked: {r['sample_size']:,}.")
    for warning in [*r["warnings"], *([j["warning"]] if j["warning"] else [])]:
        click.echo(f"Warning: {warning}")


@click.command("audit-sample")
@click.option("--definition", "definition", required=True, metavar="DEF", help=DEF_HELP)
@click.option("--n", "n", type=int, required=True, help="How many tasks to draw.")
@click.option("--by", "by", type=click.Choice(["reason", "account"]), default=None,
              help="Proportional to the billable, not yet audited tasks per reason code or account "
                   "(largest remainder); default: a simple random sample.")
@click.option("--seed", "seed", type=int, default=0, show_default=True, help="Same seed, same sample.")
@click.option("--account", "account", default=None, metavar="ID", help=ACCOUNT_HELP)
@click.option("--month", "months", multiple=True, metavar="YYYY-MM", help=MONTH_HELP)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV to write: task_id, audited_at, genuine, auditor, note (to fill in) and the evidence.")
@pass_context
def audit_sample_command(ctx: Context, definition: str, n: int, by: str | None, seed: int,
                         account: str | None, months: tuple[str, ...], out: Path) -> None:
    """Draw billable, not yet audited tasks to audit, written as a CSV to fill in and
    load back with `ingest --audits FILE`."""
    d = load_definition(definition)
    selection = proof_audit.Selection.of(account, months)
    with ctx.open(read_only=True) as wh:
        if account is not None:
            wh.require_account(account, "so there is nothing to sample")
        sample = proof_audit.draw_sample(wh, d, n, by or "simple", seed, selection)
    out.write_bytes(proof_audit.sample_csv(sample))
    short = f" (only {len(sample):,} billable tasks are not yet audited)" if len(sample) < n else ""
    click.echo(f"{len(sample):,} task(s) to audit written to {out}{short}. Fill in audited_at and genuine "
               f"(true/false), then `outcome-pricing ingest --audits {out}`.")


def register(group: click.Group) -> None:
    group.add_command(audit_command)
    group.add_command(audit_sample_command)
