"""Published content: versioned, immutable; Lambdas read the latest through a short cache.

This is the one cache of published content. `latest` keeps each body `cache_seconds`;
`parsed` keeps what a body becomes (a compiled journey, a scoring model, a template) for as
long as that same body is the one read, so each version is parsed once per process. The
journey, lead and template libraries are typed views over it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.clock import Clock
from chalicelib.store.models import AssetPartModel, ContentModel

# Under DynamoDB's 400 KB item limit, with room for the item's key and attribute names.
PART_BYTES = 350_000
T = TypeVar("T")


def digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class ContentStore:
    def __init__(self, clock: Clock, cache_seconds: float = 30.0) -> None:
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[str, Any] | None, int | None]] = {}
        self._parsed: dict[tuple[str, str, int | None], tuple[dict[str, Any], Any]] = {}

    def publish(self, kind: str, content_id: str, body: dict[str, Any]) -> int | None:
        """Store a new version if the body changed; returns the new version, or None."""
        key = f"{kind}:{content_id}"
        latest = self._latest_item(key)
        new_digest = digest(body)
        if latest is not None and latest.digest == new_digest:
            return None
        version = (int(latest.version) if latest else 0) + 1
        ContentModel(
            key=key, version=version, body=body, digest=new_digest, published_at=self.clock.now()
        ).save(condition=ContentModel.key.does_not_exist())
        self._cache.pop(key, None)
        return version

    def latest(self, kind: str, content_id: str) -> dict[str, Any] | None:
        """The newest published body, cached for `cache_seconds` (None is cached too). While
        the stored version stays the same, the same body object comes back, so what `parsed`
        made of it is kept."""
        key = f"{kind}:{content_id}"
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self.cache_seconds:
            return hit[1]
        item = self._latest_item(key)
        version = int(item.version) if item is not None else None
        if hit and hit[2] == version:
            body = hit[1]
        else:
            body = item.body.as_dict() if item is not None else None
        self._cache[key] = (time.monotonic(), body, version)
        return body

    def version(self, kind: str, content_id: str, version: int) -> dict[str, Any] | None:
        """One published version; immutable, so callers may cache it for good."""
        try:
            item = ContentModel.get(f"{kind}:{content_id}", version, consistent_read=True)
        except ContentModel.DoesNotExist:
            return None
        return item.body.as_dict()

    def parsed(
        self,
        kind: str,
        content_id: str,
        parse: Callable[[dict[str, Any]], T],
        version: int | None = None,
    ) -> T | None:
        """A published body as `parse` makes it, parsed once per body: the newest (read
        again after `cache_seconds`), or one version (immutable, so parsed once for good)."""
        key = (kind, content_id, version)
        hit = self._parsed.get(key)
        if version is not None and hit is not None:
            return hit[1]
        body = self.latest(kind, content_id) if version is None else None
        if version is not None:
            body = self.version(kind, content_id, version)
        if body is None:
            return None
        if hit is None or hit[0] is not body:
            hit = (body, parse(body))
            self._parsed[key] = hit
        return hit[1]

    def current_version(self, kind: str, content_id: str) -> int | None:
        item = self._latest_item(f"{kind}:{content_id}")
        return int(item.version) if item is not None else None

    def store_bytes(self, digest: str, data: bytes) -> None:
        """Store a file's bytes under their SHA-256 `digest`, before the version that names
        them, so a reader never finds a version without its bytes. Parts are written in order,
        so a last part that exists means all of them do, and the same bytes are written once."""
        parts = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)]
        try:
            AssetPartModel.get(digest, len(parts) - 1, consistent_read=True)
            return
        except AssetPartModel.DoesNotExist:
            pass
        for number, part in enumerate(parts):
            AssetPartModel(digest=digest, part=number, data=part).save()

    def forget_bytes(self, digest: str) -> None:
        """Delete the parts stored under `digest` (an upload, once imported)."""
        with AssetPartModel.batch_write() as batch:
            for item in AssetPartModel.query(digest, attributes_to_get=["digest", "part"]):
                batch.delete(item)

    def read_bytes(self, digest: str, verify: bool = True) -> bytes:
        """The bytes stored under `digest`; immutable, like a published version. Read
        eventually consistent (half the read units of a public download), and again strongly
        only if a part just written has not reached the replica yet (the digest tells).
        `verify=False` for bytes kept under another key (an upload): read strongly once."""
        if not verify:
            return b"".join(i.data for i in AssetPartModel.query(digest, consistent_read=True))
        for consistent in (False, True):
            parts = AssetPartModel.query(digest, consistent_read=consistent)
            data = b"".join(item.data for item in parts)
            if hashlib.sha256(data).hexdigest() == digest:
                return data
        return data

    def _latest_item(self, key: str) -> ContentModel | None:
        for item in ContentModel.query(
            key, scan_index_forward=False, limit=1, consistent_read=True
        ):
            return item
        return None
