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
MAX_PAUSE_SECONDS = 0.25  # all ten attempts wait at most about a second in all


class Stale(Busy):
    """What was read changed before the write: read it again and decide again."""


def pause(attempt: int) -> None:
    """Wait before attempt `attempt + 1` (0-based): up to PAUSE_SECONDS * 2**attempt, at most
    MAX_PAUSE_SECONDS, at random; not at all after the last attempt."""
    if attempt + 1 < ATTEMPTS:
        time.sleep(random.uniform(0, min(MAX_PAUSE_SECONDS, PAUSE_SECONDS * 2**attempt)))
