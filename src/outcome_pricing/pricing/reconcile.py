"""Reconciliation against the customer's own count (DESIGN section 8).

Their file holds either counts per account-month (`account_id, month, outcomes`) or a task
list (`task_id, resolved`); it is read with the same reader and rules as every file
(ingest/read.py, validate.py: file, row and column named), and nothing is stored.

Per account-month, over the union of both sides (a side without the row counts 0): ours
(hindsight billable units under the definition), theirs, difference = ours - theirs.
With a task list (a task missing from it is not resolved for them): the tasks each side
counts and the other does not, `only_ours` and `only_theirs`, each by our reason code
(in hindsight).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from outcome_pricing.errors import Problem, ValidationError
from outcome_pricing.ingest.diagnose import diagnose
from outcome_pricing.ingest.mapping import Mapping, SectionMapping
from outcome_pricing.ingest.read import PARQUET_SUFFIXES, FileSpec, InputFile, Rule, Unreadable
from outcome_pricing.ingest.side import check_tasks_exist
from outcome_pricing.ingest.validate import stage_validated
from outcome_pricing.warehouse.schema import Column, Kind

if TYPE_CHECKING:
    from outcome_pricing.rules import Definition
    from outcome_pricing.warehouse.handle import Warehouse

KEYS = ["account_id", "month"]
_MONTH = r"\d{4}-(0[1-9]|1[0-2])"  # a constant pattern, not user text
# `_row` is never in a file: a per-row key (always empty) so the key rule stays silent,
# while the rule below refuses an account-month given twice.
COUNTS = FileSpec("their_counts", (
    Column("account_id", Kind.TEXT, True, doc="the account"),
    Column("month", Kind.TEXT, True, doc="YYYY-MM"),
    Column("outcomes", Kind.NUMBER, True, minimum=0, doc="their count of outcomes"),
    Column("_row", Kind.TEXT),
), "_row", rules=(
    Rule("month", "month must be written YYYY-MM (e.g. 2025-03)",
         f"month IS NOT NULL AND NOT regexp_full_match(trim(month), '{_MONTH}')", "month"),
    Rule("month", "this account and month appear more than once in this file",
         "account_id || chr(31) || trim(month) IN (SELECT account_id || chr(31) || trim(month) "
         "FROM _stage_their_counts GROUP BY 1 HAVING count(*) > 1)", "account_id || ' ' || month"),
))
TASK_LIST = FileSpec("their_tasks", (
    Column("task_id", Kind.TEXT, True, doc="a task of ours"),
    Column("resolved", Kind.BOOL, True, doc="resolved by their own rule"),
), "task_id")


@dataclass(frozen=True)
class Reconciliation:
    """Ours vs theirs. ``frame``: account_id, month, ours, theirs, difference (and with a task
    list only_ours, only_theirs: task counts). ``tasks`` (task lists only): task_id,
    account_id, month, side (only_ours | only_theirs), reason (ours, hindsight),
    billable_units. ``source``: their file."""

    frame: pd.DataFrame
    tasks: pd.DataFrame | None
    source: str
    definition_name: str
    definition_version: str

    @property
    def by_task(self) -> bool:
        return self.tasks is not None

    def by_reason(self) -> pd.DataFrame:
        """Tasks per side and our reason code (task lists only; empty otherwise)."""
        if self.tasks is None or self.tasks.empty:
            return pd.DataFrame(columns=["side", "reason", "tasks"])
        out = self.tasks.groupby(["side", "reason"], sort=True).size().rename("tasks").reset_index()
        return out.sort_values(["side", "tasks"], ascending=[True, False], ignore_index=True)

    def records(self) -> list[dict[str, Any]]:
        """JSON rows (DESIGN 6): account_id, month, ours, theirs, difference; with a task list
        also only_ours and only_theirs, each {"tasks": n, "by_reason": {reason: tasks}}."""
        out = []
        reasons = self._reasons()
        for row in self.frame.to_dict(orient="records"):
            account, month = str(row["account_id"]), pd.Timestamp(row["month"]).strftime("%Y-%m")
            rec: dict[str, Any] = {"account_id": account, "month": month, "ours": float(row["ours"]),
                                   "theirs": float(row["theirs"]), "difference": float(row["difference"])}
            if self.by_task:
                for side in ("only_ours", "only_theirs"):
                    by = reasons.get((account, month, side), {})
                    rec[side] = {"tasks": int(sum(by.values())), "by_reason": by}
            out.append(rec)
        return out

    def _reasons(self) -> dict[tuple[str, str, str], dict[str, int]]:
        if self.tasks is None or self.tasks.empty:
            return {}
        t = self.tasks.assign(m=pd.to_datetime(self.tasks["month"]).dt.strftime("%Y-%m"))
        found: dict[tuple[str, str, str], dict[str, int]] = {}
        counts = t.groupby(["account_id", "m", "side", "reason"]).size().rename("n").reset_index()
        for r in counts.to_dict(orient="records"):
            found.setdefault((str(r["account_id"]), str(r["m"]), str(r["side"])), {})[str(r["reason"])] = int(r["n"])
        return found


def _header(path: Path) -> list[str]:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [h.strip().lower() for h in next(csv.reader(fh), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def read_theirs(wh: Warehouse, path: str | Path, name: str | None = None) -> tuple[pd.DataFrame, bool]:
    """Their file, validated: (rows, is_task_list). Counts: account_id, month (first day),
    outcomes. Task list: task_id, resolved. ValidationError names file, row and column."""
    path = Path(path)
    label = name or str(path)
    if not path.is_file():
        raise ValidationError(label, [Problem(label, None, None, "file not found or not readable; check the path")])
    header = _header(path)
    spec = TASK_LIST if "task_id" in header or (not header and _parquet_has_task_id(wh, path)) else COUNTS
    item = InputFile(spec, path, label, SectionMapping())
    m = Mapping()
    try:
        with wh.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            if stage_validated(cur, item, m) and spec is TASK_LIST:
                check_tasks_exist(cur, item)
            cols = "task_id, resolved" if spec is TASK_LIST else "account_id, trim(month) AS month, outcomes"
            rows = cur.execute(f"SELECT {cols} FROM {spec.stage_table}").df()
    except Unreadable as exc:
        raise diagnose(exc.item, m, exc.cause) from None
    if spec is COUNTS:
        rows["month"] = pd.to_datetime(rows["month"] + "-01")
    return rows, spec is TASK_LIST


def _parquet_has_task_id(wh: Warehouse, path: Path) -> bool:
    with wh.cursor() as cur:
        try:
            names = [str(r[0]).lower() for r in cur.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
        except duckdb.Error:
            return False
    return "task_id" in names


def reconcile(wh: Warehouse, d: Definition, their_file: str | Path, name: str | None = None) -> Reconciliation:
    """Our hindsight count against theirs, per account-month (and per task with a task list)."""
    from outcome_pricing.rules import evaluate_tasks, outcomes

    theirs, by_task = read_theirs(wh, their_file, name)
    ours = outcomes(wh, d)[[*KEYS, "billable_units"]].rename(columns={"billable_units": "ours"})
    ours["month"] = pd.to_datetime(ours["month"])
    tasks = None
    if by_task:
        ev = evaluate_tasks(wh, d)[["task_id", "account_id", "month", "reason", "billable_units"]]
        ev["month"] = pd.to_datetime(ev["month"])
        said = ev.merge(theirs, on="task_id", how="left")
        said["resolved"] = said["resolved"].fillna(False).astype(bool)  # missing from their list: not resolved
        counted = said["billable_units"] > 0
        side = pd.Series(None, index=said.index, dtype=object)
        side[counted & ~said["resolved"]] = "only_ours"
        side[~counted & said["resolved"]] = "only_theirs"
        tasks = said.assign(side=side)[side.notna()][["task_id", "account_id", "month", "side", "reason", "billable_units"]]
        tasks = tasks.sort_values(["account_id", "month", "side", "task_id"], ignore_index=True)
        theirs = said[said["resolved"]].groupby(KEYS).size().rename("theirs").reset_index()
    else:
        theirs = theirs.rename(columns={"outcomes": "theirs"})
    frame = ours.merge(theirs, on=KEYS, how="outer").fillna({"ours": 0.0, "theirs": 0.0})
    frame["theirs"] = frame["theirs"].astype(float)
    frame["difference"] = frame["ours"] - frame["theirs"]
    if tasks is not None:
        counts = tasks.groupby([*KEYS, "side"]).size().unstack("side")
        counts = counts.reindex(columns=["only_ours", "only_theirs"]).fillna(0).astype("int64").reset_index()
        frame = frame.merge(counts, on=KEYS, how="left").fillna({"only_ours": 0, "only_theirs": 0})
        frame[["only_ours", "only_theirs"]] = frame[["only_ours", "only_theirs"]].astype("int64")
    frame = frame.sort_values(KEYS, ignore_index=True)
    return Reconciliation(frame, tasks, name or str(their_file), d.name, d.version)


def reconcile_upload(wh: Warehouse, d: Definition, name: str, data: bytes) -> Reconciliation:
    """`reconcile` on a file received through the app (kept only while it is read)."""
    import tempfile

    suffix = Path(name).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"theirs{suffix}"
        path.write_bytes(data)
        return reconcile(wh, d, path, name=name)
