"""What a warm function keeps from one invocation to the next: values last used, in a budget.

Each publish renders the same entries again (its month's archive, the newest of each feed):
a warm function decodes and renders only the ones it has not seen. ``functools.lru_cache``
bounds a cache by its number of values; these are bounded by their bytes, since one entry may
be a hundred times another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: The largest share of the budget one value may take: a huge entry must not push out dozens.
_LARGEST_SHARE = 64


class Kept(Generic[K, V]):
    """The values last used, by key, within ``budget`` bytes as ``size`` counts them.

    Thread-safe; a value made by two threads at once is made twice (both the same).
    """

    def __init__(self, budget: int, size: Callable[[K, V], int]) -> None:
        self.budget = budget
        self._size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0

    def get(self, key: K, make: Callable[[K], V]) -> V:
        """The value kept for ``key``, else ``make(key)``, kept if it fits."""
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found[0]
        value = make(key)
        weight = self._size(key, value)
        if weight * _LARGEST_SHARE > self.budget:
            return value
        with self._lock:
            if key not in self._kept:
                self._kept[key] = (value, weight)
                self._total += weight
                while self._total > self.budget:
                    _key, (_value, dropped) = self._kept.popitem(last=False)
                    self._total -= dropped
        return value

    @property
    def total(self) -> int:
        """Bytes kept now, as ``size`` counts them."""
        return self._total
