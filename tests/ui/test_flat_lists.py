"""A list whose items are each one paragraph is drawn by one widget (ui/widgets/flat_lists.py), and its cells are
those Textual's own list draws: the same characters in the same styles, compared cell by cell on the whole screen."""

from __future__ import annotations

import contextlib

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Offset
from textual.selection import Selection
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownBullet, MarkdownParagraph

from tui_agent.ui.widgets.answer_markdown import AnswerMarkdown
from tui_agent.ui.widgets.flat_lists import FlatBulletList, FlatList, FlatOrderedList

SAMPLES = {
    "bullets": "Some text.\n\n- one\n- two **bold** and *soft* and `code`\n- three\n\nAfter.\n",
    "numbers": "1. first\n2. second\n3. third\n4. fourth\n5. fifth\n6. sixth\n7. seventh\n8. eighth\n9. ninth\n"
               "10. tenth, which is longer than the others and wraps onto a second line at the narrow width\n",
    "start": "7. seven\n8. eight [a link](https://example.com) here\n",
    "wrapping": "- " + "a fairly long sentence that goes on " * 6 + "\n- short\n",
    "loose": "- loose one\n\n- loose two\n\n- loose three\n",
    "empty item": "- \n- after an empty one\n",
    "wide": "- 日本語のテキストと絵文字 🎉 が混ざった項目 " * 3 + "\n- naïve résumé über\n",
    "quote": "> - in a quote\n> - second\n",
    "nested (composed by Textual)": "- outer\n  - inner one\n  - inner two\n- outer again\n",
    "two paragraphs (composed by Textual)": "- first para\n\n  second para of the item\n- next\n",
    "code in an item (composed by Textual)": "- item\n\n  ```\n  code\n  ```\n",
}


class FlatListsOnly(Markdown):
    """Textual's Markdown with only the lists changed: what the comparison isolates."""

    BLOCKS = {**Markdown.BLOCKS, "bullet_list_open": FlatBulletList, "ordered_list_open": FlatOrderedList}


class Side(App[None]):
    def __init__(self, markdown: Markdown, theme: str) -> None:
        super().__init__()
        self._markdown = markdown
        self._theme = theme

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self._markdown

    def on_mount(self) -> None:
        self.theme = self._theme


@contextlib.asynccontextmanager
async def shown(markdown: Markdown, text: str, size: tuple[int, int], theme: str = "textual-dark"):
    """`text` drawn by `markdown` in a running app, settled: yields the app and its pilot."""
    app = Side(markdown, theme)
    async with app.run_test(size=size) as pilot:
        await markdown.update(text)
        await pilot.pause()
        yield app, pilot


async def screen_cells(markdown: Markdown, text: str, size: tuple[int, int], theme: str) -> list[list[tuple]]:
    async with shown(markdown, text, size, theme) as (app, _):
        return cells(app.screen._compositor.render_strips())


def cells(strips) -> list[list[tuple]]:
    """Each cell's character, style and link. Not the place a character says it has in its widget's text (a flat
    list's characters give their place in the list, Textual's in their paragraph or bullet): that is compared by
    the selection tests."""
    def link(style):
        return style.meta.get("@click") if style and style._meta else None

    return [[(char, segment.style.clear_meta_and_links() if segment.style else None, link(segment.style))
             for segment in strip for char in segment.text] for strip in strips]


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize("width", [36, 90])
@pytest.mark.parametrize("name", list(SAMPLES))
async def test_a_flat_list_draws_the_cells_textuals_list_draws(name, width, theme):
    text = SAMPLES[name]
    size = (width, 30)
    expected = await screen_cells(Markdown(), text, size, theme)
    got = await screen_cells(FlatListsOnly(), text, size, theme)
    for y, (want, have) in enumerate(zip(expected, got)):
        assert have == want, f"line {y}: {''.join(c[0] for c in have)!r} vs {''.join(c[0] for c in want)!r}"
    assert len(got) == len(expected)


async def test_flat_lists_have_no_widgets_inside_and_the_others_are_composed():
    markdown = FlatListsOnly()
    async with shown(markdown, SAMPLES["bullets"] + "\n" + SAMPLES["nested (composed by Textual)"], (80, 30)):
        flat, nested = [child for child in markdown.children if isinstance(child, FlatList)]
        assert flat._flat is not None and not flat.children
        assert nested._flat is None and nested.query(MarkdownBullet) and nested.query(MarkdownParagraph)


