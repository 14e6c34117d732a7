"""The data contract of task logs (DESIGN section 3) as one table of column specs.

Everything that reads or writes task logs (validation, the warehouse DDL, the
demo generator, the docs) takes the column list from here, so the contract is
stated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    TIMESTAMP = "timestamp"
    BOOL = "bool"
    INT = "int"
    NUMBER = "number"
    DATE = "date"


SQL_TYPE = {
    Kind.TEXT: "VARCHAR",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.BOOL: "BOOLEAN",
    Kind.INT: "BIGINT",
    Kind.NUMBER: "DOUBLE",
    Kind.DATE: "DATE",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPE[self.kind]


TASK_COLUMNS: tuple[Column, ...] = (
    Column("task_id", Kind.TEXT, True, doc="unique id of the task (conversation, ticket, case)"),
    Column("account_id", Kind.TEXT, True, doc="the vendor's customer, the company that is billed"),
    Column("requester_id", Kind.TEXT, True, doc="the end customer who asked; with topic, finds reopens"),
    Column("topic", Kind.TEXT, True, doc="intent or category"),
    Column("channel", Kind.TEXT, default="chat", doc="chat, email, voice, ..."),
    Column("created_at", Kind.TIMESTAMP, True, doc="UTC"),
    Column("closed_at", Kind.TIMESTAMP, True, doc="UTC, >= created_at"),
    Column("ai_enabled", Kind.BOOL, True, doc="the AI agent was live (false = human-only baseline)"),
    Column("ai_answered", Kind.BOOL, True, doc="the AI gave at least one substantive answer"),
    Column("handoff", Kind.BOOL, True, doc="the task was handed to a human"),
    Column("context_retained", Kind.BOOL, doc="on handoff, the human received the AI's context"),
    Column("customer_confirmed", Kind.BOOL, doc="the customer confirmed the answer helped"),
    Column("quiet_hours", Kind.NUMBER, minimum=0, doc="hours of customer silence after the AI's last answer"),
    Column("verified", Kind.BOOL, doc="a QA or model check judged the resolution genuine"),
    Column("ai_error_corrected", Kind.BOOL, doc="the AI gave a wrong answer and corrected it in the task"),
    Column("n_issues", Kind.INT, default=1, minimum=1, doc="problems raised"),
    Column("n_issues_resolved", Kind.INT, minimum=0, doc="problems the AI resolved, 0..n_issues"),
    Column("csat", Kind.INT, minimum=1, maximum=5, doc="satisfaction score 1..5, if given"),
    Column("tokens_in", Kind.INT, default=0, minimum=0, doc="model input tokens"),
    Column("tokens_out", Kind.INT, default=0, minimum=0, doc="model output tokens"),
    Column("model_tier", Kind.TEXT, doc="model capability tier, e.g. standard, advanced"),
    Column("human_seconds", Kind.NUMBER, minimum=0, doc="human handling time in seconds"),
    Column("ai_seconds", Kind.NUMBER, minimum=0, doc="AI handling time in seconds"),
    Column("qa_audited", Kind.BOOL, doc="reviewed by QA"),
    Column("missed_issue", Kind.BOOL, doc="QA found an issue missed or answered wrongly"),
)

# Definition-independent facts computed at ingestion (kept correct after every ingest).
DERIVED_COLUMNS: tuple[Column, ...] = (
    Column("month", Kind.DATE, doc="first day of the month of closed_at; an outcome belongs to it"),
    Column(
        "reopen_gap_hours",
        Kind.NUMBER,
        doc="hours from closed_at to created_at of the next task with the same account, requester and topic",
    ),
)

ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column("account_id", Kind.TEXT, True, doc="the vendor's customer"),
    Column("name", Kind.TEXT, doc="display name"),
    Column("segment", Kind.TEXT, doc="SMB, mid-market, enterprise"),
    Column("seats", Kind.INT, minimum=0, doc="contracted human-agent seats today"),
    Column("seat_price", Kind.NUMBER, minimum=0, doc="current price per seat per month"),
    Column("agent_hourly_cost", Kind.NUMBER, minimum=0, doc="loaded labour cost per agent hour"),
    Column("ai_go_live", Kind.DATE, doc="date the AI agent went live"),
    Column("owner", Kind.TEXT, doc="account owner in sales"),
)

TASK_COLUMN_NAMES = tuple(c.name for c in TASK_COLUMNS)
ACCOUNT_COLUMN_NAMES = tuple(c.name for c in ACCOUNT_COLUMNS)
TASKS_BY_NAME = {c.name: c for c in TASK_COLUMNS}
ACCOUNTS_BY_NAME = {c.name: c for c in ACCOUNT_COLUMNS}


def table_ddl(table: str, columns: tuple[Column, ...]) -> str:
    """CREATE TABLE for a fixed, whitelisted column list (identifiers never come from users).

    No PRIMARY KEY: uniqueness is enforced at ingestion (delete-then-insert of
    the staged keys), which keeps 10M-row loads free of index maintenance.
    """
    cols = ",\n  ".join(f"{c.name} {c.sql_type}" for c in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"
