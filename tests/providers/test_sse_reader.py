"""The byte-level SSE reader against every rule of docs/protocols.md §6."""

from __future__ import annotations

import json

import httpx
import pytest

from tui_agent.providers.sse import SSEDecoder, SSEEvent, aiter_sse


def parse(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


ANTHROPIC_BODY = (
    'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":11}}}\n\n'
    'event: ping\ndata: {"type": "ping"}\n\n'
    ': keep-alive comment\n\n'
    'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"Grüße 👋 a\u2028b\u0085c"}}\n\n'
    'event: message_stop\ndata: {"type":"message_stop"}\n\n'
).encode()


def test_events_are_split_on_blank_lines_with_names_and_data():
    events = parse(ANTHROPIC_BODY)
    assert [e.event for e in events] == ["message_start", "ping", "content_block_delta", "message_stop"]
    assert json.loads(events[2].data)["delta"]["text"] == "Grüße 👋 a\u2028b\u0085c"


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_crlf_and_cr_line_endings_read_like_lf(newline):
    assert parse(ANTHROPIC_BODY.replace(b"\n", newline)) == parse(ANTHROPIC_BODY)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_a_split_at_every_byte_position_gives_the_same_events(newline):
    body = ANTHROPIC_BODY.replace(b"\n", newline)
    whole = parse(body)
    for cut in range(1, len(body)):
        assert parse(body[:cut], body[cut:]) == whole, f"split at byte {cut}"


def test_feeding_one_byte_at_a_time_gives_the_same_events():
    body = ANTHROPIC_BODY.replace(b"\n", b"\r\n")
    assert parse(*(body[i:i + 1] for i in range(len(body)))) == parse(body)


def test_a_cr_at_a_chunk_end_is_held_so_crlf_is_one_line_break():
    # If the \r were taken as a line end, the \n after it would be a blank line and dispatch "a" too early.
    events = parse(b"data: a\r", b"\ndata: b\r\n\r\n")
    assert events == [SSEEvent(event="message", data="a\nb")]


def test_unicode_line_separators_inside_data_do_not_split_the_line():
    # httpx's aiter_lines() splits on these (str.splitlines); the reader must not.
    for char in ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]:
        payload = json.dumps({"t": f"a{char}b"}, ensure_ascii=False)
        events = parse(f"data: {payload}\n\n".encode())
        assert [json.loads(e.data)["t"] for e in events] == [f"a{char}b"]


def test_multiple_data_lines_are_joined_with_newlines():
    assert parse(b"data: first\ndata: second\ndata:\n\n") == [SSEEvent(event="message", data="first\nsecond\n")]


def test_comments_are_ignored_and_a_comment_only_stream_has_no_events():
    assert parse(b": ping - 2026-11-27 19:30:45\n\n: OPENROUTER PROCESSING\n\n") == []
    assert parse(b": hello\ndata: x\n: again\n\n") == [SSEEvent(event="message", data="x")]


def test_only_one_leading_space_is_dropped_from_a_value():
    assert parse(b"data:x\n\n")[0].data == "x"
    assert parse(b"data:  x\n\n")[0].data == " x"
    assert parse(b"data: a: b\n\n")[0].data == "a: b"


def test_a_line_without_a_colon_is_a_field_with_an_empty_value():
    assert parse(b"data\ndata\n\n") == [SSEEvent(event="message", data="\n")]


def test_event_name_defaults_to_message_and_resets_after_dispatch():
    events = parse(b"event: custom\ndata: 1\n\ndata: 2\n\n")
    assert [(e.event, e.data) for e in events] == [("custom", "1"), ("message", "2")]


def test_id_persists_and_retry_takes_only_digits():
    events = parse(b"id: 7\nretry: 1500\ndata: a\n\ndata: b\nretry: soon\n\n")
    assert [(e.id, e.retry) for e in events] == [("7", 1500), ("7", None)]


def test_unknown_fields_are_ignored():
    assert parse(b"foo: bar\ndata: x\n\n") == [SSEEvent(event="message", data="x")]


def test_an_event_without_its_blank_line_at_eof_is_discarded():
    assert parse(b"data: done\n\ndata: half") == [SSEEvent(event="message", data="done")]
    assert parse(b"data: done\n\ndata: half\n") == [SSEEvent(event="message", data="done")]


def test_a_leading_byte_order_mark_is_skipped_even_when_split():
    body = b"\xef\xbb\xbfdata: x\n\n"
    for cut in range(1, 4):
        assert parse(body[:cut], body[cut:]) == [SSEEvent(event="message", data="x")]


def test_a_multi_byte_character_split_across_chunks_survives():
    body = 'data: {"t":"€😀"}\n\n'.encode()
    start = body.index("€".encode())
    for cut in range(start, start + 7):
        assert json.loads(parse(body[:cut], body[cut:])[0].data)["t"] == "€😀"


def test_the_default_dispatch_needs_no_data_lines_after_an_event_name():
    assert parse(b"event: ping\n\n") == [SSEEvent(event="ping", data="")]


async def test_aiter_sse_reads_an_async_byte_stream():
    async def chunks():
        body = ANTHROPIC_BODY.replace(b"\n", b"\r\n")
        for i in range(0, len(body), 7):
            yield body[i:i + 7]

    assert [e async for e in aiter_sse(chunks())] == parse(ANTHROPIC_BODY)


def test_httpx_aiter_lines_really_does_split_on_u2028():
    # Guards the reason this module exists: if httpx ever stops doing this, the rule can be revisited.
    from httpx._decoders import LineDecoder

    assert LineDecoder().decode('data: {"t":"a\u2028b"}\n\n')[:2] == ['data: {"t":"a', 'b"}']
    assert httpx.__version__.startswith("0.28")
