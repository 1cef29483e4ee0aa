"""A long streaming answer folds its old blocks (removes them, a spacer of their height in their place) while the view
follows the bottom, keeps them folded when it ends, and makes them again from its source when the user scrolls up,
the view grows taller or the width changes (the layout cost of a write and the widgets an answer holds stay
bounded). docs/answer-folding.md."""

from __future__ import annotations

from textual.widgets import Markdown

from tests.ui.support import SIZE, Hold, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.ui.widgets.message import FOLD_AFTER, FOLD_KEEP, UNFOLD_SLICE, AssistantMessage

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


async def unfold_and_watch(app, pilot, unfold) -> list[int]:
    """Unfold with `unfold(answer)` and wait until every block is back; returns where the first block that was never
    folded stood (its top, in the answer's Markdown) at each pause meanwhile. The view is scrolled up a page first,
    as a user would (a view that still follows the bottom would fold the blocks again)."""
    await pilot.pause()
    anchor = shown_blocks(app)[0]
    tops = [anchor.virtual_region.y]
    conversation = app.screen.conversation
    conversation.release_anchor()
    conversation.scroll_to(y=conversation.scroll_y - conversation.size.height, animate=False, immediate=True)
    unfold(answer(app))
    while answer(app).folded or answer(app).unfolding:
        await pilot.pause(0.01)
        tops.append(anchor.virtual_region.y)
        assert len(tops) < 1000, "the unfold never ended"
    await pilot.pause()
    tops.append(anchor.virtual_region.y)
    assert not markdown(app).query(".answer-fold")
    return tops


def block_widgets(app) -> int:
    return sum(1 for _ in markdown(app).walk_children())


