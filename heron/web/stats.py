"""The reporting test: Mann-Whitney U (two-sided, normal approximation with tie correction,
as FMD's reporting uses), comparing two samples of request durations."""

from __future__ import annotations

import math
from dataclasses import dataclass


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


def mann_whitney(a: list[float], b: list[float]) -> Comparison:
    """Two-sided Mann-Whitney U test of ``a`` against ``b``. Needs 2+ values in each."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each sample needs at least 2 values")
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    n = len(pooled)
    ranks_a = 0.0
    tie_term = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        rank = (i + j) / 2 + 1  # average rank of the tied run
        ties = j - i + 1
        tie_term += ties ** 3 - ties
        ranks_a += rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        i = j + 1
    n_a, n_b = len(a), len(b)
    u_a = ranks_a - n_a * (n_a + 1) / 2
    mean = n_a * n_b / 2
    variance = n_a * n_b / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        p = 1.0
    else:
        z = (abs(u_a - mean) - 0.5) / math.sqrt(variance)  # continuity correction
        p = math.erfc(max(z, 0.0) / math.sqrt(2))
    return Comparison(n_a, n_b, _median(a), _median(b), u_a, min(1.0, p))
