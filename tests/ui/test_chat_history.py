"""The chat screen and history together: every turn stored, the last conversation resumed, long ones paged."""

from __future__ import annotations

from tests.ui.support import Hold, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.service.history import HistoryStore
from tui_agent.ui.screens.chat import OPEN_PAGE
from tui_agent.ui.widgets.message import AssistantMessage, Note, UserMessage

SIZE = (100, 30)


def stored_conversation(app, pairs: int, *, profile: str = "fake") -> int:
    store = HistoryStore(app.paths.history_db)
    conv = store.create_conversation(profile=profile, provider="scripted", model="scripted-1")
    for n in range(pairs):
        store.add_message(conv.id, "user", f"question {n}")
        store.add_message(conv.id, "assistant", f"answer {n}", profile=profile, provider="scripted", model="scripted-1")
    store.close()
    return conv.id


def shown(app, cls) -> list:
    return [w for w in app.screen.conversation.children if isinstance(w, cls)]


async def test_every_turn_is_stored_as_it_completes(home):
    app, _ = make_app(home, scripts=[[TextDelta("stored "), TextDelta("answer"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("remember me")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2, "the answer")
        cid = app.screen.conversation_id
    store = HistoryStore(app.paths.history_db)
    messages = store.messages(cid)
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "remember me", "complete"), ("assistant", "stored answer", "complete"),
    ]
    assert messages[1].profile == "fake"


async def test_the_app_opens_on_the_last_conversation_with_its_profile(home):
    app, _ = make_app(home, default="claude")
    cid = stored_conversation(app, 2, profile="fake")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.conversation_id == cid, "the last conversation to open")
        await wait_until(pilot, lambda: len(shown(app, AssistantMessage)) == 2, "its answers")
        assert app.screen.profile == "fake"
        assert [m.content for m in app.screen.transcript] == ["question 0", "answer 0", "question 1", "answer 1"]


async def test_model_given_on_the_command_line_is_kept_when_resuming(home):
    app, _ = make_app(home, default="claude", model="claude")
    cid = stored_conversation(app, 1, profile="fake")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.conversation_id == cid, "the last conversation to open")
        assert app.screen.profile == "claude"


async def test_a_prompt_sent_before_the_resume_runs_is_not_replaced_by_it(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[[TextDelta("fresh "), hold, TextDelta("answer"), Done()]])
    old = stored_conversation(app, 1)
    async with app.run_test(size=SIZE) as pilot:
        assert not app.startup_settled  # the resume has not started yet
        app.screen.prompt.insert("a new question")
        await pilot.press("enter")
        await wait_until(pilot, lambda: [w.text for w in shown(app, AssistantMessage)] == ["fresh "], "the answer to start")
        await wait_until(pilot, lambda: app.startup_settled, "the deferred start-up work")
        await pilot.pause(0.1)  # the resume's history read, had it gone on
        hold.release()
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2, "the answer")
        assert app.screen.conversation_id != old
        assert [m.content for m in app.screen.transcript] == ["a new question", "fresh answer"]
        assert [w.text for w in shown(app, AssistantMessage)] == ["fresh answer"]


async def test_resume_can_be_switched_off(home):
    app, _ = make_app(home, extra="[ui]\nresume_last = false\n")
    stored_conversation(app, 1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.startup_settled, "the deferred start-up work")
        # The history is opened (and a resume would run) in the "resume" worker: wait for it to end.
        await wait_until(pilot, lambda: not [w for w in app.screen.workers if w.group == "resume"], "the resume worker")
        assert app.screen.conversation_id is None
        assert shown(app, AssistantMessage) == []


async def test_a_long_conversation_mounts_only_its_latest_messages_and_pages_older_ones(home):
    app, _ = make_app(home, extra="[ui]\nresume_last = false\n")
    cid = stored_conversation(app, 1000)  # 2,000 messages
    async with app.run_test(size=SIZE) as pilot:
        await app.screen.open_conversation(cid)
        assert len(app.screen.session.branch) == OPEN_PAGE  # only what is drawn first was read before the paint
        await pilot.pause()
        mounted = shown(app, UserMessage) + shown(app, AssistantMessage)
        assert len(mounted) == OPEN_PAGE
        assert shown(app, AssistantMessage)[-1].text == "answer 999"
        marker = app.screen.conversation.children[0]
        assert isinstance(marker, Note) and f"{2000 - OPEN_PAGE} older messages" in marker.text
        # The rest is read after that paint: the whole conversation is still what gets sent (trimmed to fit).
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2000, "the whole branch read")
        app.screen.conversation.scroll_home(animate=False)  # reaching the top loads the next page
        await wait_until(pilot, lambda: len(shown(app, UserMessage) + shown(app, AssistantMessage)) > OPEN_PAGE, "older messages")
        assert len(shown(app, UserMessage) + shown(app, AssistantMessage)) == 2 * OPEN_PAGE
        assert shown(app, UserMessage)[0].text == f"question {1000 - OPEN_PAGE}"


