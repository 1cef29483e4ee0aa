"""An answer's writes are spaced out while the event loop runs late, and come back to every 40 ms when it catches up.

Driven by a fake perf_clock and a recording owner (no Textual app, no sleeping): what is checked is the delay the
feed asks for its next write and what each append carries, not how long anything takes.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import pytest

from tui_agent.ui.widgets import message
from tui_agent.ui.input_timing import GAP_WORK_FIRST, TYPING_PAUSE, KeyPace
from tui_agent.ui.widgets.message import (
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
        self.app = type("App", (), {"last_input_at": 0.0, "key_pace": KeyPace()})()
        self.is_attached = True
        self.frames_waited = 0
        self._frame: asyncio.Future | None = None

    def set_timer(self, delay, callback, name=None):
        self.delays.append(delay)
        return None

    async def wait_for_refresh(self) -> bool:
        self.frames_waited += 1
        self._frame = asyncio.get_running_loop().create_future()
        await self._frame
        return True

    async def draw_frame(self) -> None:
        """A frame is drawn: whoever waited for it goes on."""
        if self._frame is not None and not self._frame.done():
            self._frame.set_result(None)
        await settle()


async def settle() -> None:
    """Let the feed's writer task run until it waits for something."""
    for _ in range(50):
        await asyncio.sleep(0)


class _Markdown:
    """Records what is appended (Textual's `Markdown.append`, awaited), and when it began by the `perf_clock` given, which
    each append moves on by `cost` (what a slice's parse, mount and layout take)."""

    screen = None  # on no screen: no layout to hold (`layout_hold`; a test records the holds apart)

    def __init__(self, perf_clock: list[float] | None = None, cost: float = 0.0) -> None:
        self.source = ""
        self.written: list[str] = []
        self.at: list[float] = []
        self._clock = perf_clock
        self._cost = cost

    async def append(self, text: str) -> None:
        self.written.append(text)
        self.source += text
        if self._clock is not None:
            self.at.append(self._clock[0])
            self._clock[0] += self._cost


def key(owner: _Owner, perf_clock, *, shown: bool = True) -> None:
    """The user types a key now (the app notes it); `shown`: the prompt has drawn it."""
    owner.app.last_input_at = perf_clock[0]
    owner.app.key_pace.typed(perf_clock[0])
    if shown:
        owner.app.key_pace.shown()


class Typist:
    """Stands in for the feed's poll for a gap (`message._key_poll`): each poll moves the fake perf_clock on by KEY_POLL,
    and a key is typed (and drawn) every `gap` seconds of it, `keys` more times; then the user stops."""

    def __init__(self, owner: _Owner, perf_clock, gap: float, keys: int) -> None:
        self.owner, self.perf_clock, self.gap, self.left = owner, perf_clock, gap, keys
        self.typed: list[float] = []

    def type(self) -> None:
        key(self.owner, self.perf_clock)
        self.typed.append(self.perf_clock[0])
        self.left -= 1

    async def poll(self) -> None:
        self.perf_clock[0] += KEY_POLL
        if self.left and self.perf_clock[0] - self.typed[-1] >= self.gap - 1e-9:
            self.type()
        await asyncio.sleep(0)

    def gap_of(self, at: float) -> float:
        """How long after the latest key before `at` it is at `at`."""
        return at - max(t for t in self.typed if t <= at)


@pytest.fixture
def typist(monkeypatch, perf_clock):
    def make(owner: _Owner, gap: float = 0.15, keys: int = 1_000) -> Typist:
        typist = Typist(owner, perf_clock, gap, keys)
        for _ in range(4):  # the user's pace so far
            typist.type()
            perf_clock[0] += gap
        typist.type()
        typist.left = keys
        monkeypatch.setattr(message, "_key_poll", typist.poll)
        return typist

    return make


async def _fire_late(feed: _Feed, perf_clock, late: float) -> None:
    """The timer fires `late` seconds after it was due, with nothing left to write (the feed closed)."""
    perf_clock[0] += feed._interval + late
    feed._closed = True  # nothing is written: only the spacing is under test
    await feed._flush()
    feed._closed = False


