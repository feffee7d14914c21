"""Durations kept as counts per bucket, so a median or a 90th percentile is read from a few
counters instead of every event: exact to the bucket, and the same however many contacts.

A value falls in the first bucket whose upper edge it does not exceed; a percentile is that
bucket's upper edge (the last bucket's is its lower edge: "more than 90 days").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# Minutes: from a lead accepted within a minute to a deal closed after half a year.
EDGES: tuple[int, ...] = (
    1,
    5,
    15,
    30,
    60,
    120,
    240,
    480,
    1440,
    2 * 1440,
    3 * 1440,
    7 * 1440,
    14 * 1440,
    30 * 1440,
    60 * 1440,
    90 * 1440,
    180 * 1440,
)


def bucket(minutes: float) -> int:
    """The index of the bucket holding `minutes` (len(EDGES) for anything past the last)."""
    for i, edge in enumerate(EDGES):
        if minutes <= edge:
            return i
    return len(EDGES)


def label(index: int) -> str:
    """A bucket's name as a counter suffix: its upper edge in minutes, or `more`."""
    return str(EDGES[index]) if index < len(EDGES) else "more"


def percentile(counts: Mapping[int, int], share: float) -> int | None:
    """The upper edge (minutes) of the bucket that holds the `share` quantile, or None
    when nothing was counted."""
    total = sum(counts.values())
    if total <= 0:
        return None
    wanted = share * total
    seen = 0
    for i in range(len(EDGES) + 1):
        seen += counts.get(i, 0)
        if seen >= wanted:
            return EDGES[min(i, len(EDGES) - 1)]
    return EDGES[-1]


def of_labels(values: Mapping[str, float], prefix: str) -> dict[int, int]:
    """Bucket counts back from counters named `{prefix}{label}`."""
    found: dict[int, int] = {}
    for i in range(len(EDGES) + 1):
        n = int(values.get(prefix + label(i), 0))
        if n:
            found[i] = n
    return found


def summary(values: Sequence[float]) -> tuple[int | None, int | None]:
    """Median and 90th percentile of raw durations, bucketed the same way (for tests and
    for the slow recomputation a report is checked against)."""
    counts: dict[int, int] = {}
    for v in values:
        counts[bucket(v)] = counts.get(bucket(v), 0) + 1
    return percentile(counts, 0.5), percentile(counts, 0.9)
