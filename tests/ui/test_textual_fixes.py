"""The Textual fixes of ui/textual_fixes.py: same results as Textual's code, and removed widgets are freed."""

from __future__ import annotations

import gc
import weakref

from textual.app import App, ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.widgets import Static

from tui_agent.ui import textual_fixes


def test_inner_outer_styles_are_textuals():
    cache = textual_fixes.StylesCache()
    for base, background in [(Color(18, 18, 18), Color(36, 47, 56)), (Color(0, 0, 0), Color(255, 0, 0, 0.5))]:
        assert cache.get_inner_outer(base, background) == textual_fixes._buggy_inner_outer(cache, base, background)


class _Blocks(App[None]):
    def compose(self) -> ComposeResult:
        yield Vertical(id="blocks")


async def test_a_removed_widget_and_the_lines_it_drew_are_freed():
    """Textual's instance-keyed cache kept the removed widget's StylesCache, with its drawn lines, alive
    (textual#6665); the widget itself is only freed once nothing holds its styles cache either."""
    app = _Blocks()
    async with app.run_test(size=(60, 20)) as pilot:
        blocks = app.query_one("#blocks")
        await blocks.mount_all([Static(f"block {n} " * 8) for n in range(10)])
        await pilot.pause()
        caches = [weakref.ref(block._styles_cache) for block in blocks.children]
        assert any(ref()._cache for ref in caches)  # they drew lines
        await blocks.remove_children()
        await blocks.mount(Static("what came next"))  # laid out anew: the container's old arrangement is let go
        await pilot.pause()
        gc.collect()
        assert [ref for ref in caches if ref() is not None] == []


def _textual_strip(segments, cell_length=None):
    """A strip built by Textual's own `__init__`, its seven caches made up front."""
    strip = object.__new__(textual_fixes.Strip)
    textual_fixes._textual_strip_init(strip, segments, cell_length)
    return strip


def _slot_is_empty(strip, name) -> bool:
    try:
        textual_fixes.Strip.__dict__[name]._slot.__get__(strip)
    except AttributeError:
        return True
    return False


def test_a_new_strip_makes_no_cache_until_one_is_used():
    from rich.segment import Segment

    strip = textual_fixes.Strip([Segment("hello world")])
    assert all(_slot_is_empty(strip, name) for name in textual_fixes.STRIP_CACHES)
    strip.crop(1, 4)
    assert not _slot_is_empty(strip, "_crop_cache")
    assert [name for name in textual_fixes.STRIP_CACHES if not _slot_is_empty(strip, name)] == ["_crop_cache"]
    assert strip._crop_cache._maxsize == _textual_strip([])._crop_cache._maxsize  # Textual's size


def test_strips_give_textuals_results_and_still_cache_them():
    from rich.segment import Segment
    from rich.style import Style as RichStyle
    from textual.filter import Monochrome
    from textual.style import Style as TextualStyle

    bold, red = RichStyle(bold=True), RichStyle(color="red")
    segments = [Segment("hello ", bold), Segment("wide 日本 ", red), Segment("world", RichStyle())]
    ours, theirs = textual_fixes.Strip(segments), _textual_strip(segments)
    monochrome = Monochrome()  # a filter's cache is keyed on the filter itself
    operations = {
        "crop": lambda s: s.crop(2, 12),
        "divide": lambda s: s.divide([3, 9, 20]),
        "style": lambda s: s.apply_style(red),
        "filter": lambda s: s.apply_filter(monochrome, Color(0, 0, 0)),
        "line length": lambda s: s.adjust_cell_length(30, bold),
        "crop extend": lambda s: s.crop_extend(1, 25, red),
        "offsets": lambda s: s.apply_offsets(3, 7),
        "textual style": lambda s: s.apply_style(TextualStyle(bold=True).rich_style),
    }
    for name, operation in operations.items():
        first, expected = operation(ours), operation(theirs)
        assert repr(first) == repr(expected), name
        assert operation(ours) is first, f"{name}: the result is cached, as Textual's is"


class _Answer(App[None]):
    def compose(self) -> ComposeResult:
        from tui_agent.ui.widgets.answer_markdown import AnswerMarkdown

        yield AnswerMarkdown("# Title *em*\n\n" + "\n\n".join(
            f"Paragraph {n}: *em* **strong** ~~gone~~ `code`" for n in range(6)) + "\n\n- one *em*\n- two `code`\n")


_INLINE = ("em", "strong", "s", "code_inline")


def _inline_styles(block) -> list:
    block._visual_style_cache.clear()
    return [block.get_visual_style(name, partial=True) for name in _INLINE]


def _textuals_inline_styles(app, block) -> list:
    """The same styles as Textual's own styling makes them for `block` alone (fresh nodes, the whole stylesheet)."""
    textual_fixes._textual_component_classes(app.stylesheet, block)
    return _inline_styles(block)


async def test_an_answers_blocks_share_their_inline_styles_and_they_are_textuals():
    from tui_agent.ui.widgets.answer_markdown import PlainParagraph

    app = _Answer()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        paragraphs = list(app.query(PlainParagraph))
        assert len(paragraphs) == 6
        first = paragraphs[0]._component_styles
        assert all(p._component_styles[name] is first[name] for p in paragraphs for name in _INLINE)  # shared
        blocks = [*paragraphs, app.query_one("MarkdownH1"), app.query_one("FlatBulletList")]
        for block in blocks:
            assert _inline_styles(block) == _textuals_inline_styles(app, block), type(block).__name__