async def test_a_late_loop_spaces_writes_out_and_a_caught_up_one_brings_them_back(perf_clock):
    owner = _Owner()
    feed = _Feed(owner, _Markdown())
    feed.add("a")
    assert owner.delays == [FLUSH_INTERVAL]

    await _fire_late(feed, perf_clock, 0.1)  # the loop was 100 ms late: the next write waits twice that
    feed.add("b")
    assert owner.delays[-1] == pytest.approx(0.2)

    await _fire_late(feed, perf_clock, 5.0)  # never longer than the cap, however late
    feed.add("c")
    assert owner.delays[-1] == MAX_FLUSH_INTERVAL

    await _fire_late(feed, perf_clock, 0.0)  # on time again: back to the normal interval
    feed.add("d")
    assert owner.delays[-1] == FLUSH_INTERVAL


async def test_while_the_user_types_a_write_starts_in_the_gap_after_a_drawn_key_and_never_later_than_the_cap(perf_clock):
    owner = _Owner()
    feed = _Feed(owner, stream := _Markdown())

    feed.add("a")
    perf_clock[0] += FLUSH_INTERVAL
    key(owner, perf_clock, shown=False)  # a key on its way to the prompt: not before it is drawn
    await feed._flush()
    await settle()
    assert stream.written == [] and owner.delays[-1] == pytest.approx(KEY_POLL)
    owner.app.key_pace.shown()
    await feed._flush()
    await settle()
    assert stream.written == ["a"]

    feed.add("b")
    perf_clock[0] += GAP_WORK_FIRST * 1.01  # still typing, but late in the gap: the next key may come any moment
    await feed._flush()
    await settle()
    assert stream.written == ["a"] and owner.delays[-1] == pytest.approx(KEY_POLL)
    perf_clock[0] += TYPING_PAUSE  # no next key: the user paused, written now
    await feed._flush()
    await settle()
    assert stream.written == ["a", "b"]

    feed.add("c")
    added_at = perf_clock[0]
    while perf_clock[0] - added_at < 2 * MAX_FLUSH_INTERVAL:  # keys on and on that never open a gap: held at most the cap
        perf_clock[0] += KEY_POLL
        key(owner, perf_clock, shown=False)
        await feed._flush()
        await settle()
        if stream.written[-1] == "c":
            break
    assert stream.written == ["a", "b", "c"]
    assert MAX_FLUSH_INTERVAL <= perf_clock[0] - added_at <= MAX_FLUSH_INTERVAL + KEY_POLL


async def test_while_the_user_types_a_backlog_goes_in_the_first_half_of_each_gap_between_keys(perf_clock, typist):
    """At full speed the backlog is longer than any gap: each slice starts within half the user's gap after a key
    (so it ends before the next key comes), frames apart, and nothing is lost or written twice."""
    owner = _Owner()
    feed, markdown = _answer_feed(owner, perf_clock, cost=0.03)
    user = typist(owner, gap=0.15)
    feed.add("".join(f"paragraph {i} " + "word " * 60 + "\n\n" for i in range(60)))  # ≈ 19 KB at once
    await feed._flush()
    await _write_all(feed, owner, markdown)
    assert markdown.source == feed.text
    assert len(markdown.written) > 5
    assert all(user.gap_of(at) < 0.15 / 2 for at in markdown.at)
    assert len({max(t for t in user.typed if t <= at) for at in markdown.at}) < len(markdown.written)  # some gaps hold two
    feed.close()


async def test_finish_waits_for_the_gaps_between_keys_too_and_for_no_key_once_the_user_stops(perf_clock, typist):
    owner = _Owner()
    owner.is_attached = False  # no frames to wait for
    feed, markdown = _answer_feed(owner, perf_clock, cost=0.03)
    user = typist(owner, gap=0.2, keys=3)
    feed.add("".join(f"line {i} " + "y " * 80 + "\n\n" for i in range(200)))  # ≈ 34 KB: more slices than 3 gaps hold
    await feed.finish()
    assert markdown.source == feed.text
    typing = [at for at in markdown.at if at - user.typed[-1] < TYPING_PAUSE]
    assert typing and all(user.gap_of(at) < 0.2 / 2 for at in typing)
    assert len(typing) < len(markdown.written)  # the rest once the user stopped, at once


