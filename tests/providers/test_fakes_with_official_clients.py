"""Each loopback fake checked with the official client library: it must read the fake's stream to the same text
as our adapter does — so the fakes speak the real wire format, not just what our parser happens to accept."""

from __future__ import annotations

import anthropic
import ollama
import openai
import pytest

from tests.fakes import FakeAnthropic, FakeOllama, FakeOpenAI
from tui_agent.core.credentials import NO_CREDENTIAL, Credential
from tui_agent.config.schema import ProviderConfig
from tui_agent.providers.anthropic import AnthropicAdapter
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.core.events import Done
from tui_agent.providers.ollama import OllamaAdapter
from tui_agent.providers.openai_chat import OpenAIChatAdapter

from .conftest import collect, make_provider, text_of, thinking_of

PIECES = ("Grüße", " 👋 line\u2028two", " end.")


async def test_anthropic_sdk_and_adapter_read_the_same_stream(client):
    with FakeAnthropic(api_key="sk-ant-fake-key") as fake:
        fake.script(FakeAnthropic.answer(*PIECES, thinking=["hmm"]), FakeAnthropic.answer(*PIECES, thinking=["hmm"]))
        sdk = anthropic.Anthropic(api_key="sk-ant-fake-key", base_url=fake.base_url, max_retries=0)
        with sdk.messages.stream(model="claude-test-1", max_tokens=64,
                                 messages=[{"role": "user", "content": "hi"}]) as stream:
            sdk_text = "".join(stream.text_stream)
            final = stream.get_final_message()
        adapter = AnthropicAdapter(make_provider("anthropic-messages", fake.base_url), client)
        events = await collect(adapter.stream(ChatRequest("claude-test-1", [ChatMessage("user", "hi")]),
                                              Credential("api-key", "sk-ant-fake-key")))
        assert sdk_text == text_of(events) == "".join(PIECES)
        assert final.content[0].thinking == thinking_of(events) == "hmm"
        assert final.stop_reason == "end_turn" and events[-1] == Done("end_turn")


