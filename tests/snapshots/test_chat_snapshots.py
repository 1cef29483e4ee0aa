"""Pictures of the chat screen in each state (also the source of the images in assets/, see scripts/make_screens.py).

Deterministic by construction: scripted answers behind the real service, fixed size, animations and cursor
blink off, a pinned theme, and nothing time- or host-dependent on screen.
"""

from __future__ import annotations

from textual.widgets import Markdown

from tests.ui.support import Hold, make_app, no_blink, wait_until
from tui_agent.core.events import Done, TextDelta, ThinkingDelta
from tui_agent.ui.widgets.message import AssistantMessage
from tui_agent.ui.widgets.welcome import Welcome

SIZE = (100, 30)

CODE_ANSWER = """Here is a function that reverses the words of a sentence:

```python
def reverse_words(sentence: str) -> str:
    \"\"\"Return the words of `sentence` in reverse order.\"\"\"
    return " ".join(reversed(sentence.split()))
```

- `split()` with no argument also collapses runs of spaces.
- `reversed` returns an iterator, which `join` accepts.
"""

MID_STREAM = """Three things make streaming fast:

1. **Coalescing**: deltas are buffered and written every few frames.
2. **Appending**: only the last block is parsed again.
3. """


def prepare(app) -> None:
    app.theme = "textual-dark"
    no_blink(app)


def answer_source(app) -> str:
    answers = list(app.screen.query(AssistantMessage))
    return answers[-1].query_one(".answer", Markdown).source if answers else ""


def footer_key_enabled(app, action: str) -> bool:
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey  # Textual 8.2.8 (pinned) does not export it

    keys = [key for key in app.screen.query_one(Footer).query(FooterKey) if key.action == action]
    return bool(keys) and not keys[0].has_class("-disabled")  # FooterKey marks a greyed key with a class only


async def send(pilot, text: str) -> None:
    pilot.app.screen.prompt.insert(text)
    await pilot.press("enter")


