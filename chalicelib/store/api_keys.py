"""API keys: shown once at creation, stored only as a SHA-256 digest, each with a role (a
sales key with the one owner whose leads it may see and work, a sales manager's with its
team), a name, and optionally an expiry; listed and revoked by their id (the digest's first
12 characters), never by the key. A revoked or expired key is refused; a process that cached
the key as valid refuses it within `cache_seconds` (a minute)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import datetime
from typing import Any

from chalicelib.clock import Clock
from chalicelib.roles import ROLES, SALES, SALES_MANAGER, Caller
from chalicelib.store import tables
from chalicelib.store.models import ApiKeyModel

OWNER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")


KEY_ID = 12


def _status(item: ApiKeyModel, now: datetime) -> str:
    if item.revoked_at is not None:
        return "revoked"
    if item.expires_at is not None and item.expires_at <= now:
        return "expired"
    return "active"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(key: str) -> str:
    """How a key is named in lists and revoked: its digest's first characters."""
    return digest(key)[:KEY_ID]


class ApiKeyStore:
    def __init__(self, clock: Clock, cache_seconds: float = 60.0) -> None:
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Caller | None, datetime | None]] = {}

    def create(
        self,
        name: str,
        role: str = "admin",
        owner: str | None = None,
        expires_at: datetime | None = None,
        team: str | None = None,
    ) -> str:
        """Make a key and return it in plain text: the only time it exists unhashed."""
        if expires_at is not None and expires_at <= self.clock.now():
            raise ValueError("the key would expire before it is used: give a later time")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if role == SALES and not (owner and OWNER_ID.match(owner)):
            raise ValueError("a sales key needs --owner: the owner id its leads are routed to")
        if role != SALES and owner:
            raise ValueError("only a sales key belongs to an owner")
        if role == SALES_MANAGER and not (team and OWNER_ID.match(team)):
            raise ValueError("a sales manager's key needs --team: the team whose leads it sees")
        if role != SALES_MANAGER and team:
            raise ValueError("only a sales manager's key belongs to a team")
        key = "lf_" + secrets.token_urlsafe(32)
        ApiKeyModel(
            key_hash=digest(key),
            name=name,
            role=role,
            owner=owner,
            team=team,
            prefix=key[:7],
            created_at=self.clock.now(),
            expires_at=expires_at,
        ).save()
        return key

    def list(self) -> list[dict[str, Any]]:
        """Every key but the key itself: id, name, role, owner, dates and status."""
        now = self.clock.now()
        out = []
        for item in ApiKeyModel.scan():
            out.append(
                {
                    "id": item.key_hash[:KEY_ID],  # = key_id(the key)
                    "name": item.name,
                    "role": item.role,
                    "owner": item.owner,
                    "team": item.team,
                    "prefix": item.prefix,
                    "created_at": item.created_at,
                    "expires_at": item.expires_at,
                    "revoked_at": item.revoked_at,
                    "status": _status(item, now),
                }
            )
        return sorted(out, key=lambda k: (k["created_at"], k["id"]))

    def revoke(self, key_id: str) -> bool:
        """Revoke the key with this id; False if there is none (or it was revoked before)."""
        for item in ApiKeyModel.scan():
            if item.key_hash[:KEY_ID] == key_id and len(key_id) == KEY_ID:
                if item.revoked_at is not None:
                    return False
                item.update(actions=[ApiKeyModel.revoked_at.set(self.clock.now())])
                self._cache.pop(item.key_hash, None)
                return True
        return False

    def caller_of(self, key: str) -> Caller | None:
        """Who the key speaks for, or None for an unknown, revoked or expired key (cached
        briefly; an expiry is checked on every call)."""
        return self.caller_of_digest(digest(key))

    def caller_of_digest(self, hashed: str) -> Caller | None:
        """As caller_of, for a key known by its digest (a dashboard session's)."""
        if not tables.can_be_key(hashed):
            return None
        now = self.clock.now()
        hit = self._cache.get(hashed)
        if hit and time.monotonic() - hit[0] < self.cache_seconds:
            _, caller, expires_at = hit
            return None if expires_at is not None and expires_at <= now else caller
        caller, expires_at = None, None
        try:
            item = ApiKeyModel.get(hashed)
            expires_at = item.expires_at
            if _status(item, now) == "active":
                caller = Caller(item.role, item.owner, item.team, hashed[:KEY_ID], item.name)
        except ApiKeyModel.DoesNotExist:
            pass
        self._cache[hashed] = (time.monotonic(), caller, expires_at)
        return caller

    def role_of(self, key: str) -> str | None:
        caller = self.caller_of(key)
        return caller.role if caller else None
