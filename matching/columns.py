"""Columns of needs and offers as numpy arrays, read with C-level loops.

The engine works on parallel arrays (one entry per need, offer or edge). Reading an attribute
of tens of thousands of frozen dataclasses is the one loop that stays in Python; these
helpers do it through ``map`` and ``operator.attrgetter`` (no Python frame per row), and give
values that repeat (paths, households, kinds, dates) small integer codes so that everything
after works on integers.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np
from numpy.typing import DTypeLike, NDArray

H = TypeVar("H", bound=Hashable)


def column(rows: Sequence[Any], attr: str, dtype: DTypeLike = np.int64) -> NDArray[Any]:
    """``[row.<attr> for row in rows]`` as a numpy array of ``dtype``."""
    return np.fromiter(map(attrgetter(attr), rows), dtype=dtype, count=len(rows))


def values(rows: Iterable[Any], *attrs: str) -> list[Any]:
    """``[row.<attr> ...]`` (a tuple per row when several attributes are named)."""
    return list(map(attrgetter(*attrs), rows))


def encode(items: Sequence[H]) -> tuple[NDArray[np.int64], list[H]]:
    """Codes of ``items`` (0, 1, ... in order of first appearance) and the distinct items.

    ``distinct[codes[i]] == items[i]``. One C-level pass (each item hashed once): every item
    first gets the position of its first occurrence, renumbered with numpy.
    """
    first: dict[H, int] = {}
    n = len(items)
    at = np.fromiter(map(first.setdefault, items, range(n)), dtype=np.int64, count=n)
    renumber = np.zeros(n, dtype=np.int64)
    renumber[np.fromiter(first.values(), dtype=np.int64, count=len(first))] = np.arange(
        len(first), dtype=np.int64
    )
    return renumber[at], list(first)


def distinct_sorted(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """The distinct values of ``keys``, sorted (a sort and a comparison; for integer keys
    this is faster than ``np.unique``, which hashes them)."""
    ordered = np.sort(keys)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
