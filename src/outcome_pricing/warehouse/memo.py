"""Answers kept per warehouse handle and data generation (`Warehouse.generation`).

A write through a handle bumps its generation, so an answer read before the write is
never returned after it. The generation is read before the answer is computed: a write
in between leaves the answer filed under the older generation, where no one finds it.
Handles are held weakly (a closed, dropped handle takes its answers with it), and the
app's sessions ask from many threads, hence the lock. A source without a generation (a
bare connection in a test) is never cached; one that cannot be weakly referenced neither.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class GenerationMemo(Generic[T]):
    """Up to `entries` answers per handle (oldest dropped first), each keyed on the handle's
    generation and a caller's key."""

    def __init__(self, entries: int = 16) -> None:
        self._entries = entries
        self._held: weakref.WeakKeyDictionary[Any, OrderedDict[Hashable, tuple[int, T]]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, wh: Any, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for `key` in `wh`'s current generation, computed once."""
        generation = getattr(wh, "generation", None)  # before computing: see the module's note
        if generation is None:
            return compute()
        found = self.peek(wh, key, generation)
        if found is not None:
            return found[0]
        value = compute()
        self.put(wh, key, generation, value)
        return value

    def peek(self, wh: Any, key: Hashable, generation: int) -> tuple[T] | None:
        """`(answer,)` held for `key` in `generation`, or None."""
        with self._lock:
            try:
                held = self._held.get(wh)
            except TypeError:  # cannot be weakly referenced: nothing is ever held for it
                return None
            found = None if held is None else held.get(key)
        return (found[1],) if found is not None and found[0] == generation else None

    def clear(self) -> None:
        """Forget every answer (tests)."""
        with self._lock:
            self._held.clear()

    def put(self, wh: Any, key: Hashable, generation: int, value: T) -> None:
        """Hold `value` for `key` in `generation` (read before `value` was computed)."""
        with self._lock:
            try:
                held = self._held.setdefault(wh, OrderedDict())
            except TypeError:
                return
            held[key] = (generation, value)
            held.move_to_end(key)
            while len(held) > self._entries:
                held.popitem(last=False)
