"""A byte-level NDJSON reader (docs/protocols.md §6): one JSON value per `\\n`-terminated line, as Ollama streams."""

from __future__ import annotations

import json
from typing import Any, AsyncIterable, AsyncIterator


class NDJSONError(ValueError):
    """A line of the body is not JSON; `line` holds its first 200 characters for the error sentence."""

    def __init__(self, line: str) -> None:
        self.line = line
        super().__init__(f"a line of the stream is not JSON: {line!r}")


class NDJSONDecoder:
    """Incremental decoder: feed byte chunks, collect the parsed values of the lines each chunk completes."""

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> list[Any]:
        """Take the next chunk; return the values of the complete lines in it (blank lines are skipped)."""
        buf = self._tail + chunk if self._tail else chunk
        # Split on \n only: bytes, not str.splitlines(), so U+2028 inside a string stays put and a multi-byte
        # character cut between two chunks is joined before decoding.
        lines = buf.split(b"\n")
        self._tail = lines.pop()
        return [_parse(line) for line in lines if line.strip()]

    def close(self) -> list[Any]:
        """The body ended: a last line without its newline still counts (servers may omit the final \\n)."""
        tail, self._tail = self._tail, b""
        return [_parse(tail)] if tail.strip() else []


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        raise NDJSONError(line[:200].decode("utf-8", "replace")) from None


async def aiter_ndjson(chunks: AsyncIterable[bytes]) -> AsyncIterator[Any]:
    """Yield the JSON values of an NDJSON body given as an async stream of byte chunks; raises NDJSONError."""
    decoder = NDJSONDecoder()
    async for chunk in chunks:
        for value in decoder.feed(chunk):
            yield value
    for value in decoder.close():
        yield value
