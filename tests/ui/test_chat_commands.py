"""Slash commands, their completion hints, the prompt's keys, copying and the command palette."""

from __future__ import annotations

from textual.widgets import Static

from tests.ui.support import SIZE, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.ui import slash
from tui_agent.ui.palette import palette_entries
from tui_agent.ui.widgets.message import AssistantMessage, Note, UserMessage


async def type_text(pilot, text: str) -> None:
    """Enter text into the focused prompt as a paste would (one keypress each would only make the tests slow)."""
    pilot.app.screen.prompt.insert(text)
    await pilot.pause()


async def run(pilot, text: str) -> None:
    await type_text(pilot, text)
    await pilot.press("enter")
    await pilot.pause()


def notes(app) -> list[Note]:
    return list(app.screen.query(Note))


def header(app) -> str:
    return str(app.screen.query_one("#chat-header").render())


async def test_model_with_a_nickname_switches_after_resolving_the_chain(home):
    app, _ = make_app(home, env={"ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef"})
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/model claude")
        await wait_until(pilot, lambda: app.screen.profile == "claude", "the switch")
        assert app.screen.chain.provider.id == "anthropic"
        assert header(app).startswith("claude · anthropic · claude-test-1")
        assert "claude" in notes(app)[-1].text and not notes(app)[-1].has_class("-error")


async def test_model_whose_chain_cannot_serve_now_is_refused_with_the_reason_and_the_fix(home):
    app, _ = make_app(home)  # no Anthropic key anywhere
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/model claude")
        await wait_until(pilot, lambda: notes(app) and notes(app)[-1].has_class("-error"), "the refusal")
        assert app.screen.profile == "fake" and header(app).startswith("fake · scripted")
        text = notes(app)[-1].text
        assert text.startswith("claude cannot be used now: no API key")
        assert "type /login anthropic" in text and "/model claude --force" in text and "still on fake" in text


async def test_model_force_switches_anyway_and_says_it_cannot_answer_yet(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/model claude --force")
        await wait_until(pilot, lambda: app.screen.profile == "claude", "the forced switch")
        assert header(app).startswith("claude · anthropic")
        assert "It cannot answer yet: no API key" in notes(app)[-1].text


async def test_model_on_the_command_line_opens_on_it_and_says_why_it_cannot_answer(home):
    app, _ = make_app(home, model="claude")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: any("claude cannot answer yet" in n.text for n in notes(app)), "the reason")
        assert app.screen.profile == "claude"
        assert "type /login anthropic" in notes(app)[-1].text


async def test_model_with_an_unknown_nickname_keeps_the_current_model_and_says_why(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/model fakee")
        assert app.screen.profile == "fake"
        assert header(app).startswith("fake · scripted")
        note = notes(app)[-1]
        assert note.has_class("-error")
        assert "no profile is called `fakee`" in note.text and "still on fake" in note.text
        assert "\n" not in note.text


async def test_model_without_a_nickname_opens_the_picker(home):
    from tui_agent.ui.screens.model_picker import ModelPicker

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/model")
        await pilot.pause()
        assert isinstance(app.screen, ModelPicker)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ModelPicker)


