"""A block longer than HOLD_BLOCK_AFTER is held back while it streams (its last lines show as plain text) and
drawn once when it ends, exactly as a one-shot render draws it (issue 23: big single blocks never freeze typing)."""

from __future__ import annotations

import pytest
from textual.widgets import Markdown, Static

from tests.perf.test_streamed_render import rendered_lines
from tests.ui.support import SIZE, Hold, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.ui.widgets.message import HOLD_BLOCK_AFTER, AssistantMessage, _BlockScanner


def block_start(text: str) -> int:
    scanner = _BlockScanner()
    for i in range(0, len(text), 7):  # in pieces, as a stream gives it
        scanner.feed(text[: i + 7])
    return scanner.block_start


@pytest.mark.parametrize(("text", "where"), [
    ("one paragraph\nstill it", 0),
    ("first\n\nsecond, growing", len("first\n\n")),
    ("intro\n\n```python\ncode\n\nmore code\n", len("intro\n\n")),  # a blank line inside a fence ends nothing
    ("```\ncode\n```\nafter", len("```\ncode\n```\n")),
    ("~~~~\ncode\n~~~\nstill code\n", 0),  # a shorter closing marker does not close a longer fence
    ("```\ncode\n``` not a close\n", 0),
    ("```\ncode\n   ```\nnext", len("```\ncode\n   ```\n")),  # up to three spaces of indent
    ("para\n\n    ```\nindented code, not a fence\n", len("para\n\n")),
])
def test_the_scanner_finds_where_the_streaming_block_began(text, where):
    assert block_start(text) == where


def answer(app) -> AssistantMessage:
    return app.screen.query_one(AssistantMessage)


def source(app) -> str:
    return answer(app).query_one(".answer", Markdown).source


def tail(app) -> Static | None:
    found = answer(app).query(".answer-tail")
    return found.first() if found else None


async def held_then_drawn(home, before: str, block: str, after: str) -> None:
    """Stream `before`, then `block` in pieces past the hold limit, then `after`; check what shows at each step."""
    first, rest = block[: HOLD_BLOCK_AFTER + 500], block[HOLD_BLOCK_AFTER + 500:]
    hold, hold_end = Hold(), Hold()
    app, _ = make_app(home, scripts=[[TextDelta(before), TextDelta(first), hold, TextDelta(rest), TextDelta(after), hold_end, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("something long")
        await pilot.press("enter")
        await wait_until(pilot, lambda: tail(app) is not None and tail(app).display, "the held block's tail")
        assert source(app) == before  # the long block is not in the Markdown while it streams
        shown = str(tail(app).render())
        assert first[-200:] in shown and "drawn in full when it ends" in shown
        hold.release()
        await wait_until(pilot, lambda: source(app) == before + block + after, "the block drawn once it ended")
        assert not tail(app).display
        hold_end.release()
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        await pilot.pause()
        reference = AssistantMessage()
        await app.screen.conversation.mount(reference)
        await reference.query_one(".answer", Markdown).update(before + block + after)
        await pilot.pause()
        streamed = answer(app).query_one(".answer", Markdown)
        assert rendered_lines(streamed) == rendered_lines(reference.query_one(".answer", Markdown))


async def test_a_long_code_fence_is_held_while_it_streams_and_drawn_whole_when_it_closes(home):
    code = "".join(f"    value_{i} = compute({i}, 'text')  # line {i}\n" for i in range(400))
    await held_then_drawn(home, "Here is the code:\n\n", f"```python\ndef main():\n{code}```\n", "\nThat is all.\n")


async def test_a_long_paragraph_is_held_while_it_streams_and_drawn_whole_when_it_ends(home):
    words = " ".join(f"word{i} **bold{i}**" for i in range(1200))
    await held_then_drawn(home, "# Title\n\n", words + "\n\n", "The next paragraph.\n")


async def test_a_long_block_still_streaming_at_the_end_is_drawn_whole(home):
    code = "".join(f"line {i} of a fence that never closes\n" for i in range(600))
    text = "Intro.\n\n```\n" + code
    app, _ = make_app(home, scripts=[[TextDelta(text[i:i + 4000]) for i in range(0, len(text), 4000)] + [Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("an unclosed fence")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        assert source(app) == text
        assert tail(app) is None or not tail(app).display


async def test_a_block_that_grows_long_keeps_what_was_drawn_of_it_and_counts_only_the_rest(home):
    code = "".join(f"    row_{i} = ({i}, 'text {i}')\n" for i in range(600))
    block = f"```python\n{code}```\n"
    start, middle, rest = block[:2000], block[2000:HOLD_BLOCK_AFTER + 3000], block[HOLD_BLOCK_AFTER + 3000:]
    hold_start, hold_middle = Hold(), Hold()
    app, _ = make_app(home, scripts=[[TextDelta("Code:\n\n"), TextDelta(start), hold_start, TextDelta(middle), hold_middle,
                                      TextDelta(rest), TextDelta("\nDone.\n"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("a block that grows")
        await pilot.press("enter")
        await wait_until(pilot, lambda: source(app) == "Code:\n\n" + start, "the block's beginning drawn")
        hold_start.release()
        await wait_until(pilot, lambda: tail(app) is not None and tail(app).display, "the held block's tail")
        assert source(app) == "Code:\n\n" + start  # what was drawn stays; nothing more of the block is written
        shown = str(tail(app).render())
        not_shown = len(middle) - len(shown.split("\n", 1)[1])
        assert f"… {not_shown:,} characters of this block are not shown here" in shown
        hold_middle.release()
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        await pilot.pause()
        text = "Code:\n\n" + block + "\nDone.\n"
        reference = AssistantMessage()
        await app.screen.conversation.mount(reference)
        await reference.query_one(".answer", Markdown).update(text)
        await pilot.pause()
        assert source(app) == text
        assert rendered_lines(answer(app).query_one(".answer", Markdown)) == rendered_lines(reference.query_one(".answer", Markdown))
