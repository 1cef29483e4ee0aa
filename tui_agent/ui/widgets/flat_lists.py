"""A Markdown list drawn by one widget: the lines Textual's list draws, without its widgets.

Textual 8.2.8 (pinned) composes every list item as four widgets: a row (Horizontal), its bullet, a body (Vertical)
and the body's paragraph. Each is styled, arranged at every layout of the screen, and mounted over three turns of
the event loop (the items, then each item's bullet and body, then each body's paragraph). In a streaming answer
that is most of the widgets on screen, and the answer's layout and mount are what a key typed meanwhile waits for
(docs/benchmarks.md, round two, sixth pass). And while a list is the answer's last block, each append drew the
whole list anew: Textual updates a list by removing it and mounting the new one.

A list whose items are each one paragraph (or empty) is the common case, and is drawn here by the list widget
itself, line by line (Textual's line API, `render_line`):

- each item's paragraph is rendered by the function that renders Textual's paragraph (`Visual.to_strips`), at the
  width its body would have (the list's width less its bullet), in the style the paragraph would have;
- its bullet is rendered as Textual's bullet widget renders it, in the bullet's colour (`$text-primary`, or
  `$text-secondary` on a light theme: the component class `flat-list--bullet`), on the item's first line; the
  bullet's widget is as high as its row, so below it are blanks in its style;
- an item is as high as its paragraph (an empty item has no line: Textual draws none for it either).

The result is the same cells in the same styles as Textual's list (tests/ui/test_flat_lists.py compares the two
screens cell by cell, in dark and light themes). A list with anything else in an item (a nested list, a code
block, two paragraphs) is composed by Textual as before: the rule is a property of the text, so a streamed answer
and the same answer reopened are drawn alike. A flat list updates in place when the streamed text grows it.
Selecting text with the mouse works as in a paragraph, the bullets included in what is copied: each character carries
its place in the list's lines (Textual's selection reads it back), where Textual's carry their place in their item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual
from textual.widgets._markdown import (  # Textual 8.2.8 (pinned)
    MarkdownBlock,
    MarkdownBulletList,
    MarkdownListItem,
    MarkdownOrderedList,
    MarkdownOrderedListItem,
    MarkdownParagraph,
)

if TYPE_CHECKING:
    from textual.geometry import Size
    from textual.selection import Selection

BULLET = "flat-list--bullet"
KEPT_WIDTHS = 2


@dataclass(frozen=True)
class FlatItem:
    """One item of a flat list: its bullet as Textual draws it ("• ", " 1. "), and its paragraph (None: empty)."""

    symbol: str
    content: Content | None

    @property
    def key(self) -> tuple:
        """What its lines depend on (besides the width and the style): the same key, the same lines."""
        if self.content is None:
            return (self.symbol, None, ())
        return (self.symbol, self.content.plain, tuple(self.content.spans))


def flat_items(items: list[MarkdownBlock], symbols: list[str]) -> list[FlatItem] | None:
    """The items of a list, when each is one paragraph drawn as Markdown or nothing; else None (Textual composes it).

    `items` are the list's parsed blocks and `symbols` the bullets Textual gives them, in order."""
    flat = []
    for item, symbol in zip(items, symbols):
        blocks = item._blocks
        if not blocks:
            flat.append(FlatItem(symbol, None))
            continue
        if len(blocks) != 1 or not isinstance(blocks[0], MarkdownParagraph) or getattr(blocks[0], "plain", None):
            return None
        flat.append(FlatItem(symbol, blocks[0]._content))
    return flat


def bullet_symbols(list_block: MarkdownBlock) -> list[str]:
    """The bullet of each item, as Textual 8.2.8's `MarkdownBulletList.compose` / `MarkdownOrderedList.compose` make
    them (a bullet list's own bullet; an ordered list's numbers from its first, right-aligned to the widest)."""
    items = [block for block in list_block._blocks if isinstance(block, MarkdownListItem)]
    if isinstance(list_block, MarkdownBulletList):
        return [item.bullet for item in items]
    start = 1
    if list_block._blocks and isinstance(list_block._blocks[0], MarkdownOrderedListItem):
        try:
            start = int(list_block._blocks[0].bullet)
        except ValueError:
            pass
    numbers = [f"{number}. " for number in range(start, start + len(items))]
    size = max(map(len, numbers), default=0)
    return [number.rjust(size + 1) for number in numbers]


