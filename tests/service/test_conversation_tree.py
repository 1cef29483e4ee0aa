"""ChatSession as a tree over the loopback fakes: retry, edit, switch, continue, and what each request carries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeAnthropic, FakeOllama, FakeOpenAI
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.core.events import Done, TextDelta
from tui_agent.service.agent import AgentService
from tui_agent.service.chat_session import CONTINUE_PROMPT, BranchRefusal, request_messages
from tui_agent.service.history import CONTINUE_MARK

KEY = "sk-test-0123456789abcdefghijKLMN"
ANT_KEY = "sk-ant-test-0123456789abcdefghij"


@pytest.fixture
async def service(isolated_home: Path, monkeypatch):
    with FakeOpenAI(api_key=KEY) as gw, FakeAnthropic(api_key=ANT_KEY) as ant, FakeOllama() as ollama:
        (isolated_home / "config.toml").write_text(
            f'[providers.gw]\nkind = "openai-chat"\nbase_url = "{gw.base_url}"\nauth = "api-key"\napi_key_env = "GW_KEY"\n'
            f'[providers.ant]\nkind = "anthropic-messages"\nbase_url = "{ant.base_url}"\nauth = "api-key"\napi_key_env = "ANT_KEY"\n'
            f'[providers.ollama]\nbase_url = "{ollama.base_url}"\n'
            '[profiles.a]\nprovider = "gw"\nmodel = "gpt-test"\n'
            '[profiles.b]\nprovider = "gw"\nmodel = "gpt-test-mini"\n'
            '[profiles.claude]\nprovider = "ant"\nmodel = "claude-test-1"\n'
            '[profiles.local]\nprovider = "ollama"\nmodel = "llama3.2:latest"\n'
        )
        monkeypatch.setenv("GW_KEY", KEY)
        monkeypatch.setenv("ANT_KEY", ANT_KEY)
        paths = Paths.resolve()
        svc = AgentService(load_config(paths.config_file), paths)
        svc.gw, svc.ant, svc.ollama = gw, ant, ollama
        yield svc
        await svc.aclose()


async def drain(stream):
    return [event async for event in stream]


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_retry_with_another_profile_asks_the_same_prompt_and_makes_a_sibling(service):
    session = service.chat_session("a")
    service.gw.script(FakeOpenAI.answer("one"), FakeOpenAI.answer("two"), FakeOpenAI.answer("2b"))
    await drain(session.send("first"))
    await drain(session.send("second"))
    old_answer = session.branch[-1]

    events = await drain(session.retry(service.resolve("b")))
    assert isinstance(events[-1], Done)
    request = service.gw.chat_requests[-1].json
    assert request["model"] == "gpt-test-mini"
    assert request["messages"] == [
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "one"}, {"role": "user", "content": "second"},
    ]
    new_answer = session.branch[-1]
    assert (new_answer.content, new_answer.profile, new_answer.parent_id) == ("2b", "b", old_answer.parent_id)
    marks = await session.branch_marks()
    assert marks == {new_answer.id: (2, 2)}
    assert session.messages[-1].content == "2b"

    # Back to the first answer: nothing was lost, and the next turn follows the branch shown.
    tail, older = await session.switch_sibling(new_answer.id, -1, 10)
    assert tail[-1].id == old_answer.id and older == 0
    assert await session.branch_marks() == {old_answer.id: (1, 2)}
    with pytest.raises(BranchRefusal, match="first of its 2 versions"):
        await session.switch_sibling(old_answer.id, -1, 10)
    service.gw.script(FakeOpenAI.answer("three"))
    await drain(session.send("third"))
    assert [m["content"] for m in service.gw.chat_requests[-1].json["messages"]] == ["first", "one", "second", "two", "third"]


async def test_edit_sends_the_new_prompt_from_the_same_point_and_keeps_the_old_branch(service):
    session = service.chat_session("a")
    service.gw.script(FakeOpenAI.answer("one"), FakeOpenAI.answer("two"), FakeOpenAI.answer("two, edited"))
    await drain(session.send("first"))
    await drain(session.send("second"))
    prompt = session.prompt_to_edit()
    assert prompt.content == "second"

    await drain(session.edit(prompt.id, "second, better"))
    assert [m["content"] for m in service.gw.chat_requests[-1].json["messages"]] == ["first", "one", "second, better"]
    assert [m.content for m in session.branch] == ["first", "one", "second, better", "two, edited"]
    stored = await service.history.messages(session.conversation_id)
    assert len(stored) == 6  # the old prompt and its answer are still there
    marks = await session.branch_marks()
    assert list(marks.values()) == [(2, 2)]

    # Editing the first prompt (chosen by its id): the new branch starts from nothing before it.
    first = session.branch[0]
    service.gw.script(FakeOpenAI.answer("uno"))
    await drain(session.edit(first.id, "primero"))
    assert service.gw.chat_requests[-1].json["messages"] == [{"role": "user", "content": "primero"}]


async def test_edit_and_retry_on_an_empty_conversation_say_so(service):
    session = service.chat_session("a")
    with pytest.raises(BranchRefusal, match="conversation is empty"):
        session.prompt_to_edit()
    with pytest.raises(BranchRefusal, match="nothing in this conversation"):
        await drain(session.retry())
    assert session.continue_check() == "There is no answer to continue yet."


async def test_continue_on_openai_compatible_asks_with_a_user_turn_and_appends(service):
    session = service.chat_session("a")
    service.gw.script(FakeOpenAI.answer("The tides ", "are", finish_reason="length"), FakeOpenAI.answer(" caused by the moon."))
    await drain(session.send("why tides?"))
    assert session.branch[-1].stop_reason == "length"
    assert session.continue_check() == ""
    assert session.plan_continue().how == "ask"

    events = await drain(session.continue_answer())
    assert text_of(events) == " caused by the moon."
    assert service.gw.chat_requests[-1].json["messages"] == [
        {"role": "user", "content": "why tides?"},
        {"role": "assistant", "content": "The tides are"},
        {"role": "user", "content": CONTINUE_PROMPT},
    ]
    answer = session.branch[-1]
    assert answer.content == "The tides are caused by the moon."
    assert answer.continued_at == (len("The tides are"),) and answer.status == "complete"
    assert len(session.branch) == 2  # the same answer grew; the fallback turn is not stored
    assert session.continue_check() == "There is nothing to continue: the last answer is complete."
    # The next request carries the whole answer as one turn.
    assert [m.content for m in session.messages] == ["why tides?", "The tides are caused by the moon."]
    markdown = await service.history.export_markdown(session.conversation_id)
    assert "The tides are" + CONTINUE_MARK + " caused by the moon." in markdown


async def test_continue_on_anthropic_prefills_the_answer_without_trailing_space(service):
    session = service.chat_session("claude")
    service.ant.script(FakeAnthropic.answer("Roses are red, ", stop_reason="max_tokens"), FakeAnthropic.answer("violets are blue."))
    await drain(session.send("a poem"))
    assert session.plan_continue().how == "prefill"
    await drain(session.continue_answer())
    assert service.ant.chat_requests[-1].json["messages"] == [
        {"role": "user", "content": "a poem"}, {"role": "assistant", "content": "Roses are red,"},
    ]
    assert session.branch[-1].content == "Roses are red, violets are blue."


async def test_continue_on_anthropic_with_thinking_falls_back_to_asking(service):
    session = service.chat_session("claude")
    service.ant.script(FakeAnthropic.answer("Half", thinking=["let me think"], stop_reason="max_tokens"), FakeAnthropic.answer(" done"))
    await drain(session.send("think"))
    plan = session.plan_continue()
    assert plan.how == "ask" and "extended thinking" in plan.note
    await drain(session.continue_answer())
    messages = service.ant.chat_requests[-1].json["messages"]
    assert messages[-1] == {"role": "user", "content": CONTINUE_PROMPT}


async def test_continue_on_ollama_sends_a_trailing_assistant_message(service):
    session = service.chat_session("local")
    service.ollama.script(FakeOllama.answer("Once upon", done_reason="length"), FakeOllama.answer(" a time."))
    await drain(session.send("a story"))
    await drain(session.continue_answer())
    sent = service.ollama.chat_requests[-1].json["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [("user", "a story"), ("assistant", "Once upon")]
    assert session.branch[-1].content == "Once upon a time."


async def test_a_stopped_answer_can_be_continued_and_a_failed_continue_leaves_it_as_it_was(service):
    session = service.chat_session("a")
    service.gw.script(FakeOpenAI.answer("partial", " more", pause_after=3))
    stream = session.send("hello")
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()
    service.gw.release()
    assert session.branch[-1].status == "stopped" and session.continue_check() == ""

    service.gw.script(FakeOpenAI.error(400, "boom"))
    await drain(session.continue_answer())
    after = await service.history.get_message(session.branch[-1].id)
    assert (after.content, after.status) == ("partial", "stopped")


def test_a_failed_answer_and_its_prompt_are_not_sent_again():
    from datetime import datetime, timezone

    from tui_agent.service.history import Message

    now = datetime.now(timezone.utc)

    def msg(i, role, content, status="complete"):
        return Message(i, 1, role, content, status, now, now)

    branch = [msg(1, "user", "q1"), msg(2, "assistant", "half", "error"), msg(3, "user", "q2"), msg(4, "assistant", "a2")]
    assert [m.content for m in request_messages(branch)] == ["q2", "a2"]


async def test_opening_a_search_hit_on_another_branch_shows_that_branch(service):
    session = service.chat_session("a")
    service.gw.script(FakeOpenAI.answer("the zebra answer"), FakeOpenAI.answer("a plain answer"))
    await drain(session.send("animals?"))
    await drain(session.retry())
    [hit] = await service.history.search("zebra")
    reopened = service.chat_session("a")
    branch = await reopened.open(session.conversation_id, hit.message_id)
    assert branch[-1].content == "the zebra answer"
    assert [m.content for m in reopened.messages] == ["animals?", "the zebra answer"]


async def test_a_conversation_reopened_by_its_tail_still_sends_and_counts_the_whole_branch(service):
    session = service.chat_session("a")
    service.gw.script(*(FakeOpenAI.answer(f"answer {n}") for n in range(3)))
    for n in range(3):
        await drain(session.send(f"question {n}"))
    whole = list(session.branch)

    reopened = service.chat_session("b")
    tail, older = await reopened.open_tail(session.conversation_id, 2)
    assert tail == whole[-2:] and older == 4
    assert reopened.profile == "a"  # the profile of the last answer, found in the tail
    assert reopened.branch == tail  # nothing older read yet

    # The next request carries everything before it, read when it is needed.
    service.gw.script(FakeOpenAI.answer("answer 3"))
    await drain(reopened.send("question 3"))
    assert [m["content"] for m in service.gw.chat_requests[-1].json["messages"]] == [
        *(m.content for m in whole), "question 3",
    ]
    assert [m.content for m in reopened.branch] == [*(m.content for m in whole), "question 3", "answer 3"]

    # Sibling marks see the whole branch too.
    again = service.chat_session("a")
    await again.open_tail(session.conversation_id, 2)
    service.gw.script(FakeOpenAI.answer("answer 3b"))
    await drain(again.retry())
    assert list((await again.branch_marks()).values()) == [(2, 2)]
    assert [m.content for m in await again.whole_branch()][-3:] == ["answer 2", "question 3", "answer 3b"]
