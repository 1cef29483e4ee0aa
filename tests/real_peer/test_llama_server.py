"""The openai-chat adapter against a real llama-cpp-python server (scripts/real_peer_llama.sh starts it).

Marked real_peer and skipped unless TUI_AGENT_REAL_LLAMA_URL points at a running server. The model is a tiny base
model whose words are meaningless: every assertion is about the shape of the stream, never its text.
"""

from __future__ import annotations

import asyncio
import os
from typing import AsyncIterator

import httpx
import pytest

from tui_agent.core.credentials import NO_CREDENTIAL, Credential
from tui_agent.config.schema import ProviderConfig
from tui_agent.errors import AuthError
from tui_agent.providers import make_adapter
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.core.events import Done, Event, StreamFailed, TextDelta

URL = os.environ.get("TUI_AGENT_REAL_LLAMA_URL", "")
KEY = os.environ.get("TUI_AGENT_REAL_LLAMA_KEY", "")
MODEL = os.environ.get("TUI_AGENT_REAL_LLAMA_MODEL", "gemma")

pytestmark = [
    pytest.mark.real_peer,
    pytest.mark.skipif(not URL, reason="no real llama.cpp-style server: run scripts/real_peer_llama.sh"),
]

# Shaped like the built-in lmstudio provider: openai-chat, local, key optional.
PROVIDER = ProviderConfig(id="lmstudio", display_name="LM Studio", kind="openai-chat", base_url=URL or "http://127.0.0.1:9",
                          auth=["none", "api-key"], api_key_env="LM_API_TOKEN", local=True)
CREDENTIAL = Credential(kind="api-key", secret=KEY) if KEY else NO_CREDENTIAL
PROMPT = [ChatMessage("user", "Write a long story about a lighthouse keeper and the sea.")]


@pytest.fixture
async def adapter() -> AsyncIterator:
    async with httpx.AsyncClient() as client:
        yield make_adapter(PROVIDER, client)


def is_terminal(event: Event) -> bool:
    return isinstance(event, (Done, StreamFailed))


async def test_discovery_lists_the_served_model(adapter):
    # Falls through LM Studio's /api/v1 and /api/v0 (404 here) to /v1/models.
    models = await adapter.list_models(CREDENTIAL)
    assert [m.id for m in models] == [MODEL]


@pytest.mark.skipif(not KEY, reason="the server was started without --api_key")
async def test_a_wrong_key_is_refused_with_one_sentence(adapter):
    wrong = Credential(kind="api-key", secret="not-the-key-0000")
    with pytest.raises(AuthError) as err:
        await adapter.list_models(wrong)
    assert "Invalid API key" in str(err.value) and "tui-agent login lmstudio" in str(err.value)
    events = [e async for e in adapter.stream(ChatRequest(MODEL, PROMPT, max_tokens=8), wrong)]
    assert len(events) == 1 and isinstance(events[0], StreamFailed) and events[0].kind == "auth"


async def test_streaming_yields_real_text_deltas_then_done(adapter):
    events = [e async for e in adapter.stream(ChatRequest(MODEL, PROMPT, max_tokens=24), CREDENTIAL)]
    texts = [e for e in events if isinstance(e, TextDelta)]
    assert len(texts) >= 2 and all(e.text for e in texts)
    assert [i for i, e in enumerate(events) if is_terminal(e)] == [len(events) - 1]
    assert isinstance(events[-1], Done) and events[-1].stop_reason in ("length", "stop")


async def test_cancelling_mid_answer_stops_the_stream_and_the_server_keeps_serving(adapter):
    stream = adapter.stream(ChatRequest(MODEL, PROMPT, max_tokens=400), CREDENTIAL)
    received = []
    async for event in stream:
        received.append(event)
        if sum(isinstance(e, TextDelta) for e in received) == 3:
            break
    await stream.aclose()
    assert not any(is_terminal(e) for e in received)
    # The server dropped the cancelled generation and answers the next request in full.
    after = [e async for e in adapter.stream(ChatRequest(MODEL, PROMPT, max_tokens=8), CREDENTIAL)]
    assert isinstance(after[-1], Done)


async def test_a_task_cancelled_mid_answer_raises_cancelled_and_frees_the_server(adapter):
    first_text = asyncio.Event()

    async def consume():
        async for event in adapter.stream(ChatRequest(MODEL, PROMPT, max_tokens=400), CREDENTIAL):
            if isinstance(event, TextDelta):
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 120)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    after = [e async for e in adapter.stream(ChatRequest(MODEL, PROMPT, max_tokens=8), CREDENTIAL)]
    assert isinstance(after[-1], Done)


async def test_a_model_list_call_during_a_stream_cuts_it_and_that_reads_as_interrupted(adapter):
    # llama-cpp-python (interrupt_requests=True) ends a running stream with [DONE] and no finish_reason when
    # another request waits for the model (docs/protocols.md §5.1): the adapter must not call that a normal end.
    stream = adapter.stream(ChatRequest(MODEL, PROMPT, max_tokens=1500), CREDENTIAL)
    events: list[Event] = []
    listing = None
    async for event in stream:
        events.append(event)
        if listing is None and isinstance(event, TextDelta):
            listing = asyncio.create_task(adapter.list_models(CREDENTIAL))
    assert listing is not None
    await listing
    if isinstance(events[-1], Done):
        pytest.skip(f"the model finished ({events[-1].stop_reason}) before the interrupt reached it")
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "interrupted"
    assert any(isinstance(e, TextDelta) for e in events)


def test_tui_agent_ask_prints_real_tokens(tmp_path):
    """The whole path a user takes: config → resolver → stored key → adapter → stdout."""
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'default_profile = "studio"\n[providers.lmstudio]\nbase_url = "{URL}"\n'
        f'[profiles.studio]\nprovider = "lmstudio"\nmodel = "{MODEL}"\nmax_tokens = 24\n'
        + ('auth = "api-key"\n' if KEY else "")
    )
    env = {**os.environ, "TUI_AGENT_HOME": str(home), "TUI_AGENT_KEYRING": "file", "LM_API_TOKEN": KEY}
    proc = subprocess.run([sys.executable, "-m", "tui_agent", "ask", "Tell me about the sea."],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "no tokens were printed"
    assert proc.stderr == ""
