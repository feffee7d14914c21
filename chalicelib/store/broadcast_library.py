"""Published broadcasts: each a new immutable version, and the indexes of live ones.

Broadcasts come from files (`leadflow publish`, which rewrites the files' index) or from the
API (`PUT /broadcasts/{id}`, kept in an index of its own, so a publish never drops them); a
file wins over an API broadcast of the same id. A run keeps the version it was scheduled
with, so an edit published while a broadcast is sending changes nothing under it.
"""

from __future__ import annotations

from chalicelib.broadcasts.language import Broadcast
from chalicelib.store.content import ContentStore

KIND = "broadcast"
INDEX = ("index", "broadcasts")
API_INDEX = ("index", "broadcasts-api")


class BroadcastLibrary:
    def __init__(self, content: ContentStore) -> None:
        self.content = content

    def live(self) -> dict[str, int]:
        """Each published broadcast's newest version (the indexes are cached 30 s)."""
        found = {**(self.content.latest(*API_INDEX) or {}), **self.from_files()}
        return {k: int(v) for k, v in found.items()}

    def from_files(self) -> dict[str, int]:
        return {k: int(v) for k, v in (self.content.latest(*INDEX) or {}).items()}

    def publish(self, broadcast: Broadcast) -> tuple[int, bool]:
        """Store a broadcast sent to the API as its newest version (unchanged: no new one)
        and list it in the API's index; the version, and whether it changed."""
        version = self.content.publish(KIND, broadcast.id, broadcast.to_body())
        changed = version is not None
        if version is None:
            version = self.content.current_version(KIND, broadcast.id) or 0
        listed = self.content.current_version(*API_INDEX)
        index = (self.content.version(*API_INDEX, listed) or {}) if listed else {}
        if index.get(broadcast.id) != version:
            self.content.publish(*API_INDEX, {**index, broadcast.id: version})
        return version, changed

    def version(self, broadcast_id: str, version: int) -> Broadcast | None:
        return self.content.parsed(KIND, broadcast_id, Broadcast.model_validate, version)

    def newest(self, broadcast_id: str) -> tuple[Broadcast, int] | None:
        version = self.live().get(broadcast_id)
        if version is None:
            return None
        found = self.version(broadcast_id, version)
        return (found, version) if found is not None else None
