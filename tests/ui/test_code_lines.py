"""A code block's code is rendered a line at a time, as the screen shows it (`CodeLines`), and draws what Textual's
Label draws: the same characters in the same styles, with the same places for a mouse selection."""

from __future__ import annotations

import pytest
from textual.widgets import Markdown

from tests.ui.test_flat_lists import Side
from tui_agent.ui.widgets.answer_markdown import CodeLines, PlainFence

CODE = {
    "python": "```python\ndef f(x):\n\treturn x  # a tab\n\n\nclass A:\n    pass\n```\n",
    "wide and long": "```\n日本語 🎉 " + "a very long line that does not fit " * 4 + "\nshort\n```\n",
    "unknown language": "```nosuchlanguage\nsome text\n  indented\n```\n",
    "indented code": "Text.\n\n    indented code\n    second line\n",
}


class CodeLinesOnly(Markdown):
    """Textual's Markdown with only the code blocks changed."""

    BLOCKS = {**Markdown.BLOCKS, "fence": PlainFence, "code_block": PlainFence}


async def screen(markdown: Markdown, text: str, size, theme: str, scroll_x: int = 0):
    app = Side(markdown, theme)
    async with app.run_test(size=size) as pilot:
        await markdown.update(text)
        await pilot.pause()
        fence = markdown.query_one(PlainFence if isinstance(markdown, CodeLinesOnly) else Markdown.BLOCKS["fence"])
        fence.scroll_to(x=scroll_x, animate=False, immediate=True)
        await pilot.pause()
        if isinstance(markdown, CodeLinesOnly):
            assert isinstance(fence.query_one("#code-content"), CodeLines)
        strips = app.screen._compositor.render_strips()
        return [[(char, segment.style) for segment in strip for char in segment.text] for strip in strips]


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize("name", list(CODE))
@pytest.mark.parametrize("scroll_x", [0, 7])
async def test_code_lines_draw_what_textuals_label_draws(name, theme, scroll_x):
    size = (50, 24)
    expected = await screen(Markdown(), CODE[name], size, theme, scroll_x)
    got = await screen(CodeLinesOnly(), CODE[name], size, theme, scroll_x)
    for y, (want, have) in enumerate(zip(expected, got)):
        assert have == want, f"line {y}: {''.join(c for c, _ in have)!r} vs {''.join(c for c, _ in want)!r}"
    assert len(got) == len(expected)


async def test_only_the_lines_shown_are_rendered(monkeypatch):
    from textual.visual import Visual

    rendered: list[int] = []
    real = Visual.to_strips.__func__

    def counting(cls, widget, visual, width, height, *args, **kwargs):
        if isinstance(widget, CodeLines):
            rendered.append(height)
        return real(cls, widget, visual, width, height, *args, **kwargs)

    monkeypatch.setattr(Visual, "to_strips", classmethod(counting))
    code = "```python\n" + "".join(f"value_{i} = compute({i})\n" for i in range(300)) + "```\n"
    app = Side(CodeLinesOnly(), "textual-dark")
    async with app.run_test(size=(60, 20)) as pilot:
        await app.query_one(CodeLinesOnly).update(code)
        await pilot.pause()
    assert rendered and all(height == 1 for height in rendered) and len(rendered) <= 2 * 20


@pytest.mark.parametrize("markdown_class", [Markdown, CodeLinesOnly])
async def test_after_a_theme_change_code_draws_what_code_drawn_in_that_theme_draws(markdown_class):
    """A new theme highlights the code again (Textual's fence does): the lines are split from the new content."""
    fresh = await screen(markdown_class(), CODE["python"], (50, 24), "textual-light")
    app = Side(markdown_class(), "textual-dark")
    async with app.run_test(size=(50, 24)) as pilot:
        await app.query_one(markdown_class).update(CODE["python"])
        await pilot.pause()
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        switched = [[(char, segment.style) for segment in strip for char in segment.text] for strip in strips]
    assert switched == fresh


