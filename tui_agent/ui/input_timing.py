"""How recently the user typed or scrolled, and at what pace: what the streaming answer's writes and the
garbage-collection pacer both decide by. `TuiAgentApp.last_input_at` is stamped on every key and scroll, and
`TuiAgentApp.key_pace` on every key (ui/app.py); the prompt says when a key is on screen."""

from __future__ import annotations

import time
from collections import deque

# A key or a scroll this recent (seconds) means the user is typing: the next key may come any moment, so work that
# takes the event loop for a while waits for the gap after a key's frame, or for the user to stop.
TYPING_PAUSE = 0.3
# A key goes from the terminal to the prompt in several hops (the app, the screen, the prompt), each behind what is
# queued on the event loop. Work that starts while a key is on its way makes the key wait for it, so it waits for the
# key to be drawn: at most this long (a key that the prompt does not draw, a scroll, is not waited for after it).
ECHO_FRAME = 0.03
# While the user types, work that takes the loop for tens of milliseconds (a slice of a streaming answer: its parse,
# its mount and the layout that places it, 20-45 ms on a busy 2-core machine) starts only in the first part of the
# gap between two keys: within half the user's usual gap (the median of their last KEY_GAPS_KEPT gaps shorter than
# TYPING_PAUSE), but never less than GAP_WORK_MIN after the key. Begun then, it ends before the next key usually
# comes, and the key finds the event loop free. A first key after a pause has no pace yet: GAP_WORK_FIRST.
KEY_GAPS_KEPT = 8
GAP_WORK_MIN = 0.03
GAP_WORK_FIRST = 0.05


def user_typing(app: object | None, now: float | None = None) -> bool:
    """Whether the user typed or scrolled in `app` within the last TYPING_PAUSE seconds before `now` (default: the
    clock now; never, for anything that does not stamp `last_input_at`)."""
    return (time.perf_counter() if now is None else now) - getattr(app, "last_input_at", 0.0) < TYPING_PAUSE


def key_pace(app: object | None) -> "KeyPace | None":
    """`app`'s KeyPace (None for an app that does not keep one: tests' bare apps)."""
    pace = getattr(app, "key_pace", None)
    return pace if isinstance(pace, KeyPace) else None


class KeyPace:
    """When the user's last key came and was drawn, and the gaps between their recent keys."""

    def __init__(self) -> None:
        self.typed_at = 0.0  # perf_counter of the last key
        self.shown_at = 0.0  # … of the last key the prompt drew
        self._gaps: deque[float] = deque(maxlen=KEY_GAPS_KEPT)
        self._asked = False  # an answer was asked for since the last key

    def typed(self, now: float) -> None:
        gap = now - self.typed_at
        if gap < TYPING_PAUSE:  # a gap of a typist's run of keys, not a pause
            self._gaps.append(gap)
        self.typed_at = now
        self._asked = False

    def answer_asked(self) -> None:
        """The user's last key asked for an answer (sent the prompt, retried): their run of keys is over (they read,
        or wait), so the answer is drawn at once, not in gaps between keys, until they type again."""
        self._asked = True

    def shown(self) -> None:
        self.shown_at = time.perf_counter()

    def work_window(self) -> float:
        """How long after a key work that takes the loop may still start (see GAP_WORK_MIN)."""
        if not self._gaps:
            return GAP_WORK_FIRST
        gaps = sorted(self._gaps)  # their median (not statistics.median: that module costs start-up time to import)
        middle = (gaps[(len(gaps) - 1) // 2] + gaps[len(gaps) // 2]) / 2
        return max(GAP_WORK_MIN, middle / 2)

    def gap_open(self, now: float) -> bool:
        """Whether the user is between two keys and the next is not due yet: the last key is drawn (or was typed
        ECHO_FRAME ago), and it came less than `work_window()` ago; or no key came since an answer was asked for."""
        if self._asked:
            return True
        since = now - self.typed_at
        drawn = self.shown_at >= self.typed_at or since >= ECHO_FRAME
        return drawn and since < self.work_window()


def may_start_work(app: object | None) -> bool:
    """Whether work that takes the event loop for tens of milliseconds may start now: nobody is typing, or the user
    is in the gap just after a key (`KeyPace.gap_open`). A scroll counts as typing, with no gap to start in."""
    now = time.perf_counter()
    if not user_typing(app, now):
        return True
    pace = key_pace(app)
    return pace is not None and pace.gap_open(now)
