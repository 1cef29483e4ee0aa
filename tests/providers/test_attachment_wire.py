"""Text and image attachments on the wire, per wire kind: the body our adapter sends equals what the official
client library sends for the same content, and a server's refusal reaches the user as its own sentence."""

from __future__ import annotations

import base64

import anthropic
import ollama
import openai

from tests.fakes import FakeAnthropic, FakeOllama, FakeOpenAI
from tui_agent.core.credentials import NO_CREDENTIAL, Credential
from tui_agent.providers.anthropic import AnthropicAdapter
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.core.events import StreamFailed
from tui_agent.providers.ollama import OllamaAdapter
from tui_agent.providers.openai_chat import OpenAIChatAdapter
from tui_agent.service.attachments import prepare

from .conftest import collect, make_provider, text_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
PNG_B64 = base64.b64encode(PNG).decode()


def _prepared(tmp_path):
    (tmp_path / "notes.md").write_text("# Notes\nuse ``` fences\n", encoding="utf-8")
    (tmp_path / "shot.png").write_bytes(PNG)
    return prepare("compare @notes.md with @./shot.png", cwd=tmp_path)


def _request(model: str, prepared) -> ChatRequest:
    message = ChatMessage("user", prepared.content, tuple(a.image_part() for a in prepared.images))
    return ChatRequest(model, [message])


async def test_anthropic_sends_image_blocks_and_the_fenced_text_as_the_sdk_does(client, tmp_path):
    prepared = _prepared(tmp_path)
    assert "notes.md:\n````markdown\n# Notes\nuse ``` fences\n````" in prepared.content
    with FakeAnthropic(api_key="sk-ant-fake-key") as fake:
        fake.script(FakeAnthropic.answer("seen"), FakeAnthropic.answer("seen"))
        content = [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
            {"type": "text", "text": prepared.content},
        ]
        sdk = anthropic.Anthropic(api_key="sk-ant-fake-key", base_url=fake.base_url, max_retries=0)
        with sdk.messages.stream(model="m", max_tokens=64, messages=[{"role": "user", "content": content}]) as s:
            "".join(s.text_stream)
        adapter = AnthropicAdapter(make_provider("anthropic-messages", fake.base_url), client)
        events = await collect(adapter.stream(_request("m", prepared), Credential("api-key", "sk-ant-fake-key")))
        sdk_body, our_body = (r.json for r in fake.chat_requests)
        assert text_of(events) == "seen"
        assert our_body["messages"] == sdk_body["messages"] == [{"role": "user", "content": content}]


async def test_openai_sends_text_and_image_url_parts_as_the_sdk_does(client, tmp_path):
    prepared = _prepared(tmp_path)
    with FakeOpenAI(api_key="sk-fake") as fake:
        fake.script(FakeOpenAI.answer("seen"), FakeOpenAI.answer("seen"))
        content = [
            {"type": "text", "text": prepared.content},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        ]
        sdk = openai.OpenAI(api_key="sk-fake", base_url=fake.base_url, max_retries=0)
        list(sdk.chat.completions.create(model="m", stream=True, messages=[{"role": "user", "content": content}]))
        adapter = OpenAIChatAdapter(make_provider("openai-chat", fake.base_url), client)
        events = await collect(adapter.stream(_request("m", prepared), Credential("api-key", "sk-fake")))
        sdk_body, our_body = (r.json for r in fake.chat_requests)
        assert text_of(events) == "seen"
        assert our_body["messages"] == sdk_body["messages"] == [{"role": "user", "content": content}]


async def test_ollama_sends_images_beside_the_text_as_the_sdk_does(client, tmp_path):
    prepared = _prepared(tmp_path)
    with FakeOllama() as fake:
        fake.script(FakeOllama.answer("seen"), FakeOllama.answer("seen"))
        # The SDK is given raw bytes and does the encoding itself: the comparison checks ours.
        list(ollama.Client(host=fake.base_url).chat(
            model="m", stream=True, messages=[{"role": "user", "content": prepared.content, "images": [PNG]}]
        ))
        adapter = OllamaAdapter(make_provider("ollama", fake.base_url), client)
        events = await collect(adapter.stream(_request("m", prepared), NO_CREDENTIAL))
        sdk_body, our_body = (r.json for r in fake.chat_requests)
        assert text_of(events) == "seen"
        assert our_body["messages"] == [{"role": "user", "content": prepared.content, "images": [PNG_B64]}]
        assert sdk_body["messages"][0]["images"] == [PNG_B64]


async def test_text_only_attachments_stay_a_plain_string_on_every_wire(client, tmp_path):
    (tmp_path / "a.py").write_text("print(1)\n", encoding="utf-8")
    prepared = prepare("run @a.py", cwd=tmp_path)
    with FakeOpenAI() as fake:
        fake.script(FakeOpenAI.answer("ok"))
        adapter = OpenAIChatAdapter(make_provider("openai-chat", fake.base_url), client)
        await collect(adapter.stream(_request("m", prepared), NO_CREDENTIAL))
        [body] = [r.json for r in fake.chat_requests]
        assert body["messages"] == [{"role": "user", "content": "run a.py\n\na.py:\n```python\nprint(1)\n```"}]


async def test_a_server_that_refuses_images_is_heard_in_its_own_words(client, tmp_path):
    prepared = _prepared(tmp_path)
    with FakeOpenAI() as fake:
        fake.script(FakeOpenAI.error(400, "This model does not support image inputs."))
        adapter = OpenAIChatAdapter(make_provider("openai-chat", fake.base_url), client)
        events = await collect(adapter.stream(_request("m", prepared), NO_CREDENTIAL))
        assert isinstance(events[-1], StreamFailed) and events[-1].kind == "bad_request"
        assert "This model does not support image inputs" in events[-1].message
