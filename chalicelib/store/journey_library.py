"""Published journeys as the engine sees them: the live set and any version by number.

Publishing writes each journey as a new immutable version plus an index of the live versions;
a version compiles once per process (in the content store's parse cache). Enrollments ask
for the version they entered on, so an edit never changes the road under a contact already
on it.
"""

from __future__ import annotations

from chalicelib.journeys.language import Journey
from chalicelib.journeys.machine import CompiledJourney, compile_journey
from chalicelib.store.content import ContentStore

KIND = "journey"
INDEX = ("index", "journeys")


class UnknownJourney(LookupError):
    pass


class JourneyLibrary:
    def __init__(self, content: ContentStore) -> None:
        self.content = content

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
