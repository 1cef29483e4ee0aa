"""Property tests of the terminal sanitiser (hypothesis; skipped when it is not installed)."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.safety.test_sanitize import assert_terminal_safe, stream  # noqa: E402
from tui_agent.sanitize import sanitize, sanitize_keeping_offsets, sanitize_line  # noqa: E402

_ALPHABET = st.sampled_from(
    ["a", " ", "\n", "\t", "\r", "\x1b", "[", "]", "P", "X", "^", "_", "\\", "\x07", "\x9b", "\x9c", "\x9d", "\x90",
     "0", "5", ";", "m", "c", "(", "\u202e", "\u2066", "\u200d", "\u200c", "é", "汉", "👩", "\x00", "\x7f", "\x85",
     "\ud800", "\udc80", "\udfff"]  # lone surrogates: undecodable bytes kept by surrogateescape
)
_TEXT = st.lists(_ALPHABET, max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_property_output_is_terminal_safe(text):
    assert_terminal_safe(sanitize(text))
    assert_terminal_safe(sanitize_line(text), newline_ok=False)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_property_sanitize_is_idempotent(text):
    once = sanitize(text)
    assert sanitize(once) == once


@settings(max_examples=400, deadline=None)
@given(st.lists(_TEXT, max_size=6))
def test_property_any_chunking_gives_the_same_text_as_the_whole(chunks):
    assert stream(chunks) == sanitize("".join(chunks))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")))
def test_property_text_without_controls_is_unchanged(text):
    assert sanitize(text) == text


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_property_sanitize_keeping_offsets_keeps_the_length_and_is_safe(text):
    out = sanitize_keeping_offsets(text)
    assert len(out) == len(text)
    assert_terminal_safe(out, newline_ok=False)
