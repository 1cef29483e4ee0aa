"""Bounded, linear-time stream readers: one pass over the bytes, a cap on a line/event and on a whole answer."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.fakes import FakeOpenAI, Reply, sse_bytes
from tests.fakes.fake_ollama import FakeOllama
from tui_agent.core.credentials import Credential
from tui_agent.providers import lines
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.core.events import StreamFailed
from tui_agent.providers.ndjson import NDJSONDecoder
from tui_agent.providers.ollama import OllamaAdapter
from tui_agent.providers.openai_chat import OpenAIChatAdapter
from tui_agent.providers.sse import SSEDecoder, SSEEvent

from .conftest import collect, make_provider, text_of

KEY = Credential(kind="api-key", secret="sk-test-0123456789abcdef")
REQUEST = ChatRequest(model="gpt-test", messages=[ChatMessage("user", "Hello")])
MB = 1024 * 1024


class CountingPattern:
    """Stands in for the line-end pattern and counts the bytes it is asked to search."""

    def __init__(self, pattern) -> None:
        self.pattern = pattern
        self.searched = 0

    def finditer(self, data, start=0):
        self.searched += len(data) - start
        return self.pattern.finditer(data, start)


@pytest.mark.parametrize("decoder_class, attribute", [(SSEDecoder, "_ANY_LINE_END"), (NDJSONDecoder, "_LF")])
def test_each_byte_is_searched_once_however_the_body_is_chunked(monkeypatch, decoder_class, attribute):
    counter = CountingPattern(getattr(lines, attribute))
    monkeypatch.setattr(lines, attribute, counter)
    decoder = decoder_class()
    long_line = b"data: " + b"x" * 200_000 if decoder_class is SSEDecoder else b'"' + b"x" * 200_000
    body = long_line + (b'"\n' if decoder_class is NDJSONDecoder else b"\n\n")
    fed = 0
    for start in range(0, len(body), 7):  # thousands of small chunks of one long line: the quadratic case
        piece = body[start : start + 7]
        decoder.feed(piece)
        fed += len(piece)
    assert counter.searched == fed == len(body)


def test_a_cr_lf_split_across_chunks_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r\n") == [SSEEvent("message", "a")]
    assert decoder.feed(b"data: b\r\r") == [SSEEvent("message", "b")]


def test_a_line_past_the_cap_is_refused_before_it_is_held_whole():
    decoder = SSEDecoder(line_cap=1024)
    decoder.feed(b"data: " + b"x" * 1000)
    with pytest.raises(lines.StreamTooLarge, match="a single line of more than 1 KB"):
        decoder.feed(b"x" * 100)


def test_an_event_past_the_cap_is_refused_even_when_each_line_is_short():
    decoder = SSEDecoder(line_cap=1024)
    with pytest.raises(lines.StreamTooLarge, match="a single event of more than 1 KB"):
        decoder.feed(b"data: " + b"y" * 500 + b"\n" + b"data: " + b"y" * 600 + b"\n")


@pytest.mark.parametrize("decoder_class", [SSEDecoder, NDJSONDecoder])
def test_a_body_past_the_total_cap_is_refused(decoder_class):
    decoder = decoder_class(body_cap=4096)
    line = b'data: {"a": 1}\n\n' if decoder_class is SSEDecoder else b'{"a": 1}\n'
    with pytest.raises(lines.StreamTooLarge, match="an answer of more than 4 KB in total"):
        for _ in range(1000):
            decoder.feed(line)


def test_an_ndjson_line_past_the_cap_is_refused():
    decoder = NDJSONDecoder(line_cap=2048)
    with pytest.raises(lines.StreamTooLarge, match="2 KB"):
        decoder.feed(b'{"a": "' + b"z" * 3000)


def _endless_line(total: int, piece: int = MB):
    """The fake's body: `total` bytes of one line with no end, produced lazily one piece at a time."""
    block = b"x" * piece
    return itertools.repeat(block, total // piece)


async def test_200_mb_without_a_newline_is_refused_at_the_line_cap_and_the_partial_answer_is_kept(fake_openai, client):
    first = sse_bytes(FakeOpenAI.chunk({"content": "Partial answer"}))
    chunks = itertools.chain([first, b"data: "], _endless_line(200 * MB))
    reply = Reply(status=200, headers={"content-type": "text/event-stream"}, chunks=chunks)  # type: ignore[arg-type]
    fake_openai.script(reply)
    adapter = OpenAIChatAdapter(make_provider("openai-chat", fake_openai.base_url), client)
    events = await collect(adapter.stream(REQUEST, KEY))
    assert text_of(events) == "Partial answer"
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "bad_response"
    assert "a single line of more than 16 MB" in error.message and "what arrived is kept" in error.message
    request = fake_openai.chat_requests[0]
    assert request.finished.wait(10)
    assert request.disconnected.is_set()  # the client hung up: the fake never got to send all 200 MB


async def test_a_huge_single_delta_under_the_cap_passes_intact(fake_openai, client):
    delta = "Ω" * (6 * MB)  # 12 MB of UTF-8 in one event, cut by the network into many chunks
    body = sse_bytes(FakeOpenAI.chunk({"content": delta})) + sse_bytes(FakeOpenAI.chunk({}, "stop")) + sse_bytes("[DONE]")
    pieces = [body[i : i + 65_537] for i in range(0, len(body), 65_537)]
    fake_openai.script(Reply.stream(pieces, "text/event-stream"))
    adapter = OpenAIChatAdapter(make_provider("openai-chat", fake_openai.base_url), client)
    events = await collect(adapter.stream(REQUEST, KEY))
    assert text_of(events) == delta


async def test_an_ndjson_line_past_the_cap_ends_an_ollama_answer_with_the_cause(fake_ollama, client, monkeypatch):
    monkeypatch.setattr(lines, "LINE_CAP", 64 * 1024)
    first = json.dumps({"model": "m", "message": {"role": "assistant", "content": "kept"}, "done": False}).encode() + b"\n"
    chunks = itertools.chain([first], _endless_line(4 * MB, 32 * 1024))
    fake_ollama.script(Reply(status=200, headers={"content-type": "application/x-ndjson"}, chunks=chunks))  # type: ignore[arg-type]
    adapter = OllamaAdapter(make_provider("ollama", fake_ollama.base_url), client)
    events = await collect(adapter.stream(ChatRequest(model="m", messages=[ChatMessage("user", "hi")]), KEY))
    assert text_of(events) == "kept"
    assert isinstance(events[-1], StreamFailed) and "a single line of more than 64 KB" in events[-1].message
