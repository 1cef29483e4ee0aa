"""Refreshing a widget whose text changes often without laying the whole screen out again."""

from __future__ import annotations

from typing import Callable

from textual.widget import Widget


def refresh_keeping_layout(widget: Widget, height_at: Callable[[int], int]) -> None:
    """Repaint `widget` after its content changed; lay the screen out again only when the new content's height at
    the widget's width (`height_at(width)`) differs from the height it was laid out with, or it has no width yet.

    Every layout re-arranges every shown widget of the screen, and text that changes often on as many lines (the
    side panel's countdowns each second, token counts arriving while an answer streams) needs only a repaint.
    """
    width, height = widget.content_size
    widget.refresh(layout=not (width > 0 and height_at(width) == height))
