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

import logging
import threading

from chalicelib.clock import Clock
from chalicelib.store import event_log
from chalicelib.store.models import EventModel
from chalicelib.store.stats import StatStore, Tally

log = logging.getLogger(__name__)


class Marks:
    """Collected marks, written when 25 are waiting and whenever `flush` is called (the end of
    a Lambda's batch, an idle moment of the local stream reader). Shared by threads."""

    def __init__(self, clock: Clock, size: int = event_log.MARKS_PER_REQUEST) -> None:
        self.clock = clock
        self.size = size
        self.stats = StatStore()
        # By event: a record tried again after a failed flush is counted and marked once.
        self._waiting: dict[tuple[str, str], EventModel] = {}
        self._tallies: dict[str, Tally] = {}
        self._lock = threading.Lock()
        # One flush at a time: an event's counts may be in an earlier flush than its mark,
        # which must not be written before that flush has written them.
        self._flushing = threading.Lock()

    def count(self, tally: Tally) -> None:
        """An event's report counts, added before its mark is written."""
        with self._lock:
            self._tallies.setdefault(tally.event_id, tally)

    def add(self, item: EventModel) -> None:
        """Collect an event's mark; write them all once `size` wait. A failed write (the engine
        down a moment) is not this event's failure: its handlers are done, and the marks and
        counts wait for the next flush."""
        with self._lock:
            self._waiting.setdefault((item.contact_id, item.event_id), item)
            full = len(self._waiting) >= self.size
        if full:
            try:
                self.flush()
            except Exception as exc:
                log.warning("marks: %s; written with the next ones", exc)

    def flush(self) -> int:
        """Write the waiting counts, then every waiting mark; returns how many marks."""
        with self._flushing:
            with self._lock:
                items, self._waiting = self._waiting, {}
                tallies, self._tallies = self._tallies, {}
            if not items and not tallies:
                return 0
            try:
                if tallies:
                    self.stats.add_all(list(tallies.values()), self.clock.now())
                    tallies = {}
                event_log.complete_all(list(items.values()), self.clock.now())
            except Exception:
                with self._lock:  # not written: written with the next ones (newer kept first)
                    self._waiting = {**items, **self._waiting}
                    self._tallies = {**tallies, **self._tallies}
                raise
            return len(items)

    def waiting(self) -> int:
        return len(self._waiting)
