"""The send rate: at most N emails a second, evenly spaced, on an injected clock.

SES enforces a maximum send rate per account; going over it earns throttling errors. Each
sender process holds its share (the deployment caps how many run at once, see infra/).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib.clock import Clock


class RateLimiter:
    def __init__(self, per_second: float, clock: Clock, sleep: Callable[[float], None]) -> None:
        if per_second <= 0:
            raise ValueError("the send rate must be positive")
        self.interval = timedelta(seconds=1 / per_second)
        self.clock = clock
        self.sleep = sleep
        self._next: datetime | None = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Return when the next send may go; sleeps (on the injected clock) if it is early."""
        with self._lock:
            now = self.clock.now()
            if self._next is not None and now < self._next:
                self.sleep((self._next - now).total_seconds())
                now = self.clock.now()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self.interval
