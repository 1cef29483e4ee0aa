"""Keys typed while a screen opens, or before a field has the focus, are never lost (every modal screen)."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, ListView

from tests.ui.support import SIZE, make_app, wait_until
from tui_agent.service.history import HistoryStore


def type_at_once(app, *keys: str) -> None:
    """Queue keys the way a fast typist's terminal delivers them: all before the app handles the first."""
    for key in keys:
        character = key if len(key) == 1 else {"slash": "/", "space": " "}.get(key)
        app.post_message(events.Key(key, character))


def stored_conversations(app, *titles: str) -> None:
    store = HistoryStore(app.paths.history_db)
    for title in titles:
        conv = store.create_conversation(title)
        store.add_message(conv.id, "user", f"about {title}")
    store.close()


async def test_the_picker_keeps_what_was_typed_as_it_opened(home):
    from tui_agent.ui.screens.model_picker import ModelPicker

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(ModelPicker(app.service, current="fake"))
        type_at_once(app, "c", "l", "a")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker), "the picker")
        await pilot.pause()
        assert app.screen.query_one("#picker-filter", Input).value == "cla"


def open_history(app, results: list | None = None):
    from tui_agent.ui.screens.history import HistoryScreen

    screen = HistoryScreen(app.service.history, export_dir=app.paths.data_dir / "exports", debounce=0)
    app.push_screen(screen, results.append if results is not None else None)
    return screen


async def test_the_history_screen_keeps_a_search_typed_as_it_opened(home):
    app, _ = make_app(home)
    stored_conversations(app, "tides")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = open_history(app)
        type_at_once(app, "slash", "t", "i", "d", "e", "s")
        await wait_until(pilot, lambda: screen.is_attached and screen.loaded, "the history")
        await pilot.pause()
        assert screen.query_one("#history-search", Input).value == "tides"
        assert app.screen is screen  # no d(elete) or e(xport) was run on the way


async def test_slash_then_a_word_at_once_on_the_list_loses_nothing(home):
    app, _ = make_app(home)
    stored_conversations(app, "tides", "dolphins")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = open_history(app)
        await wait_until(pilot, lambda: screen.is_attached and screen.loaded, "the history")
        await pilot.pause()
        assert screen.query_one("#history-list").has_focus
        type_at_once(app, "slash", "d", "o", "l", "p", "h", "i", "n")
        await wait_until(pilot, lambda: screen.query_one("#history-search", Input).value == "dolphin", "the word")
        assert app.screen is screen


async def test_typing_on_the_history_list_starts_a_search_with_what_was_typed(home):
    app, _ = make_app(home)
    stored_conversations(app, "tides", "waves")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        results: list = []
        screen = open_history(app, results)
        await wait_until(pilot, lambda: screen.is_attached and screen.loaded, "the history")
        await pilot.press("t", "i", "d", "e", "s")
        field = screen.query_one("#history-search", Input)
        assert field.has_focus and field.value == "tides"
        await pilot.press("enter")  # Enter in the search box opens the top hit (once the search has answered)
        await wait_until(pilot, lambda: results, "the screen to close")
    assert results[0].action == "open" and results[0].message_id is not None


async def test_the_history_screen_opens_with_the_same_focus_every_time(home):
    app, _ = make_app(home)
    stored_conversations(app, "tides")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        focused = []
        for _ in range(2):
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: getattr(app.screen, "loaded", False), "the history")
            await pilot.pause()
            focused.append(app.screen.focused.id if app.screen.focused else None)
            await pilot.press("slash", "x", "escape")
            await wait_until(pilot, lambda: not hasattr(app.screen, "loaded"), "the history to close")
    assert focused == ["history-list", "history-list"]


async def test_the_auth_dialog_keeps_arrow_keys_typed_as_it_opened(home):
    from tui_agent.ui.screens.auth_dialog import AuthDialog

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dialog = AuthDialog(app.service)
        app.push_screen(dialog)
        type_at_once(app, "down", "down")
        await wait_until(pilot, lambda: dialog.is_attached, "the dialog")
        await pilot.pause()
        assert dialog.query_one("#auth-list", ListView).index == 2


async def test_the_confirm_screen_keeps_an_answer_typed_as_it_opened(home):
    from tui_agent.ui.screens.confirm import ConfirmScreen

    app, _ = make_app(home)
    answers: list[bool] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(ConfirmScreen("Sure?"), answers.append)
        type_at_once(app, "y")
        await wait_until(pilot, lambda: answers, "the answer")
    assert answers == [True]