async def test_the_layout_of_a_slice_that_ends_late_in_a_gap_waits_for_the_next_gap(perf_clock, typist, monkeypatch):
    """The screen's layout is held from a slice's start until the keys allow work: a slice whose append ends past
    the first half of the gap (a long code block) is placed by a layout in the next gap, not under the next key."""
    holds: list[tuple[float, float]] = []

    @contextmanager
    def recorded_hold(node):
        began = perf_clock[0]
        yield
        holds.append((began, perf_clock[0]))

    monkeypatch.setattr(message, "layout_hold", recorded_hold)
    owner = _Owner()
    owner.is_attached = False
    feed, markdown = _answer_feed(owner, perf_clock, cost=0.09)  # each append takes 90 ms: longer than half a gap
    user = typist(owner, gap=0.15, keys=20)
    feed.add("".join(f"paragraph {i} " + "word " * 60 + "\n\n" for i in range(20)))  # ≈ 6 KB: a few slices
    await feed.finish()
    assert markdown.source == feed.text and len(holds) == len(markdown.written) > 1
    for began, released in holds:
        assert released - began >= 0.09
        assert user.gap_of(released) < 0.15 / 2  # released in a gap, never late in one

    holds.clear()
    user.left = 0
    perf_clock[0] += 1.0  # nobody types any more: released as soon as the append is over
    owner2 = _Owner()
    owner2.is_attached = False
    feed, markdown = _answer_feed(owner2, perf_clock, cost=0.09)
    feed.add("a paragraph\n\n")
    await feed.finish()
    assert [released - began for began, released in holds] == [pytest.approx(0.09)]


async def test_an_answer_that_ends_late_in_a_gap_between_keys_waits_for_the_next_key_to_be_drawn(perf_clock, typist):
    owner = _Owner()
    owner.is_attached = False
    feed, markdown = _answer_feed(owner, perf_clock, cost=0.03)
    user = typist(owner, gap=0.15, keys=2)
    feed.add("last words\n\n")
    perf_clock[0] += 0.1  # the stream ends 100 ms after a key: the next is due in 50
    ended = perf_clock[0]
    await feed.finish()
    assert markdown.written == ["last words\n\n"]
    assert markdown.at == [min(t for t in user.typed if t > ended)]  # written once that key was drawn


def _answer_feed(owner, perf_clock=None, cost: float = 0.0) -> tuple[_Feed, _Markdown]:
    markdown = _Markdown(perf_clock, cost)
    return _Feed(owner, markdown, show_tail=lambda tail, held: None), markdown


async def _write_all(feed: _Feed, owner: _Owner, markdown: _Markdown) -> None:
    """Draw frames while the writer appends slices, until it has nothing left."""
    while True:
        appended = len(markdown.written)
        await owner.draw_frame()
        if len(markdown.written) == appended:
            return


async def test_a_backlog_is_appended_in_slices_cut_where_blocks_begin_a_frame_apart(perf_clock):
    owner = _Owner()
    feed, markdown = _answer_feed(owner)
    paragraphs = [f"paragraph {i} " + "word " * 60 + "\n\n" for i in range(40)]  # ≈ 12 KB arriving at once
    feed.add("".join(paragraphs))
    await typing(feed, owner, perf_clock)
    assert len(markdown.written) == 1  # one slice, then the writer waits for a frame
    await _write_all(feed, owner, markdown)
    assert markdown.source == feed.text  # nothing lost
    assert len(markdown.written) >= len(feed.text) // WRITE_SLICE
    assert owner.frames_waited == len(markdown.written) - 1  # a frame between every two slices
    assert all(len(part) <= WRITE_SLICE for part in markdown.written)
    assert all(part.endswith("\n\n") for part in markdown.written)  # never a block cut in two
    feed.close()


