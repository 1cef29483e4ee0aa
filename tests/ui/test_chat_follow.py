"""Scroll following: new text is followed only while the user is at the bottom; End resumes following."""

from __future__ import annotations

from textual.widgets import Markdown, Static

from tests.ui.support import SIZE, Hold, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.ui.widgets.message import AssistantMessage


def lines(tag: str, count: int) -> str:
    return "".join(f"{tag} line {i}\n\n" for i in range(count))


def source(app) -> str:
    return app.screen.query_one(AssistantMessage).query_one(".answer", Markdown).source


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause()


async def test_view_follows_new_text_while_at_the_bottom_and_stays_put_when_scrolled_up(home):
    first, second, third = Hold(), Hold(), Hold()
    app, _ = make_app(home, scripts=[[
        TextDelta(lines("a", 20)), first, TextDelta(lines("b", 20)), second, TextDelta(lines("c", 20)), third, Done(),
    ]])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        conversation = screen.conversation
        more = screen.query_one("#more", Static)
        screen.prompt.insert("long answer please")
        await pilot.press("enter")
        await wait_until(pilot, lambda: source(app).endswith("a line 19\n\n"), "the first part")
        await settle(pilot)
        assert conversation.max_scroll_y > 0
        assert conversation.scroll_y == conversation.max_scroll_y
        assert conversation.following and not more.display

        first.release()
        await wait_until(pilot, lambda: source(app).endswith("b line 19\n\n"), "the second part")
        await settle(pilot)
        grown = conversation.max_scroll_y
        assert conversation.scroll_y == grown  # followed the new text

        await pilot.press("pageup")  # the prompt has focus; PageUp scrolls the conversation
        await settle(pilot)
        assert not conversation.following
        parked = conversation.scroll_y
        assert parked < grown
        assert not more.display  # nothing new yet

        second.release()
        await wait_until(pilot, lambda: source(app).endswith("c line 19\n\n"), "the third part")
        await settle(pilot)
        assert conversation.max_scroll_y > grown
        assert conversation.scroll_y == parked  # stayed put
        assert more.display and "more arriving" in str(more.render())
        assert screen.is_streaming

        third.release()
        await wait_until(pilot, lambda: not screen.is_streaming, "the end of the answer")
        await settle(pilot)
        assert conversation.scroll_y == parked
        assert more.display and "more below" in str(more.render())

        await pilot.press("end")
        await settle(pilot)
        assert conversation.following
        assert conversation.scroll_y == conversation.max_scroll_y
        assert not more.display


async def test_end_moves_the_prompt_cursor_when_already_following(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.screen.prompt
        prompt.insert("abc")
        prompt.move_cursor((0, 0))
        await pilot.press("end")
        assert prompt.cursor_location == (0, 3)


async def test_reaching_the_bottom_again_resumes_following(home):
    hold, more_text = Hold(), Hold()
    app, _ = make_app(home, scripts=[[TextDelta(lines("a", 20)), hold, TextDelta(lines("b", 5)), more_text, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        conversation = app.screen.conversation
        app.screen.prompt.insert("go")
        await pilot.press("enter")
        await wait_until(pilot, lambda: source(app).endswith("a line 19\n\n"), "the first part")
        await settle(pilot)
        await pilot.press("pageup")
        await settle(pilot)
        assert not conversation.following
        await pilot.press("pagedown", "pagedown", "pagedown")
        await settle(pilot)
        assert conversation.following
        hold.release()
        await wait_until(pilot, lambda: source(app).endswith("b line 4\n\n"), "the second part")
        await settle(pilot)
        assert conversation.scroll_y == conversation.max_scroll_y
        more_text.release()
