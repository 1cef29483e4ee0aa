"""The byte-level NDJSON reader (Ollama's native streams)."""

from __future__ import annotations

import pytest

from tui_agent.providers.ndjson import NDJSONDecoder, NDJSONError, aiter_ndjson

BODY = '{"message":{"content":"a\u2028b 😀"},"done":false}\n\n{"done":true,"eval_count":3}\n'.encode()


def parse(*chunks: bytes) -> list:
    decoder = NDJSONDecoder()
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def test_one_value_per_line_and_blank_lines_are_skipped():
    assert parse(BODY) == [{"message": {"content": "a\u2028b 😀"}, "done": False}, {"done": True, "eval_count": 3}]


def test_a_split_at_every_byte_position_gives_the_same_values():
    whole = parse(BODY)
    for cut in range(1, len(BODY)):
        assert parse(BODY[:cut], BODY[cut:]) == whole, f"split at byte {cut}"


def test_crlf_line_ends_are_tolerated():
    assert parse(BODY.replace(b"\n", b"\r\n")) == parse(BODY)


def test_a_last_line_without_newline_still_counts():
    assert parse(b'{"a":1}\n{"b":2}') == [{"a": 1}, {"b": 2}]


def test_a_line_that_is_not_json_raises_with_the_line():
    with pytest.raises(NDJSONError) as err:
        parse(b'{"a":1}\n<html>oops</html>\n')
    assert "<html>oops</html>" in err.value.line


async def test_aiter_ndjson_reads_an_async_byte_stream():
    async def chunks():
        for i in range(len(BODY)):
            yield BODY[i:i + 1]

    assert [v async for v in aiter_ndjson(chunks())] == parse(BODY)
