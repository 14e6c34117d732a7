"""The evidence pack: what a vendor sends when a customer questions one month's bill.

One ZIP per account, month and plan, with an HTML index and CSVs:

- index.html: the bill's header and lines, the audit estimate with its interval
  (and by reason), and what each file holds; every value HTML-escaped;
- statement.csv: the statement (header, charge lines, every task);
- billed_tasks.csv: every billed task (units > 0) with its reason code and the
  fields the rules read;
- audits.csv: the audited tasks of the month with the verdict, who and when;
- estimate.csv: the false-resolution rate with its 95% Wilson interval, overall
  and by reason;
- definition.toml: the definition; its version hash is in the index and on the
  statement.

Every CSV cell goes through kit/cells.py, so no text runs as a spreadsheet formula.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import zipfile
from typing import TYPE_CHECKING, Any

import pandas as pd

from outcome_pricing.kit.cells import to_safe_csv
from outcome_pricing.proof.audit.estimate import AuditEstimate, estimate
from outcome_pricing.proof.audit.records import Selection, audited_tasks
from outcome_pricing.rules import EVIDENCE_FIELDS, Definition
from outcome_pricing.warehouse import cluster

if TYPE_CHECKING:
    from outcome_pricing.pricing.plans import PlanSet
    from outcome_pricing.pricing.statements import Statement
    from outcome_pricing.warehouse.handle import Warehouse

AUDIT_COLUMNS = ["task_id", "reason", "billable_units", "genuine", "audited_at", "auditor", "note", "source",
                 *EVIDENCE_FIELDS]
FILES = {
    "statement.csv": "the statement: header, charge lines and every task of the month",
    "billed_tasks.csv": "every billed task (billable units > 0) with its reason code and the fields the rules read",
    "audits.csv": "the audited tasks of the month: verdict, auditor, when, note and the evidence",
    "estimate.csv": "the false-resolution rate with its 95% Wilson interval, overall and by reason code",
    "definition.toml": "the definition of a billable outcome (its version hash is on the statement)",
}


def estimate_frame(e: AuditEstimate) -> pd.DataFrame:
    """The estimate as rows: 'all billed outcomes' then one per reason code."""
    overall = e.record()
    keys = ["billable_outcomes", "audited", "not_genuine", "false_rate", "ci_low", "ci_high"]
    rows = [{"scope": "all billed outcomes", **{k: overall[k] for k in keys}}]
    rows += [{"scope": s["reason"], **{k: s[k] for k in keys}} for s in overall["by_reason"]]
    return pd.DataFrame(rows, columns=["scope", *keys])


def _table(df: pd.DataFrame) -> str:
    """An HTML table with every header and cell escaped."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def index_html(s: Statement, e: AuditEstimate, d: Definition) -> str:
    """The pack's index page (self-contained, no scripts, every value escaped)."""
    esc = html.escape
    header = pd.DataFrame(s.header(), columns=["Field", "Value"])
    files = pd.DataFrame(list(FILES.items()), columns=["File", "What it holds"])
    warnings = "".join(f"<li>{esc(w)}</li>" for w in e.warnings)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Evidence pack {esc(s.account_id)} {esc(s.month)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left}}</style></head><body>
<h1>Evidence pack: {esc(s.account_name or s.account_id)} ({esc(s.account_id)}), {esc(s.month)}</h1>
<p>Plan <b>{esc(s.plan)}</b> (version <code>{esc(s.plan_version)}</code>); definition <b>{esc(d.name)}</b>
(version <code>{esc(d.version)}</code>). Total billed: <b>{esc(f"${s.total:,.2f}")}</b>.</p>
<h2>The bill</h2>{_table(header)}
<h2>Charge lines</h2>{_table(s.lines_frame())}
<h2>How many billed outcomes were genuine</h2>
<p>{esc(e.sentence())}</p>{_table(estimate_frame(e))}
<p>Rates are the share of audited billed outcomes found not genuine, with the 95% Wilson score
interval. An audit is a person's judgment of one task.</p>
{f"<ul>{warnings}</ul>" if warnings else ""}
<h2>Files</h2>{_table(files)}
</body></html>
"""


def evidence_pack(wh: Warehouse, planset: PlanSet, plan_name: str, d: Definition, account_id: str,
                  month: Any) -> bytes:
    """The ZIP for `account_id`, `month` (YYYY-MM) under `plan_name` and `d`."""
    from outcome_pricing.pricing.statements import statement

    s = statement(wh, planset, plan_name, d, account_id, month)
    selection = Selection.of(account_id, [s.month])
    # In cluster mode the month's audited tasks are read from the Parquet tasks.
    with cluster.evidence_for(wh, account_id, dt.date.fromisoformat(f"{s.month}-01")) as ev:
        e = estimate(ev, d, selection)
        audits = audited_tasks(ev, d, selection)
    tasks = s.task_records()
    billed = tasks[tasks["billable_units"] > 0]
    buffer = io.BytesIO()
    stamp = (s.made_at.year, s.made_at.month, s.made_at.day, s.made_at.hour, s.made_at.minute, s.made_at.second)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (
            ("index.html", index_html(s, e, d).encode("utf-8")),
            ("statement.csv", s.to_csv()),
            ("billed_tasks.csv", to_safe_csv(billed)),
            ("audits.csv", to_safe_csv(audits[[c for c in AUDIT_COLUMNS if c in audits]])),
            ("estimate.csv", to_safe_csv(estimate_frame(e))),
            ("definition.toml", f"# version {d.version}\n{d.to_toml()}".encode()),
        ):
            z.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
    return buffer.getvalue()