async def test_long_answers_mount_only_what_fills_the_screen_and_the_rest_of_the_tail_pages_in(home):
    app, _ = make_app(home, extra="[ui]\nresume_last = false\n")
    store = HistoryStore(app.paths.history_db)
    conv = store.create_conversation(profile="fake", provider="scripted", model="scripted-1")
    for n in range(OPEN_PAGE):  # answers of 60 lines: one fills the screen
        store.add_message(conv.id, "user", f"question {n}")
        body = "\n\n".join(f"line {i} of answer {n}" for i in range(60))
        store.add_message(conv.id, "assistant", body, profile="fake", provider="scripted", model="scripted-1")
    store.close()
    async with app.run_test(size=SIZE) as pilot:
        await app.screen.open_conversation(conv.id)
        await pilot.pause()
        mounted = shown(app, UserMessage) + shown(app, AssistantMessage)
        assert 0 < len(mounted) < OPEN_PAGE
        assert shown(app, AssistantMessage)[-1].text.startswith("line 0 of answer 9")
        conversation = app.screen.conversation
        assert conversation.max_scroll_y > 0  # what is drawn still fills the screen: scrolling up pages in
        assert f"{2 * OPEN_PAGE - len(mounted)} older messages" in conversation.children[0].text
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2 * OPEN_PAGE, "the whole branch read")
        conversation.scroll_home(animate=False)
        await wait_until(pilot, lambda: len(shown(app, UserMessage) + shown(app, AssistantMessage)) > len(mounted), "the next page")
        # A page more, in order, right above what was drawn.
        assert len(shown(app, UserMessage) + shown(app, AssistantMessage)) == len(mounted) + OPEN_PAGE
        prompts = [w.text for w in shown(app, UserMessage)]
        assert prompts == [f"question {n}" for n in range(OPEN_PAGE - len(prompts), OPEN_PAGE)]


async def test_opening_from_the_history_screen(home):
    app, _ = make_app(home, extra="[ui]\nresume_last = false\n")
    cid = stored_conversation(app, 1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: getattr(app.screen, "loaded", False), "the history list")
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: getattr(app.screen, "conversation_id", None) == cid, "the conversation to open")
        assert shown(app, AssistantMessage)[-1].text == "answer 0"


async def test_the_welcome_action_opens_the_model_picker(home):
    from tui_agent.ui.screens.model_picker import ModelPicker

    app, _ = make_app(home, default=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert isinstance(app.screen, ModelPicker)


async def test_a_long_live_conversation_keeps_the_dom_bounded(home, monkeypatch):
    import tui_agent.ui.screens.chat as chat

    monkeypatch.setattr(chat, "MAX_MOUNTED", 6)
    turns = 6
    app, _ = make_app(home, scripts=[[TextDelta(f"answer {n}"), Done()] for n in range(turns)], extra="[ui]\nresume_last = false\n")
    async with app.run_test(size=SIZE) as pilot:
        for n in range(turns):
            app.screen.prompt.insert(f"question {n}")
            await pilot.press("enter")
            await wait_until(pilot, lambda: len(app.screen.transcript) == 2 * (n + 1), f"answer {n}")
            await wait_until(pilot, lambda: not app.screen.is_streaming, "the end of the answer")
        await pilot.pause()
        mounted = shown(app, UserMessage) + shown(app, AssistantMessage)
        assert len(mounted) == 6
        assert shown(app, AssistantMessage)[-1].text == f"answer {turns - 1}"
        marker = app.screen.conversation.children[0]
        assert isinstance(marker, Note) and "6 older messages" in marker.text
        assert len(app.screen.transcript) == 2 * turns  # what is sent is untouched by what is drawn
        await pilot.press("pageup")  # everything fits on screen here, so PageUp at the top asks for more
        await wait_until(pilot, lambda: len(shown(app, UserMessage)) > 3, "older messages back")
        assert shown(app, UserMessage)[0].text.startswith("question ")


async def test_a_resumed_answer_that_did_not_finish_says_so_in_a_whole_sentence(home):
    app, _ = make_app(home)
    store = HistoryStore(app.paths.history_db)
    conv = store.create_conversation(profile="fake", provider="scripted", model="scripted-1")
    store.add_message(conv.id, "user", "one")
    store.add_message(conv.id, "assistant", "part", status="interrupted", profile="fake", provider="scripted", model="scripted-1")
    store.add_message(conv.id, "user", "two")
    store.add_message(conv.id, "assistant", "half", status="stopped", profile="fake", provider="scripted", model="scripted-1")
    store.close()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(shown(app, AssistantMessage)) == 2, "its answers")
        texts = [n.text for n in shown(app, Note)]
        assert "The answer above was interrupted (the app ended while it streamed)." in texts, texts
        assert "The answer above was stopped." in texts, texts


async def test_a_resumed_conversation_shows_its_stored_token_usage(home):
    app, _ = make_app(home)
    store = HistoryStore(app.paths.history_db)
    conv = store.create_conversation(profile="fake", provider="scripted", model="scripted-1")
    for n, (tokens_in, tokens_out) in enumerate([(100, 20), (150, 30)]):
        store.add_message(conv.id, "user", f"question {n}")
        store.add_message(conv.id, "assistant", f"answer {n}", profile="fake", provider="scripted", model="scripted-1",
                          input_tokens=tokens_in, output_tokens=tokens_out)
    store.close()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.conversation_id == conv.id, "the last conversation to open")
        # usage is counted over the whole branch, read just after the latest messages are painted
        await wait_until(pilot, lambda: app.screen.status_panel.usage.totals.answers == 2, "the branch's usage")
        totals = app.screen.status_panel.usage.totals
        assert (totals.input_tokens, totals.output_tokens, totals.answers) == (250, 50, 2)
        assert "none yet" not in str(app.screen.status_panel.usage.render())
        assert app.screen.usage is not None and app.screen.usage.input_tokens == 150
