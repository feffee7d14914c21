"""The embedded AWS sends a response's head and body in one write, and never holds a head
that has no body to follow it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from chalicelib.local.emulator_main import _OneWrite

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def _run(steps: Callable[[_OneWrite], object]) -> _Transport:
    transport = _Transport()

    async def main() -> None:
        wrapped = _OneWrite(transport)
        steps(wrapped)
        await asyncio.sleep(0)  # the loop's next turn
        await asyncio.sleep(0)

    asyncio.run(main())
    return transport


def test_head_and_body_go_in_one_write() -> None:
    sent = _run(lambda t: (t.write(HEAD), t.write(b"{}")))
    assert sent.writes == [HEAD + b"{}"]


def test_a_head_with_no_body_goes_on_the_next_turn() -> None:
    sent = _run(lambda t: t.write(HEAD))
    assert sent.writes == [HEAD]


def test_a_continue_is_not_held() -> None:
    sent = _run(lambda t: (t.write(b"HTTP/1.1 100 Continue\r\n\r\n"), t.write(HEAD + b"{}")))
    assert sent.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", HEAD + b"{}"]


def test_closing_sends_a_held_head_first_and_the_rest_passes_through() -> None:
    sent = _run(lambda t: (t.write(HEAD), t.close()))
    assert sent.writes == [HEAD] and sent.closed
    assert _OneWrite(_Transport()).get_extra_info("peername") == "info:peername"
