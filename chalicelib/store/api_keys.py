"""API keys: shown once at creation, stored only as a SHA-256 digest, each with a role (and a
sales key with the one owner whose leads it may see and work)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from chalicelib.clock import Clock
from chalicelib.store.models import ApiKeyModel

ROLES = ("admin", "sales", "viewer")
OWNER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")


@dataclass(frozen=True)
class Caller:
    """Who is asking: a key's role, and for a sales key the owner it speaks for."""

    role: str
    owner: str | None = None

    def sees(self, lead_owner: object) -> bool:
        """A sales key sees only its own leads; other roles see every lead."""
        return self.role != "sales" or (self.owner is not None and lead_owner == self.owner)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    def __init__(self, clock: Clock, cache_seconds: float = 60.0) -> None:
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Caller | None]] = {}

    def create(self, name: str, role: str = "admin", owner: str | None = None) -> str:
        """Make a key and return it in plain text: the only time it exists unhashed."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if role == "sales" and not (owner and OWNER_ID.match(owner)):
            raise ValueError("a sales key needs --owner: the owner id its leads are routed to")
        if role != "sales" and owner:
            raise ValueError("only a sales key belongs to an owner")
        key = "lf_" + secrets.token_urlsafe(32)
        ApiKeyModel(
            key_hash=digest(key),
            name=name,
            role=role,
            owner=owner,
            prefix=key[:7],
            created_at=self.clock.now(),
        ).save()
        return key

    def caller_of(self, key: str) -> Caller | None:
        """Who the key speaks for, or None for an unknown key (both cached briefly)."""
        hashed = digest(key)
        hit = self._cache.get(hashed)
        if hit and time.monotonic() - hit[0] < self.cache_seconds:
            return hit[1]
        try:
            item = ApiKeyModel.get(hashed)
            caller: Caller | None = Caller(item.role, item.owner)
        except ApiKeyModel.DoesNotExist:
            caller = None
        self._cache[hashed] = (time.monotonic(), caller)
        return caller

    def role_of(self, key: str) -> str | None:
        caller = self.caller_of(key)
        return caller.role if caller else None
