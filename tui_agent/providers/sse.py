"""A byte-level Server-Sent Events reader (docs/protocols.md §6), shared by every SSE wire adapter.

Lines are split on bytes, never with `str.splitlines()`: a raw U+2028 or U+0085 inside a JSON string must
stay inside its `data:` line, and a multi-byte character cut across two network chunks must survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterable, AsyncIterator

from tui_agent.providers.lines import LineSplitter, StreamTooLarge, decode_stream, size_label

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its name (`message` when the stream names none), its joined data, id and retry."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental decoder: feed it byte chunks as they arrive, collect the events each chunk completes.

    Linear in the bytes received (providers/lines.py); a line or an event's data past `line_cap`, or a body
    past `body_cap`, raises StreamTooLarge.
    """

    __slots__ = ("_lines_of", "_head", "_started", "_event", "_data", "_data_size", "_id", "_retry", "_pending")

    def __init__(self, *, line_cap: int | None = None, body_cap: int | None = None) -> None:
        self._lines_of = LineSplitter(cr_ends_lines=True, line_cap=line_cap, body_cap=body_cap)
        self._head = b""  # the first bytes, held while they could still be the start of a byte-order mark
        self._started = False
        self._event: str | None = None
        self._data: list[str] = []
        self._data_size = 0  # bytes of the data lines of the event being read
        self._id: str | None = None
        self._retry: int | None = None
        self._pending = False  # a field line has been seen since the last dispatch

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Take the next chunk of the body; return the events it completed (often none or one)."""
        if not self._started:
            chunk = self._head + chunk
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._head = chunk  # could still be the start of a byte-order mark
                return []
            self._started, self._head = True, b""
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        lines = self._lines_of.feed(chunk)
        return self._lines(lines) if lines else []

    def close(self) -> list[SSEEvent]:
        """The body ended. An event not closed by its blank line is discarded (WHATWG, like the official SDKs)."""
        self._lines_of.close()
        self._head = b""
        self._event, self._data, self._data_size, self._retry, self._pending = None, [], 0, None, False
        return []

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
                self._data_size += len(value) + 1
                if self._data_size > self._lines_of.line_cap:
                    raise StreamTooLarge(f"a single event of more than {size_label(self._lines_of.line_cap)}")
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
        self._data_size = 0
        self._retry = None
        self._pending = False
        return event


def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEEvent]:
    """Yield the events of an SSE body given as an async stream of byte chunks (e.g. `response.aiter_bytes()`)."""
    return decode_stream(SSEDecoder(), chunks)
