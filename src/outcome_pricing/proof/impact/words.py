"""The impact in words: values, changes, intervals and p-values for people, and the
sentence for one comparison."""

from __future__ import annotations

from outcome_pricing.proof.stats import Comparison


def format_interval(c: Comparison) -> str:
    if c.ci_low is None or c.ci_high is None:
        return "—"
    if c.diff is None:  # a single-arm metric: the interval is that of the AI value
        return f"{format_value(c.ci_low, c.unit)} to {format_value(c.ci_high, c.unit)}"
    return f"{format_change(c.ci_low, c.unit)} to {format_change(c.ci_high, c.unit)}"


def format_value(x: float | None, unit: str) -> str:
    """A metric value for display: rates as %, others with one or two decimals."""
    if x is None:
        return "—"
    return f"{x:.1%}" if unit == "fraction" else _num(x)


def format_change(x: float | None, unit: str) -> str:
    """A signed change: rates in percentage points (pp), others in their unit."""
    if x is None:
        return "—"
    if unit == "fraction":
        return f"{_num(x * 100, signed=True)} pp"
    return _num(x, signed=True)


def format_p(p: float | None) -> str:
    """p < 0.001, p = 0.034, or 'no p-value'."""
    if p is None:
        return "no p-value"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _digits(x: float) -> int:
    """One decimal from 1 up, two from 0.1, three below (so -0.004 does not print as -0.00)."""
    size = abs(x)  # thresholds just below 1 and 0.1 so 0.9999 prints as 1.0, not 1.00
    return 1 if size >= 0.995 else 2 if size >= 0.0995 or x == 0 else 3


def _num(x: float, signed: bool = False, digits: int | None = None) -> str:
    places = _digits(x) if digits is None else digits
    return f"{x:{'+' if signed else ''},.{places}f}"


def describe(c: Comparison, noun: str = "tasks") -> str:
    """One sentence for one comparison, e.g. 'Human minutes per task fell by 4.1 (95% CI ...'.

    Warnings are not repeated here: they travel in `Comparison.warning` and
    `ImpactSummary.warnings`, and every surface shows them next to the sentence.
    """
    label = c.label[0].upper() + c.label[1:]
    if c.diff is None or c.ci_low is None or c.ci_high is None:
        return f"{label}: no comparison. {c.warning or ''}".strip()
    scale, suffix = (100.0, " percentage points") if c.is_rate else (1.0, "")
    falls = c.diff < 0
    size = abs(c.diff) * scale
    low, high = sorted((-c.ci_high * scale, -c.ci_low * scale) if falls else (c.ci_low * scale, c.ci_high * scale))
    verb = "fell" if falls else "rose"
    if c.diff == 0:
        verb, size = "changed", 0.0
    level = f"{c.confidence:.0%}"
    places = _digits(size)  # the interval at the precision of the change it brackets
    if c.is_rate:
        start, end = f"{c.baseline:.1%}", f"{c.ai:.1%}"
    else:
        start, end = _num(c.baseline or 0.0), _num(c.ai or 0.0)
    text = (
        f"{label} {verb} by {_num(size)}{suffix} "
        f"({level} CI {_num(low, digits=places)} to {_num(high, digits=places)}), "
        f"from {start} to {end}, n = {c.n_baseline:,} baseline and {c.n_ai:,} AI {noun}; "
        f"{format_p(c.p_value)}."
    )
    if not c.significant:
        text += " The data cannot tell this apart from no change."
    return text


NO_CLEAR_CHANGE = "no clear change"


def card_change(c: Comparison) -> str | None:
    """The change a KPI card shows: the signed change when its interval excludes zero
    (`c.significant`), else "no clear change (+0.74 pp)", which a card must not colour
    as a gain or a loss; None when there is no comparison."""
    if c.diff is None:
        return None
    change = format_change(c.diff, c.unit)
    return change if c.significant else f"{NO_CLEAR_CHANGE} ({change})"
