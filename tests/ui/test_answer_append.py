"""AnswerMarkdown.append: Textual's append, re-parsing from a kept line offset and holding no batch_update while
its blocks mount; what it draws must be what one `update()` of the same text draws."""

from __future__ import annotations

import contextlib

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from tests.perf.test_streamed_render import rendered_lines
from tui_agent.ui.widgets.answer_markdown import AnswerMarkdown

# Line ends of every kind str.splitlines knows (Textual counts lines with it, markdown-it with "\n" only), a CR LF
# that a cut can split. With these Textual's own append does not draw what its update draws (it re-parses from a
# line counted one way and places blocks by lines counted the other): the append here must do what Textual's does.
ODD_LINE_ENDS = ("# Title\r\n\r\nA paragraph\rwith a CR, a form feed\x0cand a line separator\u2028inside.\n\n"
                 "```python\ndef f(x):\n    return x\n```\n\n- one\n- two\n\n1. first\n2. second\n\nEnd")
# What answers are made of (the sanitiser leaves "\n" and tabs): here appends must draw what one update draws.
TEXT = ("# Title\n\nA paragraph with **bold** and a [link](https://example.com).\n\n"
        "```python\ndef f(x):\n\treturn x\n```\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n"
        "Setext heading\n---\n\n> quoted\n> text\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n    indented code\n\nThe end, no newline")


class TextualAppend(AnswerMarkdown):
    """The answer's Markdown with Textual 8.2.8's own append, for comparison."""

    append = Markdown.append


class Two(App[None]):
    def __init__(self, reference: type[AnswerMarkdown] = AnswerMarkdown) -> None:
        super().__init__()
        self.reference = reference

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield AnswerMarkdown(classes="streamed")
            yield self.reference(classes="whole")


@contextlib.asynccontextmanager
async def side_by_side(reference: type[AnswerMarkdown] = AnswerMarkdown):
    """The answer's Markdown (appended to by the test) beside a reference one, in a running app."""
    app = Two(reference)
    async with app.run_test(size=(80, 200)) as pilot:
        yield pilot, app.query_one(".streamed", AnswerMarkdown), app.query_one(".whole", AnswerMarkdown)


