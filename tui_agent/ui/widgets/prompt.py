"""The prompt: a multi-line TextArea where Enter sends, shift+enter / ctrl+j break the line, up/down recall."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from tui_agent.sanitize import sanitize
from tui_agent.ui.input_timing import key_pace
from tui_agent.ui.layout_hold import HoldsLayout

if TYPE_CHECKING:
    from tui_agent.service.recall import PromptRecall
    from tui_agent.ui.widgets.completion import CompletionMenu

# ctrl+j is the fallback for terminals that cannot tell shift+enter from enter (no Kitty keyboard protocol).
NEWLINE_KEYS = ("shift+enter", "ctrl+j", "newline")


class Prompt(TextArea):
    """Multi-line input with a recall list of earlier prompts."""

    @dataclass
    class Submitted(Message):
        """The user pressed Enter; `text` is what they typed (never empty)."""

        prompt: "Prompt"
        text: str

        @property
        def control(self) -> "Prompt":
            return self.prompt

    @dataclass
    class TabPressed(Message):
        """Tab was pressed while the completion menu is open or the text is a slash command: the screen completes."""

        prompt: "Prompt"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus", compact=True)
        self._recall: list[str] = []
        self._recall_at: int | None = None  # index into _recall while browsing, None when editing fresh text
        self._draft = ""  # what was typed before browsing started, restored when browsing past the newest
        self.recall_store: "PromptRecall | None" = None  # where sent prompts are kept across restarts
        self.menu: "CompletionMenu | None" = None  # while it is open, up/down/Tab move in it instead

    @property
    def menu_open(self) -> bool:
        return self.menu is not None and self.menu.is_open

    # --- recall ----------------------------------------------------------------------------------------

    def remember(self, text: str) -> None:
        """Add a sent prompt to the recall list (consecutive duplicates are kept once) and to the stored one."""
        if text and (not self._recall or self._recall[-1] != text):
            self._recall.append(text)
        self._recall_at = None
        if text and self.recall_store is not None:
            self.recall_store.add(text)

    def load_recall(self, newest_first: list[str]) -> None:
        """Put prompts stored by earlier runs before this run's (a prompt sent already stays newest)."""
        earlier = [text for text in reversed(newest_first) if text not in self._recall]
        self._recall[:0] = earlier
        self._recall_at = None

    def clear_keeping(self) -> None:
        """Clear the prompt (ctrl+c) so that Up brings the text back; it is not stored across restarts."""
        text = self.text
        if text.strip() and (not self._recall or self._recall[-1] != text):
            self._recall.append(text)
        self._recall_at = None
        self.clear()

    @property
    def is_recalled(self) -> bool:
        """The text is an earlier prompt shown by up/down, unedited (the completion menu stays shut for it)."""
        return self._recall_at is not None and self.text == self._recall[self._recall_at]

    @property
    def recall(self) -> list[str]:
        return list(self._recall)

    def _show(self, text: str, at_end: bool) -> None:
        self.load_text(text)
        if at_end:
            self.move_cursor(self.document.end)
        else:
            self.move_cursor((0, len(self.document.get_line(0))))

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.menu_open:
            self.menu.move(-1)
            return
        if not select and self.cursor_location[0] == 0 and self._recall and self._recall_at != 0:
            if self._recall_at is None:
                self._draft = self.text
                self._recall_at = len(self._recall) - 1
            else:
                self._recall_at -= 1
            self._show(self._recall[self._recall_at], at_end=False)
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self.menu_open:
            self.menu.move(1)
            return
        last_row = self.document.line_count - 1
        if not select and self.cursor_location[0] == last_row and self._recall_at is not None:
            if self._recall_at < len(self._recall) - 1:
                self._recall_at += 1
                self._show(self._recall[self._recall_at], at_end=True)
            else:
                self._recall_at = None
                self._show(self._draft, at_end=True)
            return
        super().action_cursor_down(select)

    # --- keys --------------------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        await super().on_event(event)  # every handler of the key has run: what it typed is in the text
        if isinstance(event, (events.Key, events.Paste)):  # shown now, not at the next frame (HoldsLayout.paint_now)
            screen = self.screen
            if isinstance(screen, HoldsLayout):
                screen.paint_now(self)
            if isinstance(event, events.Key) and (pace := key_pace(self.app)) is not None:
                pace.shown()  # work waiting for the gap after this key may start (ui/input_timing.py)

    async def _on_key(self, event: events.Key) -> None:
        # Runs before TextArea._on_key (Textual dispatches along the MRO); prevent_default stops the base
        # class from inserting its own newline for Enter.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if text:
                self.post_message(self.Submitted(self, self.text.strip("\n")))
        elif event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self._replace_via_keyboard("\n", start, end)
        elif event.key in ("up", "down") and self.menu_open:
            # Here rather than through the cursor bindings: a binding runs only after the key has bubbled up
            # unhandled, so a Tab arriving in the same burst would be handled before it.
            event.stop()
            event.prevent_default()
            self.menu.move(-1 if event.key == "up" else 1)
        elif event.key == "tab" and (self.menu_open or self.text.startswith("/")):
            event.stop()
            event.prevent_default()
            self.post_message(self.TabPressed(self))
        elif _typed_but_not_printable(event.character):
            # TextArea inserts only characters that str.isprintable() accepts, which drops ZWJ/ZWNJ (Persian, emoji
            # sequences), no-break spaces and private-use icons: a person typed them, so they are inserted here.
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self._replace_via_keyboard(event.character, start, end)


def _typed_but_not_printable(character: str | None) -> bool:
    """A typed character Python calls unprintable that still belongs in text: not a control code, not a surrogate,
    and kept by the terminal sanitiser (bidi overrides are not, so they are not inserted either)."""
    if character is None or len(character) != 1 or character.isprintable():
        return False
    return unicodedata.category(character) not in ("Cc", "Cs") and sanitize(character) == character
