"""The terminal sanitiser: every C0/C1 control, the common escape sequences, Unicode that must pass, streaming."""

from __future__ import annotations

import pytest
from tui_agent.sanitize import STREAM_HOLD_LIMIT, StreamSanitizer, sanitize, sanitize_keeping_offsets, sanitize_line

C0 = [chr(c) for c in range(0x20) if chr(c) not in "\n\t\r"]
C1 = [chr(c) for c in range(0x80, 0xA0)]
UNSAFE = {chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def assert_terminal_safe(text: str, *, newline_ok: bool = True) -> None:
    allowed = {"\n", "\t"} if newline_ok else set()
    bad = sorted({c for c in text if (c in UNSAFE or "\ud800" <= c <= "\udfff") and c not in allowed})
    assert not bad, f"unsafe characters survived: {[hex(ord(c)) for c in bad]} in {text!r}"


@pytest.mark.parametrize("char", C0 + ["\x7f"], ids=lambda c: f"U+{ord(c):04X}")
def test_every_c0_control_and_del_is_shown_as_its_control_picture(char):
    expected = "␡" if char == "\x7f" else chr(0x2400 + ord(char))
    # followed by a newline, which cannot continue an escape sequence
    assert sanitize(f"a{char}\n") == f"a{expected}\n"


@pytest.mark.parametrize("char", C1, ids=lambda c: f"U+{ord(c):04X}")
def test_every_c1_control_is_shown_as_a_replacement_character(char):
    assert sanitize(f"a{char}\n") == "a\ufffd\n"


@pytest.mark.parametrize("char", ["\ud800", "\udbff", "\udc00", "\udc80", "\udfff"], ids=lambda c: f"U+{ord(c):04X}")
def test_every_lone_surrogate_is_a_replacement_character_wherever_it_is_shown(char):
    assert sanitize(f"a{char}\n") == "a\ufffd\n"
    assert sanitize_line(f"a{char}\t") == "a\ufffd␉"
    assert sanitize_keeping_offsets(f"a{char}\n") == "a\ufffd "
    assert stream(["a\x1b[3", f"1m{char}"]) == "a\ufffd"
    assert sanitize(f"\x1b]0;{char}\x07{char}") == "\ufffd"  # inside a removed sequence it goes with it


def test_newline_and_tab_are_kept_and_carriage_returns_removed():
    assert sanitize("one\r\ntwo\tthree\rfour") == "one\ntwo\tthreefour"


@pytest.mark.parametrize(
    "sequence",
    [
        "\x1b[2J", "\x1b[H", "\x1b[31;1m", "\x1b[?1049h", "\x1b[?25l", "\x1b[>4;2m", "\x1b[ q",  # CSI
        "\x9b2J", "\x9b31m",  # 8-bit CSI
        "\x1b]0;pwned\x07", "\x1b]2;title\x1b\\", "\x1b]52;c;ZWNobyBwd25lZA==\x07",  # OSC: title, clipboard
        "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\", "\x1b]8;;http://evil/\x07", "\x9d0;t\x9c", "\x9d52;c;QQ==\x07",
        "\x1bP+q544e\x1b\\", "\x90qpayload\x9c",  # DCS
        "\x1bXsos\x1b\\", "\x1b^pm\x1b\\", "\x1b_apc\x1b\\", "\x98s\x9c", "\x9ep\x9c", "\x9fa\x9c",  # SOS PM APC
        "\x1bc", "\x1b7", "\x1b8", "\x1b(B", "\x1b)0", "\x1b#8", "\x1b=", "\x1b>", "\x1bM", "\x1b\\",  # short forms
    ],
)
def test_whole_escape_sequences_are_removed(sequence):
    assert sanitize(f"before{sequence}after") == "beforeafter"


@pytest.mark.parametrize(
    "text",
    [
        "\x1b", "\x1b[", "\x1b[31", "\x1b]52;c;QQ==", "\x1bP unterminated", "\x1b]0;x\x1b", "\x9b", "\x1b\x1b[2J",
        "\x1b[31\x1bm", "\x1b]0;\x07\x1b]0", "\x1b\x07",
    ],
)
def test_unfinished_or_broken_sequences_leave_only_printable_text(text):
    out = sanitize(text)
    assert_terminal_safe(out)
    assert "\x1b" not in out


