"""Admin API keys: shown once at creation, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
import time

from chalicelib.clock import Clock
from chalicelib.store.models import ApiKeyModel

ROLES = ("admin", "sales", "viewer")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, clock: Clock, cache_seconds: float = 60.0) -> None:
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, str | None]] = {}

    def create(self, name: str, role: str = "admin") -> str:
        """Make a key and return it in plain text: the only time it exists unhashed."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        key = "lf_" + secrets.token_urlsafe(32)
        ApiKeyModel(
            key_hash=digest(key), name=name, role=role, prefix=key[:7], created_at=self.clock.now()
        ).save()
        return key

    def role_of(self, key: str) -> str | None:
        """The key's role, or None for an unknown key (both cached briefly)."""
        hashed = digest(key)
        hit = self._cache.get(hashed)
        if hit and time.monotonic() - hit[0] < self.cache_seconds:
            return hit[1]
        try:
            role: str | None = ApiKeyModel.get(hashed).role
        except ApiKeyModel.DoesNotExist:
            role = None
        self._cache[hashed] = (time.monotonic(), role)
        return role
