"""What every command shares: the warehouse from --db, the --definition and --plans
options, output formats, and turning our errors into one readable paragraph and a
non-zero exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pandas as pd

from outcome_pricing.access import Principal, principal_for, requested_identity
from outcome_pricing.errors import ConfigError, OutcomePricingError
from outcome_pricing.pricing import example_plans
from outcome_pricing.pricing.plans import PlanSet
from outcome_pricing.warehouse import Warehouse, default_db_path

DEF_HELP = "A preset name (e.g. zendesk-ar, intercom-fin-2025) or the path of a definition TOML."
PLANS_HELP = (
    "Plans TOML. Default: the example plans shipped with the package (one of every kind of "
    "plan: seats, tokens, conversations, outcomes, committed, ladder, hybrid)."
)
# Every command that prices takes the same optional --plans; None means the packaged examples.
PLANS_OPTION = click.option(
    "--plans", "plans_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None, metavar="FILE", help=PLANS_HELP,
)


def load_plans(plans_file: Path | None) -> PlanSet:
    """The plan set of --plans FILE, or the packaged example plans without it."""
    return example_plans() if plans_file is None else PlanSet.from_toml(plans_file)


@dataclass
class Context:
    db: Path | None
    as_user: str | None = None  # --as-user: run on this person's behalf (access.py)

    @property
    def db_path(self) -> Path:
        return self.db or default_db_path()

    def principal(self) -> Principal | None:
        """The person this command runs as, or None when nobody was named.

        An empty or unknown name is refused (AccessDeniedError), never read as "everyone".
        """
        wanted = requested_identity(self.as_user)
        return None if wanted is None else principal_for(wanted)

    def open(self, read_only: bool = True) -> Warehouse:
        """The warehouse, as the --as-user person may see it (everything without --as-user)."""
        if requested_identity(self.as_user) is not None:
            self.principal()  # refuse a bad identity before the file is opened
        wh = Warehouse.open(self.db_path, read_only=read_only)
        if requested_identity(self.as_user) is None:
            return wh
        try:
            return self._on_behalf(wh, read_only)
        except BaseException:
            wh.close()
            raise

    def _on_behalf(self, wh: Warehouse, read_only: bool) -> Warehouse:
        """Scope `wh` to the person, and refuse a write or an --account they may not have.

        The scoped handle owns no connection, so the real one is closed with the command.
        """
        from outcome_pricing.access import AccessDeniedError

        person = self.principal()
        assert person is not None
        if not read_only and not person.can_ingest:
            raise AccessDeniedError(f"{person.describe()} may not change the warehouse; only admins ingest.")
        scoped = person.scope(wh)
        command = click.get_current_context(silent=True)
        if command is not None:  # any command option named --account is checked here
            person.check_account(scoped, command.params.get("account"))
            if scoped is not wh:
                command.find_root().call_on_close(wh.close)
        return scoped


pass_context = click.make_pass_decorator(Context)

FORMAT_TABLE_CSV_JSON = click.Choice(["table", "csv", "json"])


def run_main(group: Callable[..., Any]) -> None:
    """Run the click group; our errors become a message and exit code 2, never a traceback."""
    try:
        group(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OutcomePricingError as exc:
        click.echo(f"{exc.title}: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m")
    if hasattr(value, "item"):
        return value.item()
    return value


def month_keys(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with the month (and any date column) as "YYYY-MM": one month format in every output."""
    out = df.copy()
    for col in out.columns:
        if col == "month" or pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m")
    return out


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts: numbers as numbers, months as "YYYY-MM", NaN as null."""
    out = month_keys(df)
    records = out.astype(object).where(out.notna(), None).to_dict(orient="records")
    return [{str(k): _jsonable(v) for k, v in r.items()} for r in records]


def echo_frame(df: pd.DataFrame, fmt: str) -> None:
    """Print a DataFrame as an aligned table, CSV (formula-safe) or JSON records."""
    if fmt == "json":
        click.echo(json.dumps(frame_records(df), indent=2, default=str))
    elif fmt == "csv":
        from outcome_pricing.kit.cells import safe_frame

        click.echo(safe_frame(month_keys(df)).to_csv(index=False), nl=False)
    else:
        shown = pd.DataFrame(frame_records(df)) if len(df) else df
        click.echo(shown.to_string(index=False) if len(df) else "(no rows)")


class Rate(click.ParamType[float]):
    """A yearly rate or a share, written as the app shows it ("10%") or as a fraction ("0.10");
    between 0 and 100%. A bare number above 1 ("10") is refused: it could mean either."""

    name = "RATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            number = float(text.removesuffix("%").strip())
        except ValueError:
            self.fail(f"{text!r} is not a rate: write 10% or 0.10.", param, ctx)
        rate = number / 100.0 if percent else number
        if not (0.0 <= rate <= 1.0) or rate != rate:
            hint = f" (did you mean {number:g}%?)" if not percent and 1.0 < number <= 100.0 else ""
            self.fail(f"{text!r} is not between 0% and 100%: write 10% or 0.10{hint}.", param, ctx)
        return rate


RATE = Rate()


def parse_assignments(
    items: tuple[str, ...], allowed: tuple[str, ...] | list[str], option: str = "--assume"
) -> dict[str, float]:
    """NAME=VALUE pairs of a repeatable option as numbers; unknown names and non-numbers
    are refused with a message listing the names allowed."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or name not in allowed:
            raise ConfigError(f"{option} {item!r}: write NAME=VALUE with NAME one of {', '.join(allowed)}.")
        try:
            values[name] = float(raw)
        except ValueError:
            raise ConfigError(f"{option} {item!r}: {raw!r} is not a number.") from None
    return values