async def test_a_streamed_list_grows_in_place_and_ends_as_a_one_shot_list():
    """Appends that grow the last list update that widget (Textual removed the list and mounted a new one)."""
    items = [f"- item {n} with **some** text\n" for n in range(8)]
    app = Side(AnswerMarkdown(), "textual-dark")
    async with app.run_test(size=(60, 30)) as pilot:
        markdown = app.query_one(AnswerMarkdown)
        await markdown.append("Intro.\n\n")
        await markdown.append(items[0])
        await pilot.pause()
        first = markdown.query_one(FlatBulletList)
        for item in items[1:]:
            await markdown.append(item)
        await pilot.pause()
        assert markdown.query_one(FlatBulletList) is first and len(first._flat) == 8
        streamed = cells(app.screen._compositor.render_strips())
    one_shot = await screen_cells(AnswerMarkdown(), "Intro.\n\n" + "".join(items), (60, 30), "textual-dark")
    assert streamed == one_shot


async def test_a_growing_list_places_only_its_new_items_and_draws_what_a_one_shot_list_draws(monkeypatch):
    """The rows of the items a list already had keep their lines and places: each write places the new item only
    (and the last one, which the write may have changed), not every item again."""
    from tui_agent.ui.widgets import flat_lists

    placed: list[int] = []
    place = flat_lists._placed
    monkeypatch.setattr(flat_lists, "_placed", lambda line, y: placed.append(y) or place(line, y))
    items = [f"- item {n} with **some** text that wraps at this width, item {n}\n" for n in range(12)]
    app = Side(AnswerMarkdown(), "textual-dark")
    async with app.run_test(size=(40, 60)) as pilot:
        markdown = app.query_one(AnswerMarkdown)
        for item in items:
            await markdown.append(item)
            await pilot.pause()
        rows = markdown.query_one(FlatBulletList).size.height
        streamed = cells(app.screen._compositor.render_strips())
    assert rows == 24  # two lines an item
    # 12 writes of a growing list: about 2-4 rows placed at each (not the 2-24 of every item again: 156 in all)
    assert len(placed) <= 3 * rows, len(placed)
    one_shot = await screen_cells(AnswerMarkdown(), "".join(items), (40, 60), "textual-dark")
    assert streamed == one_shot


async def test_selecting_in_a_flat_list_copies_its_lines_with_their_bullets():
    markdown = FlatListsOnly()
    async with shown(markdown, "1. first item\n2. second item\n", (80, 20)) as (app, pilot):
        flat = markdown.query_one(FlatOrderedList)
        text, ending = flat.get_selection(Selection(Offset(0, 0), Offset(9, 1)))
        assert (text, ending) == (" 1. first item\n 2. secon", "\n")
        app.screen.selections = {flat: Selection(Offset(4, 0), Offset(9, 0))}
        await pilot.pause()
        line = flat.render_line(0)
        styles = [segment.style for segment in line for _ in segment.text]
        assert styles[4] == styles[8] != styles[9] == styles[12]  # "first" selected, " item" not
        assert styles[4].bgcolor != styles[9].bgcolor and styles[4].color == styles[9].color


async def test_a_mouse_selection_in_a_flat_list_finds_the_characters_under_the_pointer():
    """Textual turns a point on screen into a place in a widget's text from the offsets its characters carry: in a
    flat list they are places in the list's lines (a wide character counts one, as in Textual's text)."""
    markdown = FlatListsOnly()
    text = "- first item\n- 日本 second item that wraps onto another line here\n"
    async with shown(markdown, text, (40, 20)) as (app, pilot):
        flat = markdown.query_one(FlatBulletList)
        x, y = flat.region.x, flat.region.y
        widget, offset = app.screen.get_widget_and_offset_at(x + 4, y)
        assert widget is flat and tuple(offset) == (4, 0)  # "• fi|rst": the 5th character of row 0
        widget, offset = app.screen.get_widget_and_offset_at(x + 6, y + 1)
        assert widget is flat and tuple(offset) == (4, 1)  # "• 日本|": two wide characters, 4 characters in
        widget, offset = app.screen.get_widget_and_offset_at(x + 3, y + 2)
        assert tuple(offset) == (3, 2)  # the second row of the wrapped item
        app.screen.selections = {flat: Selection(Offset(2, 1), Offset(4, 1))}
        await pilot.pause()
        assert flat.get_selection(flat.text_selection)[0] == "日本"
        line = flat.render_line(1)
        styles = [segment.style.bgcolor for segment in line for char in segment.text for _ in range(cell_len(char))]
        assert styles[2] == styles[5] != styles[1] == styles[6]  # the two wide characters' four cells, and no more


@pytest.mark.parametrize("markdown_class", [Markdown, FlatListsOnly])
async def test_after_a_theme_change_a_list_draws_what_a_list_drawn_in_that_theme_draws(markdown_class):
    """The kept lines of each item are dropped when the styles change (the bullet's colour, the text's)."""
    text = SAMPLES["bullets"] + "\n" + SAMPLES["numbers"]
    fresh = await screen_cells(markdown_class(), text, (50, 30), "textual-light")
    async with shown(markdown_class(), text, (50, 30)) as (app, pilot):
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        switched = cells(app.screen._compositor.render_strips())
    assert switched == fresh
