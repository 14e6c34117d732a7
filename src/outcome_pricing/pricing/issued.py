"""A statement as issued at its close (`statement --as-issued`, DESIGN section 8).

The statement of month N carries its own lines, rating(N, T(N)) (the month's tasks as
known at the close: silences not yet elapsed are `pending`, reopens not yet made do not
count), then one adjustment line per earlier month whose rating changed by this close,
rating(M, T(N)) - rating(M, T(N-1)), naming the month and the tasks that moved: a late
outcome (a silence that elapsed), a clawback (a reopen) or a dispute accepted. Adjustment
lines come after the minimum and the cap and never meet them; the total may be negative.
Its totals equal `invoices` (issued, adjustments, billed) to the cent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from outcome_pricing.errors import WarehouseError
from outcome_pricing.kit.cells import safe_cell
from outcome_pricing.kit.money import from_cents
from outcome_pricing.pricing.charges import bill_total
from outcome_pricing.pricing.invoices import invoices
from outcome_pricing.pricing.lines import Line
from outcome_pricing.pricing.metrics import account_month_metrics
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.ratings import INF
from outcome_pricing.pricing.statements import (
    LINE_COLUMNS,
    Statement,
    account_month_bill,
    parse_month,
)
from outcome_pricing.warehouse import cluster

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

MOVES = {"late": "late outcome", "reopen": "clawback (reopened)", "dispute": "dispute accepted"}
MOVED_COLUMNS = ["for_month", "task_id", "change", "reason", "units"]


@dataclass(frozen=True)
class Adjustment:
    """One adjustment line: month M re-rated at this close against the previous one."""

    for_month: str  # YYYY-MM
    was: Decimal  # rating(M, T(N-1))
    now: Decimal  # rating(M, T(N))

    @property
    def amount(self) -> Decimal:
        return self.now - self.was

    @property
    def name(self) -> str:
        return f"adjustment for {self.for_month}"


@dataclass(frozen=True)
class IssuedStatement:
    """The statement of one account-month as issued at its close, with adjustment lines."""

    base: Statement  # header fields and the month's own lines and tasks (as known at the close)
    close: dt.datetime
    adjustments: tuple[Adjustment, ...]
    moved: pd.DataFrame = field(repr=False)  # MOVED_COLUMNS: the tasks behind each adjustment
    disputes: pd.DataFrame = field(repr=False)  # the decisions on this account's disputed tasks

    @property
    def own_total(self) -> Decimal:
        return self.base.total

    @property
    def adjustments_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.own_total + self.adjustments_total

    def header(self) -> list[tuple[str, str]]:
        rows = [(k, v) for k, v in self.base.header() if k != "Total"]
        return [*rows, ("Issued at (UTC)", self.close.strftime("%Y-%m-%d %H:%M")),
                ("This month", f"${self.own_total:,.2f}"), ("Adjustments", f"${self.adjustments_total:,.2f}"),
                ("Total", f"${self.total:,.2f}")]

    def adjustment_frame(self) -> pd.DataFrame:
        rows = []
        for a in self.adjustments:
            moved = self.moved[self.moved["for_month"] == a.for_month]
            counts = moved["change"].value_counts()
            detail = ", ".join(f"{n} {change}" for change, n in counts.items())
            rows.append({"kind": "adjustment", "name": a.name, "was": f"{a.was:.2f}", "now": f"{a.now:.2f}",
                         "tasks": detail, "amount": f"{a.amount:.2f}"})
        return pd.DataFrame(rows, columns=["kind", "name", "was", "now", "tasks", "amount"])

    def to_text(self) -> str:
        out = io.StringIO()
        width = max(len(k) for k, _ in self.header())
        out.write("STATEMENT AS ISSUED\n")
        for key, value in self.header():
            out.write(f"{key:<{width}}  {value}\n")
        out.write("\nLINES (this month, as known at the close)\n")
        out.write(self.base.lines_frame().to_string(index=False) + "\n")
        out.write("\nADJUSTMENTS (earlier months re-rated at this close)\n")
        adj = self.adjustment_frame()
        out.write((adj.to_string(index=False) if len(adj) else "(none)") + "\n")
        out.write(f"\nTOTAL  ${self.total:,.2f}\n")
        if len(self.moved):
            out.write("\nTASKS THAT MOVED\n" + self.moved.to_string(index=False) + "\n")
        if len(self.disputes):
            out.write("\nDISPUTE DECISIONS\n" + self.disputes.to_string(index=False) + "\n")
        out.write("\nTASKS OF THE MONTH (as known at the close)\n")
        tasks = self.base.task_records()[["task_id", "reason", "billable_units"]]
        out.write((tasks.to_string(index=False) if len(tasks) else "(no tasks)") + "\n")
        return out.getvalue()

    def sections(self) -> list[tuple[str, pd.DataFrame]]:
        lines = self.base.lines_frame()
        return [("Lines", lines), ("Adjustments", self.adjustment_frame()), ("Moved", self.moved),
                ("Disputes", self.disputes), ("Tasks", self.base.task_records())]

    def to_csv(self) -> bytes:
        """One CSV file: header, lines, adjustments, total, the tasks that moved, disputes, tasks."""
        buf = io.StringIO()
        rows: list[list[Any]] = [["Statement as issued"], *map(list, self.header())]
        for title, frame in self.sections():
            rows += [[], [title], list(frame.columns)]
            rows += frame.astype(object).where(frame.notna(), "").to_numpy().tolist()
        rows += [[], ["total", f"{self.total:.2f}"]]
        csv.writer(buf).writerows([[safe_cell(v) for v in row] for row in rows])
        return buf.getvalue().encode("utf-8")

    def to_xlsx(self) -> bytes:
        """An XLSX workbook: Summary, Lines, Adjustments, Moved, Disputes, Tasks (formula-safe)."""
        import xlsxwriter

        buf = io.BytesIO()
        book = xlsxwriter.Workbook(buf, {"in_memory": True})
        bold = book.add_format({"bold": True})
        _sheet(book.add_worksheet("Summary"), [("Field", "Value"), *self.header()], bold)
        for title, frame in self.sections():
            table = [tuple(frame.columns), *map(tuple, frame.astype(object).to_numpy().tolist())]
            _sheet(book.add_worksheet(title), table, bold)
        book.close()
        return buf.getvalue()


def _sheet(sheet: Any, rows: list[tuple[Any, ...]], bold: Any) -> None:
    """Text through safe_cell and write_string (never a formula); numbers as numbers."""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                sheet.write_string(r, c, str(safe_cell(str(value))), bold if r == 0 else None)
            else:
                sheet.write_number(r, c, float(value))


def issued_statement(
    wh: Warehouse, planset: PlanSet, plan_name: str, d: Definition, account_id: str, month: Any,
    made_at: dt.datetime | None = None,
) -> IssuedStatement:
    """The statement of ``account_id`` for ``month`` under ``plan_name`` as issued at its close."""
    from outcome_pricing.rules import evaluate_tasks
    from outcome_pricing.rules.knowledge import month_index, task_steps

    plan = planset.plan(plan_name)
    first = parse_month(month)
    inv = invoices(wh, planset, d, plan=plan.name, account=str(account_id))
    n = month_index(first)
    r = inv.ratings.assign(m=inv.ratings["month"].map(month_index))
    r["n"] = r["close"].map(lambda c: INF if pd.isna(c) else month_index(c))
    mine = r[(r["m"] == n) & (r["n"] == n)]
    if mine.empty:
        raise WarehouseError(f"Account {account_id!r} has no statement for {first:%Y-%m}; its months run from "
                             f"{inv.frame['month'].min():%Y-%m} to {inv.frame['month'].max():%Y-%m}.")
    close = (first + pd.offsets.MonthBegin(1) + pd.Timedelta(days=plan.close_lag_days)).to_pydatetime()
    metrics = account_month_metrics(wh, d, planset.costs, [plan])
    at_close = (metrics["account_id"] == str(account_id)) & (metrics["month"] == first)
    row = metrics[at_close].reset_index(drop=True)
    metrics.loc[at_close, "outcomes_micro"] = int(mine["units_micro"].iloc[0])  # as known at the close
    lines: tuple[Line, ...] = account_month_bill(plan, metrics, str(account_id), first).lines
    with cluster.evidence_for(wh, str(account_id), first.date()) as ev:  # cluster mode: from Parquet
        tasks = evaluate_tasks(ev, d, account_id=str(account_id), month=first.date(), as_of=close)
    base = Statement(
        account_id=str(account_id), account_name=str(row["name"].fillna("").iloc[0]), month=f"{first:%Y-%m}",
        plan=plan.name, plan_version=plan.version, plan_description=plan.description, definition_name=d.name,
        definition_version=d.version,
        made_at=made_at or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0), lines=lines, tasks=tasks,
    )
    assert bill_total(lines) == from_cents(int(mine["rating_cents"].iloc[0]))
    adjustments = _adjustments(r[r["n"] <= n], n)
    steps = task_steps(wh, d, plan.close_lag_days, str(account_id), first)
    return IssuedStatement(base, close, adjustments, _moved(steps, n, d), _decisions(wh, str(account_id)))


def _adjustments(known: pd.DataFrame, n: int) -> tuple[Adjustment, ...]:
    out = []
    for key, g in known[known["m"] < n].groupby("m", sort=True):
        m = int(str(key))
        g = g.sort_values("n")
        if int(g["n"].iloc[-1]) != n:
            continue  # month m did not change at this close
        was, now = int(g["rating_cents"].iloc[-2]), int(g["rating_cents"].iloc[-1])
        label = f"{pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1):%Y-%m}"
        out.append(Adjustment(label, from_cents(was), from_cents(now)))
    return tuple(out)


def _moved(steps: pd.DataFrame, n: int, d: Definition) -> pd.DataFrame:
    """The tasks of earlier months that became billable (late) or stopped (reopen, dispute) at close n."""
    from outcome_pricing.rules import REASONS

    billed = steps[(steps["m"] < n) & (steps["nb"].isna() | (steps["nb"] > steps["na"]))]
    billed = billed[(billed["whole"] > 0) | (billed["partial"] > 0)]
    late = billed[billed["na"] == n].assign(change=MOVES["late"])
    ended = billed[billed["nb"] == n]
    ended = ended.assign(change=ended["cause"].map(MOVES))
    out = pd.concat([late, ended], ignore_index=True)
    return pd.DataFrame({
        "for_month": pd.to_datetime(out["month"]).dt.strftime("%Y-%m"),
        "task_id": out["task_id"],
        "change": out["change"],
        "reason": out["reason"].map(lambda c: REASONS[int(c)].value),
        "units": out["whole"] + out["partial"] * float(d.partial_credit),
    }, columns=MOVED_COLUMNS).sort_values(["for_month", "change", "task_id"], ignore_index=True)


def _decisions(wh: Warehouse, account_id: str) -> pd.DataFrame:
    from outcome_pricing.ingest.disputes import decision_history

    return decision_history(wh, account_id=account_id)


__all__ = ["LINE_COLUMNS", "Adjustment", "IssuedStatement", "issued_statement"]