def test_empty_chat(snap_compare, home):
    app, _ = make_app(home)

    async def run_before(pilot):
        prepare(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_first_run_welcome(snap_compare, home):
    app, _ = make_app(home, default=None)

    async def run_before(pilot):
        prepare(app)
        await wait_until(pilot, lambda: app.screen.query_one(Welcome).statuses is not None, "the scan")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_answer_mid_stream(snap_compare, home):
    hold = Hold()
    app, _ = make_app(home, scripts=[[ThinkingDelta("The user wants to know why."), TextDelta(MID_STREAM), hold, Done()]])

    async def run_before(pilot):
        prepare(app)
        await send(pilot, "Why is streaming fast?")
        await wait_until(pilot, lambda: answer_source(app) == MID_STREAM, "the partial answer")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_finished_answer_with_code_block(snap_compare, home):
    app, _ = make_app(home, scripts=[[TextDelta(CODE_ANSWER[:40]), TextDelta(CODE_ANSWER[40:]), Done()]])

    async def run_before(pilot):
        prepare(app)
        await send(pilot, "Reverse the words of a sentence in Python.")
        await wait_until(pilot, lambda: not app.screen.is_streaming and answer_source(app) == CODE_ANSWER, "the answer")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


LONG_FENCE = "Here is the generated table:\n\n```python\nROWS = [\n" + "".join(
    f"    ({i}, 'row {i}', {i * i}),\n" for i in range(400)
)


def test_long_block_held_while_it_streams(snap_compare, home):
    hold = Hold()
    app, _ = make_app(home, scripts=[[TextDelta(LONG_FENCE), hold, Done()]])

    async def run_before(pilot):
        prepare(app)
        await send(pilot, "Generate the table.")
        answer = app.screen.query_one(AssistantMessage)
        await wait_until(pilot, lambda: bool(answer.query(".answer-tail")) and answer.query_one(".answer-tail").display,
                         "the held block's tail")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_stopped_answer(snap_compare, home):
    hold = Hold()
    app, _ = make_app(home, scripts=[[TextDelta("The history of the terminal begins with the teletype, which"), hold, Done()]])

    async def run_before(pilot):
        prepare(app)
        await send(pilot, "Tell me the whole history of terminals.")
        await wait_until(pilot, lambda: answer_source(app).endswith("which"), "the first words")
        await pilot.press("escape")
        answer = app.screen.query_one(AssistantMessage)
        # The mark is drawn after the text that arrived (in `finish`): wait for the mark itself, not the state.
        await wait_until(pilot, lambda: answer.state == "stopped" and not app.screen.workers
                         and "stopped" in str(answer.query_one(".answer-status").render()), "the stop mark")
        # The footer is rebuilt after a frame: wait until it offers Edit (the stopped turn has a prompt to edit).
        await wait_until(pilot, lambda: footer_key_enabled(app, "edit"), "Edit offered in the footer")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_error_answer(snap_compare, home):
    app, _ = make_app(home, model="claude")

    async def run_before(pilot):
        prepare(app)
        await send(pilot, "Hello Claude")
        await wait_until(pilot, lambda: app.screen.query(AssistantMessage) and app.screen.query_one(AssistantMessage).state == "error", "the error")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_slash_command_hints(snap_compare, home):
    app, _ = make_app(home)

    async def run_before(pilot):
        prepare(app)
        app.screen.prompt.insert("/")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_scrolled_up_while_more_arrives(snap_compare, home):
    first, second = Hold(), Hold()
    body = "".join(f"Paragraph {i}: the answer goes on.\n\n" for i in range(30))
    more = "".join(f"Later paragraph {i}.\n\n" for i in range(10))
    app, _ = make_app(home, scripts=[[TextDelta(body), first, TextDelta(more), second, Done()]])

    async def run_before(pilot):
        prepare(app)
        await send(pilot, "A long answer, please.")
        await wait_until(pilot, lambda: answer_source(app) == body, "the first part")
        await pilot.pause()
        await pilot.press("pageup")
        await pilot.pause()
        first.release()
        await wait_until(pilot, lambda: answer_source(app) == body + more, "the second part")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_answer_with_siblings(snap_compare, home):
    """A retried answer: its author line carries `‹ 2/2 ›` and the keys that switch; the footer offers Edit and Retry."""
    extra = '\n[profiles.fake2]\nprovider = "scripted"\nmodel = "scripted-2"\n'
    app, _ = make_app(home, extra=extra, scripts=[
        [TextDelta("Tides come from the moon's pull on both sides of the Earth."), Done()],
        [TextDelta("Mostly the moon: its pull raises a bulge on the near side and the far side."), Done()],
    ])

    async def run_before(pilot):
        prepare(app)
        await send(pilot, "Why are there two tides a day?")
        await wait_until(pilot, lambda: not app.screen.is_streaming and answer_source(app).endswith("Earth."), "the answer")
        await send(pilot, "/retry fake2")
        await wait_until(pilot, lambda: not app.screen.is_streaming and answer_source(app).endswith("far side."), "the retry")
        await wait_until(pilot, lambda: app.screen.query(AssistantMessage).last().mark == (2, 2), "the sibling mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_pictures_in_assets_match_the_snapshot_baselines():
    """screens.md shows assets/; scripts/make_screens.py copies them from the reviewed baselines."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(root / "scripts" / "make_screens.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_history_banner(snap_compare, home):
    """A damaged history.db: kept aside, a new one started, and the banner says so at once."""
    app, _ = make_app(home, extra="[ui]\nresume_last = true\n")
    app.paths.history_db.parent.mkdir(parents=True, exist_ok=True)
    app.paths.history_db.write_bytes(b"this is not a database" * 100)

    async def run_before(pilot):
        prepare(app)
        banner = app.screen.query_one("#history-banner")
        await wait_until(pilot, lambda: banner.display, "the banner")
        # The real path and time stamp vary: show the picture with stable ones.
        text = str(banner.render())
        start = text.index("The history database ") + len("The history database ")
        banner.update(text[:start] + "~/.local/share/tui-agent/history.db" + text[text.index(" was damaged"):].replace(
            text[text.index("history.db.damaged-"):text.index(" beside")], "history.db.damaged-20261206-183000"))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
def test_system_prompt_line_and_the_narrow_headers_context_and_cost(snap_compare, home):
    """The conversation's system prompt above it; "ctx … · cost unknown" beside the auth summary (80 columns)."""
    from tui_agent.core.chat import ModelInfo
    from tui_agent.core.events import Usage

    app, _ = make_app(home, scripts=[[TextDelta("Arr, ahoy."), Usage(input_tokens=1200, output_tokens=300), Done()]])
    app.service._models_cache["scripted"] = [ModelInfo("scripted", "scripted-1", context_window=8192)]

    async def run_before(pilot):
        prepare(app)
        pilot.app.screen.prompt.insert("/system Answer like a pirate.")
        await pilot.press("enter")
        await send(pilot, "Say hello.")
        await wait_until(pilot, lambda: len(app.screen.transcript) == 2, "the answer")
        await wait_until(pilot, lambda: app.screen.query_one("#context-summary").text != "", "the summary")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
