"""ChatSession: persistence of every turn, transactional switches, reopening, and context trimming."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeOpenAI
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.errors import ResolutionError
from tui_agent.core.chat import ModelInfo
from tui_agent.core.events import Done, StreamFailed, TextDelta
from tui_agent.service.agent import AgentService

KEY = "sk-test-0123456789abcdefghijKLMN"


@pytest.fixture
async def service(isolated_home: Path, monkeypatch):
    with FakeOpenAI(api_key=KEY) as fake:
        (isolated_home / "config.toml").write_text(
            f'[providers.gw]\nkind = "openai-chat"\nbase_url = "{fake.base_url}"\nauth = "api-key"\napi_key_env = "GW_KEY"\n'
            '[profiles.a]\nprovider = "gw"\nmodel = "gpt-test"\n'
            '[profiles.b]\nprovider = "gw"\nmodel = "gpt-test-mini"\n'
            '[profiles.broken]\nprovider = "openai"\nmodel = "gpt-4o"\n'
        )
        monkeypatch.setenv("GW_KEY", KEY)
        paths = Paths.resolve()
        svc = AgentService(load_config(paths.config_file), paths)
        svc.fake = fake
        yield svc
        await svc.aclose()


async def drain(stream):
    return [event async for event in stream]


async def test_a_sent_turn_and_its_answer_are_stored_with_the_profile(service):
    session = service.chat_session("a")
    service.fake.script(FakeOpenAI.answer("Hi ", "there"))
    events = await drain(session.send("hello"))
    assert isinstance(events[-1], Done)
    stored = await service.history.messages(session.conversation_id)
    assert [(m.role, m.content, m.status) for m in stored] == [("user", "hello", "complete"), ("assistant", "Hi there", "complete")]
    assert stored[1].profile == "a" and stored[1].model == "gpt-test"


async def test_the_second_turn_sends_the_whole_conversation(service):
    session = service.chat_session("a")
    service.fake.script(FakeOpenAI.answer("one"), FakeOpenAI.answer("two"))
    await drain(session.send("first"))
    await drain(session.send("second"))
    sent = service.fake.chat_requests[-1].json["messages"]
    assert sent == [
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "one"}, {"role": "user", "content": "second"},
    ]


async def test_a_stopped_answer_keeps_what_arrived_marked_stopped(service):
    session = service.chat_session("a")
    service.fake.script(FakeOpenAI.answer("partial", " more", pause_after=3))
    stream = session.send("hello")
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()  # what Escape does: the worker is cancelled and the generator closed
    stored = await service.history.messages(session.conversation_id)
    assert (stored[-1].content, stored[-1].status) == ("partial", "stopped")
    service.fake.release()


async def test_an_error_answer_is_stored_with_its_sentence(service, monkeypatch):
    monkeypatch.setenv("GW_KEY", "sk-wrong-0000000000000000000000")
    session = service.chat_session("a")
    events = await drain(session.send("hello"))
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "auth"
    stored = await service.history.messages(session.conversation_id)
    assert stored[-1].status == "error" and "tui-agent login gw" in stored[-1].error


async def test_a_switch_that_does_not_resolve_keeps_the_current_profile(service):
    session = service.chat_session("a")
    with pytest.raises(ResolutionError):
        session.switch("nope")
    assert session.profile == "a"
    session.switch("b")
    assert session.profile == "b"


async def test_reopening_restores_messages_and_the_profile_of_the_last_answer(service):
    session = service.chat_session("a")
    service.fake.script(FakeOpenAI.answer("from a"), FakeOpenAI.answer("from b"))
    await drain(session.send("q1"))
    session.switch("b")
    await drain(session.send("q2"))
    reopened = service.chat_session("a")
    stored = await reopened.open(session.conversation_id)
    assert [m.profile for m in stored if m.role == "assistant"] == ["a", "b"]
    assert reopened.profile == "b"
    assert [m.content for m in reopened.messages] == ["q1", "from a", "q2", "from b"]


async def test_the_oldest_turns_are_cut_when_the_context_window_is_known(service):
    session = service.chat_session("a")
    service.fake.script(*(FakeOpenAI.answer("x" * 400) for _ in range(3)))
    for n in range(3):
        await drain(session.send(f"question {n} " + "y" * 400))
    service._models_cache["gw"] = [ModelInfo(provider="gw", id="gpt-test", context_window=700)]
    service.fake.script(FakeOpenAI.answer("ok"))
    await drain(session.send("last"))
    sent = service.fake.chat_requests[-1].json["messages"]
    assert sent[-1] == {"role": "user", "content": "last"}
    assert len(sent) < 7
    assert session.last_trim is not None and session.last_trim.turns_cut >= 1
