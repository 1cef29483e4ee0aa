"""AnthropicAdapter against the loopback FakeAnthropic: streaming, failures, retries, auth, cancellation, discovery."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.fakes import FakeAnthropic, Reply, sse_bytes
from tui_agent.core.credentials import Credential
from tui_agent.errors import AuthError, ProviderError
from tui_agent.providers.anthropic import AnthropicAdapter
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.core.events import Done, StreamFailed, TextDelta, Usage

from .conftest import collect, make_provider, text_of, thinking_of

KEY = Credential(kind="api-key", secret="sk-ant-test-0123456789abcdef")
REQUEST = ChatRequest(model="claude-test-1", messages=[ChatMessage("user", "Hello")])


def adapter_for(fake: FakeAnthropic, client, policy=None, **fields) -> AnthropicAdapter:
    adapter = AnthropicAdapter(make_provider("anthropic-messages", fake.base_url, **fields), client)
    if policy is not None:
        adapter.retry_policy = policy
    return adapter


async def test_text_usage_and_stop_reason_stream_in_order(fake_anthropic, client):
    fake_anthropic.script(FakeAnthropic.answer("Hel", "lo", " there", output_tokens=6, stop_reason="max_tokens"))
    events = await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    assert text_of(events) == "Hello there"
    assert events[-1] == Done(stop_reason="max_tokens")
    usages = [e for e in events if isinstance(e, Usage)]
    assert usages[0] == Usage(input_tokens=11, output_tokens=1)
    assert usages[-1] == Usage(input_tokens=11, output_tokens=6)  # cumulative: replaced, not added


async def test_thinking_deltas_are_separate_from_the_text(fake_anthropic, client):
    fake_anthropic.script(FakeAnthropic.answer("42", thinking=["Let me ", "think."]))
    events = await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    assert thinking_of(events) == "Let me think."
    assert text_of(events) == "42"


async def test_cache_tokens_count_as_input(fake_anthropic, client):
    start = {"type": "message_start", "message": {"usage": {"input_tokens": 5, "cache_creation_input_tokens": 100,
                                                           "cache_read_input_tokens": 1000, "output_tokens": 1}}}
    fake_anthropic.script(Reply.stream([sse_bytes(start, "message_start"), sse_bytes({"type": "message_stop"}, "message_stop")],
                                       "text/event-stream"))
    events = await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    assert events[0] == Usage(input_tokens=1105, output_tokens=1)


async def test_unknown_events_and_pings_are_ignored(fake_anthropic, client):
    reply = FakeAnthropic.answer("a", "b")
    assert reply.chunks is not None
    reply.chunks.insert(2, sse_bytes({"type": "brand_new_event", "x": 1}, "brand_new_event"))
    reply.chunks.insert(3, sse_bytes({"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "citations_delta", "citation": {}}}, "content_block_delta"))
    fake_anthropic.script(reply)
    events = await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    assert text_of(events) == "ab" and isinstance(events[-1], Done)


async def test_the_request_carries_key_version_max_tokens_and_only_set_parameters(fake_anthropic, client):
    await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    sent = fake_anthropic.chat_requests[-1]
    assert sent.headers["x-api-key"] == KEY.secret
    assert "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.json == {"model": "claude-test-1", "max_tokens": 8192, "stream": True,
                         "messages": [{"role": "user", "content": "Hello"}]}


async def test_system_and_sampling_parameters_are_sent_under_the_api_names(fake_anthropic, client):
    request = ChatRequest(model="m", messages=[ChatMessage("user", "q"), ChatMessage("assistant", "a"),
                                               ChatMessage("user", "q2")],
                          system="Be terse.", temperature=0.2, top_p=0.9, max_tokens=100)
    adapter = adapter_for(fake_anthropic, client, anthropic_version="2026-10-21", headers={"anthropic-beta": "x-1"})
    await collect(adapter.stream(request, KEY))
    sent = fake_anthropic.chat_requests[-1]
    assert sent.json["system"] == "Be terse." and sent.json["max_tokens"] == 100
    assert (sent.json["temperature"], sent.json["top_p"]) == (0.2, 0.9)
    assert [m["role"] for m in sent.json["messages"]] == ["user", "assistant", "user"]
    assert sent.headers["anthropic-version"] == "2026-10-21"
    assert sent.headers["anthropic-beta"] == "x-1"


async def test_a_bearer_token_is_sent_as_authorization(fake_anthropic, client):
    await collect(adapter_for(fake_anthropic, client).stream(REQUEST, Credential(kind="bearer", secret="tok-123")))
    sent = fake_anthropic.chat_requests[-1]
    assert sent.headers["authorization"] == "Bearer tok-123" and "x-api-key" not in sent.headers


async def test_an_in_band_error_keeps_the_text_and_ends_the_stream(fake_anthropic, client):
    fake_anthropic.script(FakeAnthropic.answer("partial", error=("overloaded_error", "Overloaded")))
    events = await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    assert text_of(events) == "partial"
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "overloaded"
    assert "overloaded_error" in events[-1].message


@pytest.mark.parametrize("how", ["no_message_stop", "connection_cut"])
async def test_a_stream_that_ends_early_is_interrupted_after_the_text(fake_anthropic, client, how):
    # message_start, block start, ping, two deltas: then either a clean end of body or a dropped connection
    fake_anthropic.script(FakeAnthropic.answer("half an", " answer", complete=False) if how == "no_message_stop"
                          else FakeAnthropic.answer("half an", " answer", cut_after=5))
    events = await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    assert text_of(events) == "half an answer"
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "interrupted"


async def test_an_empty_200_is_an_error_not_an_answer(fake_anthropic, client):
    fake_anthropic.script(Reply.stream([], "text/event-stream"))
    events = await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    assert events == [events[-1]] and isinstance(events[-1], StreamFailed)


async def test_overloaded_529_is_retried_with_backoff_before_the_first_token(fake_anthropic, client, no_wait_policy, sleep):
    fake_anthropic.script(FakeAnthropic.error(529, "overloaded_error", "Overloaded"),
                          FakeAnthropic.error(500, "api_error", "Internal"),
                          FakeAnthropic.answer("fine"))
    events = await collect(adapter_for(fake_anthropic, client, no_wait_policy).stream(REQUEST, KEY))
    assert text_of(events) == "fine" and isinstance(events[-1], Done)
    assert sleep.delays == [0.5, 1.0]
    assert len(fake_anthropic.chat_requests) == 3


async def test_retries_give_up_with_one_overloaded_sentence(fake_anthropic, client, no_wait_policy, sleep):
    fake_anthropic.script(*[FakeAnthropic.error(529, "overloaded_error", "Overloaded")] * 3)
    events = await collect(adapter_for(fake_anthropic, client, no_wait_policy).stream(REQUEST, KEY))
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "overloaded" and error.status == 529
    assert "HTTP 529" in error.message and "Overloaded" in error.message and "try again" in error.message
    assert len(sleep.delays) == 2


async def test_429_waits_for_retry_after_and_reports_it_when_retries_run_out(fake_anthropic, client, no_wait_policy, sleep):
    limited = FakeAnthropic.error(429, "rate_limit_error", "Number of requests has exceeded your rate limit",
                                  headers={"retry-after": "7"})
    fake_anthropic.script(limited, limited, limited)
    events = await collect(adapter_for(fake_anthropic, client, no_wait_policy).stream(REQUEST, KEY))
    error = events[-1]
    assert sleep.delays == [7.0, 7.0]
    assert isinstance(error, StreamFailed) and error.kind == "rate_limit" and error.retry_after == 7.0
    assert "try again in 7 s" in error.message


async def test_nothing_is_retried_once_the_answer_has_started(fake_anthropic, client, no_wait_policy, sleep):
    fake_anthropic.script(FakeAnthropic.answer("first words", cut_after=4), FakeAnthropic.answer("second answer"))
    events = await collect(adapter_for(fake_anthropic, client, no_wait_policy).stream(REQUEST, KEY))
    assert text_of(events) == "first words"
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "interrupted"
    assert len(fake_anthropic.chat_requests) == 1 and sleep.delays == []


async def test_a_401_refreshes_the_credential_once_and_retries(client):
    with FakeAnthropic(api_key="fresh-key-0123456789") as fake:
        calls = []

        async def refresh():
            calls.append(1)
            return Credential(kind="api-key", secret="fresh-key-0123456789")

        events = await collect(adapter_for(fake, client).stream(REQUEST, KEY, refresh))
        assert isinstance(events[-1], Done) and calls == [1]
        assert [r.headers["x-api-key"] for r in fake.chat_requests] == [KEY.secret, "fresh-key-0123456789"]


async def test_a_second_401_after_refresh_is_a_clear_auth_error(client, no_wait_policy):
    with FakeAnthropic(api_key="the-only-good-key") as fake:
        calls = []

        async def refresh():
            calls.append(1)
            return Credential(kind="api-key", secret="still-a-wrong-key-987654321")

        events = await collect(adapter_for(fake, client, no_wait_policy).stream(REQUEST, KEY, refresh))
        error = events[-1]
        assert isinstance(error, StreamFailed) and error.kind == "auth" and error.status == 401
        assert "`tui-agent login test`" in error.message and "invalid x-api-key" in error.message
        assert calls == [1] and len(fake.chat_requests) == 2
        assert KEY.secret not in error.message and "still-a-wrong-key-987654321" not in error.message


async def test_a_401_without_a_refresh_callback_fails_at_once(client, no_wait_policy, sleep):
    with FakeAnthropic(api_key="the-only-good-key") as fake:
        events = await collect(adapter_for(fake, client, no_wait_policy).stream(REQUEST, KEY))
        assert isinstance(events[-1], StreamFailed) and events[-1].kind == "auth"
        assert len(fake.chat_requests) == 1 and sleep.delays == []


async def test_a_redirect_is_not_followed_and_names_the_other_host(fake_anthropic, client):
    fake_anthropic.script(Reply.redirect("http://collector.invalid/v1/messages", status=307))
    events = await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.status == 307
    assert "collector.invalid" in error.message and "base_url" in error.message


async def test_a_redirect_to_the_same_server_is_not_followed_either(fake_anthropic, client):
    fake_anthropic.script(Reply.redirect(f"{fake_anthropic.root_url}/stolen", status=302))
    await collect(adapter_for(fake_anthropic, client).stream(REQUEST, KEY))
    assert [r.path for r in fake_anthropic.requests] == ["/v1/messages"]


async def test_an_html_502_is_reported_as_html_with_status_and_url(fake_anthropic, client):
    adapter = adapter_for(fake_anthropic, client)
    adapter.retry_policy = adapter.retry_policy.__class__(max_retries=0)
    fake_anthropic.script(Reply.html(502))
    events = await collect(adapter.stream(REQUEST, KEY))
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "bad_response" and error.status == 502
    assert "HTML" in error.message and "HTTP 502" in error.message
    assert f"{fake_anthropic.base_url}/v1/messages" in error.message


async def test_an_unreachable_server_is_a_network_error_naming_the_url(client, no_wait_policy, sleep):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = make_provider("anthropic-messages", f"http://127.0.0.1:{port}")
    adapter = AnthropicAdapter(provider, client)
    adapter.retry_policy = no_wait_policy
    events = await collect(adapter.stream(REQUEST, KEY))
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "network"
    assert f"http://127.0.0.1:{port}/v1/messages" in error.message and "connection refused" in error.message
    assert sleep.delays == [0.5, 1.0]  # a remote provider's connection errors are retried with backoff first


async def test_closing_the_stream_closes_the_connection_at_once(fake_anthropic, client):
    fake_anthropic.script(FakeAnthropic.answer("first", " second", pause_after=4))
    stream = adapter_for(fake_anthropic, client).stream(REQUEST, KEY)
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()
    assert await asyncio.to_thread(fake_anthropic.chat_requests[0].disconnected.wait, 10)


async def test_cancelling_the_task_closes_the_connection(fake_anthropic, client):
    fake_anthropic.script(FakeAnthropic.answer("first", " second", pause_after=4))
    got_text = asyncio.Event()

    async def consume():
        async for event in adapter_for(fake_anthropic, client).stream(REQUEST, KEY):
            if isinstance(event, TextDelta):
                got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(fake_anthropic.chat_requests[0].disconnected.wait, 10)


async def test_discovery_follows_pages_until_has_more_is_false(client):
    ids = [f"claude-{i}" for i in range(5)]
    with FakeAnthropic(models=ids, page_size=2) as fake:
        models = await adapter_for(fake, client).list_models(KEY)
        assert [m.id for m in models] == ids
        assert [r.query.get("after_id") for r in fake.requests] == [None, "claude-1", "claude-3"]
        assert models[0].context_window == 200000 and "thinking" in models[0].capabilities
        assert all(r.headers["anthropic-version"] == "2023-06-01" for r in fake.requests)


async def test_discovery_with_a_refused_key_raises_an_auth_error_sentence(client):
    with FakeAnthropic(api_key="good") as fake:
        with pytest.raises(AuthError) as err:
            await adapter_for(fake, client).list_models(KEY)
        assert "`tui-agent login test`" in str(err.value) and "/v1/models" in str(err.value)


async def test_discovery_does_not_follow_a_redirect(fake_anthropic, client):
    fake_anthropic.script(Reply.redirect("https://sso.example.com/login"), path="/v1/models")
    with pytest.raises(ProviderError) as err:
        await adapter_for(fake_anthropic, client).list_models(KEY)
    assert "sso.example.com" in str(err.value) and len(fake_anthropic.requests) == 1
