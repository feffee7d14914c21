"""Per-operation timings of one bench row, reduced to the numbers the report prints.

Each operation is timed alone (wall clock and this thread's CPU), so the report can split a
row's latency into our own Python work and time spent waiting on the backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Sample:
    label: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def time(self, operation: Callable[[], T]) -> T:
        cpu, start = time.thread_time(), time.perf_counter()
        result = operation()
        self.wall.append(time.perf_counter() - start)
        self.cpu.append(time.thread_time() - cpu)
        return result

    @property
    def count(self) -> int:
        return len(self.wall)

    @property
    def rate(self) -> float:
        """Operations per second of time spent in them (set-up between batches excluded)."""
        return self.count / sum(self.wall) if self.wall else 0.0

    def mean_ms(self) -> float:
        return 1000 * sum(self.wall) / self.count if self.count else 0.0

    def percentile_ms(self, pct: float) -> float:
        if not self.wall:
            return 0.0
        ordered = sorted(self.wall)
        return 1000 * ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]

    def cpu_ms(self) -> float:
        return 1000 * sum(self.cpu) / self.count if self.count else 0.0
