"""A local driver's loop: what Lambda's pollers and EventBridge's schedule do on AWS.

No sleep while there is work (the engine, not a timer, sets the pace); a short wait when idle;
an outage of the embedded AWS waited out with one log line when it starts and one when it
ends, instead of a stack trace a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.store.outage import is_outage

log = logging.getLogger(__name__)
OUTAGE_WAIT_SECONDS = 0.5
ERROR_WAIT_SECONDS = 1.0


class Loop:
    """Call `step` until `stop` is set; `step` returns how much work it did (0: idle)."""

    def __init__(
        self,
        name: str,
        step: Callable[[], int],
        idle_seconds: float,
        finish: Callable[[], Any] | None = None,
    ) -> None:
        """`finish`: called once the loop has stopped (for what it keeps in memory)."""
        self.name = name
        self.step = step
        self.idle_seconds = idle_seconds
        self.finish = finish
        self.handled = 0
        self.last_ok: float | None = None
        self.down_since: float | None = None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                done = self.step()
            except Exception as exc:
                self._failed(exc)
                stop.wait(OUTAGE_WAIT_SECONDS if self.down_since else ERROR_WAIT_SECONDS)
                continue
            if self.down_since is not None:
                waited = time.monotonic() - self.down_since
                log.warning("%s: resumed after %.1f s", self.name, waited)
                self.down_since = None
            self.last_ok = time.monotonic()
            self.handled += done
            if not done:
                stop.wait(self.idle_seconds)
        if self.finish is not None:
            try:
                self.finish()
            except Exception as exc:
                self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if is_outage(exc):
            if self.down_since is None:
                log.warning("%s: the embedded AWS is unreachable; waiting for it", self.name)
                self.down_since = time.monotonic()
            return
        log.exception("%s failed", self.name)

    def health(self) -> dict[str, Any]:
        if self.down_since is not None:
            raise RuntimeError(f"waiting for the embedded AWS for {self._ago(self.down_since)} s")
        return {
            "handled": self.handled,
            "last_ok_seconds_ago": self._ago(self.last_ok) if self.last_ok else None,
        }

    @staticmethod
    def _ago(moment: float) -> float:
        return round(time.monotonic() - moment, 1)


def threads(loops: list[Loop], stop: threading.Event) -> list[threading.Thread]:
    return [
        threading.Thread(target=lp.run, args=(stop,), name=lp.name, daemon=True) for lp in loops
    ]
