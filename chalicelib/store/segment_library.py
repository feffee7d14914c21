"""Published segments as the pipeline sees them: the live set, each version parsed once.

Publishing writes each segment as a new immutable version, then the index of live versions,
like journeys; the book (the segments in evaluation order) is built once per index.
"""

from __future__ import annotations

from chalicelib.segments.book import SegmentBook
from chalicelib.segments.language import Segment
from chalicelib.store.content import ContentStore

KIND = "segment"
INDEX = ("index", "segments")


class SegmentLibrary:
    def __init__(self, content: ContentStore) -> None:
        self.content = content

    def book(self) -> SegmentBook | None:
        """The live segments (index cached 30 s), or None when none are published."""
        return self.content.parsed(*INDEX, self._build)

    def live_versions(self) -> dict[str, int]:
        return {k: int(v) for k, v in (self.content.latest(*INDEX) or {}).items()}

    def version(self, segment_id: str, version: int) -> Segment | None:
        return self.content.parsed(KIND, segment_id, Segment.model_validate, version)

    def _build(self, index: dict[str, object]) -> SegmentBook | None:
        segments = [self.version(sid, int(str(v))) for sid, v in sorted(index.items())]
        found = [s for s in segments if s is not None]
        return SegmentBook(found) if found else None
