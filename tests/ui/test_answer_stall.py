"""A stalled answer says live how long nothing has arrived; the notice clears when data comes, Escape still stops."""

from __future__ import annotations

from tests.ui.support import SIZE, Hold, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.ui.widgets.message import STALL_NOTICE_AFTER, AssistantMessage


class Clock:
    """A monotonic clock the test moves by hand: no test waits for real seconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def status_of(answer: AssistantMessage) -> str:
    return str(answer.query_one(".answer-status").render())


async def start_stalled_answer(app, pilot, clock: Clock) -> AssistantMessage:
    app.screen.prompt.insert("hello")
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.screen.query(AssistantMessage) and app.screen.query_one(AssistantMessage).text == "Partial ", "the first text")
    answer = app.screen.query_one(AssistantMessage)
    answer.clock = clock
    answer.add_text("")  # the last data arrived "now" on the test's clock
    return answer


async def test_a_stalled_answer_counts_the_silence_and_clears_it_when_data_arrives(home):
    hold, hold_end, clock = Hold(), Hold(), Clock()
    app, _ = make_app(home, scripts=[[TextDelta("Partial "), hold, TextDelta("answer"), hold_end, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        answer = await start_stalled_answer(app, pilot, clock)
        clock.now += STALL_NOTICE_AFTER - 1
        answer.check_stall()
        await pilot.pause()
        assert "no data" not in status_of(answer)  # a short pause is not news
        clock.now += 3
        answer.check_stall()
        await pilot.pause()
        assert status_of(answer) == f"… streaming — no data for {int(STALL_NOTICE_AFTER) + 2} s  (Escape stops)"
        clock.now += 1
        answer.check_stall()
        await pilot.pause()
        assert f"no data for {int(STALL_NOTICE_AFTER) + 3} s" in status_of(answer)
        hold.release()
        await wait_until(pilot, lambda: answer.text == "Partial answer", "more data")
        await pilot.pause()
        assert answer.stalled_for is None
        assert status_of(answer) == "… streaming  (Escape stops)"
        hold_end.release()
        await wait_until(pilot, lambda: answer.state == "complete", "the end")


async def test_escape_stops_a_stalled_answer_and_keeps_what_arrived(home):
    hold, clock = Hold(), Clock()
    app, adapter = make_app(home, scripts=[[TextDelta("Partial "), hold, TextDelta("never"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        answer = await start_stalled_answer(app, pilot, clock)
        clock.now += 60
        answer.check_stall()
        await pilot.pause()
        assert "no data for 60 s" in status_of(answer)
        await pilot.press("escape")
        await wait_until(pilot, lambda: answer.state == "stopped" and not app.screen.is_streaming, "the stop")
        await pilot.pause()
        assert answer.text == "Partial " and "no data" not in status_of(answer)
        assert adapter.cancelled == 1