def test_anthropic_sdk_raises_the_fakes_in_band_error():
    with FakeAnthropic() as fake:
        fake.script(FakeAnthropic.answer("partial", error=("overloaded_error", "Overloaded")))
        sdk = anthropic.Anthropic(api_key="k", base_url=fake.base_url, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as err:
            with sdk.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as s:
                "".join(s.text_stream)
        assert "overloaded_error" in str(err.value)


def test_anthropic_sdk_pages_through_the_fakes_models():
    ids = [f"claude-{i}" for i in range(5)]
    with FakeAnthropic(models=ids, page_size=2) as fake:
        sdk = anthropic.Anthropic(api_key="k", base_url=fake.base_url, max_retries=0)
        assert [m.id for m in sdk.models.list(limit=2)] == ids


async def test_openai_sdk_and_adapter_read_the_same_stream(client):
    with FakeOpenAI(api_key="sk-fake") as fake:
        reply = FakeOpenAI.answer(*PIECES, comments=True)
        fake.script(reply, reply)
        sdk = openai.OpenAI(api_key="sk-fake", base_url=fake.base_url, max_retries=0)
        chunks = list(sdk.chat.completions.create(model="gpt-test", stream=True,
                                                  stream_options={"include_usage": True},
                                                  messages=[{"role": "user", "content": "hi"}]))
        sdk_text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        adapter = OpenAIChatAdapter(make_provider("openai-chat", fake.base_url), client)
        events = await collect(adapter.stream(ChatRequest("gpt-test", [ChatMessage("user", "hi")]),
                                              Credential("api-key", "sk-fake")))
        assert sdk_text == text_of(events) == "".join(PIECES)
        assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 9
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_openai_sdk_raises_the_fakes_in_band_error_and_http_errors():
    with FakeOpenAI() as fake:
        fake.script(FakeOpenAI.answer("partial", error={"message": "boom", "type": "server_error", "code": None}),
                    FakeOpenAI.error(429, "slow down", "rate_limit_exceeded", headers={"retry-after": "1"}))
        sdk = openai.OpenAI(api_key="k", base_url=fake.base_url, max_retries=0)
        with pytest.raises(openai.APIError, match="boom"):
            list(sdk.chat.completions.create(model="m", stream=True, messages=[{"role": "user", "content": "x"}]))
        with pytest.raises(openai.RateLimitError):
            sdk.chat.completions.create(model="m", stream=True, messages=[{"role": "user", "content": "x"}])


def test_openai_sdk_lists_the_fakes_models():
    with FakeOpenAI() as fake:
        sdk = openai.OpenAI(api_key="k", base_url=fake.base_url, max_retries=0)
        assert [m.id for m in sdk.models.list()] == ["gpt-test", "gpt-test-mini"]


async def test_ollama_client_and_adapter_read_the_same_stream(client):
    with FakeOllama() as fake:
        # The fake escapes U+2028 as Ollama's Go encoder does; ollama-python would split a raw one (it reads
        # lines with httpx's iter_lines) — test_ollama_adapter covers raw separators for our reader.
        reply = FakeOllama.answer(*PIECES, thinking=["th", "ink"])
        fake.script(reply, reply)
        parts = list(ollama.Client(host=fake.base_url).chat(
            model="llama3.2:latest", messages=[{"role": "user", "content": "hi"}], stream=True))
        sdk_text = "".join(p.message.content or "" for p in parts)
        sdk_thinking = "".join(p.message.thinking or "" for p in parts)
        adapter = OllamaAdapter(make_provider("ollama", fake.base_url, local=True), client)
        events = await collect(adapter.stream(ChatRequest("llama3.2:latest", [ChatMessage("user", "hi")]), NO_CREDENTIAL))
        assert sdk_text == text_of(events) == "".join(PIECES)
        assert sdk_thinking == thinking_of(events) == "think"
        assert parts[-1].done and parts[-1].eval_count == 282 and parts[-1].done_reason == "stop"


def test_ollama_client_raises_the_fakes_errors_and_lists_its_models():
    with FakeOllama(loaded=["qwen3:8b"]) as fake:
        fake.script(FakeOllama.answer("x", error="the model failed"))
        sdk = ollama.Client(host=fake.base_url)
        with pytest.raises(ollama.ResponseError, match="the model failed"):
            list(sdk.chat(model="llama3.2:latest", messages=[{"role": "user", "content": "hi"}], stream=True))
        with pytest.raises(ollama.ResponseError, match="not found"):
            sdk.chat(model="missing:1b", messages=[{"role": "user", "content": "hi"}])
        assert [m.model for m in sdk.list().models] == ["llama3.2:latest", "qwen3:8b"]
        assert [m.model for m in sdk.ps().models] == ["qwen3:8b"]


# --- settings and reasoning: our bodies carry each field exactly as the official client encodes it ---------

SETTINGS_KEYS = ("system", "temperature", "top_p", "max_tokens", "max_completion_tokens", "thinking",
                 "reasoning_effort", "reasoning", "think", "options")


def _settings_of(body: dict) -> dict:
    """The settings part of a request body (and an OpenAI-style system message, where there is one)."""
    found = {key: body[key] for key in SETTINGS_KEYS if key in body}
    first = (body.get("messages") or [{}])[0]
    if first.get("role") == "system":
        found["system message"] = first["content"]
    return found


async def test_anthropic_sdk_and_adapter_send_thinking_and_parameters_alike(client):
    with FakeAnthropic() as fake:
        sdk = anthropic.Anthropic(api_key="k", base_url=fake.base_url, max_retries=0)
        # (This SDK release has dropped the sampling parameters from `stream()`; their names are checked elsewhere.)
        with sdk.messages.stream(model="claude-test-1", max_tokens=1024 + 8192, system="Be terse.",
                                 thinking={"type": "enabled", "budget_tokens": 1024},
                                 messages=[{"role": "user", "content": "hi"}]) as stream:
            "".join(stream.text_stream)
        adapter = AnthropicAdapter(make_provider("anthropic-messages", fake.base_url), client)
        request = ChatRequest("claude-test-1", [ChatMessage("user", "hi")], system="Be terse.", reasoning="low")
        await collect(adapter.stream(request, Credential("api-key", "k")))
        sdk_body, our_body = (r.json for r in fake.chat_requests)
        assert _settings_of(our_body) == _settings_of(sdk_body) != {}


async def test_openai_sdk_and_adapter_send_reasoning_effort_and_parameters_alike(client):
    with FakeOpenAI() as fake:
        sdk = openai.OpenAI(api_key="k", base_url=fake.base_url, max_retries=0)
        list(sdk.chat.completions.create(model="gpt-test", stream=True, reasoning_effort="high", temperature=0.5,
                                         top_p=0.9, max_tokens=64, stream_options={"include_usage": True},
                                         messages=[{"role": "system", "content": "Be terse."},
                                                   {"role": "user", "content": "hi"}]))
        adapter = OpenAIChatAdapter(make_provider("openai-chat", fake.base_url), client)
        request = ChatRequest("gpt-test", [ChatMessage("user", "hi")], system="Be terse.", temperature=0.5, top_p=0.9,
                              max_tokens=64, reasoning="high")
        await collect(adapter.stream(request, Credential("api-key", "k")))
        sdk_body, our_body = (r.json for r in fake.chat_requests)
        assert _settings_of(our_body) == _settings_of(sdk_body) != {}


async def test_openai_sdk_sends_openrouters_reasoning_object_as_the_adapter_does(client):
    with FakeOpenAI() as fake:
        sdk = openai.OpenAI(api_key="k", base_url=fake.base_url, max_retries=0)
        # The SDK has no field of its own for it: OpenRouter documents passing it through `extra_body`.
        list(sdk.chat.completions.create(model="vendor/m", stream=True, extra_body={"reasoning": {"effort": "medium"}},
                                         messages=[{"role": "user", "content": "hi"}]))
        provider = ProviderConfig(id="openrouter", kind="openai-chat", base_url=fake.base_url)
        await collect(OpenAIChatAdapter(provider, client).stream(
            ChatRequest("vendor/m", [ChatMessage("user", "hi")], reasoning="medium"), Credential("api-key", "k")))
        sdk_body, our_body = (r.json for r in fake.chat_requests)
        assert _settings_of(our_body) == _settings_of(sdk_body) == {"reasoning": {"effort": "medium"}}


@pytest.mark.parametrize("reasoning, think", [("low", "low"), ("off", False)])
async def test_ollama_client_and_adapter_send_think_and_options_alike(client, reasoning, think):
    with FakeOllama() as fake:
        list(ollama.Client(host=fake.base_url).chat(
            model="llama3.2:latest", messages=[{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}],
            stream=True, think=think, options={"temperature": 0.1, "top_p": 0.5, "num_predict": 32}))
        adapter = OllamaAdapter(make_provider("ollama", fake.base_url, local=True), client)
        request = ChatRequest("llama3.2:latest", [ChatMessage("user", "hi")], system="Be terse.", temperature=0.1,
                              top_p=0.5, max_tokens=32, reasoning=reasoning)
        await collect(adapter.stream(request, NO_CREDENTIAL))
        sdk_body, our_body = (r.json for r in fake.chat_requests)
        assert _settings_of(our_body) == _settings_of(sdk_body) != {}
        assert our_body["think"] == think


async def test_ollama_client_reads_the_fakes_api_show(client):
    with FakeOllama(context_length=32768) as fake:
        shown = ollama.Client(host=fake.base_url).show("llama3.2:latest")
        assert shown.modelinfo["llama.context_length"] == 32768
        adapter = OllamaAdapter(make_provider("ollama", fake.base_url, local=True), client)
        assert await adapter.context_length("llama3.2:latest", NO_CREDENTIAL) == 32768
