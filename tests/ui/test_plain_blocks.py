"""A block longer than PLAIN_BLOCK_AFTER is drawn as plain lines (no highlighting, no inline Markdown), cut out of
the text as the screen shows them, and alike whether the answer streamed or was drawn at once (issue 23: a 5 MB
block drawn by Markdown kept every key waiting for tens of seconds)."""

from __future__ import annotations

import pytest
from textual.widgets import Label, Markdown

from tests.perf.test_streamed_render import rendered_lines
from tests.ui.support import SIZE, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.sanitize import sanitize
from tui_agent.ui.widgets import answer_markdown
from tui_agent.ui.widgets.answer_markdown import PlainFence, PlainParagraph, answer_parser
from tui_agent.ui.widgets.message import AssistantMessage

LIMIT = 20_000  # the tests' PLAIN_BLOCK_AFTER: blocks of tens of KB, drawn fast either way


@pytest.fixture(autouse=True)
def small_limit(monkeypatch):
    monkeypatch.setattr(answer_markdown, "PLAIN_BLOCK_AFTER", LIMIT)


def answer(app) -> AssistantMessage:
    return app.screen.query_one(AssistantMessage)


async def streamed_and_reopened(home, text: str, check) -> None:
    """Stream `text` in 3 KB pieces; then draw it at once in a second answer, as a reopened conversation does; then
    `await check(streamed, reopened)` (the answers' Markdown widgets) while the app runs."""
    pieces = [TextDelta(text[i:i + 3000]) for i in range(0, len(text), 3000)]
    app, _ = make_app(home, scripts=[[*pieces, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("something long")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        await pilot.pause()
        reference = AssistantMessage(text)
        await app.screen.conversation.mount(reference)
        await pilot.pause()
        streamed = answer(app).query_one(".answer", Markdown)
        reopened = reference.query_one(".answer", Markdown)
        assert streamed.source == reopened.source == sanitize(text)  # what the Markdown gets is sanitised first
        await check(streamed, reopened)


async def test_a_long_code_block_is_plain_lines_and_streamed_equals_reopened(home):
    code = "".join(f"    value_{i} = compute({i}, 'text')  # line {i}\n" for i in range(LIMIT // 40 + 100))
    text = f"Here is the code:\n\n```python\n{code}```\n\nThat is all.\n"
    async def check(streamed, reopened):
        for markdown in (streamed, reopened):
            fence = markdown.query_one(PlainFence)
            assert fence.plain is not None and not fence.query(Label)  # no highlighted Label inside
            lines = len(code.rstrip("\n").split("\n"))
            assert fence.size.height == lines and fence.region.height == lines + 2  # every line, and the padding
        lines = rendered_lines(streamed)
        assert lines == rendered_lines(reopened)
        assert any("value_0 = compute(0, 'text')  # line 0" in line for line in lines)

    await streamed_and_reopened(home, text, check)


async def test_a_long_paragraph_is_plain_text_wrapped_at_the_width(home):
    words = " ".join(f"word{i} **bold{i}**" for i in range(LIMIT // 16 + 200))
    text = f"# Title\n\n{words}\n\nThe next paragraph.\n"
    async def check(streamed, reopened):
        paragraph = next(b for b in streamed.query(PlainParagraph) if b.plain is not None)
        width = paragraph.content_region.width
        assert paragraph.size.height == -(-len(words) // width)
        lines = rendered_lines(streamed)
        assert lines == rendered_lines(reopened)
        assert any("word0 **bold0** word1" in line for line in lines)  # its inline Markdown is not read

    await streamed_and_reopened(home, text, check)


async def test_a_block_under_the_limit_is_drawn_by_markdown_as_before(home):
    code = "".join(f"x_{i} = {i}\n" for i in range(50))
    text = f"Short:\n\n```python\n{code}```\n\nA **bold** word.\n"
    async def check(streamed, reopened):
        fence = streamed.query_one(PlainFence)
        assert fence.plain is None and fence.query(Label)  # highlighted, as Textual draws it
        assert all(p.plain is None for p in streamed.query(PlainParagraph))
        assert rendered_lines(streamed) == rendered_lines(reopened)

    await streamed_and_reopened(home, text, check)


async def test_a_hostile_block_drawn_plain_still_reaches_the_screen_only_through_the_sanitiser(home):
    # Plain lines are cut out of the answer's text as they are drawn: that text must already be sanitised.
    hostile = "\x1b]52;c;cGF3bmVk\x07\x1b[2J\x1b[31mred\x9b0m\r\x00"
    code = "".join(f"line {i} {hostile}\n" for i in range(LIMIT // 10))  # over the limit once sanitised too
    words = " ".join(f"word{i} {hostile}" for i in range(LIMIT // 8))
    text = f"```\n{code}```\n\n{words}\n"

    async def check(streamed, reopened):
        for markdown in (streamed, reopened):
            assert markdown.query_one(PlainFence).plain is not None
            assert any(p.plain is not None for p in markdown.query(PlainParagraph))
            lines = rendered_lines(markdown)
            assert any("line 0" in line for line in lines) and any("word0" in line for line in lines)
            for line in lines:
                assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in line), repr(line)

    await streamed_and_reopened(home, text, check)


def test_the_parser_reads_inline_markdown_only_in_paragraphs_under_the_limit():
    parser = answer_parser()
    short = parser.parse("a **bold** word\n")[1]
    assert [t.type for t in short.children] == ["text", "strong_open", "text", "strong_close", "text"]
    long_text = "a **bold** word https://example.com " * (LIMIT // 30 + 1)
    long = parser.parse(long_text + "\n")[1]
    assert long.type == "inline"
    assert [t.type for t in long.children] == ["text"] and long.children[0].content == long_text.rstrip()
    linked = parser.parse("see https://example.com\n")[1]  # bare URLs are still found under the limit
    assert "link_open" in [t.type for t in linked.children]


async def test_hostile_text_in_a_flat_list_and_a_code_block_reaches_the_screen_only_through_the_sanitiser(home):
    # Flat lists and code lines draw their own lines from the parsed answer: that answer must already be sanitised.
    from tui_agent.ui.widgets.answer_markdown import CodeLines
    from tui_agent.ui.widgets.flat_lists import FlatList

    hostile = "\x1b]52;c;cGF3bmVk\x07\x1b[2J\x1b[31mred\x9b0m\r\x00"
    text = (f"- one {hostile}\n- two {hostile}\n\n1. first {hostile}\n\n```\ncode {hostile}\nmore\n```\n")

    async def check(streamed, reopened):
        for markdown in (streamed, reopened):
            flats = [flat for flat in markdown.children if isinstance(flat, FlatList) and flat._flat is not None]
            code = markdown.query_one(CodeLines)
            assert len(flats) == 2
            lines = [strip.text for flat in flats for strip in flat._lines(flat.content_region.width)]
            lines += [code.render_line(y).text for y in range(code.size.height)]
            assert any("one" in line for line in lines) and any("code" in line for line in lines)
            for line in lines:
                assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in line), repr(line)
            assert rendered_lines(markdown) == rendered_lines(reopened)

    await streamed_and_reopened(home, text, check)
