"""Keeps the stack's child processes alive: whichever dies is started again.

The embedded AWS and the driver workers are each a `Child`; one thread watches them all, as
a process supervisor would, and logs one line when a child exits and one when it is back.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)


class Child(Protocol):
    name: str
    restarts: int

    def alive(self) -> bool: ...

    def start(self) -> None: ...


def supervise(children: list[Child], stop: threading.Event, every: float = 0.5) -> None:
    """Restart any child that died, until `stop` is set (a thread's target)."""
    while not stop.wait(every):
        for child in children:
            if child.alive():
                continue
            log.warning("%s exited; restarting it", child.name)
            try:
                child.start()
            except Exception:
                log.exception("%s did not come back; trying again", child.name)
                continue
            child.restarts += 1
            log.warning("%s is back", child.name)
