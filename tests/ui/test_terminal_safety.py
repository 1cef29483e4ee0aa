"""Hostile text from a loopback Ollama never reaches the terminal as control codes: checked on the bytes the app
writes (the compositor's full-screen update, exactly what Textual hands its driver), live and from history."""

from __future__ import annotations

import logging

import re

import pytest

from tests.fakes import FakeOllama
from tests.ui.support import SIZE, wait_until
from tests.ui.test_chat_loopback import app_on
from tui_agent.service.history import HistoryStore
from tui_agent.ui.app import TuiAgentApp
from tui_agent.ui.widgets.message import AssistantMessage

CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
TITLE = "\x1b]0;pwned\x1b\\"
CLEAR = "\x1b[2J\x1b[H"
HOSTILE = ("\x1b]52;", "\x1b]0;", "\x1b[2J", "\x07", "\x1bc", "\u202e", "\x9b")


def terminal_bytes(app: TuiAgentApp) -> str:
    """What the app writes to the terminal for a full repaint of the current screen."""
    return app.screen._compositor.render_full_update().render_segments(app.console)


def visible(output: str) -> str:
    """The text of the terminal output without Textual's own colour and cursor-position sequences."""
    return re.sub(r"\x1b\[[0-9;]*[mH]", "", output)


def assert_no_hostile_sequences(output: str) -> None:
    found = [seq for seq in HOSTILE if seq in output]
    assert not found, f"hostile sequences written to the terminal: {found!r}"


def answer(app) -> AssistantMessage:
    return app.screen.query(AssistantMessage).last()


async def test_escape_sequences_in_an_answer_and_its_thinking_never_reach_the_terminal(home):
    # The OSC 52 write is split across two deltas: the ESC ends one, the rest starts the next.
    pieces = ["Safe start \x1b", CLIPBOARD[1:] + "middle ", TITLE, CLEAR + "\x1bcend \u202eevil\x9b2J"]
    with FakeOllama() as fake:
        fake.script(FakeOllama.answer(*pieces, thinking=["think " + CLIPBOARD + "ing"]))
        app = app_on(fake, home)
        async with app.run_test(size=SIZE) as pilot:
            app.screen.prompt.insert("hello")
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.query(AssistantMessage) and answer(app).state == "complete", "the answer")
            await pilot.pause()
            assert answer(app).text == "Safe start middle end evil"
            assert answer(app).thinking_text == "think ing"
            output = terminal_bytes(app)
            assert "Safe start middle end evil" in visible(output)
            assert_no_hostile_sequences(output)
            conversation_id = app.screen.conversation_id

        # Stored history keeps what the model sent; reopening renders it sanitised again.
        app = app_on(fake, home)
        stored = [m.content for m in await app.service.history.messages(conversation_id)]
        assert "".join(pieces) in stored
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.screen.query(AssistantMessage), "the reopened answer")
            await pilot.pause()
            output = terminal_bytes(app)
            assert "Safe start middle end evil" in visible(output)
            assert_no_hostile_sequences(output)


async def test_an_error_body_with_escape_sequences_is_shown_harmlessly(home):
    with FakeOllama() as fake:
        fake.script(FakeOllama.error(400, "boom " + CLIPBOARD + TITLE + CLEAR + " \u202egnp.exe"))
        app = app_on(fake, home)
        async with app.run_test(size=SIZE) as pilot:
            app.screen.prompt.insert("hello")
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.query(AssistantMessage) and answer(app).state == "error", "the error")
            await pilot.pause()
            output = terminal_bytes(app)
            assert "boom" in visible(output)
            assert_no_hostile_sequences(output)


async def test_titles_and_search_snippets_from_history_reach_the_terminal_harmlessly(tmp_path):
    from tests.ui.test_history_screen import Clock, make, search

    clock = Clock()
    store = HistoryStore(tmp_path / "history.db", clock=clock)
    try:
        conversation = store.create_conversation("Evil\x1b]0;title\x07 chat\u202e")
        store.add_message(conversation.id, "user", "tell me about barnacles")
        store.add_message(conversation.id, "assistant", "barnacles " + CLIPBOARD + " cling" + CLEAR, profile="p\x1b[2J",
                          provider="ollama", model="m")
        app, screen = make(store, tmp_path, clock)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            output = terminal_bytes(app)
            assert "Evil chat" in visible(output)
            assert_no_hostile_sequences(output)
            await search(pilot, screen, "barnacles")
            output = terminal_bytes(app)
            assert "barnacles" in visible(output)
            assert_no_hostile_sequences(output)
    finally:
        store.close()


async def test_an_unexpected_failure_in_the_app_is_one_sentence_and_the_traceback_goes_to_the_log(home, caplog, capsys):
    # cli.main prints `app.failure` on stderr after the app has restored the terminal.
    from tests.ui.support import make_app

    app, _adapter = make_app(home)
    caplog.set_level(logging.ERROR, logger="tui_agent.ui")  # an earlier in-process `cli.main` may have raised the level

    async def broken() -> None:
        raise RuntimeError("boom \x1b]0;t\x07")

    with pytest.raises(RuntimeError):  # Pilot re-raises it for the test; a real run exits with code 1
        async with app.run_test(size=SIZE) as pilot:
            app.call_later(broken)
            await pilot.pause()
    assert app.return_code == 1
    assert app.failure.startswith("unexpected failure (RuntimeError: boom ); please report it — the traceback is in ")
    assert app.failure.endswith("tui-agent.log (or run with --verbose)")
    assert "Traceback" not in capsys.readouterr().err
    logged = [r for r in caplog.records if r.getMessage() == "unexpected failure"]
    assert logged and logged[0].exc_info is not None
