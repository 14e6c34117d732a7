"""warehouse/memo.py: an answer per handle and data generation, computed once."""

from __future__ import annotations

from dataclasses import dataclass

from outcome_pricing.warehouse.memo import GenerationMemo


@dataclass(eq=False)
class Handle:
    generation: int = 0


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


def test_an_answer_is_computed_once_per_generation_and_again_after_a_write() -> None:
    memo: GenerationMemo[int] = GenerationMemo()
    wh, compute = Handle(), Counter()
    assert [memo.get(wh, "k", compute) for _ in range(3)] == [1, 1, 1]
    wh.generation += 1  # a write
    assert memo.get(wh, "k", compute) == 2 and compute.calls == 2


def test_handles_and_keys_keep_their_own_answers() -> None:
    memo: GenerationMemo[str] = GenerationMemo()
    a, b = Handle(), Handle()
    assert memo.get(a, "x", lambda: "a") == "a"
    assert memo.get(b, "x", lambda: "b") == "b"
    assert memo.get(a, "y", lambda: "ay") == "ay"
    assert memo.get(a, "x", lambda: "never") == "a"


def test_the_oldest_answer_goes_first_past_the_limit() -> None:
    memo: GenerationMemo[int] = GenerationMemo(entries=2)
    wh = Handle()
    for key in ("a", "b", "c"):
        memo.get(wh, key, lambda: 0)
    assert memo.peek(wh, "a", 0) is None and memo.peek(wh, "c", 0) == (0,)


def test_a_none_answer_is_held_and_a_source_without_generation_is_never_cached() -> None:
    memo: GenerationMemo[None] = GenerationMemo()
    wh, compute = Handle(), Counter()
    memo.get(wh, "k", lambda: None)
    assert memo.peek(wh, "k", 0) == (None,)
    bare = object()  # no generation (and no weak reference): computed every time
    counted: GenerationMemo[int] = GenerationMemo()
    assert [counted.get(bare, "k", compute) for _ in range(2)] == [1, 2]
    counted.put(1, "k", 0, 5)  # an int cannot be weakly referenced: nothing is held
    assert counted.peek(1, "k", 0) is None
