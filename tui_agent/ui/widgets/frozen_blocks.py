"""Finished blocks of a streaming answer, kept as the lines they were drawn with: one widget in place of hundreds.

Textual re-arranges every shown widget of the screen on each layout, and a streaming answer changes its height on
nearly every write; a Markdown block is one to a dozen widgets (a list item, its bullet, its paragraphs). So while an
answer streams, its blocks that can no longer change (Textual's `Markdown.append` only ever re-draws the last one)
are drawn once more, off screen, into lines (`capture_rows`), and one `FrozenBlocks` widget shows those lines while
the blocks are hidden: a write then arranges the few blocks still being written, whatever the answer's length.

The lines are exact: they are what the screen draws for those rows, each widget there drawing its part where the
screen's compositor placed it, joined as the compositor joins them (tests/ui/test_answer_fold.py compares the
screen before and after, for every kind of block). The compositor is Textual's private `Screen._compositor`
(Textual 8.2.8 is pinned; its `full_map` and `order` are read, nothing is changed).

Every row is drawn when its blocks fold, on screen or not: ≈ 25 ms a fold for the 94 KB answer on the machine of
docs/benchmarks.md (a fast stream carries most blocks past the view unseen, so this is their first drawing). Drawing
only the rows the following view could show was tried: any frame in which the answer was shorter (its held block's
tail going, its status line going) then showed rows never drawn, and the unfold that had to follow cost a layout of
every block. The lines hold for one width and one theme; when either changes, the answer shows its blocks again
(`on_stale`).
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Callable

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
    """The lines `markdown` draws on its rows `top` to `bottom` (relative to it), within its padding; None when a
    layout is due (the places the screen knows are not those the widgets will have), so the lines could not be trusted.

    The screen's compositor knows where every shown widget is, on screen or not; each widget inside `markdown` that
    overlaps the rows draws just those rows, and they are joined as the compositor joins them on screen (front to
    back, the first to fill a stretch of a line wins).
    """
    screen = markdown.screen
    if screen._layout_required or any(widget._layout_required for widget in (markdown, *markdown.displayed_children)):
        return None
    full_map = screen._compositor.full_map
    if markdown not in full_map or bottom <= top:
        return None
    region, gutter = full_map[markdown].region, markdown.styles.gutter
    if bottom > region.height:
        return None
    crop = Region(region.x + gutter.left, region.y + top, region.width - gutter.width, bottom - top)
    if not crop.width:
        return None
    renders: list[tuple[Region, list[Strip]]] = []
    cuts = [{crop.x, crop.right} for _ in range(crop.height)]
    overlapping = [(geometry.order, widget, geometry.region) for widget, geometry in full_map.items()
                   if geometry.region.overlaps(crop)]
    for _order, widget, widget_region in sorted(overlapping, key=itemgetter(0), reverse=True):  # front to back
        if widget is not markdown and markdown not in widget.ancestors:
            continue
        x, y, width, height = part = widget_region.intersection(crop)
        for row in range(y - crop.y, y - crop.y + height):
            cuts[row].update((x, x + width))
        renders.append((part, widget.render_lines(Region(x - widget_region.x, y - widget_region.y, width, height))))
    line_cuts = [sorted(row_cuts) for row_cuts in cuts]
    chops: list[dict[int, Strip | None]] = [dict.fromkeys(row_cuts[:-1]) for row_cuts in line_cuts]
    for (x, y, width, _height), strips in renders:
        for row, strip in enumerate(strips, y - crop.y):
            within = [cut for cut in line_cuts[row] if x <= cut <= x + width]
            line = chops[row]
            for cut, piece in zip(within, strip.divide([cut - x for cut in within[1:]])):
                if line.get(cut) is None:
                    line[cut] = piece
    return [Strip.join([piece for piece in line.values() if piece is not None]) for line in chops]
