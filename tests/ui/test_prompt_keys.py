"""The power-user prompt: attachments and chips, recall across runs, ctrl+c in each situation, the menu."""

from __future__ import annotations

import base64
import json

import pytest
from textual.widgets import Static

from tests.ui.support import SIZE, Hold, make_app, wait_until
from tests.ui.test_chat_commands import run, type_text
from tui_agent.core.events import Done, TextDelta
from tui_agent.ui.ctrl_c import QUIT_WINDOW, CtrlC
from tui_agent.ui.widgets.attachments import AttachmentChip
from tui_agent.ui.widgets.message import AssistantMessage, Note

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


def last_note(app) -> Note:
    return list(app.screen.query(Note))[-1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "notes.md").write_text("remember the milk\n", encoding="utf-8")
    (tmp_path / "shot.png").write_bytes(PNG)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print(1)\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- attachments -----------------------------------------------------------------------------------------


async def test_at_paths_go_as_a_fenced_block_and_an_image_part(home, workdir):
    app, adapter = make_app(home, scripts=[[TextDelta("ok"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "compare @notes.md and @./shot.png, mail me@example.com")
        await wait_until(pilot, lambda: len(adapter.requests) == 1, "the request")
        message = adapter.requests[0].messages[-1]
        assert message.content == (
            "compare notes.md and ./shot.png, mail me@example.com\n\nnotes.md:\n```markdown\nremember the milk\n```"
        )
        assert [image.data for image in message.images] == [base64.b64encode(PNG).decode()]


async def test_attach_shows_a_chip_that_can_be_removed_before_sending(home, workdir):
    app, adapter = make_app(home, scripts=[[TextDelta("ok"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/attach src/main.py")
        await run(pilot, "/attach notes.md")
        chips = list(app.screen.query(AttachmentChip))
        assert [c.attachment.name for c in chips] == ["src/main.py", "notes.md"]
        await pilot.click(chips[1])
        await pilot.pause()
        assert [c.attachment.name for c in app.screen.query(AttachmentChip)] == ["src/main.py"]
        await run(pilot, "what does it print?")
        await wait_until(pilot, lambda: len(adapter.requests) == 1, "the request")
        assert adapter.requests[0].messages[-1].content.endswith("src/main.py:\n```python\nprint(1)\n```")
        assert "remember the milk" not in adapter.requests[0].messages[-1].content
        assert list(app.screen.query(AttachmentChip)) == []  # sent: the chips are gone


async def test_a_bad_path_is_one_sentence_and_the_prompt_is_kept(home, workdir):
    app, adapter = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "look at @./nope.txt please")
        assert "Cannot attach ./nope.txt: there is no such file." == last_note(app).text
        assert app.screen.prompt.text == "look at @./nope.txt please" and adapter.requests == []
        app.screen.prompt.clear()
        await run(pilot, "/attach src")
        assert "it is a directory" in last_note(app).text and last_note(app).has_class("-error")
        assert app.screen.prompt.text == "/attach src"


async def test_images_on_the_claude_cli_are_refused_before_anything_is_sent(home, workdir):
    extra = '[profiles.cc]\nprovider = "claude-code"\nmodel = "sonnet"\n'
    app, _ = make_app(home, extra=extra)
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/model cc --force")  # no Claude Code CLI here: the switch must be forced
        await run(pilot, "what is @shot.png")
        assert "takes text only" in last_note(app).text
        assert app.screen.prompt.text == "what is @shot.png"
        assert not list(app.screen.query(AssistantMessage))


# --- recall ----------------------------------------------------------------------------------------------


async def test_recall_survives_a_restart_without_keys(home):
    app, _ = make_app(home, scripts=[[TextDelta("a"), Done()], [TextDelta("b"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "first prompt")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer")
        await run(pilot, "/help")
        await run(pilot, "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer")
    stored = json.loads((home / "data" / "prompt-recall.json").read_text())
    assert stored["prompts"] == ["/help", "first prompt"]

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.prompt.recall_store is not None, "the recall file to load")
        await pilot.press("up")
        assert app.screen.prompt.text == "/help"
        await pilot.press("up")
        assert app.screen.prompt.text == "first prompt"


# --- ctrl+c ----------------------------------------------------------------------------------------------


async def test_ctrl_c_stops_a_streaming_answer_like_escape(home):
    hold = Hold()
    app, adapter = make_app(home, scripts=[[TextDelta("partial"), hold, TextDelta("never"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "go")
        await wait_until(pilot, lambda: "partial" in (app.screen._answer.text if app.screen._answer else ""), "text")
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the stop")
        answer = list(app.screen.query(AssistantMessage))[-1]
        assert answer.text == "partial" and answer.has_class("-stopped") and app.is_running


async def test_ctrl_c_copies_selected_prompt_text(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "hello world")
        await pilot.press("shift+home")
        await pilot.press("ctrl+c")
        assert app.clipboard == "hello world" and app.screen.prompt.text == "hello world"


async def test_ctrl_c_clears_the_prompt_and_up_brings_it_back(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "half a thought")
        await pilot.press("ctrl+c")
        assert app.screen.prompt.text == "" and app.is_running
        await pilot.press("up")
        assert app.screen.prompt.text == "half a thought"


async def test_ctrl_c_twice_on_an_empty_prompt_quits(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        # A still clock: on a loaded machine the two presses can be further apart than QUIT_WINDOW (the window
        # itself is tested without an app, below).
        app.screen._ctrl_c = CtrlC(clock=lambda: 100.0)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app._exit or not app.is_running


def test_two_presses_further_apart_than_the_window_do_not_quit():
    now = [100.0]
    ctrl_c = CtrlC(clock=lambda: now[0])
    assert ctrl_c.press(streaming=False, selection="", prompt_text="") == "arm"
    now[0] += QUIT_WINDOW + 0.5
    assert ctrl_c.press(streaming=False, selection="", prompt_text="") == "arm"
    now[0] += QUIT_WINDOW / 2
    assert ctrl_c.press(streaming=False, selection="", prompt_text="") == "quit"
    assert ctrl_c.press(streaming=True, selection="x", prompt_text="y") == "stop"
    assert ctrl_c.press(streaming=False, selection="x", prompt_text="y") == "copy"
    assert ctrl_c.press(streaming=False, selection="", prompt_text="y") == "clear"


async def test_footer_and_help_say_what_ctrl_c_does(home):
    app, _ = make_app(home)
    async with app.run_test(size=(140, 30)) as pilot:
        await run(pilot, "/help")
        assert "twice within a second on an empty prompt: quit" in last_note(app).text
        footer_keys = {b.binding.key: b.binding.description for b in app.active_bindings.values() if b.binding.show}
        assert footer_keys.get("ctrl+c") == "Clear/quit"


# --- the completion menu ---------------------------------------------------------------------------------


async def test_arrows_move_in_the_open_menu_and_tab_takes_the_highlighted_row(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/model ")
        menu = app.screen.query_one("#hints", Static)
        assert menu.is_open and [i.insert for i in menu.completion.items] == ["claude", "fake"]
        await pilot.press("down")
        assert menu.index == 1 and app.screen.prompt.text == "/model "
        await pilot.press("tab")
        assert app.screen.prompt.text == "/model fake"


async def test_enter_runs_the_prompt_even_with_the_menu_open(home):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/model ")
        assert app.screen.query_one("#hints", Static).is_open
        await pilot.press("down", "enter")
        await pilot.pause()
        from tui_agent.ui.screens.model_picker import ModelPicker

        assert isinstance(app.screen, ModelPicker)  # "/model " as typed, not the highlighted "fake"


async def test_escape_closes_the_menu_and_arrows_recall_again(home):
    app, _ = make_app(home, scripts=[[TextDelta("a"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "earlier")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer")
        await type_text(pilot, "/")
        menu = app.screen.query_one("#hints", Static)
        assert menu.is_open
        await pilot.press("escape")
        assert not menu.display
        await pilot.press("up")
        assert app.screen.prompt.text == "earlier"


async def test_at_path_completion_lists_files_and_descends_into_folders(home, workdir):
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "read @s")
        menu = app.screen.query_one("#hints", Static)
        assert [i.insert for i in menu.completion.items] == ["@shot.png", "@src/"]
        await type_text(pilot, "r")
        await pilot.press("tab")
        assert app.screen.prompt.text == "read @src/"
        assert [i.insert for i in menu.completion.items] == ["@src/main.py"]
        await pilot.press("tab")
        assert app.screen.prompt.text == "read @src/main.py"


async def test_a_failed_answer_gives_back_the_prompt_and_its_chips(home, workdir):
    from tui_agent.core.events import StreamFailed

    app, _ = make_app(home, scripts=[[StreamFailed("The server refused the image: too large.", kind="bad_request")]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "/attach shot.png")
        await run(pilot, "what is this?")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the failure")
        answer = list(app.screen.query(AssistantMessage))[-1]
        assert answer.has_class("-error")
        assert app.screen.prompt.text == "what is this?"
        assert [c.attachment.name for c in app.screen.query(AttachmentChip)] == ["shot.png"]


async def test_a_reopened_conversation_names_the_images_its_prompts_carried(home, workdir):
    app, _ = make_app(home, scripts=[[TextDelta("a picture"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await run(pilot, "what is @shot.png")
        await wait_until(pilot, lambda: not app.screen.is_streaming, "the answer")
        conversation_id = app.screen.conversation_id
        await run(pilot, "/new")
        await app.screen.open_conversation(conversation_id)
        await pilot.pause()
        from tui_agent.ui.widgets.message import UserMessage

        [user] = list(app.screen.query(UserMessage))
        assert user.text == "what is shot.png\n\n[attached: shot.png]"


async def test_the_palette_starts_an_attach_and_the_menu_lists_the_files(home, workdir):
    from tui_agent.ui.palette import palette_entries

    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        entries = {title: callback for title, _help, callback in palette_entries(app.screen)}
        entries["Attach a file"]()
        await pilot.pause()
        assert app.screen.prompt.text == "/attach "
        menu = app.screen.query_one("#hints", Static)
        assert [i.insert for i in menu.completion.items] == ["notes.md", "shot.png", "src/"]


async def test_at_path_tokens_show_as_chips_and_pressing_one_deletes_the_token(home, workdir):
    from tui_agent.ui.widgets.attachments import TokenChip

    app, adapter = make_app(home, scripts=[[TextDelta("ok"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "compare @notes.md @shot.png and mail me@example.com")
        chips = list(app.screen.query(TokenChip))
        assert [c.path for c in chips] == ["notes.md", "shot.png"]
        await pilot.click(chips[0])
        await pilot.pause()
        assert app.screen.prompt.text == "compare @shot.png and mail me@example.com"
        assert [c.path for c in app.screen.query(TokenChip)] == ["shot.png"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(adapter.requests) == 1, "the request")
        assert "remember the milk" not in adapter.requests[0].messages[-1].content
        await pilot.pause()
        assert list(app.screen.query(TokenChip)) == [] and not app.screen.query_one("#attachments").display


async def test_a_file_name_with_markup_or_escapes_is_shown_as_plain_text(home, workdir):
    from tui_agent.ui.widgets.attachments import TokenChip

    app, _adapter = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "look at @./a[/b][@click=app.quit]\x1b]0;x\x07.txt")
        await pilot.pause()
        chips = list(app.screen.query(TokenChip))
        assert len(chips) == 1 and app.is_running  # no MarkupError, no action
        label = str(chips[0].label)
        assert "[/b][@click=app.quit]" in label and "\x1b" not in label and "\x07" not in label
