"""Arranging the screen once per append of a streaming answer, not once per step of its mount.

Textual mounts a Markdown block over several turns of the event loop: a list composes its items, each item its
bullet and its body, each body its paragraphs. Every turn that mounts a widget asks for a layout, and the screen's
next frame arranges every widget on it and repaints what moved: 30-80 ms with a long answer on screen on a busy
2-core machine. One append of a 94 KB answer at 500 chunks/s took 150-230 ms to mount, with two or three full
layouts in it, and a key typed then waited behind them (traced black-box on a pty: `bench/echo_pty.py`).

While an append's new blocks mount (`AnswerMarkdown.append`), the screen holds its layout: its frames still paint
the widgets that changed where they stand (the key just typed in the prompt, a status line), and the layout that
places the new blocks runs once, when the mount is over. The last block, updated in place, may be cropped to its
old height until then, and a scroll made meanwhile is shown with that layout (Textual scrolls a screen whose layout
is due by laying it out). A hold never lasts longer than LAYOUT_HOLD_LIMIT, so a long mount still shows its progress.
While the user types, the answer's feed keeps holding after the mount until the gap after the next key
(`_Feed._append_slice`, ui/input_timing.py): the layout that places a slice is work that a key would wait for too.

A key typed in the prompt does not wait for a frame at all: the prompt has the screen paint it where it stands as
soon as the key is handled (`HoldsLayout.paint_now`). Textual draws a change at the screen's next frame, which comes
only after the work already queued on the event loop (an append, a mount step), then runs the layout a growing
answer has made due (30-80 ms) before it paints; measured black-box, a key at full speed spent a median 44 ms there.

The screen side is `HoldsLayout._on_timer_update`, which overrides Textual 8.2.8's (pinned) frame callback of the
same name: with a layout due and a hold on, it does what that callback does for a frame without a layout.
"""

from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, ContextManager, Iterator

from textual.dom import DOMNode, NoScreen
from textual.screen import Screen

if TYPE_CHECKING:
    from textual.widget import Widget

LAYOUT_HOLD_LIMIT = 0.25  # seconds a hold may defer the screen's layout


class HoldsLayout(Screen):
    """A screen whose layout can be held while widgets mount (`hold_layout`)."""

    _layout_holds = 0
    _layout_held_since = 0.0

    @property
    def layout_held(self) -> bool:
        """Whether a due layout waits now: a mount is under way, and has not been for LAYOUT_HOLD_LIMIT yet."""
        return self._layout_holds > 0 and time.perf_counter() - self._layout_held_since < LAYOUT_HOLD_LIMIT

    @contextmanager
    def hold_layout(self) -> Iterator[None]:
        """Defer the screen's layout (up to LAYOUT_HOLD_LIMIT from the latest hold taken) until the block is left;
        holds may nest. The limit counts from the latest: a hold taken around an append whose parse is long (seconds
        for a 5 MB block, in a thread) must not have used up the limit of the mount's own hold inside it."""
        self._layout_held_since = time.perf_counter()
        self._layout_holds += 1
        try:
            yield
        finally:
            self._layout_holds -= 1
            if self._layout_holds == 0 and self._layout_required:
                self._update_timer.resume()  # the layout that was held, in the next frame

    def paint_now(self, widget: "Widget") -> None:
        """Put what changed in `widget` on the terminal now, where it stands, instead of at the next frame.

        For a key's echo: the next frame comes after the other work queued on the event loop, and brings the layout
        of a growing answer with it (30-80 ms); painting the prompt where it stands needs neither. What else is due
        (other widgets, the layout) stays due for that frame. A widget not placed yet is left to it."""
        app = self.app
        if not self.is_current or app._batch_count or widget not in self._compositor.visible_widgets:
            return
        self._compositor.update_widgets({widget})
        app._display(self, self._compositor.render_update(screen_stack=app._background_screens))

    def _on_timer_update(self) -> None:
        if not (self._layout_required and self.layout_held):
            super()._on_timer_update()
            return
        # Textual's frame, less the layout: paint the widgets that changed where they stand, then run what waits
        # for a frame. The layout stays due: the next frame after the hold runs it. Widgets not placed yet are left
        # to it: given to the compositor, they would have it draw the whole screen again.
        self._update_timer.pause()
        if self.is_current and not self.app._batch_count:
            placed = self._dirty_widgets & self._compositor.visible_widgets.keys()
            if placed:
                self._compositor.update_widgets(placed)
                self._compositor_refresh()
        if self._callbacks:
            self.call_next(self._invoke_and_clear_callbacks)


def layout_hold(node: DOMNode) -> ContextManager[None]:
    """`hold_layout` of the screen `node` is on, when that screen holds layouts; else a no-op."""
    try:
        screen = node.screen
    except NoScreen:  # not on a screen (yet, or any more)
        return nullcontext()
    return screen.hold_layout() if isinstance(screen, HoldsLayout) else nullcontext()