async def test_nobody_typing_a_backlog_goes_in_larger_slices_still_a_frame_apart(perf_clock):
    """Larger slices end the answer sooner, and bounded ones keep the first key typed after a pause from waiting for
    the whole backlog (and let the answer's old blocks fold between them)."""
    owner = _Owner()
    feed, markdown = _answer_feed(owner)
    paragraphs = [f"paragraph {i} " + "word " * 60 + "\n\n" for i in range(150)]  # ≈ 46 KB arriving at once
    feed.add("".join(paragraphs))
    perf_clock[0] += FLUSH_INTERVAL  # nobody has typed for long: written now
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


async def test_a_block_longer_than_a_slice_is_appended_whole(perf_clock):
    owner = _Owner()
    feed, markdown = _answer_feed(owner)
    fence = "```\n" + "x = 1\n\n" * 600 + "```\n"  # blank lines inside a fence do not end it
    feed.add("intro\n\n" + fence + "outro " * 600)
    await typing(feed, owner, perf_clock)
    assert markdown.written == ["intro\n\n"]  # up to where the long fence begins
    await owner.draw_frame()
    assert markdown.written[1] == fence  # the whole fence in one append
    await _write_all(feed, owner, markdown)
    assert markdown.source == feed.text
    feed.close()


async def test_finish_appends_what_is_left_in_slices_while_the_user_types_and_nothing_twice(perf_clock):
    owner = _Owner()
    owner.is_attached = False  # no frames to wait for
    key(owner, perf_clock)  # (the perf_clock stands still: the gap after it never closes)
    feed, markdown = _answer_feed(owner)
    feed.add("".join(f"line {i} " + "y " * 80 + "\n\n" for i in range(60)))
    await feed.finish()
    assert markdown.source == feed.text
    assert len(markdown.written) > 1 and all(len(part) <= WRITE_SLICE for part in markdown.written)


async def test_with_nobody_typing_finish_writes_what_is_left_in_the_larger_slices(perf_clock):
    owner = _Owner()
    owner.is_attached = False  # no frames to wait for
    feed, markdown = _answer_feed(owner)
    feed.add("".join(f"line {i} " + "y " * 420 + "\n\n" for i in range(20)))  # ≈ 17 KB, the last key long ago
    await feed.finish()
    assert markdown.source == feed.text and len(markdown.written) == 2
    assert all(WRITE_SLICE < len(part) <= IDLE_WRITE_SLICE for part in markdown.written)


async def test_a_slice_of_short_blocks_holds_at_most_write_blocks_of_them(perf_clock):
    """A slice is as many widgets to mount and lay out as it has blocks: short ones are cut by their number."""
    owner = _Owner()
    feed, markdown = _answer_feed(owner)
    feed.add("".join(f"p{i}.\n\n" for i in range(100)))  # 100 blocks in under 1 KB
    perf_clock[0] += FLUSH_INTERVAL
    await feed._flush()
    await _write_all(feed, owner, markdown)
    assert markdown.source == feed.text
    assert [part.count("\n\n") for part in markdown.written] == [WRITE_BLOCKS] * 3 + [100 - 3 * WRITE_BLOCKS]


async def typing(feed: _Feed, owner: _Owner, perf_clock) -> None:
    """A key has just been typed and drawn: the feed writes in the gap after it (the perf_clock stands still in it)."""
    perf_clock[0] += FLUSH_INTERVAL
    key(owner, perf_clock)
    await feed._flush()
    await settle()


async def test_an_append_that_fails_stops_nothing_for_good_and_the_end_makes_it_good(perf_clock):
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
    perf_clock[0] += 1.0
    await feed._flush()
    await settle()
    assert markdown.written == [] and feed._writer_task is None  # the writer ended, and said so in the log
    feed.add("b")
    perf_clock[0] += 1.0
    await feed._flush()
    await settle()
    assert markdown.written == ["b"]  # a new writer took over
    await feed.finish()
    assert markdown.source == feed.text == "ab"  # the reconcile draws what the failed append lost