def test_lone_escape_is_shown_visibly():
    assert sanitize("a\x1b\n") == "a␛\n"
    assert sanitize("a\x1b") == "a␛"
    assert sanitize("\x1b]52;c;QQ==") == "␛]52;c;QQ=="


@pytest.mark.parametrize("char", [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]], ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_overrides_and_isolates_are_removed(char):
    assert sanitize(f"abc{char}def") == "abcdef"


@pytest.mark.parametrize(
    "text",
    [
        "汉字とかな、한국어", "שלום עולם", "مرحبا بالعالم", "می‌خواهم",  # Persian with ZWNJ
        "👩\u200d💻 👨\u200d👩\u200d👧", "🇫🇷 🏳️\u200d🌈", "e\u0301 n\u0303 ก\u0e31", "\u200e\u200f marks",
        "ZWNJ\u200cZWJ\u200d", "plain ASCII `code` **bold**\n\tindented", "",
    ],
)
def test_ordinary_unicode_passes_unchanged(text):
    assert sanitize(text) == text
    assert sanitize_line(text.replace("\n", " ").replace("\t", " ")) == text.replace("\n", " ").replace("\t", " ")


def test_clean_text_is_returned_as_is():
    text = "hello world " * 1000
    assert sanitize(text) is text


def test_sanitize_line_shows_newline_and_tab():
    assert sanitize_line("ABCD-\n1234\t\x1b[2Jx") == "ABCD-␤1234␉x"


def test_megabytes_with_many_escapes_stay_safe():
    text = ("ok \x1b]52;c;QQ==\x07 \x1b[2J \x1b" + "\x1b]" * 1000) * 200
    out = sanitize(text)
    assert_terminal_safe(out)
    unterminated = "\x1b]" * 500_000  # every OSC start scans only to the next ESC
    assert sanitize(unterminated) == "␛]" * 500_000


# --- streaming ------------------------------------------------------------------------------------------------


def stream(chunks: list[str]) -> str:
    sanitizer = StreamSanitizer()
    return "".join(sanitizer.feed(chunk) for chunk in chunks) + sanitizer.flush()


@pytest.mark.parametrize(
    "chunks",
    [
        ["answer \x1b", "]52;c;ZWNobyBwd25lZA==\x07 more"],
        ["\x1b]0;ti", "tle\x1b", "\\done"],
        ["\x1b[", "2", "J", "x"],
        ["\x9b", "31m", "red"],
        ["a\x1b", "\x1b[H", "b"],
    ],
)
def test_a_sequence_split_across_chunks_is_removed_like_a_whole_one(chunks):
    assert stream(chunks) == sanitize("".join(chunks))
    assert_terminal_safe(stream(chunks))


def test_each_chunk_sanitised_alone_is_still_safe():
    # Without the stream's hold-back, what remains of a split sequence is printable text.
    pieces = [sanitize("answer \x1b"), sanitize("]52;c;ZWNobyBwd25lZA==\x07 more")]
    assert pieces == ["answer ␛", "]52;c;ZWNobyBwd25lZA==␇ more"]


def test_a_sequence_longer_than_the_hold_limit_is_let_through_visibly():
    chunks = ["\x1b]52;c;" + "Q" * STREAM_HOLD_LIMIT, "Q\x07tail"]
    out = stream(chunks)
    assert_terminal_safe(out)
    assert out.startswith("␛]52;c;")


def test_sanitize_keeping_offsets_defuses_sequences_in_place():
    assert sanitize_keeping_offsets("a\x1b]0;t\x07\nb\u202e") == "a␛]0;t␇ b\ufffd"


def test_text_after_a_split_string_terminator_is_not_held_back():
    sanitizer = StreamSanitizer()
    assert sanitizer.feed("a\x1b]0;title") == "a"
    assert sanitizer.feed("more\x1b") == ""
    assert sanitizer.feed("\\visible now") == "visible now"
