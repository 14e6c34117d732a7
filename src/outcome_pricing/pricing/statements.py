"""Statements: one account, one month, one plan, every cent traced to a task.

The lines are priced with the exact Decimal charge arithmetic (charges.bill)
on the same measured usage the backtest prices, so a statement's total equals
the backtest's revenue for that account-month and plan to the cent. The tasks
(with their reason codes and billable units) come from
``definitions.evaluate_tasks``: the evidence behind the outcome count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from outcome_pricing.errors import ConfigError, WarehouseError
from outcome_pricing.kit.cells import safe_cell
from outcome_pricing.pricing.charges import Line, bill, bill_total
from outcome_pricing.pricing.metrics import account_month_metrics, usage_arrays
from outcome_pricing.pricing.plans import PlanSet

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

LINE_COLUMNS = [
    "kind", "name", "metric", "quantity", "included", "billable", "unit_price", "detail", "amount",
]


def _num(value: Decimal | None) -> str:
    """A Decimal as plain text without exponent or trailing zeros ('' for None)."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


def parse_month(value: Any) -> pd.Timestamp:
    """'YYYY-MM' (or a date) as the first day of that month; a clear error otherwise."""
    if isinstance(value, dt.date):
        return pd.Timestamp(value.year, value.month, 1)
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}", text) or not 1 <= int(text[5:]) <= 12:
        raise ConfigError(f"Month {value!r} is not a month; write it as YYYY-MM (e.g. 2025-03).")
    return pd.Timestamp(int(text[:4]), int(text[5:]), 1)


@dataclass(frozen=True)
class Statement:
    """One account-month's bill under one plan, with its evidence."""

    account_id: str
    account_name: str
    month: str  # YYYY-MM
    plan: str
    plan_version: str  # Plan.version: a hash of the plan's terms
    plan_description: str
    definition_name: str
    definition_version: str
    made_at: dt.datetime
    lines: tuple[Line, ...]
    tasks: pd.DataFrame = field(repr=False)

    @property
    def total(self) -> Decimal:
        return bill_total(self.lines)

    @property
    def evidence_units(self) -> float:
        """Billable units summed over the listed tasks (equals the outcomes metric)."""
        return float(self.tasks["billable_units"].sum()) if len(self.tasks) else 0.0

    def header(self) -> list[tuple[str, str]]:
        return [
            ("Account", f"{self.account_name} ({self.account_id})" if self.account_name else self.account_id),
            ("Month", self.month),
            ("Plan", self.plan),
            ("Plan version", self.plan_version),
            ("Plan description", self.plan_description),
            ("Definition", self.definition_name),
            ("Definition version", self.definition_version),
            ("Made at (UTC)", self.made_at.strftime("%Y-%m-%d %H:%M:%S")),
            ("Total", f"${self.total:,.2f}"),
            ("Tasks", str(len(self.tasks))),
        ]

    def lines_frame(self) -> pd.DataFrame:
        """The lines as text columns (exact decimals) plus the amount as Decimal text."""
        rows = [
            {
                "kind": line.kind.value,
                "name": line.name,
                "metric": line.metric.value if line.metric else "",
                "quantity": _num(line.quantity),
                "included": _num(line.included),
                "billable": _num(line.billable),
                "unit_price": line.unit_price,
                "detail": line.detail,
                "amount": f"{line.amount:.2f}",
            }
            for line in self.lines
        ]
        return pd.DataFrame(rows, columns=LINE_COLUMNS)

    def reasons(self) -> pd.DataFrame:
        """Tasks and billable units per reason code (a summary of the evidence)."""
        if not len(self.tasks):
            return pd.DataFrame(columns=["reason", "tasks", "billable_units"])
        g = self.tasks.groupby("reason", sort=True)
        out = pd.DataFrame({"tasks": g.size(), "billable_units": g["billable_units"].sum()})
        return out.reset_index().sort_values("tasks", ascending=False, ignore_index=True)

    def task_records(self) -> pd.DataFrame:
        out = self.tasks.copy()
        if "month" in out:
            out["month"] = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
        return out

    # ------------------------------------------------------------------ exports
    def to_text(self) -> str:
        """A readable statement: header, lines, total, evidence summary, every task."""
        out = io.StringIO()
        width = max(len(k) for k, _ in self.header())
        out.write("STATEMENT\n")
        for key, value in self.header():
            out.write(f"{key:<{width}}  {value}\n")
        out.write("\nLINES\n")
        out.write(self.lines_frame().to_string(index=False) + "\n")
        out.write(f"\nTOTAL  ${self.total:,.2f}\n")
        out.write("\nEVIDENCE BY REASON\n")
        out.write(self.reasons().to_string(index=False) + "\n")
        out.write("\nTASKS\n")
        tasks = self.task_records()[["task_id", "reason", "billable_units"]]
        out.write((tasks.to_string(index=False) if len(tasks) else "(no tasks)") + "\n")
        return out.getvalue()

    def to_csv(self) -> bytes:
        """One CSV file: the header block, the lines, then the tasks (formula-safe)."""
        buf = io.StringIO()
        w = csv.writer(buf)
        rows: list[Sequence[Any]] = [["Statement"], *self.header(), [], ["Lines"], LINE_COLUMNS]
        rows += self.lines_frame().to_numpy().tolist()
        rows += [["total", "", "", "", "", "", "", "", f"{self.total:.2f}"], [], ["Tasks"]]
        tasks = self.task_records()
        rows += [list(tasks.columns), *tasks.astype(object).where(tasks.notna(), "").to_numpy().tolist()]
        w.writerows([[safe_cell(v) for v in row] for row in rows])
        return buf.getvalue().encode("utf-8")

    def to_xlsx(self) -> bytes:
        """An XLSX workbook with sheets Summary, Lines and Tasks (text cells formula-safe)."""
        import xlsxwriter

        buf = io.BytesIO()
        book = xlsxwriter.Workbook(buf, {"in_memory": True})
        bold = book.add_format({"bold": True})
        money_fmt = book.add_format({"num_format": "#,##0.00"})
        summary = book.add_worksheet("Summary")
        _write_rows(summary, [("Field", "Value"), *self.header()], bold)
        summary.set_column(0, 0, 20)
        summary.set_column(1, 1, 48)
        lines = book.add_worksheet("Lines")
        frame = self.lines_frame()
        frame["amount"] = [float(line.amount) for line in self.lines]
        table = [tuple(frame.columns), *map(tuple, frame.to_numpy().tolist())]
        _write_rows(lines, [*table, ("total", *[""] * 7, float(self.total))], bold, money_fmt, money_col=8)
        lines.set_column(0, 8, 16)
        tasks = book.add_worksheet("Tasks")
        t = self.task_records()
        _write_rows(tasks, [tuple(t.columns), *map(tuple, t.astype(object).to_numpy().tolist())], bold)
        book.close()
        return buf.getvalue()