def script(hold: Hold) -> list:
    pieces = [TextDelta(paragraphs(f"p{n}", 10)) for n in range(PARAGRAPHS // 10)]
    return [*pieces, TextDelta(paragraphs("z", PARAGRAPHS)), hold, TextDelta("The end.\n"), Done()]


async def test_old_blocks_fold_while_following_and_stay_folded_when_the_answer_ends(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        conversation = app.screen.conversation
        assert len(shown_blocks(app)) >= FOLD_KEEP
        assert len(shown_blocks(app)) <= FOLD_AFTER + 1
        assert conversation.following and conversation.scroll_y == conversation.max_scroll_y

        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        for _ in range(5):  # however long the user then pauses
            await pilot.pause(0.05)
        assert answer(app).folded > 0 and not answer(app).unfolding
        assert markdown(app).source.endswith("The end.\n")
        # Folded blocks are gone, not hidden: the answer holds widgets for what is shown only.
        await wait_until(pilot, lambda: block_widgets(app) <= FOLD_AFTER + 2, "the folded blocks' removal")
        assert answer(app).folded + len(shown_blocks(app)) == 2 * PARAGRAPHS + 1


async def test_a_long_answer_lays_out_and_holds_a_bounded_number_of_blocks(home):
    hold = Hold()
    pieces = [TextDelta(paragraphs(f"p{n}", 10)) for n in range(30)]
    app, _ = make_app(home, scripts=[[*pieces, hold, Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("a long answer")
        await pilot.press("enter")
        most_shown = most_held = 0
        while not markdown(app).source.endswith("p29 paragraph 9 with a few words in it.\n\n"):
            most_shown = max(most_shown, len(shown_blocks(app)))
            most_held = max(most_held, block_widgets(app))
            await pilot.pause(0.01)
        # 300 blocks arrived: a layout never arranged more than a few slices' worth, nor did the answer hold more
        # (folded blocks are hidden in the fold's frame and removed over the next ones).
        assert most_shown < 60
        assert most_held < 120
        await wait_until(pilot, lambda: block_widgets(app) <= FOLD_AFTER + 2, "the folded blocks' removal")
        assert answer(app).folded > 250
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


async def test_unfolding_makes_the_nearest_blocks_first_and_nothing_below_moves(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        folded = answer(app).folded
        assert folded > 2 * UNFOLD_SLICE  # several slices
        seen = []
        real_mount_all = markdown(app).mount_all

        def mount_all(blocks, **kwargs):
            seen.append([block.source_range[0] for block in blocks])
            return real_mount_all(blocks, **kwargs)

        markdown(app).mount_all = mount_all
        tops = await unfold_and_watch(app, pilot, AssistantMessage.unfold)
        restored = [slice_ for slice_ in seen if slice_ and slice_[0] < shown_blocks(app)[folded].source_range[0]]
        assert [len(slice_) for slice_ in restored[:2]] == [UNFOLD_SLICE, UNFOLD_SLICE]
        assert restored[0][0] > restored[1][-1]  # the slice nearest the view came first
        assert max(tops) - min(tops) <= 2  # (±2 lines: margins at the spacer's edge, for a frame)
        assert abs(tops[-1] - tops[0]) <= 2
        assert len(shown_blocks(app)) == len(markdown(app).children)
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


async def test_scrolling_up_shows_the_folded_blocks_again(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        await pilot.press("pageup")
        await wait_until(pilot, lambda: answer(app).folded == 0 and not answer(app).unfolding, "the unfold")
        assert not app.screen.conversation.following
        assert all(b.display for b in markdown(app).children)
        assert not markdown(app).query(".answer-fold")
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")
        assert answer(app).folded == 0  # not following: nothing folds again
        assert markdown(app).source.endswith("The end.\n")


async def test_a_taller_view_unfolds_what_the_kept_blocks_no_longer_cover(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=(SIZE[0], SIZE[1] - 10)) as pilot:
        await stream_until_folded(app, pilot, hold)
        await pilot.resize_terminal(SIZE[0], SIZE[1] + 30)
        await wait_until(pilot, lambda: answer(app).folded == 0 and not answer(app).unfolding, "the unfold")
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


async def test_after_a_new_width_the_blocks_made_again_still_leave_what_is_below_in_place(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        folded = answer(app).folded
        await pilot.resize_terminal(SIZE[0] - 30, SIZE[1])  # every folded height is now wrong
        for _ in range(3):
            await pilot.pause()
        assert answer(app).folded >= folded  # a new width alone makes nothing again
        tops = await unfold_and_watch(app, pilot, AssistantMessage.unfold)
        assert abs(tops[-1] - tops[0]) <= 2  # each slice's difference was taken up by the spacer
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


async def test_folded_blocks_made_again_are_drawn_exactly_as_a_one_shot_render(home):
    from tests.perf.test_streamed_render import ANSWER, rendered_lines

    # (an HTML block draws nothing: the blocks made again are matched to the folded ones all the same)
    text = paragraphs("p", PARAGRAPHS // 2) + "<div>\nhtml\n</div>\n\n" + paragraphs("q", PARAGRAPHS // 2) + ANSWER * 3
    hold = Hold()
    app, _ = make_app(home, scripts=[[TextDelta(text[: len(text) // 2]), hold, TextDelta(text[len(text) // 2:]), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("a long answer")
        await pilot.press("enter")
        await wait_until(pilot, lambda: answer(app).folded > PARAGRAPHS // 2, "a fold past the HTML block")
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        assert answer(app).folded > 0
        await unfold_and_watch(app, pilot, AssistantMessage.unfold)
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


async def test_an_answer_drawn_whole_at_its_end_is_folded_only_out_of_view_and_comes_back(home):
    """All of a long answer arrives before the first write (a fast local server): `finish` appends it whole, and the
    layouts that follow may fold it (the state still says streaming). What stays shown fills the view, and
    scrolling up makes every block again, exactly as drawn."""
    text = paragraphs("p", 300)
    app, _ = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        conversation = app.screen.conversation
        assert conversation.following
        late = AssistantMessage()
        await conversation.mount(late)
        late.add_text(text)
        await late.finish("complete")
        await pilot.pause()
        await pilot.pause()
        md = late.query_one(".answer", Markdown)
        assert md.source == text
        assert late.folded > 0
        for spacer in md.query(".answer-fold"):
            assert spacer.region.bottom <= conversation.region.y
        conversation.scroll_home(animate=False)
        await wait_until(pilot, lambda: late.folded == 0 and not late.unfolding, "the unfold")
        await pilot.pause()
        assert not md.query(".answer-fold")
        assert [b.source_range[0] for b in md.children] == [2 * i for i in range(300)]
        first = md.children[0]
        assert conversation.region.y <= first.region.y < conversation.region.bottom  # on screen, at the top


async def test_scrolling_up_after_the_end_shows_the_folded_blocks(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete" and not app.screen.is_streaming, "the end")
        assert answer(app).folded > 0
        await pilot.press("pageup")
        await wait_until(pilot, lambda: answer(app).folded == 0 and not answer(app).unfolding, "the unfold")
        assert markdown(app).children[0].source_range[0] == 0  # the answer's first block is back


async def ask_twice(app, pilot) -> list[AssistantMessage]:
    """Send two prompts, each once the answer before has ended; returns the two answers."""
    answers = lambda: list(app.screen.query(AssistantMessage))  # noqa: E731
    for n, prompt in enumerate(("first", "second")):
        app.screen.prompt.insert(prompt)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(answers()) == n + 1 and answers()[n].state == "complete"
                         and not app.screen.is_streaming, f"answer {n + 1}")
    return answers()


async def test_an_earlier_answer_folds_all_it_shows_once_a_later_one_ends_and_comes_back_when_scrolled_to(home):
    """The blocks an ended answer kept shown (enough to fill the view) are folded too once a later answer has
    ended below it and fills the view: each earlier turn of a long chat then holds a few widgets, not twenty.
    Scrolling up makes them again, in order and where they stood."""
    first_text, second_text = paragraphs("f", 40), paragraphs("s", 40)
    app, _ = make_app(home, scripts=[[TextDelta(first_text), Done()], [TextDelta(second_text), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        conversation = app.screen.conversation
        first, second = await ask_twice(app, pilot)
        first_md = first.query_one(".answer", Markdown)
        await wait_until(pilot, lambda: not [b for b in first_md.children if "answer-fold" not in b.classes],
                         "the earlier answer folded whole")
        assert first.folded == 40
        assert second.folded and len([b for b in second.query_one(".answer", Markdown).children if b.display]) >= FOLD_KEEP
        assert conversation.following and conversation.scroll_y == conversation.max_scroll_y
        bottom = second.virtual_region.bottom
        conversation.scroll_home(animate=False)
        await wait_until(pilot, lambda: first.folded == 0 and not first.unfolding, "the unfold")
        await pilot.pause()
        assert not first_md.query(".answer-fold")
        assert [b.source_range[0] for b in first_md.children] == [2 * i for i in range(40)]
        assert second.virtual_region.bottom >= bottom - 1  # what is below did not move up (it may still unfold)


async def test_an_earlier_answer_keeps_what_a_short_later_one_leaves_in_view(home):
    app, _ = make_app(home, scripts=[[TextDelta(paragraphs("f", 40)), Done()], [TextDelta("Short.\n"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        conversation = app.screen.conversation
        first, _ = await ask_twice(app, pilot)
        for _ in range(5):
            await pilot.pause(0.05)
        first_md = first.query_one(".answer", Markdown)
        assert 0 < first.folded < 40  # folded, but not what the view still shows
        for spacer in first_md.query(".answer-fold"):
            assert spacer.region.bottom <= conversation.region.y  # never on screen
