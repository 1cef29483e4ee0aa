"""OpenAIChatAdapter against the loopback FakeOpenAI: chunks, [DONE] rules, reasoning, errors, headers, discovery."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes import FakeOpenAI, Reply, sse_bytes
from tui_agent.core.credentials import NO_CREDENTIAL, Credential
from tui_agent.errors import ProviderError
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.core.events import Done, StreamFailed, TextDelta, Usage
from tui_agent.providers.openai_chat import OpenAIChatAdapter

from .conftest import collect, make_provider, text_of, thinking_of

KEY = Credential(kind="api-key", secret="sk-test-0123456789abcdef")
REQUEST = ChatRequest(model="gpt-test", messages=[ChatMessage("user", "Hello")])


def adapter_for(fake: FakeOpenAI, client, policy=None, **fields) -> OpenAIChatAdapter:
    adapter = OpenAIChatAdapter(make_provider("openai-chat", fake.base_url, **fields), client)
    if policy is not None:
        adapter.retry_policy = policy
    return adapter


async def test_text_usage_and_finish_reason(fake_openai, client):
    fake_openai.script(FakeOpenAI.answer("Hel", "lo", finish_reason="length", usage=(79, 2)))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert text_of(events) == "Hello"
    assert Usage(input_tokens=79, output_tokens=2) in events
    assert events[-1] == Done(stop_reason="length")


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_deltas_become_thinking(fake_openai, client, field):
    fake_openai.script(FakeOpenAI.answer("4", reasoning=["2+2", " is 4"], reasoning_field=field))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert thinking_of(events) == "2+2 is 4" and text_of(events) == "4"


async def test_done_without_any_finish_reason_is_an_interrupted_answer(fake_openai, client):
    # llama-cpp-python cuts a running stream this way when another request arrives (docs/protocols.md §5.1).
    fake_openai.script(FakeOpenAI.answer("cut ", "short", finish_reason=None, usage=None))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert text_of(events) == "cut short"
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "interrupted"
    assert "finish_reason" in events[-1].message


async def test_a_finish_reason_then_eof_without_done_is_complete(fake_openai, client):
    fake_openai.script(FakeOpenAI.answer("ok", done=False, usage=None))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert events[-1] == Done(stop_reason="stop")


async def test_a_connection_cut_mid_answer_keeps_the_text(fake_openai, client):
    fake_openai.script(FakeOpenAI.answer("one ", "two ", "three", cut_after=3))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert text_of(events) == "one two "
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "interrupted"


async def test_an_empty_200_body_is_reported_with_the_context_window_hint(fake_openai, client):
    fake_openai.script(Reply.stream([], "text/event-stream"))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert len(events) == 1 and isinstance(events[0], StreamFailed) and "context window" in events[0].message


@pytest.mark.parametrize("error, kind", [
    ({"message": "Rate limit reached", "code": 429}, "rate_limit"),  # OpenRouter: numeric code
    ({"message": "upstream died", "type": "server_error", "code": None}, "overloaded"),
    ("plain string error", "provider"),
])
async def test_an_in_band_error_keeps_the_text(fake_openai, client, error, kind):
    fake_openai.script(FakeOpenAI.answer("so far", error=error))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert text_of(events) == "so far"
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == kind


async def test_a_vllm_style_error_object_is_an_error(fake_openai, client):
    fake_openai.script(Reply.stream([sse_bytes({"object": "error", "message": "bad things", "code": 400})],
                                    "text/event-stream"))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert isinstance(events[-1], StreamFailed) and "bad things" in events[-1].message


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
async def test_comments_and_every_line_ending_are_read(fake_openai, client, newline):
    fake_openai.script(FakeOpenAI.answer("a", "b", comments=True, newline=newline))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert text_of(events) == "ab" and isinstance(events[-1], Done)


async def test_unicode_line_separators_in_content_arrive_intact(fake_openai, client):
    tricky = "line\u2028sep\u2029para\u0085next 😀 Grüße"
    fake_openai.script(FakeOpenAI.answer(tricky[:7], tricky[7:]))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert text_of(events) == tricky


async def test_the_body_asks_for_usage_and_sends_only_set_parameters(fake_openai, client):
    await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert fake_openai.chat_requests[-1].json == {
        "model": "gpt-test", "messages": [{"role": "user", "content": "Hello"}], "stream": True,
        "stream_options": {"include_usage": True}}


async def test_system_and_parameters_use_the_chat_completions_names(fake_openai, client):
    request = ChatRequest(model="m", messages=[ChatMessage("user", "q")], system="Be terse.",
                          temperature=0.5, top_p=0.8, max_tokens=64)
    await collect(adapter_for(fake_openai, client).stream(request, KEY))
    body = fake_openai.chat_requests[-1].json
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.5, 0.8, 64)


def test_openai_and_azure_hosts_get_max_completion_tokens():
    request = ChatRequest(model="m", messages=[], max_tokens=10)
    for base in ("https://api.openai.com/v1", "https://res.openai.azure.com/openai/v1"):
        adapter = OpenAIChatAdapter(make_provider("openai-chat", base), None)  # type: ignore[arg-type]  (no I/O here)
        body = adapter._body(request)
        assert body["max_completion_tokens"] == 10 and "max_tokens" not in body


async def test_a_server_that_rejects_stream_options_is_asked_again_without_it(fake_openai, client, no_wait_policy):
    fake_openai.script(FakeOpenAI.error(400, "Unrecognized request argument supplied: stream_options"),
                       FakeOpenAI.answer("fine"))
    events = await collect(adapter_for(fake_openai, client, no_wait_policy).stream(REQUEST, KEY))
    assert text_of(events) == "fine"
    first, second = fake_openai.chat_requests
    assert "stream_options" in first.json and "stream_options" not in second.json


async def test_other_400s_are_not_retried_and_read_as_one_sentence(fake_openai, client, no_wait_policy, sleep):
    fake_openai.script(FakeOpenAI.error(400, "The model `nope` does not exist", code="model_not_found"))
    events = await collect(adapter_for(fake_openai, client, no_wait_policy).stream(REQUEST, KEY))
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "bad_request" and error.status == 400
    assert "The model `nope` does not exist" in error.message and len(fake_openai.chat_requests) == 1
    assert sleep.delays == []


async def test_a_spent_quota_429_is_not_retried(fake_openai, client, no_wait_policy, sleep):
    fake_openai.script(FakeOpenAI.error(429, "You exceeded your current quota", "insufficient_quota",
                                        "insufficient_quota"))
    events = await collect(adapter_for(fake_openai, client, no_wait_policy).stream(REQUEST, KEY))
    assert isinstance(events[-1], StreamFailed) and "billing" in events[-1].message and sleep.delays == []


@pytest.mark.parametrize("credential, header, value", [
    (KEY, "authorization", f"Bearer {KEY.secret}"),
    (Credential(kind="bearer", secret="entra-token"), "authorization", "Bearer entra-token"),
])
async def test_keys_and_tokens_go_as_bearer(fake_openai, client, credential, header, value):
    await collect(adapter_for(fake_openai, client).stream(REQUEST, credential))
    assert fake_openai.chat_requests[-1].headers[header] == value


async def test_an_azure_style_key_header_replaces_authorization(fake_openai, client):
    await collect(adapter_for(fake_openai, client, api_key_header="api-key").stream(REQUEST, KEY))
    sent = fake_openai.chat_requests[-1].headers
    assert sent["api-key"] == KEY.secret and "authorization" not in sent


async def test_no_credential_sends_no_auth_header_but_provider_headers(fake_openai, client):
    await collect(adapter_for(fake_openai, client, headers={"HTTP-Referer": "https://example.org"})
                  .stream(REQUEST, NO_CREDENTIAL))
    sent = fake_openai.chat_requests[-1].headers
    assert "authorization" not in sent and sent["http-referer"] == "https://example.org"


async def test_a_401_with_refresh_retries_with_the_new_token(client):
    with FakeOpenAI(api_key="new-token-abcdef") as fake:
        async def refresh():
            return Credential(kind="bearer", secret="new-token-abcdef")

        events = await collect(adapter_for(fake, client).stream(REQUEST, Credential("bearer", "old-token"), refresh))
        assert isinstance(events[-1], Done)
        assert [r.headers["authorization"] for r in fake.chat_requests] == ["Bearer old-token", "Bearer new-token-abcdef"]


async def test_a_refresh_that_finds_nothing_is_an_auth_error(client):
    with FakeOpenAI(api_key="other") as fake:
        async def refresh():
            return None

        events = await collect(adapter_for(fake, client).stream(REQUEST, KEY, refresh))
        assert isinstance(events[-1], StreamFailed) and events[-1].kind == "auth"
        assert len(fake.chat_requests) == 1 and KEY.secret not in events[-1].message


async def test_an_html_502_from_a_proxy_is_named_as_html(fake_openai, client):
    adapter = adapter_for(fake_openai, client)
    adapter.retry_policy = adapter.retry_policy.__class__(max_retries=0)
    fake_openai.script(Reply.html(502))
    events = await collect(adapter.stream(REQUEST, KEY))
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "bad_response"
    assert "HTML" in events[-1].message and "HTTP 502" in events[-1].message
    assert f"{fake_openai.base_url}/chat/completions" in events[-1].message


async def test_an_html_page_under_200_is_not_read_as_a_stream(fake_openai, client):
    fake_openai.script(Reply.html(200))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "bad_response"


async def test_a_redirect_is_an_error_and_is_not_followed(fake_openai, client):
    fake_openai.script(Reply.redirect("https://login.example.net/sso?next=/v1/chat/completions", status=301))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert isinstance(events[-1], StreamFailed) and "login.example.net" in events[-1].message
    assert len(fake_openai.requests) == 1


async def test_closing_the_stream_closes_the_connection(fake_openai, client):
    fake_openai.script(FakeOpenAI.answer("a", "b", "c", pause_after=2))
    stream = adapter_for(fake_openai, client).stream(REQUEST, KEY)
    first = await anext(aiter(stream))
    assert first == TextDelta("a")
    await stream.aclose()
    assert await asyncio.to_thread(fake_openai.chat_requests[0].disconnected.wait, 10)


async def test_a_slow_stream_arrives_piece_by_piece(fake_openai, client):
    fake_openai.script(FakeOpenAI.answer("a", "b", "c", pause_after=2))
    stream = adapter_for(fake_openai, client).stream(REQUEST, KEY)
    assert await anext(aiter(stream)) == TextDelta("a")  # arrives while the server is still holding the rest
    fake_openai.release()
    rest = [event async for event in stream]
    assert text_of(rest) == "bc" and isinstance(rest[-1], Done)


async def test_discovery_lists_v1_models_for_a_remote_provider(fake_openai, client):
    models = await adapter_for(fake_openai, client).list_models(KEY)
    assert [m.id for m in models] == ["gpt-test", "gpt-test-mini"]
    assert [r.path for r in fake_openai.requests] == ["/v1/models"]


@pytest.mark.parametrize("lmstudio, paths", [
    ("v1", ["/api/v1/models"]),
    ("v0", ["/api/v1/models", "/api/v0/models"]),
    (None, ["/api/v1/models", "/api/v0/models", "/v1/models"]),
])
async def test_local_discovery_falls_through_lm_studio_endpoints_on_404(client, lmstudio, paths):
    with FakeOpenAI(lmstudio=lmstudio, loaded=["gpt-test"]) as fake:
        models = await adapter_for(fake, client, local=True).list_models(NO_CREDENTIAL)
        assert [r.path for r in fake.requests] == paths
        assert [m.id for m in models] == ["gpt-test", "gpt-test-mini"]  # embeddings models are left out
        expected_loaded = [True, False] if lmstudio else [None, None]
        assert [m.loaded for m in models] == expected_loaded


async def test_discovery_failure_raises_one_sentence(fake_openai, client):
    fake_openai.script(FakeOpenAI.error(500, "database on fire", "server_error"), path="/v1/models")
    with pytest.raises(ProviderError) as err:
        await adapter_for(fake_openai, client).list_models(KEY)
    assert "HTTP 500" in str(err.value) and "database on fire" in str(err.value)


async def test_a_json_error_under_200_instead_of_a_stream_is_an_error(fake_openai, client):
    # OpenRouter may answer 200 with the error in the body (docs/protocols.md §2.7).
    fake_openai.script(Reply.json({"error": {"code": 402, "message": "Insufficient credits"}}))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert len(events) == 1 and isinstance(events[0], StreamFailed) and "Insufficient credits" in events[0].message


async def test_a_whole_json_completion_instead_of_a_stream_is_named(fake_openai, client):
    fake_openai.script(Reply.json({"id": "x", "object": "chat.completion", "choices": []}))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert events[0].kind == "bad_response" and "instead of a stream" in events[0].message


async def test_chunks_of_an_unexpected_shape_end_the_answer_with_a_sentence(fake_openai, client):
    fake_openai.script(Reply.stream([sse_bytes(FakeOpenAI.chunk({"content": "ok"})),
                                     sse_bytes({"choices": ["not an object"]})], "text/event-stream"))
    events = await collect(adapter_for(fake_openai, client).stream(REQUEST, KEY))
    assert text_of(events) == "ok" and events[-1].kind == "bad_response"
