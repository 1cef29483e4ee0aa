"""A long streaming answer folds its old blocks while the view follows the bottom, and shows them again when it
ends, when the user scrolls up, or when the width changes (the layout cost of a write stays bounded)."""

from __future__ import annotations

import contextlib

from textual.widgets import Markdown

from tests.ui.support import SIZE, Hold, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.ui.widgets.message import FOLD_AFTER, FOLD_KEEP, AssistantMessage

PARAGRAPHS = FOLD_AFTER + 40


def paragraphs(tag: str, count: int) -> str:
    return "".join(f"{tag} paragraph {i} with a few words in it.\n\n" for i in range(count))


def answer(app) -> AssistantMessage:
    return app.screen.query_one(AssistantMessage)


def markdown(app) -> Markdown:
    return answer(app).query_one(".answer", Markdown)


def shown_blocks(app) -> list:
    return [b for b in markdown(app).children if b.display and "answer-fold" not in b.classes]


async def stream_until_folded(app, pilot, hold: Hold) -> None:
    app.screen.prompt.insert("a long answer")
    await pilot.press("enter")
    # written in pieces, so that later writes find the earlier blocks laid out
    await wait_until(pilot, lambda: markdown(app).source.endswith(f"z paragraph {PARAGRAPHS - 1} with a few words in it.\n\n"), "the text")
    # A backlog is appended in slices, a frame apart, each laid out (and folded) before the next: the bound holds
    # once the last slice has been laid out.
    await wait_until(pilot, lambda: answer(app).folded > 0 and len(shown_blocks(app)) <= FOLD_AFTER + 1,
                     "a fold that bounds the shown blocks")


async def assert_unfolding_keeps_the_height(app, pilot, unfold) -> None:
    """The spacer stood for the folded blocks' height: showing them again moves nothing (±2 lines of margins)."""
    await pilot.pause()
    folded_height = markdown(app).virtual_size.height
    unfold(answer(app))
    await pilot.pause()
    await pilot.pause()
    assert abs(markdown(app).virtual_size.height - folded_height) <= 2


