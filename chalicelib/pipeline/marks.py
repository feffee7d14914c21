"""Events whose handlers have run, marked processed together: 25 to a request, not one each;
and their report counts, added together just before.

Marking an event is what takes it out of the sweeper's sparse index. Until its mark is
written the event is still pending, so if the process dies first the sweeper runs its
handlers again, and they find their work done (the handler contract, registry.py); the
sweeper waits minutes, the marks a moment. A mark costs a request of its own when written
alone; collected, a burst's marks cost a twenty-fifth of the requests and of their CPU.

The bookkeeper leaves its counts here too (`count`): a batch's events are counted in a few
transactions, counts meeting on one counter summed, instead of one transaction each. They are
written before the marks, so an event is never marked processed with its counts unwritten; a
crash in between leaves it pending, and its marker keeps the sweeper's re-run from counting
it twice.
"""

from __future__ import annotations

import threading

from chalicelib.clock import Clock
from chalicelib.store import event_log
from chalicelib.store.models import EventModel
from chalicelib.store.stats import StatStore, Tally


class Marks:
    """Collected marks, written when 25 are waiting and whenever `flush` is called (the end of
    a Lambda's batch, an idle moment of the local stream reader). Shared by threads."""

    def __init__(self, clock: Clock, size: int = event_log.MARKS_PER_REQUEST) -> None:
        self.clock = clock
        self.size = size
        self.stats = StatStore()
        self._waiting: list[EventModel] = []
        self._tallies: list[Tally] = []
        self._lock = threading.Lock()
        # One flush at a time: an event's counts may be in an earlier flush than its mark,
        # which must not be written before that flush has written them.
        self._flushing = threading.Lock()

    def count(self, tally: Tally) -> None:
        """An event's report counts, added before its mark is written."""
        with self._lock:
            self._tallies.append(tally)

    def add(self, item: EventModel) -> None:
        with self._lock:
            self._waiting.append(item)
            full = len(self._waiting) >= self.size
        if full:
            self.flush()

    def flush(self) -> int:
        """Write the waiting counts, then every waiting mark; returns how many marks."""
        with self._flushing:
            with self._lock:
                items, self._waiting = self._waiting, []
                tallies, self._tallies = self._tallies, []
            if not items and not tallies:
                return 0
            try:
                if tallies:
                    self.stats.add_all(tallies, self.clock.now())
                    tallies = []
                event_log.complete_all(items, self.clock.now())
            except Exception:
                with self._lock:  # not written (the engine is down): written with the next
                    self._waiting[:0] = items
                    self._tallies[:0] = tallies
                raise
            return len(items)

    def waiting(self) -> int:
        return len(self._waiting)
