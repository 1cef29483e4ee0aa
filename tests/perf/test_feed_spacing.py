"""An answer's writes are spaced out while the event loop runs late, and come back to every 40 ms when it catches up.

Driven by a fake clock and a recording owner (no Textual app, no sleeping): what is checked is the delay the
feed asks for its next write and what each append carries, not how long anything takes.
"""

from __future__ import annotations

import asyncio

import pytest

from tui_agent.ui.widgets import message
from tui_agent.ui.input_timing import TYPING_PAUSE
from tui_agent.ui.widgets.message import (
    ECHO_FRAME,
    FLUSH_INTERVAL,
    IDLE_WRITE_SLICE,
    KEY_POLL,
    MAX_FLUSH_INTERVAL,
    WRITE_BLOCKS,
    WRITE_SLICE,
    _Feed,
)


class _Owner:
    """Stands in for the answer widget: records the delays the feed asks for; frames are drawn by the test."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.app = type("App", (), {"last_input_at": 0.0})()
        self.after_refresh: list = []
        self.is_attached = True
        self.frames_waited = 0
        self._frame: asyncio.Future | None = None

    def set_timer(self, delay, callback, name=None):
        self.delays.append(delay)
        return None

    def call_after_refresh(self, callback):
        self.after_refresh.append(callback)

    async def wait_for_refresh(self) -> bool:
        self.frames_waited += 1
        self._frame = asyncio.get_running_loop().create_future()
        await self._frame
        return True

    async def draw_frame(self) -> None:
        """A frame is drawn: after-refresh callbacks run and whoever waited for it goes on."""
        callbacks, self.after_refresh = self.after_refresh, []
        for callback in callbacks:
            callback()
        if self._frame is not None and not self._frame.done():
            self._frame.set_result(None)
        await settle()


async def settle() -> None:
    """Let the feed's writer task run until it waits for something."""
    for _ in range(50):
        await asyncio.sleep(0)


class _Markdown:
    """Records what is appended (Textual's `Markdown.append`, awaited)."""

    def __init__(self) -> None:
        self.source = ""
        self.written: list[str] = []

    async def append(self, text: str) -> None:
        self.written.append(text)
        self.source += text


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


async def test_a_write_goes_right_after_the_echo_of_a_key_or_in_a_pause_and_never_later_than_the_cap(clock):
    owner = _Owner()
    feed = _Feed(owner, stream := _Markdown())

    feed.add("a")
    clock[0] += FLUSH_INTERVAL
    owner.app.last_input_at = clock[0] - ECHO_FRAME / 2  # a key has just arrived
    await feed._flush()
    await settle()
    assert stream.written == [] and len(owner.after_refresh) == 1  # not before the frame that shows the key
    await owner.draw_frame()
    assert stream.written == ["a"]

    feed.add("b")
    clock[0] += FLUSH_INTERVAL
    owner.app.last_input_at = clock[0] - 0.1  # typing, between two keys: wait for the next one
    await feed._flush()
    await settle()
    assert stream.written == ["a"] and owner.delays[-1] == pytest.approx(KEY_POLL) and not owner.after_refresh
    clock[0] += TYPING_PAUSE  # no next key: the user paused, written now
    await feed._flush()
    await settle()
    assert stream.written == ["a", "b"]

    feed.add("c")
    added_at = clock[0]
    while clock[0] - added_at < 2 * MAX_FLUSH_INTERVAL:  # keys on and on, none just now: held at most the cap
        clock[0] += KEY_POLL
        owner.app.last_input_at = clock[0] - 2 * ECHO_FRAME
        await feed._flush()
        await settle()
        if stream.written[-1] == "c":
            break
    assert stream.written == ["a", "b", "c"]
    assert MAX_FLUSH_INTERVAL <= clock[0] - added_at <= MAX_FLUSH_INTERVAL + KEY_POLL


def _answer_feed(owner) -> tuple[_Feed, _Markdown]:
    markdown = _Markdown()
    return _Feed(owner, markdown, show_tail=lambda tail, held: None), markdown


async def _write_all(feed: _Feed, owner: _Owner, markdown: _Markdown) -> None:
    """Draw frames while the writer appends slices, until it has nothing left."""
    while True:
        appended = len(markdown.written)
        await owner.draw_frame()
        if len(markdown.written) == appended:
            return


async def test_a_backlog_is_appended_in_slices_cut_where_blocks_begin_a_frame_apart(clock):
    owner = _Owner()
    feed, markdown = _answer_feed(owner)
    paragraphs = [f"paragraph {i} " + "word " * 60 + "\n\n" for i in range(40)]  # ≈ 12 KB arriving at once
    feed.add("".join(paragraphs))
    await typing(feed, owner, clock)
    assert len(markdown.written) == 1  # one slice, then the writer waits for a frame
    await _write_all(feed, owner, markdown)
    assert markdown.source == feed.text  # nothing lost
    assert len(markdown.written) >= len(feed.text) // WRITE_SLICE
    assert owner.frames_waited == len(markdown.written) - 1  # a frame between every two slices
    assert all(len(part) <= WRITE_SLICE for part in markdown.written)
    assert all(part.endswith("\n\n") for part in markdown.written)  # never a block cut in two
    feed.close()


