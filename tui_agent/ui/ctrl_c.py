"""What ctrl+c does on the chat screen, decided in one place (no Textual here).

In order: a streaming answer stops (as Escape); selected text is copied; a prompt with text is cleared (Up
brings it back); an empty prompt arms quitting, and a second press within `QUIT_WINDOW` seconds quits.
"""

from __future__ import annotations

import time
from typing import Callable, Literal

QUIT_WINDOW = 1.0  # seconds between the two presses on an empty prompt that quit

Outcome = Literal["stop", "copy", "clear", "arm", "quit"]


class CtrlC:
    """Remembers the last press on an empty prompt; `clock` is injectable so tests need no waiting."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._armed_at: float | None = None

    def press(self, *, streaming: bool, selection: str, prompt_text: str) -> Outcome:
        now = self._clock()
        armed, self._armed_at = self._armed_at, None
        if streaming:
            return "stop"
        if selection:
            return "copy"
        if prompt_text.strip():
            return "clear"
        if armed is not None and now - armed <= QUIT_WINDOW:
            return "quit"
        self._armed_at = now
        return "arm"
