"""The garbage-collection pacer (tui_agent/ui/gc_pacing.py): which pass runs when, over a fake `gc` module with a
fake clock, and once over the real collector (a cycle frozen while the user typed is reclaimed in a pause)."""

from __future__ import annotations

import gc
import weakref

from tui_agent.ui import gc_pacing
from tui_agent.ui.gc_pacing import (
    DEEP_AFTER,
    FULL_DUE,
    IDLE_AFTER,
    NO_AUTOMATIC_FULL,
    OVERDUE,
    GcPacer,
)
from tui_agent.ui.input_timing import TYPING_PAUSE


class FakeGc:
    """What the pacer asks of `gc`, recorded; `survivors` objects are frozen by each freeze."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.threshold = (700, 10, 10)
        self.count = [0, 0, 0]
        self.enabled = True
        self.frozen = 0
        self.survivors = 500

    def get_threshold(self):
        return self.threshold

    def set_threshold(self, *values):
        self.threshold = values

    def get_count(self):
        return tuple(self.count)

    def isenabled(self):
        return self.enabled

    def collect(self, generation=2):
        self.calls.append(("collect", generation))
        self.count[2] = 0

    def freeze(self):
        self.calls.append(("freeze",))
        self.frozen += self.survivors

    def unfreeze(self):
        self.calls.append(("unfreeze",))

    def get_freeze_count(self):  # walks every frozen object: the pacer may ask only at start and in a deep pass
        self.calls.append(("get_freeze_count",))
        return self.frozen

    def get_objects(self, generation=None):
        assert generation == 2  # right after a full pass, all that is not frozen is in the oldest generation
        return [None] * self.survivors


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pacer_with(fake: FakeGc, clock: Clock, last_key: list[float]) -> GcPacer:
    pacer = GcPacer(lambda: last_key[0], clock=clock, gc=fake)
    pacer.start()
    fake.calls.clear()  # start counts what start-up froze, once
    return pacer


def test_start_turns_only_the_automatic_full_pass_off_and_stop_gives_the_thresholds_back():
    fake = FakeGc()
    pacer = pacer_with(fake, Clock(), [0.0])
    assert fake.threshold == (700, 10, NO_AUTOMATIC_FULL)
    pacer.stop()
    assert fake.threshold == (700, 10, 10)
    assert fake.calls == [("unfreeze",)]  # what recent passes froze is the collector's again
    assert pacer.tick() is None  # stopped: never collects


def test_nothing_runs_until_a_full_pass_is_due():
    fake, clock = FakeGc(), Clock()
    pacer = pacer_with(fake, clock, [clock.now])
    fake.count[2] = FULL_DUE - 1
    assert pacer.tick() is None
    clock.now += 60  # a long pause with nothing due and nothing frozen: still nothing to do
    assert pacer.tick() is None
    assert fake.calls == []


def test_while_the_user_types_a_due_pass_runs_after_a_key_is_shown_and_scans_only_what_is_new():
    fake, clock = FakeGc(), Clock()
    pacer = pacer_with(fake, clock, [clock.now])
    fake.count[2] = FULL_DUE
    assert pacer.tick() is None  # the timer, between two keys: the next key may come any moment
    assert pacer.after_echo() == "recent"  # the gap after a key's frame
    # Never unfreezes under the user's keys, and never counts what is frozen (a walk over all of it).
    assert fake.calls == [("collect", 2), ("freeze",)]
    assert pacer.frozen_since_deep == fake.survivors


def test_a_pass_waits_for_a_key_or_a_pause_only_until_it_is_overdue():
    fake, clock = FakeGc(), Clock()
    last_key = [clock.now]
    pacer = pacer_with(fake, clock, last_key)
    fake.count[2] = FULL_DUE
    clock.now += TYPING_PAUSE + 0.01  # the user stopped typing: the timer may run it
    assert pacer.tick() == "recent"
    last_key[0] = clock.now
    fake.count[2] = OVERDUE - 1
    assert pacer.tick() is None
    fake.count[2] = OVERDUE  # keys on and on with no echo gap seen: run anyway, before it grows larger
    assert pacer.tick() == "recent"


def test_a_pause_after_enough_was_frozen_brings_a_deep_pass_over_everything():
    fake, clock = FakeGc(), Clock()
    last_key = [clock.now]
    pacer = pacer_with(fake, clock, last_key)
    fake.survivors = DEEP_AFTER // 2 + 1
    for _ in range(2):
        fake.count[2] = FULL_DUE
        assert pacer.after_echo() == "recent"
    fake.calls.clear()
    clock.now += IDLE_AFTER / 2
    assert pacer.tick() is None  # not a pause yet
    clock.now += IDLE_AFTER
    assert pacer.tick() == "deep"
    assert fake.calls == [("unfreeze",), ("collect", 2), ("freeze",), ("get_freeze_count",)]
    assert pacer.frozen_since_deep == 0
    assert pacer.tick() is None  # once per debt
    assert pacer.passes == {"recent": 2, "unfrozen": 0, "deep": 1}


def test_after_a_deep_pass_and_only_then_the_free_memory_is_handed_back():
    fake, clock = FakeGc(), Clock()
    last_key = [clock.now]
    handed_back = []
    pacer = GcPacer(lambda: last_key[0], clock=clock, gc=fake, after_deep=lambda: handed_back.append(len(fake.calls)))
    pacer.start()
    fake.survivors = DEEP_AFTER // 2 + 1
    for _ in range(2):
        fake.count[2] = FULL_DUE
        assert pacer.after_echo() == "recent"
    assert handed_back == []  # recent passes free little: nothing to hand back for them
    fake.calls.clear()
    clock.now += IDLE_AFTER * 1.5
    assert pacer.tick() == "deep"
    assert handed_back == [len(fake.calls)]  # once, after the pass had freed its garbage and frozen the rest
    assert pacer.tick() is None and handed_back == [len(fake.calls)]


def test_no_deep_pass_while_an_answer_streams_or_while_little_of_what_is_frozen_is_new():
    fake, clock = FakeGc(), Clock()
    streaming = [True]
    last_key = [clock.now]  # the user types while it streams: each pass freezes what survives it
    pacer = GcPacer(lambda: last_key[0], busy=lambda: streaming[0], clock=clock, gc=fake)
    fake.frozen = 10 * DEEP_AFTER  # start-up's objects, frozen at the first frame
    pacer.start()
    fake.survivors = DEEP_AFTER
    for _ in range(3):
        fake.count[2] = FULL_DUE
        assert pacer.after_echo() == "recent"
        assert not pacer.deep_due  # 1 new frozen for 11, … 3 for 13: under a quarter
    fake.count[2] = FULL_DUE
    assert pacer.after_echo() == "recent"
    assert pacer.deep_due  # 4 for 14: a quarter and more…
    assert pacer.frozen == fake.frozen  # counted as they were frozen, never by walking them
    fake.calls.clear()
    last_key[0] = clock.now - 10 * IDLE_AFTER  # the user stopped typing long ago
    assert pacer.tick() is None  # …but an answer is streaming
    streaming[0] = False
    assert pacer.tick() is None  # it has just ended: the user is about to read, scroll or type
    clock.now += IDLE_AFTER
    assert pacer.tick() == "deep"


def test_while_an_answer_streams_and_nobody_types_a_pass_freezes_nothing():
    """What survives a pass then is mostly the answer's blocks, soon folded away: frozen, they would stay until a pause
    brings a deep pass (13 MB of them after the 94 KB answer at 500 chunks/s). Under the user's keys a pass still
    freezes what survives it, and stays short."""
    fake, clock = FakeGc(), Clock()
    last_key = [clock.now]
    streaming = [True]
    pacer = GcPacer(lambda: last_key[0], busy=lambda: streaming[0], clock=clock, gc=fake)
    pacer.start()
    fake.calls.clear()
    fake.count[2] = FULL_DUE
    assert pacer.after_echo() == "recent"  # typing: the gap after a key's frame, survivors frozen
    assert fake.calls == [("collect", 2), ("freeze",)]
    fake.calls.clear()
    fake.count[2] = FULL_DUE
    clock.now += TYPING_PAUSE + 0.01  # the user stopped typing
    assert pacer.tick() == "unfrozen"
    assert fake.calls == [("collect", 2)]
    assert pacer.frozen_since_deep == fake.survivors  # only the first pass's
    streaming[0] = False  # the answer ended: what survives now stays, and is frozen
    fake.calls.clear()
    fake.count[2] = FULL_DUE
    assert pacer.tick() == "recent"
    assert fake.calls == [("collect", 2), ("freeze",)]
    assert pacer.passes == {"recent": 2, "unfrozen": 1, "deep": 0}


def test_a_pause_with_little_frozen_runs_only_the_due_recent_pass():
    fake, clock = FakeGc(), Clock()
    pacer = pacer_with(fake, clock, [clock.now - 10 * IDLE_AFTER])
    fake.count[2] = FULL_DUE
    assert pacer.tick() == "recent"
    assert ("unfreeze",) not in fake.calls


def test_nothing_runs_while_collection_is_paused():
    # Textual pauses the collector during smooth scrolls (App.PAUSE_GC_ON_SCROLL); the pacer leaves it paused.
    fake, clock = FakeGc(), Clock()
    pacer = pacer_with(fake, clock, [clock.now])
    fake.count[2] = FULL_DUE
    fake.enabled = False
    assert pacer.after_echo() is None
    assert fake.calls == []


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_over_the_real_collector_a_cycle_frozen_while_typing_is_reclaimed_in_a_pause(monkeypatch):
    monkeypatch.setattr(gc_pacing, "DEEP_AFTER", 1)
    clock = Clock()
    last_key = [clock.now]
    thresholds = gc.get_threshold()
    pacer = GcPacer(lambda: last_key[0], clock=clock)
    pacer.start()
    try:
        node = Node()
        gone = weakref.ref(node)
        for _ in range(FULL_DUE):  # each young (generation 1) pass counts towards the full one
            gc.collect(1)
        assert pacer.after_echo() == "recent"
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()  # an ordinary full pass cannot reach it: it is frozen
        assert gone() is not None
        clock.now += IDLE_AFTER
        assert pacer.tick() == "deep"
        assert gone() is None
    finally:
        pacer.stop()
        gc.unfreeze()
    assert gc.get_threshold() == thresholds


async def test_an_answer_still_drawn_after_its_stream_ended_keeps_the_app_busy_for_the_pacer(home, monkeypatch):
    """A fast answer's stream ends long before it is drawn (slices a frame apart): no deep pass may start meanwhile."""
    import asyncio

    from tests.ui.support import SIZE, make_app, wait_until
    from tui_agent.core.events import Done, TextDelta
    from tui_agent.ui.screens.chat import ChatScreen

    drawn = asyncio.Event()
    render_end = ChatScreen._render_end

    async def drawing_slowly(self, *args, **kwargs):
        await drawn.wait()
        return await render_end(self, *args, **kwargs)

    monkeypatch.setattr(ChatScreen, "_render_end", drawing_slowly)
    app, _ = make_app(home, scripts=[[TextDelta("Hello"), Done("end_turn")]])
    async with app.run_test(size=SIZE) as pilot:
        assert not app._answer_busy()
        app.screen.prompt.insert("hi")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.screen.is_streaming and app.screen._worker is not None,
                         "the stream to end")
        assert app._answer_busy()  # its worker still draws it
        drawn.set()
        await wait_until(pilot, lambda: app.screen._worker.is_finished, "the answer to be drawn")
        assert not app._answer_busy()
