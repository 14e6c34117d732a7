"""Realistic synthetic task logs: the embedded default data of the product.

- portfolio.py: topics, channels, segments, the accounts (DemoSpec, seats, go-live)
- tasks.py: the tasks of each fixed-size chunk, seeded (outcomes, reopens)
- build.py: `build_demo`, writing it all into a warehouse in one transaction

The same (seed, sizes) always give the same rows.
"""

from outcome_pricing.demo.build import GENERATE_SHARE, Progress, build_demo
from outcome_pricing.demo.portfolio import (
    DEFAULT_END_MONTH,
    GENERATOR_VERSION,
    TASKS_PER_ACCOUNT,
    DemoSpec,
    default_accounts,
)
from outcome_pricing.demo.tasks import chunk_sizes

__all__ = [
    "DEFAULT_END_MONTH",
    "GENERATE_SHARE",
    "GENERATOR_VERSION",
    "TASKS_PER_ACCOUNT",
    "DemoSpec",
    "Progress",
    "build_demo",
    "chunk_sizes",
    "default_accounts",
]