async def test_nobody_typing_a_backlog_goes_in_larger_slices_still_a_frame_apart(clock):
    """Larger slices end the answer sooner, and bounded ones keep the first key typed after a pause from waiting for
    the whole backlog (and let the answer's old blocks fold between them)."""
    owner = _Owner()
    feed, markdown = _answer_feed(owner)
    paragraphs = [f"paragraph {i} " + "word " * 60 + "\n\n" for i in range(150)]  # ≈ 46 KB arriving at once
    feed.add("".join(paragraphs))
    clock[0] += FLUSH_INTERVAL  # nobody has typed for long: written now
    await feed._flush()
    await settle()
    assert len(markdown.written) == 1
    await _write_all(feed, owner, markdown)
    assert markdown.source == feed.text
    assert owner.frames_waited == len(markdown.written) - 1
    assert all(WRITE_SLICE < len(part) <= IDLE_WRITE_SLICE for part in markdown.written[:-1])
    fewest = -(-len(feed.text) // IDLE_WRITE_SLICE)
    assert fewest <= len(markdown.written) <= fewest + 1  # cut where a block begins, short of the size
    assert all(part.endswith("\n\n") for part in markdown.written)
    feed.close()


async def test_a_block_longer_than_a_slice_is_appended_whole(clock):
    owner = _Owner()
    feed, markdown = _answer_feed(owner)
    fence = "```\n" + "x = 1\n\n" * 600 + "```\n"  # blank lines inside a fence do not end it
    feed.add("intro\n\n" + fence + "outro " * 600)
    await typing(feed, owner, clock)
    assert markdown.written == ["intro\n\n"]  # up to where the long fence begins
    await owner.draw_frame()
    assert markdown.written[1] == fence  # the whole fence in one append
    await _write_all(feed, owner, markdown)
    assert markdown.source == feed.text
    feed.close()


async def test_finish_appends_what_is_left_in_slices_while_the_user_types_and_nothing_twice(clock):
    owner = _Owner()
    owner.is_attached = False  # no frames to wait for
    owner.app.last_input_at = clock[0]
    feed, markdown = _answer_feed(owner)
    feed.add("".join(f"line {i} " + "y " * 80 + "\n\n" for i in range(60)))
    await feed.finish()
    assert markdown.source == feed.text
    assert len(markdown.written) > 1 and all(len(part) <= WRITE_SLICE for part in markdown.written)


async def test_with_nobody_typing_finish_writes_what_is_left_in_the_larger_slices(clock):
    owner = _Owner()
    owner.is_attached = False  # no frames to wait for
    feed, markdown = _answer_feed(owner)
    feed.add("".join(f"line {i} " + "y " * 420 + "\n\n" for i in range(20)))  # ≈ 17 KB, the last key long ago
    await feed.finish()
    assert markdown.source == feed.text and len(markdown.written) == 2
    assert all(WRITE_SLICE < len(part) <= IDLE_WRITE_SLICE for part in markdown.written)


async def test_a_slice_of_short_blocks_holds_at_most_write_blocks_of_them(clock):
    """A slice is as many widgets to mount and lay out as it has blocks: short ones are cut by their number."""
    owner = _Owner()
    feed, markdown = _answer_feed(owner)
    feed.add("".join(f"p{i}.\n\n" for i in range(100)))  # 100 blocks in under 1 KB
    clock[0] += FLUSH_INTERVAL
    await feed._flush()
    await _write_all(feed, owner, markdown)
    assert markdown.source == feed.text
    assert [part.count("\n\n") for part in markdown.written] == [WRITE_BLOCKS] * 3 + [100 - 3 * WRITE_BLOCKS]


async def typing(feed: _Feed, owner: _Owner, clock) -> None:
    """A key has just arrived: the feed's write follows the frame that shows it (and the user is typing)."""
    owner.app.last_input_at = clock[0] + FLUSH_INTERVAL - ECHO_FRAME / 2
    clock[0] += FLUSH_INTERVAL
    await feed._flush()
    await owner.draw_frame()


async def test_an_append_that_fails_stops_nothing_for_good_and_the_end_makes_it_good(clock):
    owner = _Owner()
    owner.is_attached = False
    markdown = _Markdown()
    appended = markdown.append
    failures = [RuntimeError("the widget went away mid-append")]

    async def append_once_failing(text: str) -> None:
        if failures:
            raise failures.pop()
        await appended(text)

    async def update(text: str) -> None:
        markdown.written.append(f"update:{text}")
        markdown.source = text

    markdown.append, markdown.update = append_once_failing, update
    feed = _Feed(owner, markdown)
    feed.add("a")
    clock[0] += 1.0
    await feed._flush()
    await settle()
    assert markdown.written == [] and feed._writer_task is None  # the writer ended, and said so in the log
    feed.add("b")
    clock[0] += 1.0
    await feed._flush()
    await settle()
    assert markdown.written == ["b"]  # a new writer took over
    await feed.finish()
    assert markdown.source == feed.text == "ab"  # the reconcile draws what the failed append lost