def _placed(line: Strip, y: int) -> Strip:
    """`line` as row `y` of the list: each character that carries its place in its text (Textual's text does, its
    padding does not) gets its place in the row, column `x` counted in characters as Textual counts them."""
    segments = []
    x = 0
    for segment in line:
        style = segment.style
        if style is not None and style._meta is not None and "offset" in style.meta:
            segment = Segment(segment.text, style + RichStyle.from_meta({"offset": (x, y)}))
        segments.append(segment)
        x += len(segment.text)
    return Strip(segments, line.cell_length)


class FlatList:
    """What a flat bullet list and a flat ordered list share (mixed in before Textual's list class)."""

    # Its component styles (the inline ones and the bullet's) are read as rules: the lists of an answer share them
    # (ui/textual_fixes.py).
    SHARE_COMPONENT_STYLES = True

    _flat: list[FlatItem] | None = None  # None: composed by Textual (or not composed yet)
    # Every line of the list at a width: (width, each item's key, the row after each item, the lines).
    _rows: tuple[int, list[tuple], list[int], list[Strip]] | None = None

    def _flat_items(self) -> list[FlatItem] | None:
        if any(not isinstance(block, MarkdownListItem) for block in self._blocks):
            return None
        return flat_items(self._blocks, bullet_symbols(self))

    def compose(self):
        flat = self._flat_items()
        if flat is None:
            yield from super().compose()
            return
        self._flat = flat
        self._blocks.clear()
        self._reset_lines()

    async def _update_from_block(self, block: MarkdownBlock) -> None:
        flat = block._flat_items() if type(block) is type(self) and self._flat is not None else None
        if flat is None:  # one of them composed by Textual: the new block replaces this one, as Textual does
            await MarkdownBlock._update_from_block(self, block)
            return
        self._copy_context(block)
        self._flat = flat
        self.refresh(layout=True)

    # --- drawing ---------------------------------------------------------------------------------------------

    def _reset_lines(self) -> None:
        # Each item's lines at a width, by its key, for the last KEPT_WIDTHS widths (a layout may measure
        # the list at two: with and without the scroll bar beside it).
        self._item_lines: dict[int, dict[tuple, list[Strip]]] = {}
        self._rows = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._reset_lines()

    def _lines(self, width: int) -> list[Strip]:
        """Every line of the list at `width`, made from each item's lines (kept while the width and style last).

        The rows of the items the list began with before are kept too: a list that grows while it streams places
        only its new or changed items (the others' rows, and their places, are the same)."""
        keys = [item.key for item in self._flat]
        same = 0
        if self._rows is not None and self._rows[0] == width:
            old_keys, old_ends, old_rows = self._rows[1:]
            if old_keys == keys:
                return old_rows
            for old, new in zip(old_keys, keys):
                if old != new:
                    break
                same += 1
        kept = self._item_lines.pop(width, {})
        lines: dict[tuple, list[Strip]] = {key: kept[key] for key in keys[:same]}
        ends = old_ends[:same] if same else []
        rows = old_rows[:ends[-1]] if same else []
        for item in self._flat[same:]:
            key = item.key
            if key not in lines:
                lines[key] = kept.get(key) or self._draw_item(item, width)
            # Each character says where it is in the list's text (row, column), as a paragraph's say where they are
            # in the paragraph's: what a mouse selection is made of (Textual reads them back under the pointer).
            top = len(rows)
            rows.extend(_placed(line, top + row) for row, line in enumerate(lines[key]))
            ends.append(len(rows))
        self._item_lines[width] = lines  # the latest width last: the oldest is dropped first
        while len(self._item_lines) > KEPT_WIDTHS:
            del self._item_lines[next(iter(self._item_lines))]
        self._rows = (width, keys, ends, rows)
        return rows

    def _draw_item(self, item: FlatItem, width: int) -> list[Strip]:
        """An item's lines as Textual's row draws them: the bullet (as wide as its text), the paragraph beside it.

        The bullet's widget is as high as its row, and the row as high as the paragraph: an empty item has no line
        (Textual draws nothing for it either)."""
        if item.content is None:
            return []
        base, background = self.background_colors
        inner = Style(background=base + background).rich_style  # what the styles cache pads a line with
        bullet_width = cell_len(item.symbol)
        body_width = max(0, width - bullet_width)
        paragraph = Visual.to_strips(self, item.content, body_width, None, self.visual_style, apply_selection=False)
        bullet_style = self.get_visual_style(BULLET)
        bullet = Visual.to_strips(self, Content(item.symbol), bullet_width, 1, bullet_style, apply_selection=False)
        under = Strip.blank(bullet_width, bullet_style.rich_style)  # the bullet's widget below its text
        first = bullet[0].adjust_cell_length(bullet_width, inner) if bullet else under
        return [Strip.join([first if row == 0 else under, line.adjust_cell_length(body_width, inner)])
                for row, line in enumerate(paragraph)]

    def get_content_width(self, container: "Size", viewport: "Size") -> int:
        if self._flat is None:
            return super().get_content_width(container, viewport)
        return container.width

    def get_content_height(self, container: "Size", viewport: "Size", width: int) -> int:
        if self._flat is None:
            return super().get_content_height(container, viewport, width)
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        if self._flat is None:
            return super().render_line(y)
        width = self.content_region.width
        lines = self._lines(width)
        if not 0 <= y < len(lines):
            return Strip.blank(width, self.visual_style.rich_style)
        line = lines[y]
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(y)) is not None:
            line = self._selected(line, *span)
        return line

    # --- selection ---------------------------------------------------------------------------------------------

    def _selected(self, line: Strip, start: int, end: int) -> Strip:
        """`line` with cells `start` to `end` (-1: to the end) in the screen's selection style, laid over each cell's
        own style as Textual lays it over a paragraph's (the selection's background is translucent)."""
        text = line.text  # the selection counts characters, the strip cells (a wide character is two)
        start, end = cell_len(text[:start]), line.cell_length if end == -1 else cell_len(text[:end])
        if start >= end:
            return line
        selection = Style.from_styles(self.screen.get_component_styles("screen--selection"))
        before, selected, after = line.divide([start, end, line.cell_length])
        selected = Strip([Segment(segment.text, (Style.from_rich_style(segment.style or RichStyle()) + selection).rich_style)
                          for segment in selected], selected.cell_length)
        return Strip.join([before, selected, after])

    def get_selection(self, selection: "Selection") -> tuple[str, str] | None:
        if self._flat is None:
            return super().get_selection(selection)
        text = "\n".join(line.text.rstrip() for line in self._lines(self.content_region.width))
        return selection.extract(text), "\n"


def _bullet_css(name: str) -> str:
    """The bullet's colour of the list class `name`, as Textual's bullet widget has it (a component class is set on
    the widget class, not on a mixin: Textual gathers both only from widget classes)."""
    return f"""
    {name} > .flat-list--bullet {{
        color: $text-primary;
    }}
    {name}:light > .flat-list--bullet {{
        color: $text-secondary;
    }}
    """


class FlatBulletList(FlatList, MarkdownBulletList):
    """A bullet list: drawn flat when each item is one paragraph (see the module)."""

    COMPONENT_CLASSES = {BULLET}
    DEFAULT_CSS = _bullet_css("FlatBulletList")


class FlatOrderedList(FlatList, MarkdownOrderedList):
    """An ordered list: drawn flat when each item is one paragraph (see the module)."""

    COMPONENT_CLASSES = {BULLET}
    DEFAULT_CSS = _bullet_css("FlatOrderedList")
