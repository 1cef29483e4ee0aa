"""How recently the user typed or scrolled: what the streaming answer's writes and the garbage-collection pacer
both decide by. `TuiAgentApp.last_input_at` is stamped on every key and scroll (ui/app.py)."""

from __future__ import annotations

import time

# A key or a scroll this recent (seconds) means the user is typing: the next key may come any moment, so work that
# takes the event loop for a while waits for the gap after a key's frame, or for the user to stop.
TYPING_PAUSE = 0.3


def seconds_since_input(app: object | None) -> float:
    """Seconds since the user last typed or scrolled in `app` (a very long time for anything that does not stamp it)."""
    return time.perf_counter() - getattr(app, "last_input_at", 0.0)