def script(hold: Hold) -> list:
    pieces = [TextDelta(paragraphs(f"p{n}", 10)) for n in range(PARAGRAPHS // 10)]
    return [*pieces, TextDelta(paragraphs("z", PARAGRAPHS)), hold, TextDelta("The end.\n"), Done()]


async def test_old_blocks_fold_while_following_and_come_back_when_the_answer_ends(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        conversation = app.screen.conversation
        assert len(shown_blocks(app)) >= FOLD_KEEP
        assert len(shown_blocks(app)) <= FOLD_AFTER + 1
        assert conversation.following and conversation.scroll_y == conversation.max_scroll_y

        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")
        # (the spacer's removal is awaited by Textual after the unfold: wait for both)
        await wait_until(pilot, lambda: answer(app).folded == 0 and not markdown(app).query(".answer-fold"),
                         "the unfold once the user is quiet")
        assert all(b.display for b in markdown(app).children)
        assert markdown(app).source.endswith("The end.\n")


async def test_the_folded_part_keeps_its_height_so_the_view_does_not_jump(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        await assert_unfolding_keeps_the_height(app, pilot, AssistantMessage.unfold)
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


async def test_scrolling_up_shows_the_folded_blocks_again(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        await pilot.press("pageup")
        await wait_until(pilot, lambda: answer(app).folded == 0, "the unfold")
        assert not app.screen.conversation.following
        assert all(b.display for b in markdown(app).children)
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")
        assert answer(app).folded == 0  # not following: nothing folds again


async def test_a_new_width_unfolds_and_folds_again_at_the_new_width(home, monkeypatch):
    unfolds = []
    real_unfold = AssistantMessage.unfold
    monkeypatch.setattr(AssistantMessage, "unfold", lambda self: (unfolds.append(self.folded), real_unfold(self))[1])
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        unfolds.clear()
        await pilot.resize_terminal(SIZE[0] - 20, SIZE[1])
        await wait_until(pilot, lambda: unfolds and unfolds[0] > 0, "the unfold")
        await wait_until(pilot, lambda: answer(app).folded > 0, "the fold at the new width")
        await assert_unfolding_keeps_the_height(app, pilot, real_unfold)
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


async def test_an_answer_that_folded_ends_exactly_as_a_one_shot_render(home):
    from tests.perf.test_streamed_render import ANSWER, rendered_lines

    text = paragraphs("p", PARAGRAPHS) + ANSWER * 3
    hold = Hold()
    app, _ = make_app(home, scripts=[[TextDelta(text[: len(text) // 2]), hold, TextDelta(text[len(text) // 2:]), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("a long answer")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answer(app).folded > 0, "a fold")
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        await pilot.pause()
        reference = AssistantMessage()
        await app.screen.conversation.mount(reference)
        await reference.query_one(".answer", Markdown).update(text)
        await pilot.pause()
        assert markdown(app).source == text
        assert rendered_lines(markdown(app)) == rendered_lines(reference.query_one(".answer", Markdown))


async def test_what_stays_shown_fills_the_view_so_the_spacer_is_never_seen(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        await pilot.pause()
        conversation = app.screen.conversation
        spacer = markdown(app).query_one(".answer-fold")
        assert spacer.region.bottom <= conversation.region.y  # above the visible part of the conversation
        first_shown = shown_blocks(app)[0]
        assert markdown(app).size.height - first_shown.virtual_region.y >= conversation.scrollable_content_region.height
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")



async def test_an_answer_drawn_in_one_update_at_its_end_is_never_left_folded(home):
    """All of a long answer arrives before the first write (a fast local server): `finish` draws it in one
    update, which Textual mounts 200 blocks at a time with layouts between, while the state still says
    streaming; those layouts must not fold the answer's first blocks."""
    text = paragraphs("p", 1000)
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.conversation.following
        late = AssistantMessage()
        await app.screen.conversation.mount(late)
        late.add_text(text)
        await late.finish("complete")
        await pilot.pause()
        await pilot.pause()
        md = late.query_one(".answer", Markdown)
        assert md.source == text
        assert late.folded == 0
        assert not md.query(".answer-fold")
        assert all(b.display for b in md.children)


@contextlib.asynccontextmanager
async def folded_answer_that_ended(home, monkeypatch, quiet: float):
    """A long answer folded while it streamed, then ended; it unfolds after `quiet` s without a key."""
    from tui_agent.ui.widgets import message

    monkeypatch.setattr(message, "UNFOLD_AFTER_QUIET", quiet)
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        yield app, pilot


async def test_an_ended_answer_stays_folded_while_the_user_types_and_unfolds_in_the_pause(home, monkeypatch):
    import time

    from tui_agent.ui.widgets import message

    async with folded_answer_that_ended(home, monkeypatch, 60.0) as (app, pilot):  # nothing unfolds by itself yet
        monkeypatch.setattr(message, "UNFOLD_AFTER_QUIET", 0.3)
        app.last_input_at = time.perf_counter()  # a key this instant (what the app records for every key)
        answer(app)._unfold_when_idle()
        assert answer(app).folded > 0  # the user is typing: the layout of the unfold waits
        await pilot.press("t")
        assert app.screen.prompt.text == "t"
        await wait_until(pilot, lambda: answer(app).folded == 0, "the unfold in the pause")
        assert all(b.display for b in markdown(app).children)


async def test_scrolling_up_after_the_end_shows_the_folded_blocks_at_once(home, monkeypatch):
    async with folded_answer_that_ended(home, monkeypatch, 60.0) as (app, pilot):  # only the scroll can unfold it
        assert answer(app).folded > 0
        await pilot.press("pageup")
        await wait_until(pilot, lambda: answer(app).folded == 0, "the unfold")
