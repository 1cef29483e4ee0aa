"""The user's pace at the keyboard (ui/input_timing.py): work that takes the event loop for a while starts only in
the first part of the gap after a key that is on screen, as long as the user types."""

from __future__ import annotations

import pytest

from tui_agent.ui.input_timing import (
    ECHO_FRAME,
    GAP_WORK_FIRST,
    GAP_WORK_MIN,
    KEY_GAPS_KEPT,
    TYPING_PAUSE,
    KeyPace,
    key_pace,
    may_start_work,
    user_typing,
)


class _App:
    def __init__(self) -> None:
        self.last_input_at = 0.0
        self.key_pace = KeyPace()

    def key(self, perf_clock, *, shown: bool = True) -> None:
        self.last_input_at = perf_clock[0]
        self.key_pace.typed(perf_clock[0])
        if shown:
            self.key_pace.shown()


def test_the_window_is_half_the_usual_gap_between_keys_within_its_bounds(perf_clock):
    pace = KeyPace()
    assert pace.work_window() == GAP_WORK_FIRST  # no pace yet
    for gap in (0.2, 0.1, 0.2, 0.25, 0.2):
        pace.typed(perf_clock[0])
        perf_clock[0] += gap
    pace.typed(perf_clock[0])
    assert pace.work_window() == pytest.approx(0.1)  # the median gap, 0.2 s, halved

    perf_clock[0] += 5.0  # a pause is not a gap between keys
    pace.typed(perf_clock[0])
    assert pace.work_window() == pytest.approx(0.1)

    for _ in range(KEY_GAPS_KEPT):  # only the latest gaps count: a fast typist now
        perf_clock[0] += 0.03
        pace.typed(perf_clock[0])
    assert pace.work_window() == GAP_WORK_MIN
    for _ in range(KEY_GAPS_KEPT):  # a slow one: half their gap, which is under TYPING_PAUSE (or it is a pause)
        perf_clock[0] += 0.28
        pace.typed(perf_clock[0])
    assert pace.work_window() == pytest.approx(0.14)


def test_work_starts_when_nobody_types_or_in_the_gap_just_after_a_key_that_is_drawn(perf_clock):
    app = _App()
    assert may_start_work(app)  # nobody has typed
    assert may_start_work(object())  # an app that keeps no time of keys: never held back

    app.key(perf_clock, shown=False)  # a key on its way to the prompt: the work would make it wait
    assert not may_start_work(app)
    app.key_pace.shown()
    assert may_start_work(app)

    perf_clock[0] += GAP_WORK_FIRST * 1.01  # late in the gap: the next key may come any moment
    assert not may_start_work(app)
    perf_clock[0] += TYPING_PAUSE  # no next key: the user has paused
    assert may_start_work(app)

    app.key(perf_clock, shown=False)  # a key the prompt never draws (it went elsewhere) is not waited for after…
    perf_clock[0] += ECHO_FRAME * 1.01
    assert may_start_work(app)  # …ECHO_FRAME

    perf_clock[0] += TYPING_PAUSE
    app.last_input_at = perf_clock[0]  # a scroll: the user is busy, and no key opens a gap
    assert not may_start_work(app)


def test_once_an_answer_is_asked_for_work_starts_at_once_until_the_user_types_again(perf_clock):
    """The key that sends the prompt (or retries) ends the user's run of keys: they read or wait now, and the answer
    is drawn as it comes, not in gaps between keys that are not coming."""
    app = _App()
    app.key(perf_clock)
    perf_clock[0] += GAP_WORK_FIRST * 2
    assert not may_start_work(app)
    app.key_pace.answer_asked()
    assert may_start_work(app)
    app.key(perf_clock, shown=False)  # typing again while it streams
    assert not may_start_work(app)


def test_the_user_types_for_typing_pause_after_a_key_and_apps_without_a_pace_have_none(perf_clock):
    app = _App()
    assert not user_typing(app) and key_pace(app) is app.key_pace
    app.key(perf_clock)
    perf_clock[0] += TYPING_PAUSE * 0.99
    assert user_typing(app)
    perf_clock[0] += TYPING_PAUSE * 0.02
    assert not user_typing(app)
    assert user_typing(app, app.last_input_at + TYPING_PAUSE * 0.99)  # a moment already read off the clock
    assert key_pace(object()) is None and not user_typing(object()) and not user_typing(None)
