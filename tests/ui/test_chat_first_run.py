"""First run with no default profile: a welcome (not a modal) listing what was found, and how to choose."""

from __future__ import annotations

import json

import pytest

from tests.fakes import FakeOllama
from tests.fakes.fake_claude import install_fake_claude
from tests.ui.support import SIZE, make_app, wait_until
from tui_agent.auth import claude_cli
from tui_agent.ui.widgets.welcome import SCANNING, Welcome

SUBSCRIPTION = {"loggedIn": True, "authMethod": "claude.ai", "apiProvider": "firstParty", "email": "ada@example.com",
                "subscriptionType": "max"}


@pytest.fixture(autouse=True)
def _fresh_cli_cache():
    claude_cli.invalidate()
    yield
    claude_cli.invalidate()


def welcome_text(app) -> str:
    return str(app.screen.query_one(Welcome).render())


async def test_welcome_lists_keys_the_claude_cli_and_a_running_ollama(home, tmp_path):
    claude = install_fake_claude(tmp_path / "claude", {"auth_status": {"stdout": json.dumps(SUBSCRIPTION), "exit": 0}})
    with FakeOllama() as ollama:
        app, _ = make_app(
            home, default=None, ollama_url=ollama.base_url,
            env={"OPENAI_API_KEY": "sk-test-000000000000000000", "TUI_AGENT_CLAUDE_PATH": str(claude)},
        )
        async with app.run_test(size=SIZE) as pilot:
            assert app.screen.focused is app.screen.prompt  # not a modal: the prompt takes input at once
            await wait_until(pilot, lambda: app.screen.query_one(Welcome).statuses is not None, "the scan")
            text = welcome_text(app)
            assert "OPENAI_API_KEY is set in the environment (OpenAI)" in text
            assert "the Claude Code CLI, logged in" in text
            assert f"Ollama is running at {ollama.base_url.split('//')[1]}" in text
            assert "type /model NICK" in text
            assert "ready now: fake" in text and "other profiles: claude" in text
            assert "sk-test" not in text
            assert "no model chosen" in str(app.screen.query_one("#chat-header").render())


async def test_welcome_says_when_nothing_was_found(home):
    app, _ = make_app(home, default=None)
    async with app.run_test(size=SIZE) as pilot:
        assert SCANNING in welcome_text(app) or app.screen.query_one(Welcome).statuses is not None
        await wait_until(pilot, lambda: app.screen.query_one(Welcome).statuses is not None, "the scan")
        text = welcome_text(app)
        assert "Found no API key in the environment" in text
        assert "ready now: fake" in text and "other profiles: claude" in text  # the scripted provider needs no key


async def test_sending_before_choosing_a_model_keeps_the_text_and_says_how_to_choose(home):
    app, adapter = make_app(home, default=None)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("hello?")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.prompt.text == "hello?"
        assert adapter.requests == []
        said = list(app.screen.query("Note"))[-1].text
        assert "/model NICK" in said and "ctrl+t" in said and "list your profiles" not in said  # /model opens the picker


async def test_choosing_a_model_replaces_the_welcome_and_fills_the_header(home):
    app, _ = make_app(home, default=None)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("/model fake")
        await pilot.press("enter")
        await pilot.pause()
        assert not app.screen.query(Welcome)
        assert str(app.screen.query_one("#chat-header").render()).startswith("fake · scripted · scripted-1")


async def test_welcome_without_profiles_shows_an_example_for_what_was_found(home):
    with FakeOllama() as ollama:
        app, _ = make_app(home, default=None, ollama_url=ollama.base_url)
        # No profiles at all: rewrite the config with only the provider overrides.
        text = (home / "config.toml").read_text()
        start = text.index("[providers.scripted]")
        (home / "config.toml").write_text(text[start:])
        from tui_agent.config.load import load_config

        app.config = load_config(home / "config.toml")
        app.service.config = app.config
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.screen.query_one(Welcome).statuses is not None, "the scan")
            text = welcome_text(app)
            assert "No profiles yet" in text
            assert '[profiles.local]\n  provider = "ollama"\n  model = "llama3.2"' in text


async def test_at_80_by_24_the_welcome_starts_on_screen_and_the_footer_keys_are_whole(home):
    from tests.ui.support import screen_lines

    claude = install_fake_claude(home / "claude", {"auth_status": {"stdout": json.dumps(SUBSCRIPTION), "exit": 0}})
    with FakeOllama() as ollama:
        app, _ = make_app(
            home, default=None, ollama_url=ollama.base_url,
            env={"OPENAI_API_KEY": "sk-test-000000000000000000", "ANTHROPIC_API_KEY": "sk-ant-test-0000000000000",
                 "TUI_AGENT_CLAUDE_PATH": str(claude)},
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.screen.query_one(Welcome).statuses is not None, "the scan")
            await pilot.pause()
            lines = screen_lines(app)
    assert any("Welcome to tui-agent." in line for line in lines), "\n".join(lines)
    footer = lines[-1]
    assert "f1 Help" in footer and "Hel▏" not in footer, footer
    # Every key the footer shows is whole: no description is cut at the right edge.
    assert footer.rstrip().endswith(("Help", "palette")), footer


def test_the_welcome_draws_no_symbol_a_terminal_may_show_two_cells_wide():
    """▶ (U+25B6) has an emoji form that many terminals and fonts draw two cells wide, which pushed the box's
    right border out of line on that row; the welcome uses only symbols that are one cell everywhere."""
    import tempfile
    from pathlib import Path

    from tests.ui.support import config_text
    from tui_agent.config.load import load_config
    from tui_agent.ui.widgets.welcome import welcome_text

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(config_text(default=None))
        text = welcome_text(load_config(path), []).plain
    one_cell = set("✓—…·»")
    assert {c for c in text if ord(c) > 127} <= one_cell, {c for c in text if ord(c) > 127} - one_cell
