"""Published broadcasts: each file a new immutable version, and the index of live ones.

A run keeps the version it was scheduled with, so an edit published while a broadcast is
sending changes nothing under it; scheduling again after a cancel takes the newest.
"""

from __future__ import annotations

from chalicelib.broadcasts.language import Broadcast
from chalicelib.store.content import ContentStore

KIND = "broadcast"
INDEX = ("index", "broadcasts")


class BroadcastLibrary:
    def __init__(self, content: ContentStore) -> None:
        self.content = content

    def live(self) -> dict[str, int]:
        """Each published broadcast's newest version (the index is cached 30 s)."""
        return {k: int(v) for k, v in (self.content.latest(*INDEX) or {}).items()}

    def version(self, broadcast_id: str, version: int) -> Broadcast | None:
        return self.content.parsed(KIND, broadcast_id, Broadcast.model_validate, version)

    def newest(self, broadcast_id: str) -> tuple[Broadcast, int] | None:
        version = self.live().get(broadcast_id)
        if version is None:
            return None
        found = self.version(broadcast_id, version)
        return (found, version) if found is not None else None
