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
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_pricing.errors import ConfigError, WarehouseError
from outcome_pricing.kit.cells import safe_cell
from outcome_pricing.pricing.charges import Line, bill_total
from outcome_pricing.pricing.deals.billing import account_bills, statement_month
from outcome_pricing.pricing.deals.notes import DealNotes
from outcome_pricing.pricing.metrics import account_month_metrics
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.pricing.spanning import CommitmentMonth, SpannedMonth, month_text
from outcome_pricing.pricing.terms import LineKind, Plan
from outcome_pricing.warehouse import cluster

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

LINE_COLUMNS = [
    "line", "kind", "name", "metric", "quantity", "included", "billable", "unit_price", "detail", "amount",
]
AMOUNT_COLUMN = LINE_COLUMNS.index("amount")

# What each kind of line is, in words (the statement's first column).
KIND_WORDS = {
    LineKind.CHARGE: "usage charge",
    LineKind.CAP: "cap credit",
    LineKind.PLATFORM_FEE: "platform fee",
    LineKind.MINIMUM: "minimum true-up",
    LineKind.COMMITMENT: "prepaid commitment",
    LineKind.DRAWDOWN: "drawn from commitment",
    LineKind.GUARANTEE: "guarantee credit",
}


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
    commitment: CommitmentMonth | None = None  # where the month stands in its commitment period
    deal: DealNotes | None = None  # DESIGN 11: first charged month, savings computation, guarantee window
    settlement: tuple[str, ...] = ()  # what audit settlement discounted, and why (DESIGN 9)

    @property
    def total(self) -> Decimal:
        return bill_total(self.lines)

    @property
    def breakage(self) -> Decimal:
        """Commitment expired unused at this month's period end (reported, not billed)."""
        return self.commitment.breakage if self.commitment is not None else Decimal(0)

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
            ("Total", f"${self.total:,.2f}" + (" (a credit note: owed to the customer)" if self.total < 0 else "")),
            ("Tasks", str(len(self.tasks))),
            *self._commitment_header(),
            *(self.deal.header() if self.deal is not None else []),
            *(("Audit settlement", note) for note in self.settlement),
        ]

    def _commitment_header(self) -> list[tuple[str, str]]:
        c = self.commitment
        if c is None:
            return []
        rows = [
            ("Commitment period", f"{month_text(c.period_first)} to {month_text(c.period_last)}"),
            ("Commitment balance", f"${c.opening:,.2f} before this month, ${c.closing:,.2f} after"),
        ]
        if self.month == month_text(c.period_last):
            rows += [("Breakage (expired, not billed)", f"${c.breakage:,.2f}"),
                     ("Rolled over to the next period", f"${c.carried:,.2f}")]
        return rows

    def lines_frame(self) -> pd.DataFrame:
        """The lines as text columns (exact decimals) plus the amount as Decimal text."""
        rows = [
            {
                "line": KIND_WORDS[line.kind],
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
        out.write(self.deal.text() if self.deal is not None else "")
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
        rows: list[Sequence[Any]] = [["Statement"], *_file_header(self, xlsx=False), [], ["Lines"], LINE_COLUMNS]
        rows += self.lines_frame().to_numpy().tolist()
        rows += [["total", *[""] * (AMOUNT_COLUMN - 1), f"{self.total:.2f}"], [], ["Tasks"]]
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
        _write_rows(summary, [("Field", "Value"), *_file_header(self, xlsx=True)], bold)
        summary.set_column(0, 0, 20)
        summary.set_column(1, 1, 48)
        lines = book.add_worksheet("Lines")
        frame = self.lines_frame()
        frame["amount"] = [float(line.amount) for line in self.lines]
        table = [tuple(frame.columns), *map(tuple, frame.to_numpy().tolist())]
        total_row = ("total", *[""] * (AMOUNT_COLUMN - 1), float(self.total))
        _write_rows(lines, [*table, total_row], bold, money_fmt, money_col=AMOUNT_COLUMN)
        lines.set_column(0, AMOUNT_COLUMN, 16)
        tasks = book.add_worksheet("Tasks")
        t = self.task_records()
        _write_rows(tasks, [tuple(t.columns), *map(tuple, t.astype(object).to_numpy().tolist())], bold)
        book.close()
        return buf.getvalue()


def _file_header(s: Statement, *, xlsx: bool) -> list[tuple[str, Any]]:
    """The header as a file carries it: the total as a plain number to the cent and the task
    count as a number (a "$3,278.00" text cell beside 3278.00 in the lines reads as two kinds
    of figure, and a spreadsheet cannot add it up)."""
    typed: dict[str, Any] = {"Total": float(s.total) if xlsx else f"{s.total:.2f}", "Tasks": len(s.tasks)}
    return [(k, typed.get(k, v)) for k, v in s.header()]


def _write_rows(sheet: Any, rows: Iterable[Sequence[Any]], bold: Any, money_fmt: Any = None, money_col: int = -1) -> None:
    """Text through safe_cell and write_string (never parsed as a formula); numbers as numbers."""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue  # empty fields stay empty (None, NaN, pd.NA, NaT)
            if isinstance(value, bool | np.bool_):
                sheet.write_boolean(r, c, bool(value))  # typed, so a filter or a formula reads it
            elif not isinstance(value, numbers.Real | Decimal):
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
    metrics = account_month_metrics(wh, d, planset.costs, [plan])
    row = metrics[(metrics["account_id"] == str(account_id)) & (metrics["month"] == first)]
    if row.empty:
        raise WarehouseError(_month_not_found(metrics, str(account_id), first))
    spanned, deal = statement_month(wh, plan, metrics, str(account_id), first)  # every stage of DESIGN 10-11
    row = row.reset_index(drop=True)
    with cluster.evidence_for(wh, str(account_id), first.date()) as ev:  # cluster mode: from Parquet
        tasks = evaluate_tasks(ev, d, account_id=str(account_id), month=first.date())
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
        lines=spanned.lines,
        tasks=tasks,
        commitment=spanned.commitment,
        deal=deal,
        settlement=_settlement_notes(wh, d, plan, str(account_id), first, float(row["outcomes"].iloc[0])),
    )


def _settlement_notes(wh: Warehouse, d: Definition, plan: Plan, account_id: str, month: pd.Timestamp,
                      units: float) -> tuple[str, ...]:
    """One sentence per outcomes charge settled on audits: the discount and the audits behind it."""
    if not any(c.settlement_key is not None for c in plan.charges):
        return ()
    # proof.audit is the same layer; imported here so pricing loads without it.
    from outcome_pricing.proof.audit.settlement import explain_settlement

    return tuple(explain_settlement(wh, d, plan, account_id, month, units))


def account_month_bill(plan: Plan, metrics: pd.DataFrame, account_id: str, month: pd.Timestamp) -> SpannedMonth:
    """The exact lines of one account-month under ``plan``, priced from an account_month_metrics
    frame: every month of the account up to ``month`` through the month-spanning stages
    (a commitment's balance depends on the months before), in Decimal."""
    rows = metrics[(metrics["account_id"] == account_id) & (metrics["month"] <= month)].reset_index(drop=True)
    return account_bills(plan, rows, metrics["month"].max()).spanned(month)  # with the DESIGN 11 stages


def _month_not_found(metrics: pd.DataFrame, account_id: str, month: pd.Timestamp) -> str:
    label = month.strftime("%Y-%m")
    months = metrics.loc[metrics["account_id"] == account_id, "month"]
    first, last = months.min().strftime("%Y-%m"), months.max().strftime("%Y-%m")
    return (
        f"Account {account_id!r} has no tasks that closed in {label}; "
        f"its months run from {first} (its first task) to {last}. Pick a month in that range."
    )
