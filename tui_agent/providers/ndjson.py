"""A byte-level NDJSON reader (docs/protocols.md §6): one JSON value per `\\n`-terminated line, as Ollama streams."""

from __future__ import annotations

import json
from typing import Any, AsyncIterable, AsyncIterator

from tui_agent.providers.lines import LineSplitter, decode_stream


class NDJSONError(ValueError):
    """A line of the body is not JSON; `line` holds its first 200 characters for the error sentence."""

    def __init__(self, line: str) -> None:
        self.line = line
        super().__init__(f"a line of the stream is not JSON: {line!r}")


class NDJSONDecoder:
    """Incremental decoder: feed byte chunks, collect the parsed values of the lines each chunk completes.

    Linear in the bytes received (providers/lines.py); a line past `line_cap` or a body past `body_cap`
    raises StreamTooLarge.
    """

    __slots__ = ("_lines_of",)

    def __init__(self, *, line_cap: int | None = None, body_cap: int | None = None) -> None:
        # Split on \n only, on bytes (not str.splitlines()): U+2028 inside a string stays put, and a multi-byte
        # character cut between two chunks is joined before decoding.
        self._lines_of = LineSplitter(cr_ends_lines=False, line_cap=line_cap, body_cap=body_cap)

    def feed(self, chunk: bytes) -> list[Any]:
        """Take the next chunk; return the values of the complete lines in it (blank lines are skipped)."""
        return [_parse(line) for line in self._lines_of.feed(chunk) if line.strip()]

    def close(self) -> list[Any]:
        """The body ended: a last line without its newline still counts (servers may omit the final \\n)."""
        tail = self._lines_of.close()
        return [_parse(tail)] if tail.strip() else []


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        raise NDJSONError(line[:200].decode("utf-8", "replace")) from None


def aiter_ndjson(chunks: AsyncIterable[bytes]) -> AsyncIterator[Any]:
    """Yield the JSON values of an NDJSON body given as an async stream of byte chunks; raises NDJSONError."""
    return decode_stream(NDJSONDecoder(), chunks)
