"""The backend the bench measures against: the embedded AWS, with fresh tables on demand.

The emulator runs in a process of its own (`emulator.start`, as everywhere), in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.content.catalog import Catalog
from chalicelib.local import emulator
from chalicelib.services import publisher
from chalicelib.store import tables

SIGNING_SECRET = "bench-secret-0123456789abcdef"


def bench_settings(**env: str) -> Settings:
    """Settings for a bench's own stage: these variables over the bench's defaults."""
    return Settings.from_env(
        {"LEADFLOW_STAGE": "bench", "LEADFLOW_SIGNING_SECRET": SIGNING_SECRET, **env}
    )


@contextmanager
def emulator_process() -> Iterator[emulator.Emulator]:
    """The emulator in a child process (as the tests and `make run` have it)."""
    engine = emulator.start()
    try:
        yield engine
    finally:
        engine.kill()


@dataclass
class Backend:
    """Fresh tables with the marketing/ forms published, whenever a batch asks for them."""

    engine: emulator.Emulator
    services: bootstrap.Services
    content: Catalog

    def reset(self) -> None:
        self.engine.reset()
        tables.create_all()
        publisher.publish(self.content, self.services.content)
