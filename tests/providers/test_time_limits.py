"""Time limits: a server that never answers, an answer that stalls, and no blind retry of a sent request.

Small configured limits keep every test short; nothing here sleeps for the limit's sake.
"""

from __future__ import annotations

import pytest

from tests.fakes import FakeOpenAI, Reply
from tests.fakes.silent import SilentListener
from tui_agent.core.credentials import Credential
from tui_agent.config.schema import ProviderConfig, Timeouts
from tui_agent.providers import _http
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.core.events import StreamFailed
from tui_agent.providers.openai_chat import OpenAIChatAdapter

from .conftest import collect, make_provider, text_of

KEY = Credential(kind="api-key", secret="sk-test-0123456789abcdef")
REQUEST = ChatRequest(model="gpt-test", messages=[ChatMessage("user", "Hello")])


def adapter(base_url: str, client, policy, **timeouts) -> OpenAIChatAdapter:
    built = OpenAIChatAdapter(make_provider("openai-chat", base_url, timeouts=Timeouts(**timeouts)), client)
    built.retry_policy = policy
    return built


async def test_a_server_that_never_answers_is_reported_at_the_headers_limit_and_not_asked_again(client, no_wait_policy, sleep):
    with SilentListener() as hung:
        events = await collect(adapter(hung.base_url + "/v1", client, no_wait_policy, headers=0.2).stream(REQUEST, KEY))
        connections = hung.connections
        received = bytes(hung.received)
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "network"
    assert error.message == (
        f"Test Provider accepted the request but sent no answer within 0.2 s at {hung.base_url}/v1/chat/completions; "
        "it was not sent again — try later, or raise providers.test.timeouts.headers if the server needs longer"
    )
    assert connections == 1 and received.count(b"POST /v1/chat/completions") == 1  # the request arrived, once
    assert sleep.delays == []  # and no retry was even scheduled


async def test_the_earlier_read_key_still_sets_the_limit_and_the_message_names_it(client, no_wait_policy):
    with SilentListener() as hung:
        events = await collect(adapter(hung.base_url, client, no_wait_policy, read=0.2).stream(REQUEST, KEY))
    assert "within 0.2 s" in events[-1].message


async def test_a_stall_mid_answer_is_reported_at_the_idle_limit_with_the_partial_answer_kept(fake_openai, client, no_wait_policy):
    # Three events (role, "Partial ", "answer"), then the server goes quiet without ending the stream.
    fake_openai.script(FakeOpenAI.answer("Partial ", "answer", "never sent", pause_after=3))
    events = await collect(adapter(fake_openai.base_url, client, no_wait_policy, idle=0.2).stream(REQUEST, KEY))
    fake_openai.release()
    assert text_of(events) == "Partial answer"
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "network"
    assert error.message == (
        f"Test Provider sent nothing for 0.2 s in the middle of the answer at {fake_openai.base_url}/chat/completions; "
        "what arrived is kept — send again to retry, or raise providers.test.timeouts.idle if the model pauses longer"
    )
    assert len(fake_openai.chat_requests) == 1


async def test_a_slow_answer_that_keeps_flowing_is_not_cut_by_the_idle_limit(fake_openai, client, no_wait_policy):
    # Each gap is shorter than the limit; the whole answer takes longer than it.
    fake_openai.script(FakeOpenAI.answer("a", "b", "c", "d", "e", delay=0.05))
    events = await collect(adapter(fake_openai.base_url, client, no_wait_policy, idle=0.2).stream(REQUEST, KEY))
    assert text_of(events) == "abcde" and not isinstance(events[-1], StreamFailed)


async def test_an_error_page_that_stalls_is_held_to_the_idle_limit(fake_openai, client, no_wait_policy):
    stalled = Reply(status=400, headers={"content-type": "application/json"}, chunks=[b'{"error": {"mess'], pause_after=1)
    fake_openai.script(stalled)
    events = await collect(adapter(fake_openai.base_url, client, no_wait_policy, idle=0.2).stream(REQUEST, KEY))
    fake_openai.release()
    assert isinstance(events[-1], StreamFailed) and events[-1].status == 400


@pytest.mark.parametrize(
    "fields, headers, idle",
    [
        ({"base_url": "https://api.example.com/v1"}, 60.0, 120.0),
        ({"base_url": "http://127.0.0.1:8080/v1"}, 300.0, 120.0),  # llama.cpp, vLLM: loopback is local
        ({"base_url": "http://localhost:8080/v1"}, 300.0, 120.0),
        ({"base_url": "http://[::1]:8080/v1"}, 300.0, 120.0),
        ({"base_url": "http://192.168.1.20:11434", "local": True}, 300.0, 120.0),  # Ollama on another box
        ({"base_url": "https://api.example.com/v1", "timeouts": Timeouts(read=30)}, 30.0, 30.0),
        ({"base_url": "https://api.example.com/v1", "timeouts": Timeouts(read=30, headers=5, idle=9)}, 5.0, 9.0),
    ],
)
def test_default_limits(fields, headers, idle):
    provider = ProviderConfig(id="p", kind="openai-chat", **fields)
    assert (_http.headers_limit(provider), _http.idle_limit(provider)) == (headers, idle)
