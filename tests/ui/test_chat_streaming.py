"""Sending, streaming, stopping and failing answers on the chat screen, through the real AgentService."""

from __future__ import annotations

from textual.widgets import Markdown

from tests.ui.support import SIZE, Hold, make_app, wait_until
from tui_agent.core.events import Done, StreamFailed, TextDelta, ThinkingDelta, Usage
from tui_agent.ui.widgets.message import AssistantMessage, UserMessage


async def type_text(pilot, text: str) -> None:
    """Enter text into the focused prompt as a paste would (one keypress each would only make the tests slow)."""
    pilot.app.screen.prompt.insert(text)
    await pilot.pause()


def answers(app) -> list[AssistantMessage]:
    return list(app.screen.query(AssistantMessage))


def answer_source(app, index: int = -1) -> str:
    return answers(app)[index].query_one(".answer", Markdown).source


async def test_header_shows_profile_provider_and_model(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        header = str(app.screen.query_one("#chat-header").render())
        assert "fake" in header and "scripted" in header and "scripted-1" in header


async def test_enter_sends_and_the_answer_streams_into_markdown(home):
    hold = Hold()
    app, adapter = make_app(home, scripts=[[TextDelta("Hello "), hold, TextDelta("**world**"), Usage(3, 2), Done("end_turn")]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "hi there")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and "Hello" in answer_source(app), "the first delta on screen")
        screen = app.screen
        assert screen.is_streaming
        assert answers(app)[0].state == "streaming"
        assert [m.text for m in screen.query(UserMessage)] == ["hi there"]
        assert screen.prompt.text == ""
        hold.release()
        await wait_until(pilot, lambda: not screen.is_streaming, "the answer to end")
        # (the Markdown's source is set when the last append starts; the state once its blocks are mounted)
        await wait_until(pilot, lambda: answers(app)[0].state == "complete", "the final render")
        assert answer_source(app) == "Hello **world**"
        assert [(m.role, m.content) for m in screen.transcript] == [("user", "hi there"), ("assistant", "Hello **world**")]
        assert [(m.role, m.content) for m in adapter.requests[0].messages] == [("user", "hi there")]
        assert adapter.requests[0].model == "scripted-1"
        assert screen.usage == Usage(3, 2)


async def test_second_prompt_carries_the_conversation(home):
    app, adapter = make_app(home, scripts=[[TextDelta("one"), Done()], [TextDelta("two"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "a")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2, "the first answer")
        await type_text(pilot, "b")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 4, "the second answer")
        sent = [(m.role, m.content) for m in adapter.requests[1].messages]
        assert sent == [("user", "a"), ("assistant", "one"), ("user", "b")]
        assert adapter.requests[0].conversation_id == adapter.requests[1].conversation_id


async def test_many_small_deltas_are_written_in_a_few_coalesced_appends(home, monkeypatch):
    pieces = [f"word{i} " for i in range(600)] + ["\n\n```python\nprint('done')\n```\n"]
    appended: list[str] = []
    original = Markdown.append

    def counting_append(self, markdown):
        if "answer" in self.classes:
            appended.append(markdown)
        return original(self, markdown)

    monkeypatch.setattr(Markdown, "append", counting_append)
    app, _ = make_app(home, scripts=[[*(TextDelta(p) for p in pieces), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer to end")
        await wait_until(pilot, lambda: answer_source(app) == "".join(pieces), "the final render")
        # One append per chunk would be 601; time-coalescing makes it a handful. Nothing is lost either way.
        assert len(appended) < 20
        assert "".join(appended) in ("", "".join(pieces)) or "".join(pieces).startswith("".join(appended))


async def test_thinking_is_shown_collapsed_above_the_answer(home):
    from textual.widgets import Collapsible

    hold = Hold()
    app, _ = make_app(home, scripts=[[ThinkingDelta("Let me "), ThinkingDelta("think."), hold, TextDelta("Answer."), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "q")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answers(app)[0].thinking_text == "Let me think.", "the thinking")
        assert str(answers(app)[0].query_one(".answer-status").render()).startswith("thinking…")
        hold.release()
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer to end")
        answer = answers(app)[0]
        await wait_until(pilot, lambda: answer.query_one(".thinking-text", Markdown).source == "Let me think.", "thinking rendered")
        collapsible = answer.query_one(Collapsible)
        assert collapsible.collapsed
        assert answer.children.index(collapsible) < answer.children.index(answer.query_one(".answer", Markdown))
        assert answer.text == "Answer."
        assert [(m.role, m.content) for m in app.screen.transcript][-1] == ("assistant", "Answer.")


async def test_escape_stops_the_answer_and_keeps_what_arrived(home):
    never = Hold()
    app, adapter = make_app(home, scripts=[[TextDelta("partial answer"), never, TextDelta("never shown"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "tell me")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answers(app)[0].text == "partial answer", "the first delta")
        await pilot.press("escape")
        answer = answers(app)[0]
        assert answer.state == "stopped"  # at once, not after the worker winds down
        assert not app.screen.is_streaming
        await wait_until(pilot, lambda: adapter.cancelled == 1, "the adapter's stream to be closed")
        await wait_until(pilot, lambda: answer_source(app) == "partial answer", "the reconcile")
        assert "stopped" in str(answer.query_one(".answer-status").render())
        assert answer.has_class("-stopped")
        assert [(m.role, m.content) for m in app.screen.transcript] == [("user", "tell me"), ("assistant", "partial answer")]
        assert app.screen.prompt.text == ""


async def test_escape_draws_what_arrived_then_marks_it_stopped_and_the_footer_drops_stop_first(home):
    from textual.widgets._footer import FooterKey

    hold, never = Hold(), Hold()
    app, _ = make_app(home, scripts=[[TextDelta("first part\n\n"), hold, TextDelta("arrived before the stop"), never, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "tell me")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answer_source(app) == "first part\n\n", "the first write")
        answer = answers(app)[0]
        seen: list[tuple[str, bool]] = []
        real_set_state = answer._set_state

        def watching(state):
            if state == "stopped":  # what is on screen when the mark goes up
                footer_stop = any(k.action == "stop" and k.display for k in app.screen.query(FooterKey))
                seen.append((answer.query_one(".answer", Markdown).source, footer_stop))
            real_set_state(state)

        answer._set_state = watching
        hold.release()
        await wait_until(pilot, lambda: answer.text.endswith("before the stop"), "the second delta")
        feed = answer._answer_feed
        if feed._timer is not None:  # as on a busy machine: the arrived text is not written yet
            feed._timer.stop()
            feed._timer = None
        await pilot.press("escape")
        await wait_until(pilot, lambda: seen, "the stopped mark")
        assert seen[0] == ("first part\n\narrived before the stop", False)


async def test_escape_before_any_text_gives_the_prompt_back(home):
    never = Hold()
    app, adapter = make_app(home, scripts=[[never, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "slow one")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(adapter.requests) == 1, "the request")
        await pilot.press("escape")
        await wait_until(pilot, lambda: adapter.cancelled == 1, "the stream to be closed")
        assert answers(app)[0].state == "stopped"
        assert app.screen.transcript == []
        assert app.screen.prompt.text == "slow one"


async def test_escape_does_nothing_when_no_answer_is_streaming(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "draft")
        await pilot.press("escape")
        assert app.screen.prompt.text == "draft"
        assert answers(app) == []


async def test_missing_key_shows_one_sentence_with_the_login_fix_and_keeps_the_prompt(home):
    app, _ = make_app(home, model="claude")
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "hello claude")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answers(app)[0].state == "error", "the error")
        answer = answers(app)[0]
        status = str(answer.query_one(".answer-status").render())
        assert "no API key for anthropic" in status
        assert "/login anthropic" in status
        assert "\n" not in answer.error
        assert app.screen.prompt.text == "hello claude"
        assert app.screen.transcript == []
        assert not app.screen.is_streaming


async def test_provider_error_mid_stream_keeps_the_text_and_says_what_failed(home):
    message = "the scripted server is overloaded (HTTP 529); try again in a minute"
    app, _ = make_app(home, scripts=[[TextDelta("half an "), StreamFailed(message, kind="overloaded", status=529)]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "try")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answers(app)[0].state == "error", "the error")
        await wait_until(pilot, lambda: answer_source(app) == "half an ", "the partial text rendered")
        assert message in str(answers(app)[0].query_one(".answer-status").render())
        assert "/login" not in answers(app)[0].error
        assert app.screen.prompt.text == "try"
        assert app.screen.transcript == []


async def test_the_user_can_type_while_an_answer_streams_and_enter_does_not_interrupt_it(home):
    hold = Hold()
    app, adapter = make_app(home, scripts=[[TextDelta("streaming"), hold, Done()], [TextDelta("second"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "first")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answers(app)[0].text == "streaming", "the first delta")
        await type_text(pilot, "next one")
        assert app.screen.prompt.text == "next one"
        await pilot.press("enter")
        assert app.screen.is_streaming
        assert len(adapter.requests) == 1
        assert app.screen.prompt.text == "next one"
        hold.release()
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the first answer to end")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 4, "the second answer")
        assert adapter.requests[1].messages[-1].content == "next one"


async def test_an_empty_answer_is_said_and_left_out_of_the_transcript(home):
    app, adapter = make_app(home, scripts=[[Done("end_turn")], [TextDelta("ok"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "anything?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answers(app)[0].state == "complete", "the empty answer")
        assert str(answers(app)[0].query_one(".answer-status").render()) == "(the model returned no text)"  # as `ask` says
        assert app.screen.transcript == []
        assert app.screen.prompt.text == "anything?"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2, "the second answer")
        assert [m.content for m in adapter.requests[1].messages] == ["anything?"]


async def test_quitting_while_an_answer_streams_closes_the_stream_and_exits(home):
    never = Hold()
    app, adapter = make_app(home, scripts=[[TextDelta("partial"), never, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answers(app)[0].text == "partial", "the first delta")
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert adapter.cancelled == 1
    assert app.return_code in (0, None)


async def test_a_saved_conversation_is_shown_rendered_and_continued(home):
    from tui_agent.service.history import HistoryStore

    answer_text = "It is **4**.\n\n```\n2+2\n```\n"
    app, adapter = make_app(home, scripts=[[TextDelta("5 is wrong"), Done()]])
    store = HistoryStore(app.paths.history_db)
    conv = store.create_conversation(profile="fake", provider="scripted", model="scripted-1")
    store.add_message(conv.id, "user", "what is 2+2?")
    store.add_message(conv.id, "assistant", answer_text, profile="fake", provider="scripted", model="scripted-1")
    store.close()
    async with app.run_test(size=SIZE) as pilot:
        await app.screen.open_conversation(conv.id)
        await pilot.pause()
        loaded = answers(app)[0]
        assert loaded.state == "complete" and loaded.text == answer_text
        assert loaded.query_one(".answer", Markdown).source == answer_text
        assert not loaded.query_one(".answer-status").display
        await pilot.press("ctrl+b")
        assert app.clipboard == "2+2\n"
        await type_text(pilot, "and 2+3?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 4, "the next answer")
        assert [m.content for m in adapter.requests[0].messages] == ["what is 2+2?", answer_text, "and 2+3?"]
        assert adapter.requests[0].conversation_id == str(conv.id)


async def test_the_copy_code_key_is_offered_once_an_answer_has_a_code_block_without_parsing_it_while_it_streams(home, monkeypatch):
    """The footer checks its keys often while an answer streams: a fence marker is enough to offer copy-code then
    (parsing the whole answer each time held the loop); once the answer ends, its parsed blocks decide."""
    from tui_agent.ui import code_blocks

    parses = []
    real = code_blocks.code_blocks
    monkeypatch.setattr(code_blocks, "code_blocks", lambda text: (parses.append(len(text)), real(text))[1])
    hold, hold2 = Hold(), Hold()
    script = [TextDelta("Some prose first.\n\n"), hold, TextDelta("```python\nprint(1)\n"), hold2,
              TextDelta("```\n\nAnd an indented one:\n\n    x = 1\n"), Done()]
    app, _ = make_app(home, scripts=[script])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "code please")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and "prose" in answers(app)[0].text, "the prose")
        screen = app.screen
        assert not screen.check_action("copy_code", ())
        hold.release()
        await wait_until(pilot, lambda: "print(1)" in answers(app)[0].text, "the fence")
        assert screen.check_action("copy_code", ())
        assert parses == []  # nothing parsed the streaming answer
        hold2.release()
        await wait_until(pilot, lambda: not screen.is_streaming and answers(app)[0].state == "complete", "the end")
        assert screen.check_action("copy_code", ())
        assert [block.code for block in answers(app)[0].code_blocks()] == ["print(1)\n", "x = 1\n"]


async def test_a_long_ended_answer_finds_its_code_blocks_in_a_worker_thread(home, monkeypatch):
    """Parsing a 5 MB answer's code blocks held the loop a quarter of a second under the first keys after it: past
    PARSE_CODE_APART_AFTER it runs in a thread, and the footer is asked again once it is done."""
    import threading

    from tui_agent.ui import code_blocks
    from tui_agent.ui.widgets import message

    threads = []
    real = code_blocks.code_blocks
    monkeypatch.setattr(code_blocks, "code_blocks", lambda text: (threads.append(threading.get_ident()), real(text))[1])
    monkeypatch.setattr(message, "PARSE_CODE_APART_AFTER", 10)
    app, _ = make_app(home, scripts=[[TextDelta("Indented only:\n\n    x = 1\n"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "code please")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) and answers(app)[0].state == "complete", "the end")
        screen = app.screen
        screen.check_action("copy_code", ())  # no fence marker: no key yet, and the parse starts apart
        await wait_until(pilot, lambda: threads, "the parse")
        assert threading.get_ident() not in threads
        await wait_until(pilot, lambda: screen.check_action("copy_code", ()), "the key, once the blocks are known")
        assert [block.code for block in answers(app)[0].code_blocks()] == ["x = 1\n"]
        assert len(threads) == 1  # parsed once
