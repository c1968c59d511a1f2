"""The reporting test: Mann-Whitney U (two-sided, normal approximation with tie correction,
as FMD's reporting uses), comparing two samples of request durations — raw values, or the
latency sketches of the rollups, so a comparison covers every request however many."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Comparison:
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    u: float
    p_value: float

    @property
    def change(self) -> float:
        """Relative change of the median from A to B (0.25 = 25% slower)."""
        return (self.median_b - self.median_a) / self.median_a if self.median_a else 0.0


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _rank_test(a: Mapping[Any, int], b: Mapping[Any, int]) -> tuple[float, float]:
    """(U of ``a``, two-sided p) from counts per value: equal values share their average
    rank, so a latency sketch's bucket counts are tested as values rounded to the bucket."""
    n_a, n_b = sum(a.values()), sum(b.values())
    n = n_a + n_b
    below = 0        # values ranked before the current one
    ranks_a = 0.0
    tie_term = 0.0
    for key in sorted(set(a) | set(b)):
        in_a, ties = a.get(key, 0), a.get(key, 0) + b.get(key, 0)
        ranks_a += in_a * (below + (ties + 1) / 2)  # average rank of the tied run
        tie_term += float(ties) ** 3 - ties
        below += ties
    u_a = ranks_a - n_a * (n_a + 1) / 2
    mean = n_a * n_b / 2
    variance = n_a * n_b / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return u_a, 1.0
    z = (abs(u_a - mean) - 0.5) / math.sqrt(variance)  # continuity correction
    return u_a, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


def mann_whitney(a: list[float], b: list[float]) -> Comparison:
    """Two-sided Mann-Whitney U test of ``a`` against ``b``. Needs 2+ values in each."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each sample needs at least 2 values")
    u, p = _rank_test(Counter(a), Counter(b))
    return Comparison(len(a), len(b), _median(a), _median(b), u, p)


def mann_whitney_sketch(a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]
                        ) -> Comparison:
    """The same test on two latency sketches (``(bucket, count)`` pairs, see
    :mod:`heron.store.sketch`): every request of both sides, read from the rollups, with
    durations rounded to their 2%-wide bucket (ties, which the test corrects for)."""
    from heron.store import sketch

    counts_a: Counter[int] = Counter()
    counts_b: Counter[int] = Counter()
    for counts, pairs in ((counts_a, a), (counts_b, b)):
        for idx, count in pairs:
            counts[idx] += count
    n_a, n_b = sum(counts_a.values()), sum(counts_b.values())
    if n_a < 2 or n_b < 2:
        raise ValueError("each sample needs at least 2 values")
    u, p = _rank_test(counts_a, counts_b)
    return Comparison(n_a, n_b, sketch.quantile(counts_a.items(), 0.5) or 0.0,
                      sketch.quantile(counts_b.items(), 0.5) or 0.0, u, p)
