"""Published journeys as the engine sees them: the live set and any version by number.

Publishing writes each journey as a new immutable version plus an index of the live versions;
a version compiles once per process (in the content store's parse cache). Enrollments ask
for the version they entered on, so an edit never changes the road under a contact already
on it.
"""

from __future__ import annotations

import logging
import threading
import time

from chalicelib.conditions.reads import Reads
from chalicelib.journeys.interest import Interest
from chalicelib.journeys.language import Journey
from chalicelib.journeys.machine import CompiledJourney, compile_journey
from chalicelib.store.content import ContentStore

log = logging.getLogger(__name__)
KIND = "journey"
EVERYTHING = Interest(frozenset(), Reads(windows=True))  # a window looks at every event
INDEX = ("index", "journeys")


class UnknownJourney(LookupError):
    pass


class JourneyLibrary:
    def __init__(self, content: ContentStore) -> None:
        self.content = content
        self._lock = threading.Lock()
        self._listed = 0  # the index versions read so far
        self._ever: Interest | None = None  # what every version they listed reacts to
        self._read_at = float("-inf")  # when the index was last read (time.monotonic)

    def live(self) -> list[CompiledJourney]:
        """The newest published version of every journey, for triggers (index cached 30 s)."""
        index = self.content.latest(*INDEX) or {}
        return [self.version(jid, int(v)) for jid, v in sorted(index.items())]

    def version(self, journey_id: str, version: int) -> CompiledJourney:
        compiled = self.content.parsed(
            KIND,
            journey_id,
            lambda body: compile_journey(Journey.model_validate(body), version),
            version,
        )
        if compiled is None:
            raise UnknownJourney(f"journey {journey_id} v{version} was never published")
        return compiled

    def ever_wanted(self, event_type: str, written_before: float) -> bool:
        """Whether an enrollment in any journey version ever live may react to an event of
        this type that was written before `written_before` (a `time.monotonic()` reading).

        Every enrollment entered a version the index listed, so the versions all index
        versions ever listed are every version an enrollment can be on. They are read again,
        strongly, unless they were read after `written_before`: an enrollment in a version
        listed later entered it after the event was written, and such an event is not one
        that happened while the contact was in the journey (a goal, a wait and an exit event
        each count from entry on; an exit on the contact was checked at entry, on a contact
        the event had already changed). A process that read the index before a journey was
        published so never misses an event for an enrollment in it."""
        with self._lock:
            if self._read_at < written_before:
                self._read_index()
            return self._ever is not None and self._ever.wants(event_type)

    def _read_index(self) -> None:
        read_at = time.monotonic()
        ever = self._ever
        for number, listed in self.content.versions_after(*INDEX, self._listed):
            for journey_id, version in listed.items():
                try:
                    interest = self.version(journey_id, int(version)).interest
                except Exception:  # a version this code cannot read: assume it wants it all
                    log.exception("journey %s v%s does not compile", journey_id, version)
                    interest = EVERYTHING
                ever = interest if ever is None else ever | interest
            self._listed = number
        self._ever, self._read_at = ever, read_at
