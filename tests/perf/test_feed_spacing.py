"""An answer's writes are spaced out while the event loop runs late, and come back to every 40 ms when it catches up.

Driven by a fake clock and a recording owner (no Textual app, no sleeping): what is checked is the delay the
feed asks for its next write, not how long anything takes.
"""

from __future__ import annotations

import pytest

from tui_agent.ui.widgets import message
from tui_agent.ui.widgets.message import ECHO_FRAME, FLUSH_INTERVAL, KEY_POLL, MAX_FLUSH_INTERVAL, TYPING_PAUSE, _Feed


class _Owner:
    """Stands in for the answer widget: records the delays the feed asks for."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.app = type("App", (), {"last_input_at": 0.0})()

        self.after_refresh: list = []

    def set_timer(self, delay, callback, name=None):
        self.delays.append(delay)
        return None

    def call_after_refresh(self, callback):
        self.after_refresh.append(callback)


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


class _Stream:
    def __init__(self) -> None:
        self.written: list[str] = []

    async def write(self, text: str) -> None:
        self.written.append(text)


async def test_a_write_goes_right_after_the_echo_of_a_key_or_in_a_pause_and_never_later_than_the_cap(clock):
    owner = _Owner()
    feed = _Feed(owner, _Markdown())
    feed._stream = stream = _Stream()

    feed.add("a")
    clock[0] += FLUSH_INTERVAL
    owner.app.last_input_at = clock[0] - ECHO_FRAME / 2  # a key has just arrived
    await feed._flush()
    assert stream.written == [] and len(owner.after_refresh) == 1  # not before the frame that shows the key
    await owner.after_refresh.pop()()
    assert stream.written == ["a"]

    feed.add("b")
    clock[0] += FLUSH_INTERVAL
    owner.app.last_input_at = clock[0] - 0.1  # typing, between two keys: wait for the next one
    await feed._flush()
    assert stream.written == ["a"] and owner.delays[-1] == pytest.approx(KEY_POLL) and not owner.after_refresh
    clock[0] += TYPING_PAUSE  # no next key: the user paused, written now
    await feed._flush()
    assert stream.written == ["a", "b"]

    feed.add("c")
    added_at = clock[0]
    while clock[0] - added_at < 2 * MAX_FLUSH_INTERVAL:  # keys on and on, none just now: held at most the cap
        clock[0] += KEY_POLL
        owner.app.last_input_at = clock[0] - 2 * ECHO_FRAME
        await feed._flush()
        if stream.written[-1] == "c":
            break
    assert stream.written == ["a", "b", "c"]
    assert MAX_FLUSH_INTERVAL <= clock[0] - added_at <= MAX_FLUSH_INTERVAL + KEY_POLL
