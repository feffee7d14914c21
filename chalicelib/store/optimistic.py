"""Optimistic concurrency: every write that depends on what was read is conditioned on it
(a contact's version, an enrollment's revision, an item not existing yet). When someone else
wrote first, the write fails with Stale; the caller reads again and decides again, at most
ATTEMPTS times, with a full-jitter pause so that racing writers spread out instead of
colliding again."""

from __future__ import annotations

import random
import time

from chalicelib.errors import Busy

ATTEMPTS = 10
PAUSE_SECONDS = 0.01


class Stale(Busy):
    """What was read changed before the write: read it again and decide again."""


def pause(attempt: int) -> None:
    """Wait before attempt `attempt + 1`: up to PAUSE_SECONDS * 2**attempt, at random."""
    time.sleep(random.uniform(0, PAUSE_SECONDS * 2**attempt))
