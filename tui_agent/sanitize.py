"""Makes untrusted text safe to put on a terminal: no control codes, no escape sequences, no bidi overrides.

Every string that came from a server, a file, history or another program goes through `sanitize` (or
`sanitize_line` for one-line values such as names and codes) before it is printed or rendered.

- Whole escape sequences (CSI, OSC — window titles, OSC 52 clipboard writes — DCS, SOS, PM, APC and the short
  ESC forms), in their 7-bit and 8-bit (C1) spellings, are removed.
- Every other C0 or C1 control (a lone ESC, BEL, backspace, form feed, …) is shown as a visible symbol: a
  Control Pictures character (␛, ␇, ␈, …) for C0 and DEL, `�` for C1. Carriage returns are removed (a CR
  could overwrite a line; CRLF becomes LF).
- Newline and tab are kept (`sanitize_line` shows them as ␤ and ␉).
- Bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069), which can make text read differently
  from what it is, are removed. Everything else — CJK, right-to-left scripts, emoji, ZWJ/ZWNJ, combining
  marks, the LRM/RLM marks — passes unchanged. Lone surrogates (undecodable bytes) become `�`.

Streaming: `StreamSanitizer` holds back a sequence that a chunk ends in the middle of (at most
`STREAM_HOLD_LIMIT` characters), so a stream sanitised chunk by chunk gives exactly `sanitize(whole text)`.
Even without it nothing unsafe passes: the ESC (or C1 introducer) starting a split sequence is itself always
replaced, so what is left of the sequence is plain printable text.

All of it is one regular-expression pass (linear time); text with nothing to change is returned as it is.
"""

from __future__ import annotations

import functools
import re

_ST = r"(?:\x1b\\|\x9c)"  # string terminator, 7-bit or 8-bit
# Bodies stop at ESC, BEL and ST, so every scan ends at the next ESC: the whole pass stays linear.
_SEQUENCE = (
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: parameters, intermediates, final byte
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|" + _ST + ")"  # OSC, ended by BEL or ST
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|" + _ST + ")"  # DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-OQ-WYZ\\`-~]"  # the short forms (ESC c, ESC 7, ESC ( B, …); not the string introducers
)
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# Lone surrogates (undecodable bytes kept by Python's surrogateescape) cannot be written as UTF-8 at all.
_UNSAFE_CHAR = rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_CONTROLS}\ud800-\udfff]"
# The start of a sequence not yet ended, reaching the end of the text: what a stream must hold back.
_UNFINISHED = (
    r"(?:(?:\x1b\[|\x9b)[0-?]*[ -/]*"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*\x1b?"
    r"|\x1b[ -/]*)\Z"
)

STREAM_HOLD_LIMIT = 4096
_STRING_START = re.compile(r"\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]")
_STRING_END = re.compile(r"[\x07\x1b\x9c]")


class _Tables:
    """The patterns and replacement tables, built on first use. Their character classes reach past U+00FF, so
    `re` builds a 64 K-entry map for each: ≈ 3 ms that every start paid before its first frame, though nothing is
    sanitised before it. The tables name every unsafe character but the 2,048 lone surrogates, which `_shown` tests by
    their range (in the tables, 0.3 MB held for as long as the app ran)."""

    def __init__(self) -> None:
        self.unsafe = re.compile(_UNSAFE_CHAR)
        self.token = re.compile(f"{_SEQUENCE}|{_UNSAFE_CHAR}")
        self.line_token = re.compile(f"{_SEQUENCE}|{_UNSAFE_CHAR}|[\n\t]")
        self.unsafe_or_space = re.compile(f"{_UNSAFE_CHAR}|[\n\t]")
        self.unfinished = re.compile(_UNFINISHED)
        bidi = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
        visible: dict[str, str] = {chr(c): chr(0x2400 + c) for c in range(0x20)}  # ␀ … ␟
        visible["\x7f"] = "␡"
        visible.update({chr(c): "\ufffd" for c in range(0x80, 0xA0)})
        visible["\r"] = ""
        visible.update({chr(c): "" for c in bidi})
        line_visible = {**visible, "\n": "␤", "\t": "␉"}
        same_length = {**line_visible, "\r": " ", "\n": " ", "\t": " "}
        same_length.update({chr(c): "\ufffd" for c in bidi})
        self.replace = lambda match: _shown(visible, match.group())
        self.replace_in_line = lambda match: _shown(line_visible, match.group())
        self.replace_same_length = lambda match: _shown(same_length, match.group())


def _shown(table: dict[str, str], found: str) -> str:
    """What replaces `found`, one match of the patterns: its entry in `table`; else "\ufffd" for a lone surrogate,
    and nothing for a whole sequence (more than one character), which is removed."""
    replacement = table.get(found)
    if replacement is not None:
        return replacement
    return "\ufffd" if len(found) == 1 and "\ud800" <= found <= "\udfff" else ""


@functools.cache
def _tables() -> _Tables:
    return _Tables()


def sanitize(text: str) -> str:
    """`text` with escape sequences removed, other controls made visible, newline and tab kept (see module doc)."""
    tables = _tables()
    if not tables.unsafe.search(text):
        return text
    return tables.token.sub(tables.replace, text)


def sanitize_line(text: str) -> str:
    """`sanitize` for one-line values (names, codes, URLs): newline and tab are shown as ␤ and ␉ too."""
    tables = _tables()
    if "\n" not in text and "\t" not in text and not tables.unsafe.search(text):
        return text
    return tables.line_token.sub(tables.replace_in_line, text)


def sanitize_keeping_offsets(text: str) -> str:
    """One line, each unsafe character replaced by exactly one visible one (whitespace by a space), so offsets into
    `text` (search highlights) stay valid. Escape sequences are not removed, only defused: their ESC shows as ␛."""
    tables = _tables()
    if not tables.unsafe.search(text) and "\n" not in text and "\t" not in text:
        return text
    return tables.unsafe_or_space.sub(tables.replace_same_length, text)


class StreamSanitizer:
    """Sanitises a text stream chunk by chunk; the pieces joined equal `sanitize` of the whole text.

    `feed` returns what is safe to show now; a trailing unfinished sequence (up to STREAM_HOLD_LIMIT
    characters) waits for the next chunk. `flush` returns the rest when the stream ends.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, chunk: str) -> str:
        held = self._held
        if (held and _STRING_START.match(held) and held[-1] != "\x1b" and not _STRING_END.search(chunk)
                and len(held) + len(chunk) <= STREAM_HOLD_LIMIT):
            # Still inside an OSC/DCS/… body (it ends only at BEL, ESC or ST): no need to scan the held part again.
            self._held = held + chunk
            return ""
        text = held + chunk if held else chunk
        self._held = ""
        tables = _tables()
        if not tables.unsafe.search(text):
            return text
        window = max(0, len(text) - STREAM_HOLD_LIMIT)
        unfinished = tables.unfinished.search(text, window)
        if unfinished is not None:
            self._held = text[unfinished.start():]
            text = text[: unfinished.start()]
        return sanitize(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return sanitize(held)
