"""The definition cube (see `warehouse/cube.py` for what it holds and why) as Ibis expressions.

Three steps, each one expression: the cube rows (tasks aggregated per account,
month and distinct rule inputs: the heavy step, run where the tasks are), then
the numbering of account-months (`k`) and of input profiles (`p`), and the
cube itself (counts by k and p), run on the small cube rows.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from outcome_pricing.scale.tables import relation, stored_tasks
from outcome_pricing.warehouse.grid import HOUR_GRID

# The rule inputs a profile keeps, in the cube's column order.
INPUTS = (
    "ai_enabled", "ai_answered", "handoff", "context_retained", "customer_confirmed",
    "verified", "ai_error_corrected", "csat", "gap_hours", "quiet_hours",
)
BOOLEAN_INPUTS = INPUTS[:7]
ROWS_SCHEMA: dict[str, str] = {
    "account_id": "string", "month": "date", "model_tier": "string",
    **{name: "boolean" for name in BOOLEAN_INPUTS},
    "csat": "int8", "gap_hours": "int16", "quiet_hours": "int16",
    # BIGINT: 2,148 tasks at the contract's 1,000,000 issues each already pass INT32.
    "tasks": "int32", "issue_units": "int64",
}


def _flag(value: ir.BooleanValue) -> ir.BooleanValue:
    # The rules read a missing boolean as false ("verified is not true", "... is true").
    return value.fill_null(False)


def round_up_to_grid(x: ir.NumericValue) -> ir.IntegerValue:
    """The smallest grid value >= x (x <= 0 gives 0); above the grid, one more than its last."""
    return ibis.cases(*[(x <= g, g) for g in HOUR_GRID], else_=HOUR_GRID[-1] + 1)


def round_down_to_grid(x: ir.NumericValue) -> ir.IntegerValue:
    """The largest grid value <= x (-1 below the grid, which no knob reaches)."""
    return ibis.cases(*[(x >= g, g) for g in reversed(HOUR_GRID)], else_=-1)


def cube_rows(tasks: str = "tasks") -> ir.Table:
    """Tasks per account, month and distinct rule inputs, with the inputs that cannot
    matter collapsed (see warehouse/cube.py): the cube before numbering."""
    t = stored_tasks(tasks)
    live = _flag(t.ai_enabled)
    answered = live & _flag(t.ai_answered)
    handed = answered & _flag(t.handoff)
    confirmed = _flag(t.customer_confirmed)
    null_int = ibis.null("int64")
    gap = ibis.cases(
        (answered & t.reopen_gap_hours.notnull(), round_up_to_grid(t.reopen_gap_hours)),
        else_=null_int,
    )
    quiet = ibis.cases(
        (answered & ~handed & ~confirmed & t.quiet_hours.notnull(), round_down_to_grid(t.quiet_hours)),
        else_=null_int,
    )
    units = ibis.greatest(1, t.n_issues_resolved.coalesce(t.n_issues, 1))
    return t.group_by(
        "account_id",
        "month",
        # Prices by model tier (DESIGN 10) read the counts by tier; NULL and '' are one tier.
        model_tier=t.model_tier.nullif(""),
        ai_enabled=live,
        ai_answered=answered,
        handoff=handed,
        context_retained=handed & _flag(t.context_retained),
        customer_confirmed=answered & ~handed & confirmed,
        verified=answered & _flag(t.verified),
        ai_error_corrected=answered & _flag(t.ai_error_corrected),
        csat=ibis.cases((answered, t.csat), else_=null_int).cast("int8"),
        gap_hours=gap.cast("int16"),
        quiet_hours=quiet.cast("int16"),
    ).aggregate(
        tasks=t.count().cast("int32"),
        # "!int64", not "int64": Ibis drops a cast to the type it already infers, and DuckDB
        # would then store its SUM of BIGINT as HUGEINT.
        issue_units=units.sum().cast("!int64"),
    )


def rows(name: str) -> ir.Table:
    """The cube rows stored under `name` (a table, or the Parquet cube rows)."""
    return relation(name, ROWS_SCHEMA)


def keys(rows_name: str) -> ir.Table:
    """Account-months numbered from 1 in (account_id, month) order: k, account_id, month."""
    r = rows(rows_name).select("account_id", "month").distinct()
    k = (ibis.row_number().over(order_by=[r.account_id, r.month]) + 1).cast("int32")
    return r.select(k=k, account_id=r.account_id, month=r.month)


def profiles(rows_name: str) -> ir.Table:
    """Each distinct combination of inputs once, numbered from 0 in input order: p, inputs."""
    r = rows(rows_name).select(*INPUTS).distinct()
    p = ibis.row_number().over(order_by=[r[c] for c in INPUTS]).cast("int32")
    return r.select(p=p, **{c: r[c] for c in INPUTS})


def _numbered(rows_name: str, keys_name: str, profiles_name: str) -> tuple[ir.Table, ir.Table, ir.Table]:
    c = rows(rows_name)
    k = relation(keys_name, {"k": "int32", "account_id": "string", "month": "date"})
    pr = relation(profiles_name, {"p": "int32", **{n: ROWS_SCHEMA[n] for n in INPUTS}})
    return c, k, pr


def _joined(c: ir.Table, k: ir.Table, pr: ir.Table) -> ir.Table:
    # NULL csat, gap or quiet time is a value of the profile: match it null-safely.
    same_profile = [c[n] == pr[n] for n in BOOLEAN_INPUTS] + [
        c[n].identical_to(pr[n]) for n in INPUTS[len(BOOLEAN_INPUTS):]
    ]
    return c.join(k, [c.account_id == k.account_id, c.month == k.month]).join(pr, same_profile)


def cube(rows_name: str, keys_name: str, profiles_name: str) -> ir.Table:
    """The cube: account_id, k, p, tasks, issue_units (summed over model tiers), by k and p."""
    c, k, pr = _numbered(rows_name, keys_name, profiles_name)
    joined = _joined(c, k, pr)
    # "!int32"/"!int64": casts Ibis keeps (DuckDB sums integers as HUGEINT).
    return joined.group_by(account_id=c.account_id, k=k.k, p=pr.p).aggregate(
        tasks=c.tasks.sum().cast("!int32"), issue_units=c.issue_units.sum().cast("!int64")
    ).order_by(["k", "p"])


def tier_names(rows_name: str) -> ir.Table:
    """Model tiers numbered from 0, the missing tier (NULL) first: t, model_tier."""
    r = rows(rows_name).select("model_tier").distinct()
    t = ibis.row_number().over(order_by=[ibis.asc(r.model_tier, nulls_first=True)]).cast("int32")
    return r.select(t=t, model_tier=r.model_tier)


def tiers(rows_name: str, keys_name: str, profiles_name: str, names_name: str) -> ir.Table:
    """The cube by model tier: account_id, k, p, t, tasks, issue_units, by k, p and t."""
    c, k, pr = _numbered(rows_name, keys_name, profiles_name)
    names = relation(names_name, {"t": "int32", "model_tier": "string"})
    joined = _joined(c, k, pr).join(names, c.model_tier.identical_to(names.model_tier))
    return joined.select(
        account_id=c.account_id, k=k.k, p=pr.p, t=names.t, tasks=c.tasks, issue_units=c.issue_units
    ).order_by(["k", "p", "t"])