def _write_rows(sheet: Any, rows: Iterable[Sequence[Any]], bold: Any, money_fmt: Any = None, money_col: int = -1) -> None:
    """Text through safe_cell and write_string (never parsed as a formula); numbers as numbers."""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue  # empty fields stay empty (None, NaN, pd.NA, NaT)
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                sheet.write_string(r, c, str(safe_cell(str(value))), bold if r == 0 else None)
            else:
                fmt = money_fmt if c == money_col and r > 0 else None
                sheet.write_number(r, c, float(value), fmt)


def statement(
    wh: Warehouse,
    planset: PlanSet,
    plan_name: str,
    d: Definition,
    account_id: str,
    month: Any,
    made_at: dt.datetime | None = None,
) -> Statement:
    """The statement of ``account_id`` for ``month`` (YYYY-MM) under ``plan_name`` and ``d``."""
    from outcome_pricing.rules import evaluate_tasks

    plan = planset.plan(plan_name)
    first = parse_month(month)
    wh.require_account(str(account_id), "so there is no statement to make")
    metrics = account_month_metrics(wh, d, planset.costs)
    row = metrics[(metrics["account_id"] == str(account_id)) & (metrics["month"] == first)]
    if row.empty:
        raise WarehouseError(_month_not_found(metrics, str(account_id), first))
    row = row.reset_index(drop=True)
    lines = bill(plan, usage_arrays(row).row(0))
    return Statement(
        account_id=str(account_id),
        account_name=str(row["name"].fillna("").iloc[0]),
        month=first.strftime("%Y-%m"),
        plan=plan.name,
        plan_version=plan.version,
        plan_description=plan.description,
        definition_name=d.name,
        definition_version=d.version,
        made_at=made_at or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
        lines=lines,
        tasks=evaluate_tasks(wh, d, account_id=str(account_id), month=first.date()),
    )


def _month_not_found(metrics: pd.DataFrame, account_id: str, month: pd.Timestamp) -> str:
    label = month.strftime("%Y-%m")
    months = metrics.loc[metrics["account_id"] == account_id, "month"]
    first, last = months.min().strftime("%Y-%m"), months.max().strftime("%Y-%m")
    return (
        f"Account {account_id!r} has no tasks that closed in {label}; "
        f"its months run from {first} (its first task) to {last}. Pick a month in that range."
    )
