"""Conversation trees on the chat screen: retry, edit, continue, sibling switches, through the real service."""

from __future__ import annotations

from textual.widgets import Markdown

from tests.ui.support import SIZE, Hold, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.service.chat_session import CONTINUE_PROMPT
from tui_agent.service.history import CONTINUE_MARK
from tui_agent.ui.branching import EDITING_TITLE, STOP_FIRST
from tui_agent.ui.widgets.message import AssistantMessage, Note, UserMessage

SECOND_PROFILE = '\n[profiles.fake2]\nprovider = "scripted"\nmodel = "scripted-2"\n'


def answers(app) -> list[AssistantMessage]:
    return list(app.screen.query(AssistantMessage))


def sources(app) -> list[str]:
    return [a.query_one(".answer", Markdown).source for a in answers(app)]


def notes(app) -> list[str]:
    return [n.text for n in app.screen.query(Note)]


def sent(request) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in request.messages]


async def say(pilot, text: str) -> None:
    screen = pilot.app.screen
    screen.prompt.insert(text)
    await pilot.press("enter")
    await settle(pilot)


async def settle(pilot) -> None:
    screen = pilot.app.screen
    await wait_until(pilot, lambda: not screen.is_streaming and screen.session is not None, "the answer to end")
    await pilot.pause()


async def two_turns(pilot) -> None:
    await say(pilot, "first")
    await say(pilot, "second")


