"""The chat screen's plain helpers (slash parsing and hints, code-block extraction) and its light start-up."""

from __future__ import annotations

import subprocess
import sys

from tui_agent.ui import slash
from tui_agent.ui.code_blocks import code_blocks


def test_slash_parse_splits_command_and_argument():
    parsed = slash.parse("  /Model   claude  ")
    assert parsed.command is slash.BY_NAME["model"] and parsed.arg == "claude"
    assert slash.parse("/nope x").command is None and slash.parse("/nope x").word == "nope"


def test_double_slash_and_multi_line_text_are_messages_not_commands():
    assert slash.is_slash("/help")
    assert not slash.is_slash("//help")
    assert not slash.is_slash("/help\nmore text")
    assert not slash.is_slash("see /help")


def test_completions_narrow_by_prefix_and_show_usage_once_the_word_is_complete():
    from tui_agent.ui.completion import complete

    def inserts(text, **sources):
        found = complete(text, len(text), **sources)
        return None if found is None else [item.insert for item in found.items]

    assert inserts("/") == [f"/{c.name}" + (" " if c.arg else "") for c in slash.COMMANDS]
    assert inserts("/lo") == ["/login ", "/logout "]
    assert inserts("/login ant", providers=["anthropic", "openai"]) == ["anthropic"]
    assert complete("/new ", 5).info.startswith("/new")  # nothing to choose: the usage is shown
    assert complete("/zz", 3) is None and complete("hello", 5) is None
    assert complete("write to me@", 12) is None  # an e-mail address is not a path


def test_code_blocks_are_the_exact_source_of_each_fence_in_order():
    text = "Intro\n\n```python\ndef f():\n    return '```'\n```\n\n~~~\nplain\n~~~\n\n    indented\n"
    blocks = code_blocks(text)
    assert [(b.language, b.code) for b in blocks] == [
        ("python", "def f():\n    return '```'\n"), ("", "plain\n"), ("", "indented\n"),
    ]
    assert blocks[0].label() == "python, 2 lines: def f():"


def test_the_normalising_rule_gives_markdown_its_own_text_without_its_regex():
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore
    from markdown_it.rules_core.normalize import normalize as markdown_its

    from tui_agent.ui.code_blocks import normalize

    for text in ["", "a\nb", "a\r\nb\rc\n\r\nd\r", "\r\r\n\n\r", "nul\0here\0", "\u2028\x0c\r\n\0", "plain " * 50]:
        ours, theirs = StateCore(text, MarkdownIt(), {}), StateCore(text, MarkdownIt(), {})
        normalize(ours)
        markdown_its(theirs)
        assert ours.src == theirs.src, repr(text)


def test_importing_the_app_and_chat_screen_loads_no_sdk_network_keyring_or_sqlite():
    code = (
        "import sys\n"
        "import tui_agent.ui.app, tui_agent.ui.screens.chat\n"
        "heavy = ('httpx', 'keyring', 'sqlite3', 'anthropic', 'openai', 'ollama', 'tui_agent.service.agent',"
        " 'tui_agent.auth.store', 'textual.widgets._markdown')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_theme_from_config_is_applied_and_an_unknown_one_is_ignored(tmp_path):
    from tui_agent.config.load import load_config
    from tui_agent.config.paths import Paths
    from tui_agent.ui.app import TuiAgentApp

    env = {"TUI_AGENT_HOME": str(tmp_path)}
    paths = Paths.resolve(env=env)
    paths.config_file.write_text('[ui]\ntheme = "nord"\n')
    assert TuiAgentApp(config=load_config(paths.config_file), paths=paths).theme == "nord"
    paths.config_file.write_text('[ui]\ntheme = "no-such-theme"\n')
    assert TuiAgentApp(config=load_config(paths.config_file), paths=paths).theme == "textual-dark"


async def test_collection_paused_for_start_up_resumes_once_the_chat_screen_has_painted(home):
    import gc

    from tests.ui.support import make_app, wait_until

    from tui_agent.ui.gc_pacing import NO_AUTOMATIC_FULL

    app, _ = make_app(home)
    thresholds = gc.get_threshold()
    gc.disable()  # as `tui-agent` does before loading anything (cli._run_tui)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.first_frame_shown, "the first frame")
            assert gc.isenabled()
            assert gc.get_freeze_count() > 0  # start-up's objects left out of later collections
            # Full passes are the pacer's from now on (tui_agent/ui/gc_pacing.py); young ones stay automatic.
            assert app.gc_pacer is not None
            from tui_agent.ui.allocator import give_back_free_memory

            assert app.gc_pacer._after_deep is give_back_free_memory  # a deep pass hands free memory back
            assert gc.get_threshold() == (*thresholds[:2], NO_AUTOMATIC_FULL)
        assert gc.get_threshold() == thresholds  # given back when the app ends
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        gc.enable()


async def test_the_app_notes_when_the_user_last_typed_and_when_the_prompt_drew_the_key(home):
    from tests.ui.support import make_app

    app, _ = make_app(home)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.last_input_at == 0.0
        await pilot.press("x")
        typed = app.last_input_at
        assert typed > 0.0 and app.screen.prompt.text == "x"
        assert app.key_pace.typed_at == typed <= app.key_pace.shown_at  # the prompt drew it after it came
        await pilot.press("y")
        assert app.key_pace.typed_at == app.last_input_at > typed


def test_help_says_model_without_a_nickname_opens_the_picker():
    model = slash.BY_NAME["model"]
    assert "picker" in model.help and "list the profiles" not in model.help


def test_did_you_mean_only_for_close_matches():
    assert slash.closest("hepl") == "help"
    assert slash.closest("modle") == "model"
    assert slash.closest("nwe") == "new"
    assert slash.closest("histroy") == "history"
    assert slash.closest("bogus") is None  # not /logout
    assert slash.closest("xyz") is None
    assert slash.closest("foo") is None


def test_a_reopened_branch_draws_the_latest_messages_that_fill_two_screens():
    from types import SimpleNamespace

    from tui_agent.ui.branching import SCREENFULS, first_to_draw

    def message(lines: int, width: int = 10):
        return SimpleNamespace(content="\n".join("x" * width for _ in range(lines)))

    short = [message(1) for _ in range(10)]
    assert first_to_draw(short, 80, 40) == 0  # short messages: all of them
    tall = [message(50) for _ in range(10)]
    assert first_to_draw(tall, 80, 40) == 10 - 2  # two of 52 rows each fill 2 × 40
    assert first_to_draw([message(1000)], 80, 40) == 0  # at least the last message
    wrapped = [message(1, width=800) for _ in range(10)]  # one source line wraps to 11 rows at 80 columns
    assert first_to_draw(wrapped, 80, 40) == 10 - -(-SCREENFULS * 40 // 13)
    assert first_to_draw(tall, 0, 0) == 0  # no size yet: all
