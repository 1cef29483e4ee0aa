"""`/system` and `/set` in the chat screen, the system-prompt line, the context/cost summary and the warning
before a message that cannot fit the model's context window."""

from __future__ import annotations

from tests.ui.support import SIZE, make_app, wait_until
from tests.ui.test_chat_commands import notes, run
from tui_agent.core.chat import ModelInfo
from tui_agent.core.events import Done, TextDelta, Usage
from tui_agent.ui.widgets.settings_lines import ContextSummary, SystemPromptLine

ANSWER = [TextDelta("ok"), Usage(input_tokens=40, output_tokens=10), Done()]


def system_line(app) -> SystemPromptLine:
    return app.screen.query_one("#system-line", SystemPromptLine)


async def test_system_sets_shows_and_removes_this_conversations_system_prompt(home):
    app, adapter = make_app(home, scripts=[ANSWER, ANSWER, ANSWER])
    async with app.run_test(size=SIZE) as pilot:
        assert not system_line(app).display  # neither the profile nor the conversation has one
        await run(pilot, "/system Answer like a pirate.")
        assert notes(app)[-1].text == "System prompt set for this conversation."
        assert system_line(app).display and system_line(app).prompt_text == "Answer like a pirate."
        assert "system (conversation): Answer like a pirate." in str(system_line(app).render())
        await run(pilot, "hello")
        await wait_until(pilot, lambda: len(adapter.requests) == 1 and not app.screen.is_streaming, "the answer")
        assert adapter.requests[0].system == "Answer like a pirate."

        await run(pilot, "/system")
        assert notes(app)[-1].text.endswith("\nAnswer like a pirate.") and "(conversation;" in notes(app)[-1].text

        await run(pilot, "/system off")
        assert notes(app)[-1].text == "No system prompt in this conversation."
        assert not system_line(app).display
        await run(pilot, "again")
        await wait_until(pilot, lambda: len(adapter.requests) == 2 and not app.screen.is_streaming, "the second answer")
        assert adapter.requests[1].system == ""
        stored = await app.service.history.settings(app.screen.conversation_id)
        assert stored == {"system": ""}


async def test_set_changes_a_parameter_for_this_conversation_and_set_alone_lists_them(home):
    app, adapter = make_app(home, scripts=[ANSWER])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/set temperature 0.7")
        assert notes(app)[-1].text == "temperature = 0.7 for this conversation."
        await run(pilot, "/set reasoning high")
        await run(pilot, "/set")
        listing = notes(app)[-1].text
        assert "temperature" in listing and "0.7  (conversation)" in listing
        assert "reasoning" in listing and "high  (conversation)" in listing
        assert "top_p" in listing and "not sent  (provider default)" in listing
        await run(pilot, "hello")
        await wait_until(pilot, lambda: adapter.requests and not app.screen.is_streaming, "the answer")
        assert adapter.requests[0].temperature == 0.7 and adapter.requests[0].reasoning == "high"
        await run(pilot, "/set temperature default")
        assert "back to the profile's value" in notes(app)[-1].text
        assert app.screen.session.settings == {"reasoning": "high"}


async def test_a_bad_value_is_one_sentence_and_nothing_changes(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/set temperature 0.3")
        for typed, words in (("/set temperature 5", "must be a number from 0 to 2"), ("/set reasoning maximum", "valid choices"),
                             ("/set colour blue", "Unknown setting `colour`"), ("/set max_tokens", "Usage: /set max_tokens")):
            await run(pilot, typed)
            note = notes(app)[-1]
            assert note.has_class("-error") and words in note.text and "\n" not in note.text, note.text
        assert app.screen.session.settings == {"temperature": 0.3}


async def test_the_claude_cli_says_it_cannot_apply_a_parameter(home):
    app, _ = make_app(home, extra='\n[profiles.cli]\nprovider = "claude-code"\nmodel = "sonnet"\n')
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/model cli --force")  # no Claude Code CLI here: the switch must be forced
        await run(pilot, "/set reasoning low")
        assert "The Claude Code CLI cannot take reasoning" in notes(app)[-1].text


async def test_a_message_that_will_not_fit_is_warned_about_and_sent_only_on_a_second_enter(home):
    app, adapter = make_app(home, scripts=[ANSWER])
    app.service._models_cache["scripted"] = [ModelInfo("scripted", "scripted-1", context_window=300)]
    async with app.run_test(size=SIZE) as pilot:
        long_text = "word " * 400
        await run(pilot, long_text)
        note = notes(app)[-1]
        assert note.has_class("-error") and "will not fit" in note.text and "press Enter again" in note.text
        assert adapter.requests == [] and app.screen.prompt.text == long_text  # nothing sent, nothing lost
        await pilot.press("enter")
        await wait_until(pilot, lambda: adapter.requests and not app.screen.is_streaming, "the answer")
        assert adapter.requests[0].messages[-1].content == long_text


async def test_the_narrow_header_shows_context_fullness_and_an_unknown_cost(home):
    app, _ = make_app(home, scripts=[ANSWER])
    app.service._models_cache["scripted"] = [ModelInfo("scripted", "scripted-1", context_window=1000)]
    async with app.run_test(size=(80, 24)) as pilot:
        await run(pilot, "hello")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2, "the answer")
        summary = app.screen.query_one("#context-summary", ContextSummary)
        await wait_until(pilot, lambda: summary.text != "", "the summary")
        assert summary.text == "ctx 50 / 1k 5% · cost unknown" and summary.display


async def test_switching_to_the_claude_cli_names_the_profile_parameters_it_cannot_apply(home):
    app, _ = make_app(home, extra='\n[profiles.cli]\nprovider = "claude-code"\nmodel = "sonnet"\ntemperature = 0.2\n')
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/model cli --force")  # no Claude Code CLI here: the switch must be forced
        note = notes(app)[-1]
        assert note.has_class("-error") and note.text == "The Claude Code CLI cannot take temperature: set for cli, not applied."


async def test_the_palette_offers_the_settings(home):
    from tui_agent.ui.palette import palette_entries

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        entries = {title: callback for title, _help, callback in palette_entries(app.screen)}
        assert {"Conversation settings", "System prompt", "No system prompt", "Reasoning: high"} <= set(entries)
        await entries["Reasoning: high"]()
        await pilot.pause()
        assert app.screen.session.settings == {"reasoning": "high"}


async def test_a_system_prompt_with_escape_sequences_reaches_the_screen_neutralised(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await app.screen._settings_session().set_system("Be \x1b[2J\x1b]0;owned\x07brief.")
        await run(pilot, "/system")
        assert "\x1b" not in notes(app)[-1].text and "brief." in notes(app)[-1].text
        await run(pilot, "/set")
        assert "\x1b" not in notes(app)[-1].text
        assert "\x1b" not in str(system_line(app).render())
