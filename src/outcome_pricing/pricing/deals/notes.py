"""What a statement says about a deal's terms, so the customer can check the bill (DESIGN 11):
the first charged month, the savings computation behind a gain-share line (baseline
minutes per topic, AI tasks, hourly cost), and the guarantee window that ends this month."""

from __future__ import annotations

from dataclasses import dataclass

from outcome_pricing.pricing.deals.guarantee import WindowCheck
from outcome_pricing.pricing.deals.savings import SavingsDetail
from outcome_pricing.pricing.deals.schedule import NEVER, Schedule, index_month


@dataclass(frozen=True)
class DealNotes:
    schedule: Schedule
    charged: bool
    savings: SavingsDetail | None = None
    guarantee: WindowCheck | None = None

    def header(self) -> list[tuple[str, str]]:
        start = "never (no go-live)" if self.schedule.start == NEVER else f"{index_month(self.schedule.start):%Y-%m}"
        rows = [("First charged month", start)]
        if not self.charged:
            rows.append(("Charged", "no: before the first charged month there is no line"))
        if self.guarantee is not None:
            rows.append(("Guarantee", self.guarantee.describe()))
        if self.savings is not None:
            rows.append(("Savings (gain-share)", self.savings.lines()[-1]))
        return rows

    def text(self) -> str:
        """The savings computation line by line (for the text statement)."""
        if self.savings is None:
            return ""
        return "\nSAVINGS COMPUTATION\n" + "\n".join(self.savings.lines()) + "\n"
