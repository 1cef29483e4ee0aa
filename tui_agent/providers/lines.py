"""Splitting a streamed body into lines in time proportional to its bytes, with a cap on one line and on the body.

Shared by the SSE and NDJSON readers. Only the newly arrived chunk is searched for line ends and an unfinished
line is appended to, never re-joined and re-split, so a body of any shape costs one pass over its bytes. A
line longer than `LINE_CAP`, or a body longer than `BODY_CAP`, raises StreamTooLarge: a hostile or broken
server cannot make the reader hold (or scan) an unbounded amount of memory.
"""

from __future__ import annotations

import re
from typing import AsyncIterable, AsyncIterator, Protocol, TypeVar

LINE_CAP = 16 * 1024 * 1024  # one line or one event; far above any real delta
BODY_CAP = 64 * 1024 * 1024  # one whole answer

_ANY_LINE_END = re.compile(rb"\r\n?|\n")  # SSE: \r\n, \r or \n
_LF = re.compile(rb"\n")  # NDJSON: \n only (a \r before it is JSON whitespace)

Item = TypeVar("Item", covariant=True)


class StreamTooLarge(ValueError):
    """A line, an event or the whole body passed its cap; str() is the cause, e.g. "a single line of more than 16 MB"."""


def size_label(cap: int) -> str:
    """A cap as a person reads it: 16 MB, 64 MB, 512 bytes."""
    if cap >= 1024 * 1024 and cap % (1024 * 1024) == 0:
        return f"{cap // (1024 * 1024)} MB"
    if cap >= 1024 and cap % 1024 == 0:
        return f"{cap // 1024} KB"
    return f"{cap} bytes"


def line_too_long(cap: int) -> StreamTooLarge:
    return StreamTooLarge(f"a single line of more than {size_label(cap)}")


class LineSplitter:
    """Feed byte chunks, get back the complete lines (without their line ends) each chunk finished."""

    __slots__ = ("_pattern", "_partial", "_skip_lf", "_received", "line_cap", "body_cap")

    def __init__(self, *, cr_ends_lines: bool, line_cap: int | None = None, body_cap: int | None = None) -> None:
        self._pattern = _ANY_LINE_END if cr_ends_lines else _LF
        self._partial = bytearray()  # the unfinished line so far
        self._skip_lf = False  # the last chunk ended in \r: a \n starting the next one belongs to it
        self._received = 0
        self.line_cap = LINE_CAP if line_cap is None else line_cap
        self.body_cap = BODY_CAP if body_cap is None else body_cap

    def feed(self, chunk: bytes) -> list[bytes]:
        if not chunk:
            return []
        self._received += len(chunk)
        if self._received > self.body_cap:
            raise StreamTooLarge(f"an answer of more than {size_label(self.body_cap)} in total")
        start = 0
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                start = 1
        lines: list[bytes] = []
        end = None
        for end in self._pattern.finditer(chunk, start):
            piece = chunk[start : end.start()]
            if self._partial:
                self._partial += piece
                piece = bytes(self._partial)
                self._partial.clear()
            if len(piece) > self.line_cap:
                raise line_too_long(self.line_cap)
            lines.append(piece)
            start = end.end()
        if end is not None and end.end() == len(chunk) and chunk.endswith(b"\r"):
            self._skip_lf = True
        if len(self._partial) + len(chunk) - start > self.line_cap:
            raise line_too_long(self.line_cap)
        self._partial += memoryview(chunk)[start:]
        return lines

    def close(self) -> bytes:
        """The body ended: the unfinished last line (b"" when the body ended with a line end)."""
        rest = bytes(self._partial)
        self._partial.clear()
        return rest


class Decoder(Protocol[Item]):
    """What the SSE and NDJSON decoders share: chunks in, items out; close() at the end of the body."""

    def feed(self, chunk: bytes) -> list[Item]: ...

    def close(self) -> list[Item]: ...


async def decode_stream(decoder: Decoder[Item], chunks: AsyncIterable[bytes]) -> AsyncIterator[Item]:
    """Yield what `decoder` reads from an async stream of byte chunks (e.g. `response.aiter_bytes()`)."""
    async for chunk in chunks:
        for item in decoder.feed(chunk):
            yield item
    for item in decoder.close():
        yield item
