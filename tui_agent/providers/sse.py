"""A byte-level Server-Sent Events reader (docs/protocols.md §6), shared by every SSE wire adapter.

Lines are split on bytes, never with `str.splitlines()`: a raw U+2028 or U+0085 inside a JSON string must
stay inside its `data:` line, and a multi-byte character cut across two network chunks must survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterable, AsyncIterator

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its name (`message` when the stream names none), its joined data, id and retry."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental decoder: feed it byte chunks as they arrive, collect the events each chunk completes."""

    __slots__ = ("_tail", "_started", "_event", "_data", "_id", "_retry", "_pending")

    def __init__(self) -> None:
        self._tail = b""  # an unfinished line (and possibly a held trailing \r) from the previous chunk
        self._started = False
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self._pending = False  # a field line has been seen since the last dispatch

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Take the next chunk of the body; return the events it completed (often none or one)."""
        buf = self._tail + chunk if self._tail else chunk
        if not self._started:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._tail = buf  # could still be the start of a byte-order mark
                return []
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        if b"\r" in buf:
            # A \r at the very end may be the first half of \r\n: hold it until the next chunk says.
            held = b""
            if buf.endswith(b"\r"):
                buf, held = buf[:-1], b"\r"
            lines = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            self._tail = lines.pop() + held
        else:
            lines = buf.split(b"\n")
            self._tail = lines.pop()
        if not lines:
            return []
        return self._lines(lines)

    def close(self) -> list[SSEEvent]:
        """The body ended. An event not closed by its blank line is discarded (WHATWG, like the official SDKs)."""
        tail, self._tail = self._tail, b""
        # A held \r turns out to have been a line end after all: the line before it is complete.
        events = self._lines([tail[:-1]]) if tail.endswith(b"\r") else []
        self._event, self._data, self._retry, self._pending = None, [], None, False
        return events

    def _lines(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for raw in lines:
            if not raw:
                if self._pending:
                    events.append(self._dispatch())
                continue
            if raw[0] == 0x3A:  # ":" starts a comment (keep-alives such as `: ping` or `: OPENROUTER PROCESSING`)
                continue
            name, sep, value = raw.partition(b":")
            if sep and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                self._data.append(value.decode("utf-8", "replace"))
                self._pending = True
            elif name == b"event":
                self._event = value.decode("utf-8", "replace")
                self._pending = True
            elif name == b"id":
                if b"\x00" not in value:
                    self._id = value.decode("utf-8", "replace")
                self._pending = True
            elif name == b"retry":
                if value.isdigit():
                    self._retry = int(value)
                self._pending = True
            # any other field name is ignored, as the spec says
        return events

    def _dispatch(self) -> SSEEvent:
        data = self._data
        event = SSEEvent(
            event=self._event or "message",
            data=data[0] if len(data) == 1 else "\n".join(data),
            id=self._id,
            retry=self._retry,
        )
        # The last event id persists across events (spec); name, data and retry do not.
        self._event = None
        self._data = []
        self._retry = None
        self._pending = False
        return event


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Yield the events of an SSE body given as an async stream of byte chunks (e.g. `response.aiter_raw()`)."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.close():
        yield event
