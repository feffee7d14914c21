"""Events whose handlers have run, marked processed together: 25 to a request, not one each.

Marking an event is what takes it out of the sweeper's sparse index. Until its mark is
written the event is still pending, so if the process dies first the sweeper runs its
handlers again, and they find their work done (the handler contract, registry.py); the
sweeper waits minutes, the marks a moment. A mark costs a request of its own when written
alone; collected, a burst's marks cost a twenty-fifth of the requests and of their CPU.
"""

from __future__ import annotations

import threading

from chalicelib.clock import Clock
from chalicelib.store import event_log
from chalicelib.store.models import EventModel


class Marks:
    """Collected marks, written when 25 are waiting and whenever `flush` is called (the end of
    a Lambda's batch, an idle moment of the local stream reader). Shared by threads."""

    def __init__(self, clock: Clock, size: int = event_log.MARKS_PER_REQUEST) -> None:
        self.clock = clock
        self.size = size
        self._waiting: list[EventModel] = []
        self._lock = threading.Lock()

    def add(self, item: EventModel) -> None:
        with self._lock:
            self._waiting.append(item)
            full = len(self._waiting) >= self.size
        if full:
            self.flush()

    def flush(self) -> int:
        """Write every waiting mark; returns how many."""
        with self._lock:
            items, self._waiting = self._waiting, []
        if not items:
            return 0
        try:
            event_log.complete_all(items, self.clock.now())
        except Exception:
            with self._lock:  # not written (the engine is down): written with the next ones
                self._waiting[:0] = items
            raise
        return len(items)

    def waiting(self) -> int:
        return len(self._waiting)
