"""A logarithmic latency sketch (the DDSketch idea): durations counted in buckets whose
bounds grow by a constant ratio, so any percentile read back is within ``ALPHA`` (1%) of a
duration that was really observed at that rank, whatever the number of requests.

Bucket counts add up, so the store keeps them per endpoint, version and hour
(``rollup_latency``) and sums them over any window with plain SQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LOG_GAMMA = math.log(GAMMA)
MIN_MS = 0.001  # durations below a microsecond share the lowest bucket
MIN_INDEX = math.ceil(math.log(MIN_MS) / LOG_GAMMA)


def index(ms: float) -> int:
    """The bucket of a duration in milliseconds."""
    if ms <= MIN_MS:
        return MIN_INDEX
    return math.ceil(math.log(ms) / LOG_GAMMA)


def value(idx: int) -> float:
    """The duration a bucket stands for (within ALPHA of everything in it)."""
    return 2 * GAMMA ** idx / (GAMMA + 1)


def quantile(buckets: Iterable[tuple[int, int]], q: float) -> float | None:
    """The ``q`` quantile (0..1) of the durations counted in ``(index, count)`` pairs."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be between 0 and 1, got {q}")
    merged: dict[int, int] = {}
    for idx, count in buckets:
        merged[idx] = merged.get(idx, 0) + int(count)
    total = sum(merged.values())
    if total == 0:
        return None
    rank = q * (total - 1)
    seen = 0
    for idx in sorted(merged):
        seen += merged[idx]
        if seen > rank:
            return value(idx)
    return value(max(merged))
