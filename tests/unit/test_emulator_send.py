"""The embedded AWS sends what one turn of its loop wrote as one write: an answer's headers
and body leave together."""

from __future__ import annotations

import asyncio

from chalicelib.local.emulator_main import OneSend


class _Transport:
    """What the operating system would be handed, write by write."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.sent.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_the_writes_of_one_turn_leave_as_one_and_the_next_turn_s_separately() -> None:
    async def answer_twice(transport: OneSend) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"{}")
        await asyncio.sleep(0)
        transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await asyncio.sleep(0)

    async def main() -> _Transport:
        raw = _Transport()
        await answer_twice(OneSend(raw, asyncio.get_running_loop()))  # type: ignore[arg-type]
        return raw

    raw = asyncio.run(main())

    assert raw.sent == [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]


def test_closing_sends_what_was_written_first_and_the_rest_is_the_transport_s_own() -> None:
    async def main() -> _Transport:
        raw = _Transport()
        transport = OneSend(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"last words")
        transport.close()
        assert transport.get_extra_info("peername") == "info:peername"
        await asyncio.sleep(0)  # the flush scheduled by the write finds nothing left
        return raw

    raw = asyncio.run(main())

    assert raw.sent == [b"last words"]
    assert raw.closed


def test_what_bypasses_the_stream_sends_or_drops_what_is_held_first() -> None:
    async def main() -> tuple[_Transport, list[bytes]]:
        raw = _Transport()
        transport = OneSend(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        body = bytearray(b"answer")
        transport.write(body)
        body[:] = b"CHANGED"  # the caller's buffer, reused after writing
        transport.flush()  # as when the client ends its side and the loop closes the transport
        flushed = list(raw.sent)
        transport.writelines([b"a", b"b"])
        await asyncio.sleep(0)
        transport.write(b"never sent")
        transport.abort()
        await asyncio.sleep(0)
        return raw, flushed

    raw, flushed = asyncio.run(main())

    assert flushed == [b"answer"]
    assert raw.sent == [b"answer", b"ab"]
    assert raw.closed