def cuts(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def blocks(markdown: AnswerMarkdown) -> list:
    return [(type(block).__name__, block.source_range) for block in markdown.children]


def assert_drawn_alike(streamed: AnswerMarkdown, reference: AnswerMarkdown) -> None:
    """The same source, the same blocks over the same lines, and every rendered line and style the same."""
    assert streamed.source == reference.source
    assert blocks(streamed) == blocks(reference)
    assert rendered_lines(streamed) == rendered_lines(reference)


@pytest.mark.parametrize("size", [2, 7, 64])  # (pieces of one character: the odd line ends below)
async def test_appended_in_pieces_it_draws_what_one_update_draws(size):
    async with side_by_side() as (pilot, streamed, whole):
        for piece in cuts(TEXT, size):
            await streamed.append(piece)
        await whole.update(TEXT)
        await pilot.pause()
        assert streamed.source == TEXT
        assert_drawn_alike(streamed, whole)


@pytest.mark.parametrize("size", [1, 3, 64])
async def test_with_odd_line_ends_it_draws_what_textuals_own_append_draws(size):
    async with side_by_side(TextualAppend) as (pilot, streamed, textual):
        for piece in cuts(ODD_LINE_ENDS, size):
            await streamed.append(piece)
            await textual.append(piece)
        await pilot.pause()
        assert streamed.source == ODD_LINE_ENDS
        assert streamed._last_parsed_line == textual._last_parsed_line
        assert_drawn_alike(streamed, textual)


async def test_an_append_lets_frames_be_drawn_while_its_blocks_mount(monkeypatch):
    """Textual's append held `batch_update` across the mounting of its new blocks, and no frame is drawn while it
    is held: a key typed then reached the screen only after the append."""
    app = Two()
    async with app.run_test(size=(80, 50)) as pilot:
        streamed = app.query_one(".streamed", AnswerMarkdown)
        held = []
        real_mount_all = streamed.mount_all

        def mount_all(*args, **kwargs):
            held.append(app._batch_count)  # what Textual's screen checks before it draws a frame
            return real_mount_all(*args, **kwargs)

        monkeypatch.setattr(streamed, "mount_all", mount_all)
        await streamed.append("First paragraph.\n\n")
        await streamed.append("Second paragraph.\n\n- a list\n\nThird.\n")
        await pilot.pause()
        assert held and not any(held)
        assert len(streamed.children) == 4


async def test_a_long_reparse_runs_in_a_worker_thread_and_draws_the_same(monkeypatch):
    """A re-parse longer than PARSE_APART_AFTER (the end of a long held block) runs off the event loop."""
    import threading

    from tui_agent.ui.widgets import answer_markdown

    threads = []
    real_parse = answer_markdown._parse
    monkeypatch.setattr(answer_markdown, "_parse", lambda *args: (threads.append(threading.get_ident()), real_parse(*args))[1])
    monkeypatch.setattr(answer_markdown, "PARSE_APART_AFTER", 40)
    async with side_by_side() as (pilot, streamed, whole):
        for piece in cuts(TEXT, 64):
            await streamed.append(piece)
        await whole.update(TEXT)
        await pilot.pause()
        assert threads and threading.get_ident() not in threads  # every re-parse here is longer than 40
        assert_drawn_alike(streamed, whole)


async def test_blocks_made_from_the_source_one_group_at_a_time_are_the_blocks_of_one_update():
    """What a folded answer's blocks are made again from (docs/answer-folding.md): the source cut into top-level
    groups of tokens, each drawn alone, gives the blocks one update draws, in order, an HTML block (no widget) left
    out."""
    text = TEXT + "\n\n<div>\nraw html\n</div>\n\nAfter the HTML block.\n"
    async with side_by_side() as (pilot, made, whole):
        made._markdown = text
        groups = await made.blocks_of_source()
        await made.mount_all([block for group in groups for block in made.make_blocks(group)])
        await whole.update(text)
        for _ in range(50):  # a table lays out its cells a turn or more after it mounts, on a busy machine later
            await pilot.pause()
            if made.region.height == whole.region.height:
                break
        assert all(len(made.make_blocks(group)) == 1 for group in groups)  # one block per group: a count maps them
        assert_drawn_alike(made, whole)


def counting_highlights(monkeypatch) -> list[str]:
    """Every code Textual's `MarkdownFence.highlight` is asked to highlight from now on, in order (none kept yet)."""
    from textual.widgets._markdown import MarkdownFence

    from tui_agent.ui.widgets import answer_markdown

    highlighted: list[str] = []
    real = MarkdownFence.highlight.__func__

    def counting(cls, code, language, ansi=False, dark=False):
        highlighted.append(code)
        return real(cls, code, language, ansi, dark)

    monkeypatch.setattr(MarkdownFence, "highlight", classmethod(counting))
    answer_markdown.highlighted.cache_clear()
    return highlighted


async def test_a_code_block_parsed_again_unchanged_is_neither_highlighted_nor_drawn_again(monkeypatch):
    """While a code block is the last block, every append parses it again and makes a new block of it: the code it
    holds is highlighted once (Textual highlights each new block), and the block on screen is left as it is."""
    from tui_agent.ui.widgets import answer_markdown

    highlighted = counting_highlights(monkeypatch)
    code = "```python\n" + "".join(f"value_{i} = compute({i})\n" for i in range(40)) + "```\n"
    async with side_by_side() as (pilot, streamed, reference):
        await streamed.append("Some code:\n\n" + code)
        fence = streamed.query_one(answer_markdown.PlainFence)
        set_content = []
        monkeypatch.setattr(fence, "set_content", lambda content: set_content.append(content))
        await streamed.append("\n")  # the fence is the last block: parsed again, unchanged
        await streamed.append("\nAfter the code.\n")
        await pilot.pause()
        assert highlighted.count(code.split("\n", 1)[1].rsplit("```", 1)[0].rstrip()) == 1
        assert streamed.query_one(answer_markdown.PlainFence) is fence and not set_content
        await reference.update("Some code:\n\n" + code + "\n\nAfter the code.\n")
        await pilot.pause()
        assert_drawn_alike(streamed, reference)


def test_a_code_block_that_grew_is_kept_highlighted_only_as_it_is_now(monkeypatch):
    """The highlights kept for the last blocks drop the shorter code a streaming block began with (it is never asked
    for again); other blocks, and the same code in another language, stay kept."""
    from textual.widgets._markdown import MarkdownFence

    from tui_agent.ui.widgets import answer_markdown

    real = MarkdownFence.highlight.__func__  # Textual's own
    highlighted = counting_highlights(monkeypatch)
    kept = answer_markdown.highlighted
    other = kept("print('other')", "python", False, True)
    shell = kept("a = 1", "bash", False, True)
    first = kept("a = 1", "python", False, True)
    grown = kept("a = 1\nb = 2", "python", False, True)
    assert str(grown) == str(real(MarkdownFence, "a = 1\nb = 2", "python", False, True))  # Textual's highlighting
    highlighted.clear()
    assert kept("a = 1\nb = 2", "python", False, True) is grown
    assert kept("print('other')", "python", False, True) is other
    assert kept("a = 1", "bash", False, True) is shell
    assert highlighted == []  # all three were kept
    again = kept("a = 1", "python", False, True)
    assert highlighted == ["a = 1"] and again is not first  # the code it grew out of was not


async def test_a_long_code_block_is_highlighted_in_a_worker_thread_and_draws_the_same(monkeypatch):
    import threading

    from textual.widgets._markdown import MarkdownFence

    from tui_agent.ui.widgets import answer_markdown

    threads: list[bool] = []
    real = MarkdownFence.highlight.__func__

    def recording(cls, code, language, ansi=False, dark=False):
        if len(code) > answer_markdown.HIGHLIGHT_APART_AFTER:
            threads.append(threading.current_thread() is threading.main_thread())
        return real(cls, code, language, ansi, dark)

    monkeypatch.setattr(MarkdownFence, "highlight", classmethod(recording))
    answer_markdown.highlighted.cache_clear()  # nothing highlighted yet
    code = "```python\n" + "".join(f"value_{i} = compute({i}, 'text')\n" for i in range(200)) + "```\n"
    text = "Code:\n\n" + code + "\nAfter.\n"
    async with side_by_side() as (pilot, streamed, reference):
        await streamed.append("Code:\n\n")
        await streamed.append(code)
        await streamed.append("\nAfter.\n")
        assert threads == [False]  # once, in a worker thread; the block found it done
        await reference.update(text)
        await pilot.pause()
        assert_drawn_alike(streamed, reference)
