"""OllamaAdapter against the loopback FakeOllama: NDJSON answers, counts, in-band errors, discovery with load state."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.fakes import FakeOllama, Reply
from tui_agent.core.credentials import NO_CREDENTIAL
from tui_agent.errors import ProviderError
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.core.events import Done, StreamFailed, TextDelta, Usage
from tui_agent.providers.ollama import OllamaAdapter, _connectable

from .conftest import collect, make_provider, text_of, thinking_of

REQUEST = ChatRequest(model="llama3.2:latest", messages=[ChatMessage("user", "why is the sky blue?")])


def adapter_for(fake: FakeOllama, client, policy=None, **fields) -> OllamaAdapter:
    adapter = OllamaAdapter(make_provider("ollama", fake.base_url, local=True, **fields), client)
    if policy is not None:
        adapter.retry_policy = policy
    return adapter


async def test_text_thinking_counts_and_done_reason(fake_ollama, client):
    fake_ollama.script(FakeOllama.answer("The", " sky", thinking=["Rayleigh", " scattering"], done_reason="length",
                                         counts=(26, 282)))
    events = await collect(adapter_for(fake_ollama, client).stream(REQUEST, NO_CREDENTIAL))
    assert text_of(events) == "The sky" and thinking_of(events) == "Rayleigh scattering"
    assert events[-2:] == [Usage(input_tokens=26, output_tokens=282), Done(stop_reason="length")]


async def test_the_body_is_native_with_options_only_when_set(fake_ollama, client):
    await collect(adapter_for(fake_ollama, client).stream(REQUEST, NO_CREDENTIAL))
    assert fake_ollama.chat_requests[-1].json == {
        "model": "llama3.2:latest", "messages": [{"role": "user", "content": "why is the sky blue?"}], "stream": True}
    assert "authorization" not in fake_ollama.chat_requests[-1].headers

    request = ChatRequest(model="llama3.2:latest", messages=[ChatMessage("user", "q")], system="Be brief.",
                          temperature=0.2, top_p=0.5, max_tokens=32)
    await collect(adapter_for(fake_ollama, client).stream(request, NO_CREDENTIAL))
    body = fake_ollama.chat_requests[-1].json
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["options"] == {"temperature": 0.2, "top_p": 0.5, "num_predict": 32}


async def test_an_error_line_under_200_keeps_the_text(fake_ollama, client):
    fake_ollama.script(FakeOllama.answer("can", error="an error was encountered while running the model"))
    events = await collect(adapter_for(fake_ollama, client).stream(REQUEST, NO_CREDENTIAL))
    assert text_of(events) == "can"
    assert isinstance(events[-1], StreamFailed) and "an error was encountered" in events[-1].message


@pytest.mark.parametrize("reply", [
    FakeOllama.answer("half", complete=False),
    FakeOllama.answer("half", " more", cut_after=1),
])
async def test_no_done_line_means_interrupted(fake_ollama, client, reply):
    fake_ollama.script(reply)
    events = await collect(adapter_for(fake_ollama, client).stream(REQUEST, NO_CREDENTIAL))
    assert text_of(events) == "half"
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "interrupted"


async def test_a_line_that_is_not_json_is_a_bad_response(fake_ollama, client):
    fake_ollama.script(Reply.stream([b'{"message":{"content":"ok"},"done":false}\n', b"<html>\n"], "application/x-ndjson"))
    events = await collect(adapter_for(fake_ollama, client).stream(REQUEST, NO_CREDENTIAL))
    assert text_of(events) == "ok" and isinstance(events[-1], StreamFailed) and events[-1].kind == "bad_response"


async def test_an_unknown_model_is_a_bad_request_sentence(fake_ollama, client):
    request = ChatRequest(model="nope:1b", messages=[ChatMessage("user", "hi")])
    events = await collect(adapter_for(fake_ollama, client).stream(request, NO_CREDENTIAL))
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "bad_request" and error.status == 404
    assert "model 'nope:1b' not found" in error.message


async def test_a_stopped_local_server_fails_at_once_without_retries(client, no_wait_policy, sleep):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = OllamaAdapter(make_provider("ollama", f"http://127.0.0.1:{port}", local=True), client)
    adapter.retry_policy = no_wait_policy
    events = await collect(adapter.stream(REQUEST, NO_CREDENTIAL))
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "network"
    assert "is the server running?" in events[-1].message and sleep.delays == []


async def test_closing_the_stream_closes_the_connection(fake_ollama, client):
    fake_ollama.script(FakeOllama.answer("a", "b", pause_after=1))
    stream = adapter_for(fake_ollama, client).stream(REQUEST, NO_CREDENTIAL)
    assert await anext(aiter(stream)) == TextDelta("a")
    await stream.aclose()
    assert await asyncio.to_thread(fake_ollama.chat_requests[0].disconnected.wait, 10)


async def test_discovery_lists_tags_and_marks_loaded_models(client):
    with FakeOllama(models=("llama3.2:latest", "qwen3:8b"), loaded=("qwen3:8b",)) as fake:
        models = await adapter_for(fake, client).list_models(NO_CREDENTIAL)
        assert [(m.id, m.loaded) for m in models] == [("llama3.2:latest", False), ("qwen3:8b", True)]
        assert models[1].context_window == 8192


async def test_discovery_without_ps_still_lists_models_with_unknown_load_state(fake_ollama, client):
    fake_ollama.script(Reply.json({"error": "boom"}, status=500), path="/api/ps")
    models = await adapter_for(fake_ollama, client).list_models(NO_CREDENTIAL)
    assert [m.loaded for m in models] == [None, None]


async def test_discovery_against_something_that_is_not_ollama_says_so(fake_ollama, client):
    fake_ollama.script(Reply.html(200), path="/api/tags")
    with pytest.raises(ProviderError) as err:
        await adapter_for(fake_ollama, client).list_models(NO_CREDENTIAL)
    assert "HTML" in str(err.value) and "/api/tags" in str(err.value)


def test_bind_all_hosts_are_reached_on_loopback():
    assert _connectable("http://0.0.0.0:11434") == "http://127.0.0.1:11434"
    assert _connectable("http://[::]:11434") == "http://[::1]:11434"
    assert _connectable("http://myhost:11434") == "http://myhost:11434"


async def test_raw_unicode_line_separators_inside_a_line_do_not_split_it(fake_ollama, client):
    # Ollama's Go encoder sends U+0085 raw (it escapes only U+2028/U+2029); str.splitlines() would split there.
    lines = [b'{"message":{"content":"a\xc2\x85b\xe2\x80\xa8c"},"done":false}\n',
             b'{"message":{"content":""},"done":true,"done_reason":"stop"}\n']
    fake_ollama.script(Reply.stream(lines, "application/x-ndjson"))
    events = await collect(adapter_for(fake_ollama, client).stream(REQUEST, NO_CREDENTIAL))
    assert text_of(events) == "a\u0085b\u2028c" and isinstance(events[-1], Done)
