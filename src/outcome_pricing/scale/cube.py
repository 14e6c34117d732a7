"""The definition cube (see `warehouse/cube.py` for what it holds and why) as Ibis expressions.

The heavy step is one expression, the cube rows: tasks aggregated per account, month,
model tier and distinct rule inputs, with the hours exact (run where the tasks are).
The rest runs on the small cube rows: the numbering of account-months (`k`), of input
profiles (`p`, hours bucketed to the grid) and of model tiers (`t`), the cube (counts by
k and p), its tier split, and the hours side table (the exact hours of every cube row
that has any, for definitions off the grid). `task_profiles` places single tasks (the
disputed ones) in the same numbering, with the same input expressions.
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
HOURS = ("gap_hours", "quiet_hours")
ROWS_SCHEMA: dict[str, str] = {
    "account_id": "string", "month": "date", "model_tier": "string",
    **{name: "boolean" for name in BOOLEAN_INPUTS},
    # The hours exact (as stored on the task); profiles bucket them to the grid.
    "csat": "int8", "gap_hours": "float64", "quiet_hours": "float64",
    # BIGINT: 2,148 tasks at the contract's 1,000,000 issues each already pass INT32.
    "tasks": "int32", "issue_units": "int64",
}
# A profile's hours: grid buckets (HOUR_GRID values, 721 above its last, -1 below its first).
PROFILE_SCHEMA: dict[str, str] = {
    **{n: ROWS_SCHEMA[n] for n in INPUTS if n not in HOURS}, "gap_hours": "int16", "quiet_hours": "int16",
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


def _inputs(t: ir.Table) -> dict[str, ir.Value]:
    """Each task's rule inputs, with the inputs that cannot matter collapsed (see
    warehouse/cube.py) and the hours exact: the columns the cube rows group by."""
    live = _flag(t.ai_enabled)
    answered = live & _flag(t.ai_answered)
    handed = answered & _flag(t.handoff)
    confirmed = _flag(t.customer_confirmed)
    null_hours = ibis.null("float64")
    return {
        # Prices by model tier (DESIGN 10) read the counts by tier; NULL and '' are one tier.
        "model_tier": t.model_tier.nullif(""),
        "ai_enabled": live,
        "ai_answered": answered,
        "handoff": handed,
        "context_retained": handed & _flag(t.context_retained),
        "customer_confirmed": answered & ~handed & confirmed,
        "verified": answered & _flag(t.verified),
        "ai_error_corrected": answered & _flag(t.ai_error_corrected),
        "csat": ibis.cases((answered, t.csat), else_=ibis.null("int64")).cast("int8"),
        "gap_hours": ibis.cases((answered, t.reopen_gap_hours), else_=null_hours),
        "quiet_hours": ibis.cases((answered & ~handed & ~confirmed, t.quiet_hours), else_=null_hours),
    }


def _issue_units(t: ir.Table) -> ir.IntegerValue:
    return ibis.greatest(1, t.n_issues_resolved.coalesce(t.n_issues, 1))


def cube_rows(tasks: str = "tasks") -> ir.Table:
    """Tasks per account, month, model tier and distinct rule inputs: the cube before numbering."""
    t = stored_tasks(tasks)
    return t.group_by("account_id", "month", **_inputs(t)).aggregate(
        tasks=t.count().cast("int32"),
        # "!int64", not "int64": Ibis drops a cast to the type it already infers, and DuckDB
        # would then store its SUM of BIGINT as HUGEINT.
        issue_units=_issue_units(t).sum().cast("!int64"),
    )


def rows(name: str) -> ir.Table:
    """The cube rows stored under `name` (a table, or the Parquet cube rows)."""
    return relation(name, ROWS_SCHEMA)


def _bucketed(r: ir.Table) -> ir.Table:
    """Rows with their hours bucketed to the grid (gap up, quiet down; NULL stays NULL),
    the exact hours kept as gap_exact and quiet_exact."""
    gap = ibis.cases((r.gap_hours.notnull(), round_up_to_grid(r.gap_hours)), else_=ibis.null("int64"))
    quiet = ibis.cases((r.quiet_hours.notnull(), round_down_to_grid(r.quiet_hours)), else_=ibis.null("int64"))
    return r.mutate(gap_exact=r.gap_hours, quiet_exact=r.quiet_hours).mutate(
        gap_hours=gap.cast("int16"), quiet_hours=quiet.cast("int16")
    )


def keys(rows_name: str) -> ir.Table:
    """Account-months numbered from 1 in (account_id, month) order: k, account_id, month."""
    r = rows(rows_name).select("account_id", "month").distinct()
    k = (ibis.row_number().over(order_by=[r.account_id, r.month]) + 1).cast("int32")
    return r.select(k=k, account_id=r.account_id, month=r.month)


def profiles(rows_name: str) -> ir.Table:
    """Each distinct combination of inputs once, numbered from 0 in input order: p, inputs."""
    r = _bucketed(rows(rows_name)).select(*INPUTS).distinct()
    p = ibis.row_number().over(order_by=[r[c] for c in INPUTS]).cast("int32")
    return r.select(p=p, **{c: r[c] for c in INPUTS})


def tier_names(rows_name: str) -> ir.Table:
    """Model tiers numbered from 0, the missing tier (NULL) first: t, model_tier."""
    r = rows(rows_name).select("model_tier").distinct()
    t = ibis.row_number().over(order_by=[ibis.asc(r.model_tier, nulls_first=True)]).cast("int32")
    return r.select(t=t, model_tier=r.model_tier)


def _numbering(keys_name: str, profiles_name: str, names_name: str | None) -> tuple[ir.Table, ir.Table, ir.Table | None]:
    k = relation(keys_name, {"k": "int32", "account_id": "string", "month": "date"})
    pr = relation(profiles_name, {"p": "int32", **PROFILE_SCHEMA})
    names = None if names_name is None else relation(names_name, {"t": "int32", "model_tier": "string"})
    return k, pr, names


def _numbered(c: ir.Table, keys_name: str, profiles_name: str, names_name: str | None = None) -> ir.Table:
    """Bucketed rows `c` joined to their k, p (and t): NULL csat, hours and tier are values."""
    k, pr, names = _numbering(keys_name, profiles_name, names_name)
    same_profile = [c[n] == pr[n] for n in BOOLEAN_INPUTS] + [
        c[n].identical_to(pr[n]) for n in INPUTS[len(BOOLEAN_INPUTS):]
    ]
    joined = c.join(k, [c.account_id == k.account_id, c.month == k.month]).join(pr, same_profile)
    if names is None:
        return joined.select(c, k=k.k, p=pr.p)
    return joined.join(names, c.model_tier.identical_to(names.model_tier)).select(c, k=k.k, p=pr.p, t=names.t)


def cube(rows_name: str, keys_name: str, profiles_name: str) -> ir.Table:
    """The cube: account_id, k, p, tasks, issue_units (summed over tiers and exact hours), by k and p."""
    j = _numbered(_bucketed(rows(rows_name)), keys_name, profiles_name)
    # "!int32"/"!int64": casts Ibis keeps (DuckDB sums integers as HUGEINT).
    return j.group_by("account_id", "k", "p").aggregate(
        tasks=j.tasks.sum().cast("!int32"), issue_units=j.issue_units.sum().cast("!int64")
    ).order_by(["k", "p"])


def tiers(rows_name: str, keys_name: str, profiles_name: str, names_name: str) -> ir.Table:
    """The cube by model tier: account_id, k, p, t, tasks, issue_units, by k, p and t."""
    j = _numbered(_bucketed(rows(rows_name)), keys_name, profiles_name, names_name)
    return j.group_by("account_id", "k", "p", "t").aggregate(
        tasks=j.tasks.sum().cast("!int32"), issue_units=j.issue_units.sum().cast("!int64")
    ).order_by(["k", "p", "t"])


def hours(rows_name: str, keys_name: str, profiles_name: str, names_name: str) -> ir.Table:
    """The hours side table: per cube row with a gap or a quiet time, account_id, k, p, t, its
    buckets (gap_bucket, quiet_bucket), its exact hours, tasks and issue_units; sorted by
    bucket, so a definition off the grid reads the one bucket it falls in."""
    c = _bucketed(rows(rows_name))
    c = c.filter(c.gap_exact.notnull() | c.quiet_exact.notnull())
    j = _numbered(c, keys_name, profiles_name, names_name)
    return j.select(
        "account_id", "k", "p", "t", gap_bucket=j.gap_hours, quiet_bucket=j.quiet_hours,
        gap_hours=j.gap_exact, quiet_hours=j.quiet_exact, tasks=j.tasks, issue_units=j.issue_units,
    ).order_by(["gap_bucket", "quiet_bucket", "k", "p", "t", "gap_hours", "quiet_hours"])


def task_profiles(tasks_name: str, keys_name: str, profiles_name: str, names_name: str) -> ir.Table:
    """Single tasks (e.g. the disputed ones) in the cube's numbering: task_id, month, k, p, t,
    their exact hours and issue_units (the same inputs as `cube_rows`)."""
    t = stored_tasks(tasks_name)
    one = t.select("task_id", "account_id", "month", **_inputs(t), tasks=ibis.literal(1).cast("int32"),
                   issue_units=_issue_units(t).cast("int64"))
    j = _numbered(_bucketed(one), keys_name, profiles_name, names_name)
    return j.select("task_id", "month", "k", "p", "t", gap_hours=j.gap_exact, quiet_hours=j.quiet_exact,
                    issue_units=j.issue_units).order_by("task_id")
