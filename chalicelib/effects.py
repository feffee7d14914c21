"""A side effect (an email, a webhook, a hand-off notice) recorded in the ledger under a key
derived from its cause, in the same transaction as the decision that made it, before anything
performs it: the sender or courier that performs it claims the entry, so it happens once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Effect:
    key: str
    kind: str  # email, webhook, update, handoff, enroll
    payload: dict[str, Any]
    step: str | None = None  # the journey step that made it, if a journey did
