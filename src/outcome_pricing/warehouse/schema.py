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


# Bounds no real log exceeds (issue 13): a value beyond one is a unit mistake or a
# placeholder, and refusing it at ingest keeps every sum, cast and price of the engine
# inside its types (one task at every maximum must still bill: tests/test_bounds.py).
MAX_SECONDS = 315_360_000.0  # 10 years of handling time, in seconds
MAX_HOURS = 87_600.0  # 10 years of silence, in hours
MAX_TOKENS = 1_000_000_000_000  # 1e12 tokens in one task
MAX_ISSUES = 1_000_000  # problems raised in one task
MAX_SEATS = 10_000_000  # contracted seats of one account
MAX_PRICE = 1_000_000.0  # price of one seat per month
MAX_HOURLY_COST = 100_000.0  # loaded labour cost of one agent hour

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
    Column("quiet_hours", Kind.NUMBER, minimum=0, maximum=MAX_HOURS, doc="hours of customer silence after the AI's last answer"),
    Column("verified", Kind.BOOL, doc="a QA or model check judged the resolution genuine"),
    Column("ai_error_corrected", Kind.BOOL, doc="the AI gave a wrong answer and corrected it in the task"),
    Column("n_issues", Kind.INT, default=1, minimum=1, maximum=MAX_ISSUES, doc="problems raised"),
    Column("n_issues_resolved", Kind.INT, minimum=0, maximum=MAX_ISSUES, doc="problems the AI resolved, 0..n_issues"),
    Column("csat", Kind.INT, minimum=1, maximum=5, doc="satisfaction score 1..5, if given"),
    Column("tokens_in", Kind.INT, default=0, minimum=0, maximum=MAX_TOKENS, doc="model input tokens"),
    Column("tokens_out", Kind.INT, default=0, minimum=0, maximum=MAX_TOKENS, doc="model output tokens"),
    Column("model_tier", Kind.TEXT, doc="model capability tier, e.g. standard, advanced"),
    Column("human_seconds", Kind.NUMBER, minimum=0, maximum=MAX_SECONDS, doc="human handling time in seconds"),
    Column("ai_seconds", Kind.NUMBER, minimum=0, maximum=MAX_SECONDS, doc="AI handling time in seconds"),
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
    Column("seats", Kind.INT, minimum=0, maximum=MAX_SEATS, doc="contracted human-agent seats today"),
    Column("seat_price", Kind.NUMBER, minimum=0, maximum=MAX_PRICE, doc="current price per seat per month"),
    Column("agent_hourly_cost", Kind.NUMBER, minimum=0, maximum=MAX_HOURLY_COST, doc="loaded labour cost per agent hour"),
    Column("ai_go_live", Kind.DATE, doc="date the AI agent went live"),
    Column("owner", Kind.TEXT, doc="account owner in sales"),
)

# The audits file (DESIGN section 9): a person's judgment of one task.
AUDIT_COLUMNS: tuple[Column, ...] = (
    Column("task_id", Kind.TEXT, True, doc="the audited task (must be in the warehouse)"),
    Column("audited_at", Kind.TIMESTAMP, True, doc="UTC; for one task the latest audit wins"),
    Column("genuine", Kind.BOOL, True, doc="the customer's problem was genuinely resolved"),
    Column("auditor", Kind.TEXT, doc="who judged"),
    Column("note", Kind.TEXT, doc="why"),
)

# Stored audits: the file's rows (a later ingest adds rows) and the reviewers' decisions in
# the app (kept, never overwritten). account_id is copied from the task so a scoped view
# (Warehouse.scoped) limits audits like every table with an account_id.
AUDITS_DDL = """
CREATE TABLE IF NOT EXISTS audits (
  task_id VARCHAR, account_id VARCHAR, audited_at TIMESTAMP, genuine BOOLEAN,
  auditor VARCHAR, note VARCHAR, ingest_id BIGINT
)
"""
AUDIT_DECISIONS_DDL = """
CREATE TABLE IF NOT EXISTS audit_decisions (
  decision_id BIGINT, task_id VARCHAR, account_id VARCHAR, genuine BOOLEAN,
  decided_by VARCHAR, decided_at TIMESTAMP, note VARCHAR
)
"""
AUDIT_TABLES_DDL: tuple[str, ...] = (AUDITS_DDL, AUDIT_DECISIONS_DDL)

# The disputes file (DESIGN section 8): a customer contesting one billed outcome.
DISPUTE_COLUMNS: tuple[Column, ...] = (
    Column("dispute_id", Kind.TEXT, True, doc="unique id; a re-ingest replaces the dispute"),
    Column("task_id", Kind.TEXT, True, doc="the disputed task (must be in the warehouse)"),
    Column("filed_at", Kind.TIMESTAMP, True, doc="UTC, when the customer filed it"),
    Column("status", Kind.TEXT, True, doc="open | accepted | rejected"),
    Column("decided_at", Kind.TIMESTAMP, doc="UTC, required unless open, >= filed_at"),
    Column("reason", Kind.TEXT, doc="the customer's reason"),
    Column("reviewer", Kind.TEXT, doc="who decided"),
)
DISPUTE_STATUSES: tuple[str, ...] = ("open", "accepted", "rejected")

# Stored disputes: the current state of each (account_id copied from the task, so a scoped
# view limits disputes like every table with an account_id), and every decision ever made
# (from a file or in the app), appended and never overwritten.
DISPUTES_DDL = """
CREATE TABLE IF NOT EXISTS disputes (
  dispute_id VARCHAR, task_id VARCHAR, account_id VARCHAR, filed_at TIMESTAMP, status VARCHAR,
  decided_at TIMESTAMP, reason VARCHAR, reviewer VARCHAR, note VARCHAR
)
"""
DISPUTE_DECISIONS_DDL = """
CREATE TABLE IF NOT EXISTS dispute_decisions (
  decision_id BIGINT, dispute_id VARCHAR, task_id VARCHAR, account_id VARCHAR, status VARCHAR,
  decided_by VARCHAR, decided_at TIMESTAMP, note VARCHAR, source VARCHAR, recorded_at TIMESTAMP
)
"""
DISPUTE_TABLES_DDL: tuple[str, ...] = (DISPUTES_DDL, DISPUTE_DECISIONS_DDL)

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
