"""The scrolling conversation: follows new text while the user is at the bottom, stays put when scrolled up."""

from __future__ import annotations

from dataclasses import dataclass

from textual.containers import VerticalScroll
from textual.message import Message


class Transcript(VerticalScroll):
    """A VerticalScroll anchored to its bottom; scrolling away releases the anchor, reaching the bottom restores it."""

    # Its own lines are blank (messages draw the text; its padding is its background): drawn at once by Textual's
    # `BLANK`, not made and styled line by line at each layout as the conversation grows (what `BLANK` is for).
    BLANK = True

    @dataclass
    class FollowChanged(Message):
        """Following the bottom started or stopped (the screen shows "more arriving" and the End key)."""

        following: bool

    class ReachedTop(Message):
        """The user scrolled to the very top (the screen loads older messages of a reopened conversation)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._was_following = True

    def on_mount(self) -> None:
        self.anchor()

    @property
    def following(self) -> bool:
        """Whether new content keeps the view at the bottom.

        Textual 8.2.8 (pinned) has no public getter for a released anchor; `_anchor_released` is what its
        compositor itself checks, so we read the same flag rather than guess from scroll offsets mid-layout.
        """
        return self.is_anchored and not self._anchor_released

    def jump_to_bottom(self) -> None:
        """Scroll to the end and follow new text again."""
        self.anchor()
        self._report()

    # Keyboard scrolls release the anchor before moving; one that reaches (or is already at) the bottom would
    # leave it released with no scroll change to restore it, so going down to the end re-anchors instead.
    def action_page_down(self) -> None:
        if self.scroll_y + self.scrollable_content_region.height >= self.max_scroll_y:
            self.jump_to_bottom()
        else:
            super().action_page_down()

    def action_scroll_down(self) -> None:
        if self.scroll_y + 1 >= self.max_scroll_y:
            self.jump_to_bottom()
        else:
            super().action_scroll_down()

    def action_scroll_end(self) -> None:
        self.jump_to_bottom()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._report()
        if new_value <= 0 < old_value:
            self.post_message(self.ReachedTop())

    def release_anchor(self) -> None:
        super().release_anchor()
        self._report()

    def _report(self) -> None:
        following = self.following
        if following != self._was_following:
            self._was_following = following
            self.post_message(self.FollowChanged(following))
