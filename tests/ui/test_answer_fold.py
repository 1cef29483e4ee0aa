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


def folded_at_the_final_width(app) -> bool:
    """Folded, at the width the answer keeps (the first fold can come before the conversation's scrollbar, whose
    width then unfolds it; it folds again at the next layout)."""
    frozen = markdown(app).query(".answer-fold")
    return bool(app.screen.conversation.show_vertical_scrollbar and frozen and answer(app).folded
                and frozen.first().region.width == markdown(app).content_region.width)


async def stream_until_folded(app, pilot, hold: Hold) -> None:
    app.screen.prompt.insert("a long answer")
    await pilot.press("enter")
    # written in pieces, so that later writes find the earlier blocks laid out
    await wait_until(pilot, lambda: markdown(app).source.endswith(f"z paragraph {PARAGRAPHS - 1} with a few words in it.\n\n"), "the text")
    # A backlog is appended in slices, a frame apart, each laid out (and folded) before the next: the bound holds
    # once the last slice has been laid out.
    def bounded() -> bool:
        return folded_at_the_final_width(app) and len(shown_blocks(app)) <= FOLD_AFTER + 1

    await wait_until(pilot, bounded, "a fold that bounds the shown blocks")
    for _ in range(3):  # the layouts already due (the scrollbar's width, a last slice) may unfold and fold again
        await pilot.pause()
    await wait_until(pilot, bounded, "a fold that bounds the shown blocks, once the layouts due are done")


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
    real_unfold = AssistantMessage.unfold
    unfolds = record_unfolds(monkeypatch)
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


RICH = """## Section {i}

A paragraph with **bold**, *emphasis*, `code` and a [link](https://example.com/{i}), long enough to wrap at the
width of the terminal at least once.

- an item
- an item with `code`
  - a nested item
  - another
- a last item

1. first
2. second

> a quote
> on two lines

```python
def f(x):
    return x * {i}  # a comment long enough that the code block is wider than the view, so it is cut at the width
```

| a | b |
|---|---|
| 1 | {i} |
| three | four |

---

"""


def screen_rows(app) -> list:
    """The conversation's rows as the screen draws them: every segment's text and style."""
    region = app.screen.conversation.region
    strips = app.screen._compositor.render_strips()
    return [list(strips[y].crop(region.x, region.right)) for y in range(region.y, region.bottom)]


async def assert_the_lines_are_what_the_blocks_drew(app, pilot) -> None:
    await wait_until(pilot, lambda: folded_at_the_final_width(app), "the fold at the width with the scrollbar")
    await pilot.pause()
    frozen = markdown(app).query_one(".answer-fold")
    assert frozen.region.bottom > app.screen.conversation.region.y  # the folded lines are on screen
    folded = screen_rows(app)
    height = markdown(app).virtual_size.height
    answer(app).unfold()
    await pilot.pause()
    await pilot.pause()
    assert answer(app).folded == 0 and all(b.display for b in markdown(app).children)
    assert markdown(app).virtual_size.height == height  # the view does not move
    assert screen_rows(app) == folded


async def test_the_folded_lines_draw_exactly_what_the_blocks_drew(home):
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        await assert_the_lines_are_what_the_blocks_drew(app, pilot)
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


async def test_headings_lists_quotes_code_and_tables_fold_into_the_same_lines(home):
    hold = Hold()
    pieces = [TextDelta(RICH.format(i=i)) for i in range(6)]
    app, _ = make_app(home, scripts=[[*pieces, TextDelta("The last paragraph.\n\n"), hold, TextDelta("The end.\n"), Done()]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("a rich answer")
        await pilot.press("enter")
        kinds = {"MarkdownH2", "MarkdownParagraph", "MarkdownBulletList", "MarkdownOrderedList", "MarkdownBlockQuote",
                 "MarkdownFence", "MarkdownTable", "MarkdownHorizontalRule"}
        await wait_until(pilot, lambda: markdown(app).source.endswith("The last paragraph.\n\n")
                         and {kind.__name__ for block in answer(app)._folded for kind in type(block).__mro__} >= kinds, "every kind of block folded")
        await assert_the_lines_are_what_the_blocks_drew(app, pilot)
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


def record_unfolds(monkeypatch) -> list[int]:
    """How many blocks each unfold showed again, in order (the answer may fold again right after)."""
    unfolds: list[int] = []
    real_unfold = AssistantMessage.unfold
    monkeypatch.setattr(AssistantMessage, "unfold", lambda self: (unfolds.append(self.folded), real_unfold(self))[1])
    return unfolds


async def test_a_link_in_the_folded_lines_still_opens(home):
    from tui_agent.ui.widgets.frozen_blocks import FrozenBlocks

    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        clicked = []
        app.open_url = lambda url, **kwargs: clicked.append(url)  # what the Markdown does with a click: no browser
        frozen = markdown(app).query_one(FrozenBlocks)
        await frozen.run_action("link('https://example.com/x')")
        await pilot.pause()
        assert clicked == ["https://example.com/x"]
        hold.release()
        await wait_until(pilot, lambda: answer(app).state == "complete", "the end")


async def test_a_new_theme_shows_the_blocks_again(home, monkeypatch):
    unfolds = record_unfolds(monkeypatch)
    hold = Hold()
    app, _ = make_app(home, scripts=[script(hold)])
    async with app.run_test(size=SIZE) as pilot:
        await stream_until_folded(app, pilot, hold)
        unfolds.clear()
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await wait_until(pilot, lambda: unfolds, "the unfold")
        assert unfolds[0] > 0
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