async def test_new_clears_the_conversation_and_starts_a_new_transcript(home):
    app, adapter = make_app(home, scripts=[[TextDelta("one"), Done()], [TextDelta("two"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "first")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2, "the first answer")
        old_id = app.screen.conversation_id
        await run(pilot, "/new")
        assert app.screen.transcript == []
        assert list(app.screen.query(UserMessage)) == [] and list(app.screen.query(AssistantMessage)) == []
        assert app.screen.conversation_id != old_id
        await run(pilot, "second")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2, "the second answer")
        assert [m.content for m in adapter.requests[1].messages] == ["second"]


async def test_help_lists_every_command_and_key(home):
    from tui_agent.ui.screens.chat import ChatScreen, KEYS_HELP

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/help")
        text = notes(app)[-1].text
        for command in slash.COMMANDS:
            assert command.usage in text
        for key, _ in KEYS_HELP:
            assert key in text
        # Every key bound on the screen is explained in /help.
        for binding in ChatScreen.BINDINGS:
            described = " ".join(k for k, _ in KEYS_HELP).lower()
            assert binding.key.split(",")[0] in described


async def test_quit_exits_the_app(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/quit")
        await pilot.pause()
        assert app._exit or not app.is_running


async def test_login_goes_straight_to_the_providers_login_screen(home):
    from tui_agent.ui.screens.auth_dialog import AuthDialog
    from tui_agent.ui.screens.login import ApiKeyScreen

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/login anthropic")
        await pilot.pause()
        assert isinstance(app.screen, ApiKeyScreen)  # over the auth dialog, which Escape returns to
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AuthDialog)


async def test_login_to_an_unknown_provider_suggests_the_closest(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/login anthropik")
        assert "did you mean `anthropic`?" in notes(app)[-1].text


async def test_after_a_login_in_the_dialog_the_chat_names_its_own_key_for_the_models(home):
    from tui_agent.ui.screens.auth_dialog import AuthResult

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        app.screen._auth_closed(AuthResult("close", provider="anthropic", message="Logged in to Anthropic."))
        await pilot.pause()
        text = notes(app)[-1].text
        assert text.startswith("Logged in to Anthropic.") and "Press m" not in text and "ctrl+t" in text


async def test_auth_opens_the_dialog(home):
    from tui_agent.ui.screens.auth_dialog import AuthDialog

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/auth")
        await pilot.pause()
        assert isinstance(app.screen, AuthDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AuthDialog)


async def test_logout_forgets_a_stored_key(home):
    from tui_agent.core.credentials import StoredCredential

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await app.service.store.put("openai", StoredCredential(kind="api-key", secret="sk-test-0123456789abcdef", host="api.openai.com"))
        await run(pilot, "/logout openai")
        await pilot.pause()
        assert await app.service.store.get("openai") is None
        assert notes(app)[-1].text == "Forgot the stored credential for OpenAI."


async def test_history_opens_the_history_screen(home):
    from tui_agent.ui.screens.history import HistoryScreen

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/history")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)


async def test_status_toggles_the_side_panel(home):
    app, _ = make_app(home)
    async with app.run_test(size=(130, 30)) as pilot:  # wide: the panel shows by default
        panel = app.screen.status_panel
        assert panel.display
        await run(pilot, "/status")
        assert not panel.display
        await pilot.press("f2")
        assert panel.display


async def test_login_without_a_provider_shows_usage_with_the_choices(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/login")
        note = notes(app)[-1]
        assert note.has_class("-error") and "/login PROVIDER" in note.text and "anthropic" in note.text


async def test_unknown_command_suggests_the_closest(home):
    app, adapter = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/hepl")
        assert "Unknown command /hepl: did you mean /help?" in notes(app)[-1].text
        assert adapter.requests == []  # a slash command is never sent to the model


async def test_a_far_off_command_or_provider_gets_no_did_you_mean(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/bogus")
        assert "Unknown command /bogus: type /help for the list." in notes(app)[-1].text
        await run(pilot, "/login zzzzzz")
        assert "did you mean" not in notes(app)[-1].text and "/auth" in notes(app)[-1].text


async def test_double_slash_sends_a_message_that_starts_with_a_slash(home):
    app, adapter = make_app(home, scripts=[[TextDelta("ok"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "//etc/hosts")
        await wait_until(pilot, lambda: len(adapter.requests) == 1, "the request")
        assert adapter.requests[0].messages[-1].content == "/etc/hosts"


async def test_typing_a_slash_shows_the_menu_and_tab_completes_the_common_prefix_first(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        hints = app.screen.query_one("#hints", Static)
        assert not hints.display
        await type_text(pilot, "/")
        await pilot.pause()
        assert hints.display
        shown = str(hints.render())
        assert all(c.usage in shown for c in slash.COMMANDS[:8]) and f"({len(slash.COMMANDS)} matches)" in shown
        await type_text(pilot, "lo")
        await pilot.pause()
        shown = str(hints.render())
        assert "/login PROVIDER" in shown and "/logout PROVIDER" in shown and "/model" not in shown
        await pilot.press("tab")  # two matches: their common prefix first
        assert app.screen.prompt.text == "/log"
        await pilot.press("tab")  # then each in turn
        assert app.screen.prompt.text == "/login "
        await pilot.press("tab")
        assert app.screen.prompt.text == "/logout "
        await pilot.press("ctrl+u")
        await type_text(pilot, "hello")
        await pilot.pause()
        assert not hints.display


async def test_shift_enter_and_ctrl_j_insert_newlines_and_enter_sends_all_lines(home):
    app, adapter = make_app(home, scripts=[[TextDelta("ok"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "one")
        await pilot.press("shift+enter")
        await type_text(pilot, "two")
        await pilot.press("ctrl+j")
        await type_text(pilot, "three")
        assert app.screen.prompt.text == "one\ntwo\nthree"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(adapter.requests) == 1, "the request")
        assert adapter.requests[0].messages[-1].content == "one\ntwo\nthree"


async def test_up_and_down_recall_earlier_prompts_on_the_first_and_last_line(home):
    app, _ = make_app(home, scripts=[[TextDelta("one"), Done()], [TextDelta("two"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.screen.prompt
        await run(pilot, "first")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the first answer")
        await run(pilot, "/help")
        await type_text(pilot, "draft")
        await pilot.press("up")
        assert prompt.text == "/help"
        await pilot.press("up")
        assert prompt.text == "first"
        await pilot.press("up")  # the oldest stays
        assert prompt.text == "first"
        await pilot.press("down")
        assert prompt.text == "/help"
        await pilot.press("down")
        assert prompt.text == "draft"


async def test_up_moves_the_cursor_inside_a_multi_line_prompt_before_recalling(home):
    app, _ = make_app(home, scripts=[[TextDelta("one"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.screen.prompt
        await run(pilot, "old")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer")
        await type_text(pilot, "a")
        await pilot.press("ctrl+j")
        await type_text(pilot, "b")
        await pilot.press("up")
        assert prompt.text == "a\nb" and prompt.cursor_location[0] == 0
        await pilot.press("up")
        assert prompt.text == "old"


FENCED = "Here:\n\n```python\nprint('hi')\n```\n\nand\n\n```sh\nls -la\n```\n"


async def test_copy_puts_the_markdown_source_of_the_last_answer_on_the_clipboard(home):
    app, _ = make_app(home, scripts=[[TextDelta(FENCED[:10]), TextDelta(FENCED[10:]), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        assert app.clipboard == ""
        await run(pilot, "code please")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer")
        await pilot.press("ctrl+o")
        assert app.clipboard == FENCED
        await pilot.press("ctrl+b")
        assert app.clipboard == "ls -la\n"


async def test_palette_lists_every_command_and_each_code_block_to_copy(home):
    app, _ = make_app(home, scripts=[[TextDelta(FENCED), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "code please")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer")
        entries = {title: callback for title, _help, callback in palette_entries(app.screen)}
        assert "New conversation" in entries and "Model: claude" in entries and "Copy the last answer" in entries
        assert {"Help", "Providers and logins", "History", "Auth status panel", "Choose a model", "Quit", "Log in: anthropic", "Log out: anthropic"} <= set(entries)
        first = next(t for t in entries if t.startswith("Copy code block 1: python"))
        entries[first]()
        assert app.clipboard == "print('hi')\n"


async def test_palette_runs_an_action_chosen_by_typing(home):
    app, _ = make_app(home, env={"ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"model", "space", *"claude")
        await pilot.pause(0.3)  # the palette searches in the background
        await pilot.press("enter")
        await wait_until(pilot, lambda: getattr(app.screen, "profile", None) == "claude", "the switch")
        assert header(app).startswith("claude · anthropic")


async def test_tab_completes_profile_and_provider_arguments(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        hints = app.screen.query_one("#hints", Static)
        await type_text(pilot, "/model cl")
        assert "claude" in str(hints.render()) and "fake" not in str(hints.render()).split("\n")[-1]
        await pilot.press("tab")
        assert app.screen.prompt.text == "/model claude"
        await pilot.press("ctrl+u")
        await type_text(pilot, "/login ope")
        await pilot.press("tab")  # openai, openrouter: the common prefix
        assert app.screen.prompt.text == "/login open"
        await type_text(pilot, "a")
        await pilot.press("tab")
        assert app.screen.prompt.text == "/login openai"
        await pilot.press("enter")
        await pilot.pause()
        from tui_agent.ui.screens.login import ApiKeyScreen

        assert isinstance(app.screen, ApiKeyScreen)


async def test_switch_to_a_session_chain_not_in_the_config_shows_it_in_the_header(home):
    from tui_agent.core.chain import Chain
    from tui_agent.config.schema import ProfileConfig

    app, adapter = make_app(home, scripts=[[TextDelta("hi"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        base = app.service.resolve("fake")
        session = Chain(ProfileConfig(nickname="scripted/other", provider="scripted", model="other-model"), base.provider, base.method)
        app.screen.switch_to("scripted/other", session, "Model: scripted/other (session profile).")
        await pilot.pause()
        assert header(app).startswith("scripted/other · scripted · other-model")
        assert notes(app)[-1].text == "Model: scripted/other (session profile)."
        await run(pilot, "hello")
        await wait_until(pilot, lambda: len(adapter.requests) == 1, "the request")
        assert adapter.requests[0].model == "other-model"


async def test_reopening_a_conversation_whose_profile_cannot_serve_keeps_the_current_one(home):
    from tests.ui.test_chat_history import stored_conversation

    app, _ = make_app(home, extra="[ui]\nresume_last = false\n")
    cid = stored_conversation(app, 1, profile="claude")  # answered by claude; no Anthropic key now
    async with app.run_test(size=SIZE) as pilot:
        await app.screen.open_conversation(cid)
        await pilot.pause()
        assert app.screen.profile == "fake" and app.screen.conversation_id == cid
        text = notes(app)[-1].text
        assert "last answered by `claude`, which cannot be used now (no API key" in text
        assert "type /login anthropic" in text and "continuing with fake" in text


async def take_screenshot(home, monkeypatch, downloads) -> tuple[object, list[str]]:
    """Run the palette's Screenshot with `downloads` as the Downloads folder; the app and what it said."""
    from tui_agent.ui import screenshot

    monkeypatch.setattr(screenshot, "downloads_dir", lambda: downloads)
    app, _ = make_app(home)
    said: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
        command.callback()
        await wait_until(pilot, lambda: said, "the screenshot")
    return app, said


async def test_the_palettes_screenshot_is_saved_without_a_downloads_folder_and_says_where(home, monkeypatch):
    downloads = home / "no-such" / "Downloads"
    app, said = await take_screenshot(home, monkeypatch, downloads)
    saved = list((app.paths.data_dir / "screenshots").glob("*.svg"))
    assert len(saved) == 1 and saved[0].read_text(encoding="utf-8").startswith("<svg")
    assert said == [f"Screenshot saved to {saved[0]}."]
    assert not downloads.exists()


async def test_the_screenshot_goes_to_downloads_when_it_exists(home, monkeypatch):
    downloads = home / "Downloads"
    downloads.mkdir()
    _app, said = await take_screenshot(home, monkeypatch, downloads)
    assert len(list(downloads.glob("*.svg"))) == 1 and said[0].startswith(f"Screenshot saved to {downloads}")