async def test_after_a_theme_change_the_shared_inline_styles_are_the_new_themes():
    from tui_agent.ui.widgets.answer_markdown import PlainParagraph

    app = _Answer()
    async with app.run_test(size=(80, 30)) as pilot:
        app.theme = "textual-dark"
        await pilot.pause()
        dark = _inline_styles(app.query(PlainParagraph).first())
        app.theme = "textual-light"
        await pilot.pause()
        await app.query_one("AnswerMarkdown").append("\n\nA new paragraph with `code`")
        await pilot.pause()
        paragraphs = list(app.query(PlainParagraph))
        assert len(paragraphs) == 7
        light = [_inline_styles(p) for p in paragraphs]
        assert light[0] != dark  # code_inline differs between the two
        for paragraph, styles in zip(paragraphs, light):
            assert styles == _textuals_inline_styles(app, paragraph)


async def test_blocks_that_do_not_ask_to_share_are_styled_by_textual_alone():
    from textual.widgets import Markdown

    class _Plain(App[None]):
        def compose(self) -> ComposeResult:
            yield Markdown("one *em*\n\ntwo *em*")

    app = _Plain()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        first, second = app.query("MarkdownParagraph")
        assert first._component_styles["em"] is not second._component_styles["em"]


def test_dirty_lines_are_the_set_of_lines_textual_kept():
    """Every operation StylesCache makes on its dirty lines, in random order, leaves DirtyLines holding what a set
    would hold, with its runs sorted, apart and not touching."""
    import random

    rng = random.Random(23)
    for _ in range(500):
        ours, theirs = textual_fixes.DirtyLines(), set()
        for _ in range(rng.randint(1, 12)):
            start = rng.randint(0, 40)
            lines = range(start, start + rng.randint(-2, 15))
            operation = rng.choice(["update", "update", "difference_update", "difference_update", "points", "clear"])
            if operation == "points":  # not a run: one line at a time
                points = [rng.randint(0, 50) for _ in range(3)]
                ours.update(points), theirs.update(points)
            elif operation == "clear":
                ours.clear(), theirs.clear()
            else:
                getattr(ours, operation)(lines), getattr(theirs, operation)(lines)
            assert ours == theirs and set(ours) == theirs and len(ours) == len(theirs)
            assert bool(ours) is bool(theirs)
            assert [line for line in range(-2, 60) if line in ours] == sorted(theirs)
            assert all(end < start for end, start in zip(ours._ends, ours._starts[1:]))
    assert "x" not in textual_fixes.DirtyLines(range(3))


class _Tall(App[None]):
    CSS = "#view { height: 1fr; overflow-y: auto; } #tall { height: 5000; }"

    def compose(self) -> ComposeResult:
        with Vertical(id="view"):
            yield Static("top line", id="tall")


async def test_a_tall_widget_keeps_its_dirty_lines_as_runs_and_draws_as_textual_does():
    app = _Tall()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        tall = app.query_one("#tall")
        ours = app.export_screenshot()
        tall.refresh()  # the whole widget: 5,000 lines dirty
        await pilot.pause()
        dirty = tall._styles_cache._dirty_lines
        assert isinstance(dirty, textual_fixes.DirtyLines)
        assert len(dirty._starts) <= 2  # the lines not drawn yet, as runs, however tall the widget is
        assert 4900 < len(dirty) < 5000  # what was drawn (the visible lines) is no longer dirty
        assert 0 not in dirty and 4999 in dirty
        app.query_one("#view").scroll_end(animate=False)
        await pilot.pause()
        assert 0 not in dirty and 4999 not in dirty  # the lines drawn at the bottom are no longer dirty
        assert 2500 in dirty and len(dirty._starts) == 1
    textual_fixes.StylesCache.__init__ = textual_fixes._textual_styles_cache_init  # Textual's own set, as a check
    try:
        app = _Tall()
        async with app.run_test(size=(40, 12)) as pilot:
            await pilot.pause()
            assert type(app.query_one("#tall")._styles_cache._dirty_lines) is set
            assert app.export_screenshot() == ours
    finally:
        textual_fixes.StylesCache.__init__ = textual_fixes._styles_cache_init


def test_the_dirty_lines_fix_stands_aside_when_textual_changes():
    """Applied twice it does not wrap itself; and it is put in place only while StylesCache calls no set method
    DirtyLines lacks."""
    assert textual_fixes.StylesCache.__init__ is textual_fixes._styles_cache_init
    assert not textual_fixes._dirty_lines_are_a_set_used_as_written_for()  # already applied
    textual_fixes.apply()
    assert textual_fixes.StylesCache.__init__ is textual_fixes._styles_cache_init
    textual_fixes.StylesCache.__init__ = textual_fixes._textual_styles_cache_init
    try:
        assert textual_fixes._dirty_lines_are_a_set_used_as_written_for()

        def is_dirty(self, y):
            self._dirty_lines.discard(y)  # a method DirtyLines does not have

        original = textual_fixes.StylesCache.is_dirty
        textual_fixes.StylesCache.is_dirty = is_dirty
        try:
            assert not textual_fixes._dirty_lines_are_a_set_used_as_written_for()
        finally:
            textual_fixes.StylesCache.is_dirty = original
    finally:
        textual_fixes.StylesCache.__init__ = textual_fixes._styles_cache_init
