"""The completion menu under the prompt: slash commands, their arguments and `@paths`, as you type.

While it is open, up/down move in it and Tab completes: the highlighted row when the arrows chose it; else
the one match, or, on several, first their common prefix and then each match in turn. Escape closes it until
the text changes. Enter is never taken: it sends what is in the prompt.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from rich.text import Text
from textual.widgets import Static

from tui_agent.sanitize import sanitize_line

if TYPE_CHECKING:
    from tui_agent.ui.completion import Completion, Item
    from tui_agent.ui.widgets.prompt import Prompt

MAX_ROWS = 8


class CompletionMenu(Static):
    """Renders the current completion and applies Tab to the prompt it serves."""

    def __init__(self, prompt: "Prompt", sources: Callable[[], tuple[list[str], list[str]]], *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.prompt = prompt
        self.sources = sources  # () -> (profiles, providers), read from the config in force when asked
        self.cwd: Path | None = None  # None: the process's working directory
        self.completion: Completion | None = None
        self.index = 0
        self._moved = False  # the arrows chose the row: Tab takes it as it is
        self._cycling = False  # Tab is stepping through the rows: our own edits must not recompute them
        self._own_edit: str | None = None  # the prompt text our last Tab produced
        self._dismissed: str | None = None  # Escape closed the menu on this text

    @property
    def is_open(self) -> bool:
        return self.display and self.completion is not None and bool(self.completion.items)

    # --- following the prompt --------------------------------------------------------------------------

    def refresh_for(self, text: str) -> None:
        """Recompute for the prompt's text (called on every change)."""
        if self._own_edit is not None and text == self._own_edit:
            self._own_edit = None
            if self._cycling:
                return  # keep the rows being cycled through
        else:
            self._own_edit = None
            self._cycling = False
        if text == self._dismissed or self.prompt.is_recalled:
            self._show(None)
            return
        self._dismissed = None
        from tui_agent.ui.completion import complete  # with the slash commands: at the first keystroke, not at start

        profiles, providers = self.sources()
        cursor = self.prompt.document.get_index_from_location(self.prompt.cursor_location)
        self._show(complete(text, cursor, profiles=profiles, providers=providers, cwd=self.cwd))

    def _show(self, completion: Completion | None) -> None:
        self.completion = completion
        self.index = 0
        self._moved = False
        shown = completion is not None and bool(completion.items or completion.info)
        if shown:
            self.update(self._render_rows())
        self.display = shown

    def reopen(self) -> None:
        """Tab on a closed menu: show it again for the text as it is."""
        self._dismissed = None
        self.refresh_for(self.prompt.text)

    def close(self) -> None:
        """Escape: hide until the text changes."""
        self._dismissed = self.prompt.text
        self._cycling = False
        self._show(None)

    # --- keys --------------------------------------------------------------------------------------------

    def move(self, delta: int) -> None:
        if not self.is_open:
            return
        assert self.completion is not None
        self.index = (self.index + delta) % len(self.completion.items)
        self._moved = True
        self.update(self._render_rows())

    def tab(self) -> None:
        completion = self.completion
        if completion is None or not completion.items:
            return
        items = completion.items
        if self._cycling:
            self.index = (self.index + 1) % len(items)
            self._apply(items[self.index], keep=True)
        elif self._moved or len(items) == 1:
            self._apply(items[self.index], keep=False)
        else:
            prefix = completion.common_prefix()
            typed = self.prompt.text[completion.start:completion.end]
            if len(prefix) > len(typed):
                self._replace(completion, prefix, keep=False)
            else:
                self._cycling = True
                self._apply(items[self.index], keep=True)

    def _apply(self, item: Item, *, keep: bool) -> None:
        assert self.completion is not None
        self._replace(self.completion, item.insert, keep=keep)
        if keep:
            self.update(self._render_rows())

    def _replace(self, completion: Completion, insert: str, *, keep: bool) -> None:
        document = self.prompt.document
        start = document.get_location_from_index(completion.start)
        end = document.get_location_from_index(completion.end)
        text = self.prompt.text
        new_text = text[: completion.start] + insert + text[completion.end:]
        self._own_edit = new_text if keep else None
        if keep:  # the rows stay; only the span's end moves with what was inserted
            from tui_agent.ui.completion import Completion

            self.completion = Completion(completion.start, completion.start + len(insert), completion.items, completion.info)
        self.prompt.replace(insert, start, end)
        self.prompt.move_cursor(document.get_location_from_index(completion.start + len(insert)))

    # --- drawing -----------------------------------------------------------------------------------------

    def _render_rows(self) -> Text:
        completion = self.completion
        assert completion is not None
        body = Text()
        items = completion.items
        if not items:
            body.append(sanitize_line(completion.info), style="dim")
            return body
        first = min(max(0, self.index - MAX_ROWS + 1), max(0, len(items) - MAX_ROWS))
        shown = items[first:first + MAX_ROWS]
        width = max(len(sanitize_line(item.label)) for item in shown)
        for row, item in enumerate(shown, start=first):
            if row > first:
                body.append("\n")
            style = "reverse" if row == self.index else ""
            # One line each: a file name with a newline must not draw a row of its own.
            body.append(sanitize_line(item.label).ljust(width + 2), style=style or "bold")
            if item.detail:
                body.append(sanitize_line(item.detail), style="dim")
        more = f"  ({len(items)} matches)" if len(items) > MAX_ROWS else ""
        body.append(f"\nTab completes · ↑↓ move · Esc closes{more}", style="italic dim")
        return body