async def test_a_code_blocks_height_is_counted_as_textual_counts_it():
    """Counted from its lines when none wraps (Textual wraps all of the code to count them); measured as Textual
    measures it when one would wrap, and when a tab makes a line wider than its characters."""
    from textual.app import App
    from textual.content import Content
    from textual.geometry import Size
    from textual.widgets import Label

    codes = ["def f(x):\n    return x\n", "one line", "", "\n", "a\n\n\nb", "日本語 🎉\nshort", "tab\there\n",
             "x = 1\n" * 300]
    labels = [(CodeLines(Content(code)), Label(Content(code))) for code in codes]
    app = App()
    async with app.run_test(size=(100, 20)) as pilot:
        await app.screen.mount_all([widget for pair in labels for widget in pair])
        await pilot.pause()
        for code, (ours, textuals) in zip(codes, labels):
            widest = Content(code).get_optimal_width(textuals.styles, 100)
            for width in sorted({1, max(1, widest - 1), widest, widest + 5}):
                size = Size(width, 10)
                assert ours.get_content_height(size, size, width) == textuals.get_content_height(size, size, width), (code, width)


def _same_lines(content) -> None:
    from tui_agent.ui.widgets.answer_markdown import CodeLineIndex

    index = CodeLineIndex(content)
    split = content.split("\n", allow_blank=True)
    made = [index.line(y) for y in range(index.count)]
    assert [line.plain for line in made] == [line.plain for line in split]
    for y, (have, want) in enumerate(zip(made, split)):
        # Textual keeps a one-line content whole, spans reaching past its end and all; cut to the line they draw alike
        want_spans = [s for s in want.spans if min(s.end, len(want.plain)) > s.start] if len(split) == 1 else want.spans
        assert [(s.start, min(s.end, len(have.plain)), s.style) for s in have.spans] == [
            (s.start, min(s.end, len(want.plain)), s.style) for s in want_spans], f"line {y}"


@pytest.mark.parametrize("language", ["python", "javascript", "text"])
def test_each_line_made_alone_is_the_line_textuals_split_makes(language):
    """Highlighted code (multi-line strings and comments, whose styles cross lines; tabs, wide characters, blank and
    trailing lines): every line the index makes has the text and styles of the same line split out of the whole."""
    from textual.widgets._markdown import MarkdownFence

    code = ('def f(x):\n\t"""a doc\n    string over lines"""\n\n    return x  # 日本語 🎉\n/* a\ncomment */ var s = `tpl\n'
            'line`;\n\n\n')
    for text in (code, code.rstrip("\n"), "one line only", "", "\n", "\n\nx"):
        _same_lines(MarkdownFence.highlight(text, language, False, True))


def test_each_line_made_alone_matches_the_split_for_any_spans():
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from textual.content import Content, Span

    text = st.lists(st.sampled_from(["a", "b", " ", "\n", "\t", "é", "汉"]), max_size=40).map("".join)

    @settings(max_examples=300, deadline=None)
    @given(text, st.lists(st.tuples(st.integers(0, 45), st.integers(0, 45), st.sampled_from(["bold", "red", "italic"])),
                          max_size=12))
    def check(plain, spans):
        _same_lines(Content(plain, [Span(start, end, style) for start, end, style in spans]))

    check()


def test_the_index_keeps_only_the_last_lines_it_made():
    from textual.widgets._markdown import MarkdownFence

    from tui_agent.ui.widgets.answer_markdown import CodeLineIndex

    content = MarkdownFence.highlight("".join(f"value_{i} = compute({i})\n" for i in range(1000)), "python", False, True)
    index = CodeLineIndex(content)
    first = index.line(0)
    assert index.line(0) is first  # kept: a repaint draws it again
    for y in range(1, 1000):
        index.line(y)
    assert len(index._made) == CodeLineIndex.KEPT_LINES and index.line(0) is not first
    assert content._split_cache is None and content._divide_cache is None  # the content itself was never split
