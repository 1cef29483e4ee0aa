"""An answer's writes are spaced out while the event loop runs late, and come back to every 40 ms when it catches up.

Driven by a fake clock and a recording owner (no Textual app, no sleeping): what is checked is the delay the
feed asks for its next write, not how long anything takes.
"""

from __future__ import annotations

import pytest

from tui_agent.ui.widgets import message
from tui_agent.ui.widgets.message import FLUSH_INTERVAL, MAX_FLUSH_INTERVAL, _Feed


class _Owner:
    """Stands in for the answer widget: records the delays the feed asks for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def set_timer(self, delay, callback, name=None):
        self.delays.append(delay)
        return None


class _Markdown:
    source = ""


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(message.time, "perf_counter", lambda: now[0])
    return now


async def _fire_late(feed: _Feed, clock, late: float) -> None:
    """The timer fires `late` seconds after it was due, with nothing left to write (the feed closed)."""
    clock[0] += feed._interval + late
    feed._closed = True  # nothing is written: only the spacing is under test
    await feed._flush()
    feed._closed = False


async def test_a_late_loop_spaces_writes_out_and_a_caught_up_one_brings_them_back(clock):
    owner = _Owner()
    feed = _Feed(owner, _Markdown())
    feed.add("a")
    assert owner.delays == [FLUSH_INTERVAL]

    await _fire_late(feed, clock, 0.1)  # the loop was 100 ms late: the next write waits twice that
    feed.add("b")
    assert owner.delays[-1] == pytest.approx(0.2)

    await _fire_late(feed, clock, 5.0)  # never longer than the cap, however late
    feed.add("c")
    assert owner.delays[-1] == MAX_FLUSH_INTERVAL

    await _fire_late(feed, clock, 0.0)  # on time again: back to the normal interval
    feed.add("d")
    assert owner.delays[-1] == FLUSH_INTERVAL