async def test_retry_asks_the_last_prompt_again_and_siblings_switch_both_ways(home):
    app, adapter = make_app(home, scripts=[[TextDelta("one"), Done()], [TextDelta("two"), Done()], [TextDelta("two again"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await two_turns(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert sent(adapter.requests[-1]) == [("user", "first"), ("assistant", "one"), ("user", "second")]
        assert sources(app) == ["one", "two again"]
        assert answers(app)[-1].mark == (2, 2)
        assert "‹ 2/2 ›" in str(answers(app)[-1].query_one(".answer-meta").render())
        assert "fake · scripted · scripted-1" in str(answers(app)[-1].query_one(".answer-meta").render())

        await pilot.press("alt+left")
        await wait_until(pilot, lambda: sources(app) == ["one", "two"], "the first version back")
        assert answers(app)[-1].mark == (1, 2)
        await pilot.press("alt+left")  # already the first: says so, changes nothing
        await pilot.pause()
        assert sources(app) == ["one", "two"]
        await pilot.press("alt+right")
        await wait_until(pilot, lambda: sources(app) == ["one", "two again"], "the second version again")
        stored = await app.service.history.messages(app.screen.conversation_id)
        assert len(stored) == 5  # nothing was deleted


async def test_retry_with_another_profile_names_it_on_the_answer_and_keeps_the_active_one(home):
    app, adapter = make_app(home, extra=SECOND_PROFILE, scripts=[[TextDelta("one"), Done()], [TextDelta("uno"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await say(pilot, "first")
        await say(pilot, "/retry nobody")
        assert any("nobody" in n and "nothing was asked" in n for n in notes(app))
        assert len(adapter.requests) == 1
        await say(pilot, "/retry fake2")
        assert adapter.requests[-1].model == "scripted-2"
        assert sent(adapter.requests[-1]) == [("user", "first")]
        assert "fake2 · scripted · scripted-2" in str(answers(app)[-1].query_one(".answer-meta").render())
        assert app.screen.profile == "fake"  # the comparison does not switch the conversation's profile


async def test_edit_brings_the_prompt_back_and_sending_makes_a_sibling_branch(home):
    app, adapter = make_app(home, scripts=[[TextDelta("one"), Done()], [TextDelta("two"), Done()], [TextDelta("two, edited"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await two_turns(pilot)
        await pilot.press("f4")
        assert screen.prompt.text == "second"
        assert screen.prompt.border_title == EDITING_TITLE
        screen.prompt.insert(", better")
        await pilot.press("enter")
        await settle(pilot)
        assert sent(adapter.requests[-1]) == [("user", "first"), ("assistant", "one"), ("user", "second, better")]
        assert [m.text for m in screen.query(UserMessage)] == ["first", "second, better"]
        assert screen.query(UserMessage).last().mark == (2, 2)
        assert sources(app) == ["one", "two, edited"]
        assert screen.prompt.border_title in (None, "")


async def test_an_earlier_prompt_is_selected_then_edited(home):
    app, adapter = make_app(home, scripts=[[TextDelta("one"), Done()], [TextDelta("two"), Done()], [TextDelta("uno"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await two_turns(pilot)
        for _ in range(4):  # answer two, prompt two, answer one, prompt one
            await pilot.press("alt+up")
        assert screen._selected.text == "first"
        await pilot.press("f4")
        assert screen.prompt.text == "first"
        screen.prompt.clear()
        screen.prompt.insert("primero")
        await pilot.press("enter")
        await settle(pilot)
        assert sent(adapter.requests[-1]) == [("user", "primero")]
        assert [m.text for m in screen.query(UserMessage)] == ["primero"]


async def test_escape_leaves_edit_mode_and_the_next_prompt_is_new(home):
    app, adapter = make_app(home, scripts=[[TextDelta("one"), Done()], [TextDelta("two"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await say(pilot, "first")
        await pilot.press("f4")
        await pilot.press("escape")
        assert screen.prompt.text == "" and screen._editing is None
        await say(pilot, "next")
        assert sent(adapter.requests[-1]) == [("user", "first"), ("assistant", "one"), ("user", "next")]


async def test_edit_on_an_empty_conversation_says_so(home):
    app, adapter = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")  # greyed in the footer: nothing happens
        await say(pilot, "/edit")
        assert "There is nothing to edit: the conversation is empty." in notes(app)
        await say(pilot, "/retry")
        await say(pilot, "/continue")
        assert "There is no prompt to ask again yet." in notes(app)
        assert "There is no answer to continue yet." in notes(app)
        assert adapter.requests == []


async def test_continue_after_a_cut_answer_asks_with_a_user_turn_and_appends_with_a_mark(home):
    app, adapter = make_app(home, scripts=[[TextDelta("The tides are"), Done("length")], [TextDelta(" caused by the moon."), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await say(pilot, "why tides?")
        assert screen.check_action("continue", ()) is True
        await pilot.press("f8")
        await settle(pilot)
        assert sent(adapter.requests[-1]) == [
            ("user", "why tides?"), ("assistant", "The tides are"), ("user", CONTINUE_PROMPT),
        ]
        assert sources(app) == ["The tides are" + CONTINUE_MARK + " caused by the moon."]
        assert [(m.role, m.content) for m in screen.transcript] == [("user", "why tides?"), ("assistant", "The tides are caused by the moon.")]
        assert screen.check_action("continue", ()) is False
        await say(pilot, "/continue")
        assert "There is nothing to continue: the last answer is complete." in notes(app)

        # The mark survives a reopen.
        await screen.open_conversation(screen.conversation_id)
        await pilot.pause()
        assert sources(app) == ["The tides are" + CONTINUE_MARK + " caused by the moon."]


async def test_retry_continue_and_switching_while_streaming_are_refused(home):
    hold = Hold()
    app, adapter = make_app(home, scripts=[[TextDelta("one"), Done()], [TextDelta("two"), Done()], [TextDelta("2b"), Done()], [TextDelta("partial"), hold, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await two_turns(pilot)
        await pilot.press("f5")
        await settle(pilot)
        screen.prompt.insert("third")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "partial" in sources(app)[-1], "the streaming answer")
        await screen.run_command("/retry")
        await screen.run_command("/continue")
        await screen.action_sibling_prev()
        assert notes(app).count(STOP_FIRST) == 2
        assert any("before switching branch" in n for n in notes(app))
        assert len(adapter.requests) == 4
        hold.release()
        await settle(pilot)


async def test_switching_to_a_long_branch_draws_its_tail_first_then_pages_and_sends_it_whole(home):
    from tui_agent.ui.screens.chat import OPEN_PAGE

    app, adapter = make_app(home, scripts=[[TextDelta("next"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        store = app.service.history.store
        conv = store.create_conversation()
        q1 = store.add_message(conv.id, "user", "root")
        a1 = store.add_message(conv.id, "assistant", "long branch", profile="fake")
        for i in range(150):
            store.add_message(conv.id, "user", f"q{i}")
            store.add_message(conv.id, "assistant", f"a{i}", profile="fake")
        store.add_message(conv.id, "assistant", "short branch", profile="fake", parent_id=q1.id)
        screen = app.screen
        await screen.open_conversation(conv.id)
        await pilot.pause()
        assert sources(app) == ["short branch"]
        await wait_until(pilot, lambda: bool(screen._marks), "the sibling marks, read after the first paint")

        await screen.action_sibling_prev()
        # Drawn from the tail of the long branch, the only part of it read before that paint.
        assert [m.id for m in screen.session.branch] == [m.id for m in store.branch(conv.id)][-OPEN_PAGE:]
        assert sources(app)[-1:] == ["a149"]
        assert len(list(screen.query(UserMessage)) + answers(app)) == OPEN_PAGE
        assert f"{302 - OPEN_PAGE} older messages" in screen.conversation.children[0].text
        assert screen._marks == {}  # the short branch's marks went with it

        # The rest is read after the paint: the fork's marks, and the pages that load on scroll-up.
        await wait_until(pilot, lambda: bool(screen._marks), "the long branch's marks")
        assert screen._marks == {a1.id: (1, 2)}
        assert len(screen.session.branch) == 302 and screen._older[0].id == q1.id
        screen.conversation.scroll_home(animate=False)
        await wait_until(pilot, lambda: len(answers(app)) > OPEN_PAGE // 2, "an older page")
        assert len(list(screen.query(UserMessage)) + answers(app)) == 2 * OPEN_PAGE
        assert list(screen.query(UserMessage))[0].text == f"q{150 - OPEN_PAGE}"

        # The next request carries the whole long branch.
        await say(pilot, "more")
        assert sent(adapter.requests[-1]) == [
            ("user", "root"), ("assistant", "long branch"),
            *(turn for i in range(150) for turn in (("user", f"q{i}"), ("assistant", f"a{i}"))), ("user", "more"),
        ]


def hundred_turns(app) -> int:
    """Store a conversation of 100 prompts and answers (200 messages, longer than a reopen reads first); its id."""
    store = app.service.history.store
    conv = store.create_conversation()
    for i in range(100):
        store.add_message(conv.id, "user", f"q{i}")
        store.add_message(conv.id, "assistant", f"a{i}", profile="fake")
    return conv.id


async def test_retry_right_after_a_reopen_draws_the_whole_branch_above_the_new_answer(home):
    """A retry typed before the rest of a reopened branch is read (f5 pressed with the Enter that opened it, say)
    must not draw from the tail alone: the older messages page in above the new answer, each once."""
    from tui_agent.ui.screens.chat import OPEN_PAGE

    app, adapter = make_app(home, scripts=[[TextDelta("again"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        store, conv_id = app.service.history.store, hundred_turns(app)
        screen = app.screen
        history, gate = app.service.history, Hold()
        read_branch, reads = history.branch, []

        async def slow_branch(conversation_id):  # the reopen's read of the rest waits for the gate; later ones do not
            reads.append(conversation_id)
            if len(reads) == 1:
                await gate.wait()
            return await read_branch(conversation_id)

        history.branch = slow_branch
        await screen.open_conversation(conv_id)
        await pilot.pause()
        assert len(screen.session.branch) < 200  # only the tail is read by the first paint
        assert reads  # the reopen's read of the rest has begun, and waits
        await screen.run_command("/retry")  # before it has read anything
        await settle(pilot)
        gate.release()  # the reopen's read ends after the retry has drawn the branch: it must change nothing now
        await wait_until(pilot, lambda: not any(w.is_running for w in screen.workers), "the reads after the paint")
        await pilot.pause()

        assert sent(adapter.requests[-1]) == [
            *(turn for i in range(99) for turn in (("user", f"q{i}"), ("assistant", f"a{i}"))), ("user", "q99"),
        ]
        shown = [w.message_id for w in screen.conversation.children if isinstance(w, (UserMessage, AssistantMessage))]
        older = [m.id for m in screen._older]
        assert older and older[0] == store.branch(conv_id)[0].id  # the first prompt pages in on scroll-up
        assert not set(older) & set(shown)  # nothing twice
        assert len(older) + len(shown) == 200  # the 199 messages before the new answer, and the answer
        assert f"{len(older)} older messages" in screen.conversation.children[0].text
        assert len(shown) <= OPEN_PAGE + 1


async def test_a_retry_or_edit_that_cannot_read_the_rest_of_the_branch_says_so_and_asks_nothing(home):
    from tui_agent.service.history import HistoryError

    app, adapter = make_app(home, scripts=[[TextDelta("again"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        conv_id = hundred_turns(app)
        screen, history, gate = app.screen, app.service.history, Hold()

        async def failing_branch(conversation_id):  # once the reopen has drawn its tail, reading the rest fails
            await gate.wait()
            raise HistoryError("Could not read the conversation in the history database (disk I/O error).")

        history.branch = failing_branch
        await screen.open_conversation(conv_id)
        await pilot.pause()
        gate.release()
        await screen.run_command("/retry")
        assert notes(app)[-1].startswith("Could not read the rest of this conversation: Could not read the conversation")
        screen._select(None)
        await screen.run_command("/edit")
        assert screen.prompt.border_title == EDITING_TITLE
        screen.prompt.load_text("changed")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.prompt.border_title == EDITING_TITLE and screen.prompt.text == "changed"  # still editing it
        assert adapter.requests == [] and not screen.is_streaming


async def test_paging_up_to_a_fork_shows_its_sibling_mark(home):
    from tui_agent.ui.screens.chat import OPEN_PAGE

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        store = app.service.history.store
        conv = store.create_conversation()
        q1 = store.add_message(conv.id, "user", "root")
        store.add_message(conv.id, "assistant", "short branch", profile="fake")
        a1 = store.add_message(conv.id, "assistant", "long branch", profile="fake", parent_id=q1.id)
        for i in range(OPEN_PAGE // 2):  # a page's worth below the fork: it is on the first page scrolled up
            store.add_message(conv.id, "user", f"q{i}")
            store.add_message(conv.id, "assistant", f"a{i}", profile="fake")
        screen = app.screen
        await screen.open_conversation(conv.id)
        await wait_until(pilot, lambda: bool(screen._marks), "the sibling marks, read after the first paint")
        assert a1.id not in [a.message_id for a in answers(app)]
        screen.conversation.scroll_home(animate=False)
        await wait_until(pilot, lambda: a1.id in [a.message_id for a in answers(app)], "the page holding the fork")
        assert next(a for a in answers(app) if a.message_id == a1.id).mark == (2, 2)


async def test_an_answer_cut_at_the_limit_says_continue_goes_on_live_and_reopened(home):
    from tui_agent.ui.branching import CUT_AT_LIMIT

    app, _ = make_app(home, scripts=[[TextDelta("Half"), Done("max_tokens")]])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await say(pilot, "long please")
        assert notes(app) == [CUT_AT_LIMIT]
        await screen.open_conversation(screen.conversation_id)
        await pilot.pause()
        assert notes(app) == [CUT_AT_LIMIT]


def test_an_author_from_history_cannot_send_escape_sequences():
    from tui_agent.ui.widgets.branch import author_text

    shown = author_text("p", "evil", "model\x1b[2J\u202e")
    assert "\x1b" not in shown and "\u202e" not in shown and shown.startswith("p · evil · model")


async def test_usage_and_cost_count_the_branch_shown(home):
    from tui_agent.core.events import Usage

    app, _ = make_app(home, scripts=[
        [TextDelta("one"), Usage(10, 5, 0.01), Done()],
        [TextDelta("uno"), Usage(20, 7, 0.02), Done()],
    ])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await say(pilot, "first")
        await pilot.press("f5")
        await settle(pilot)
        totals = screen.status_panel.usage.totals
        assert (totals.input_tokens, totals.output_tokens, totals.cost_usd, totals.answers) == (20, 7, 0.02, 1)
        await pilot.press("alt+left")
        await wait_until(pilot, lambda: sources(app) == ["one"], "the first version")
        totals = screen.status_panel.usage.totals
        assert (totals.input_tokens, totals.output_tokens, totals.cost_usd, totals.answers) == (10, 5, 0.01, 1)
