"""The embedded AWS sets aside what survives a collection, so later ones walk only what came
since, and collects what is garbage rather than setting it aside."""

from __future__ import annotations

import gc
import weakref

from chalicelib.local.emulator_main import set_aside_survivors


class _Node:
    pass


def test_survivors_are_set_aside_and_garbage_is_collected() -> None:
    before = gc.get_freeze_count()
    kept = [{"id": {"S": f"ct_{i}"}} for i in range(1000)]
    dead = _Node()
    dead.itself = dead  # a cycle nothing else holds
    gone = weakref.ref(dead)
    del dead
    set_aside_survivors()
    try:
        assert gc.get_freeze_count() >= before + len(kept)
        assert gone() is None
    finally:
        if before == 0:  # leave the test process as it was
            gc.unfreeze()
