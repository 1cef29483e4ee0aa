"""Finished blocks of a streaming answer, kept as the lines they were drawn with: one widget in place of hundreds.

Textual re-arranges every shown widget of the screen on each layout, and a streaming answer changes its height on
nearly every write; a Markdown block is one to a dozen widgets (a list item, its bullet, its paragraphs). So while an
answer streams, its blocks that can no longer change (Textual's `Markdown.append` only ever re-draws the last one)
are drawn once more, off screen, into lines (`capture_rows`), and one `FrozenBlocks` widget shows those lines while
the blocks are hidden: a write then arranges the few blocks still being written, whatever the answer's length.

The lines are exact: they are what the screen's compositor draws for those rows, drawn by a compositor of the same
kind laid over the Markdown widget alone (tests/ui/test_answer_fold.py compares the screen before and after).
They hold for one width and one theme; when either changes, the answer shows its blocks again (`on_stale`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from textual._compositor import Compositor  # Textual 8.2.8 (pinned): the screen's own compositor class
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Markdown

if TYPE_CHECKING:
    from collections.abc import Sequence


class FrozenBlocks(Widget):
    """Lines captured from blocks of a Markdown widget, shown in the blocks' place (Textual's line API)."""

    DEFAULT_CSS = """
    FrozenBlocks {
        height: 0;
        width: 1fr;
    }
    """

    def __init__(self, on_stale: Callable[[], object], classes: str = "") -> None:
        super().__init__(classes=classes)
        self._lines: list[Strip] = []
        self._on_stale = on_stale  # the lines no longer match what the blocks would draw (a new theme)

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self) -> None:
        self._on_stale()

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def add_lines(self, lines: "Sequence[Strip]") -> None:
        """Show `lines` below those shown already."""
        self._lines.extend(lines)
        self.styles.height = len(self._lines)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width)

    async def action_link(self, href: str) -> None:
        """A link in the lines was clicked: what a click on it in the block does (the lines keep its action)."""
        markdown = self.parent
        if isinstance(markdown, Markdown):
            self.post_message(Markdown.LinkClicked(markdown, href))


def capture_rows(markdown: Widget, top: int, bottom: int) -> list[Strip] | None:
    """The lines `markdown` draws on its rows `top` to `bottom` (relative to it), within its padding; None when the
    widgets' places on the screen are not up to date (a layout is due), so the lines could not be trusted.

    A compositor laid over the Markdown widget alone arranges its shown children as the screen did (the same sizes,
    from the same cached arrangements) and draws the rows asked for, whether or not they are on screen.
    """
    width, height = markdown.region.size
    if bottom <= top or bottom > height or not width:
        return None
    compositor = Compositor()
    compositor.reflow(markdown, markdown.region.size)
    origin = markdown.region.offset
    for widget, geometry in compositor.full_map.items():
        if widget is not markdown and geometry.region.translate(origin) != widget.region:
            return None  # the screen has not laid this out yet: its lines would be drawn at a size it does not have
    chops = compositor._render_chops(Region(0, top, width, bottom - top), lambda y: True)
    left, right = markdown.styles.gutter.left, width - markdown.styles.gutter.right
    return [Strip.join([strip for strip in chops[y].values() if strip is not None]).crop(left, right)
            for y in range(top, bottom)]
