"""The screen's layout held while an answer's blocks mount (ui/layout_hold.py): frames then only paint what changed
where it stands, and the layout that was held runs once the mount is over. And a key typed in the prompt is painted
where the prompt stands as soon as it is handled (`HoldsLayout.paint_now`)."""

from __future__ import annotations

import time

from textual import events
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_agent.ui import layout_hold
from tui_agent.ui.layout_hold import HoldsLayout
from tui_agent.ui.widgets.answer_markdown import AnswerMarkdown
from tui_agent.ui.widgets.prompt import Prompt

LIST = "Before.\n\n- one\n- two\n  - nested\n- three\n\n1. first\n2. second\n\nAfter.\n"


class Held(HoldsLayout):
    def compose(self) -> ComposeResult:
        yield Static("typed: ", id="line")
        with VerticalScroll():
            yield AnswerMarkdown()


class One(App[None]):
    def get_default_screen(self) -> Held:
        return Held()


class Plain(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("typed: ", id="line")
        with VerticalScroll():
            yield AnswerMarkdown()


def record_layouts(screen, monkeypatch) -> list[float]:
    layouts: list[float] = []
    real = screen._refresh_layout

    def refresh_layout(*args, **kwargs):
        layouts.append(time.perf_counter())
        return real(*args, **kwargs)

    monkeypatch.setattr(screen, "_refresh_layout", refresh_layout)
    return layouts


async def test_frames_only_paint_while_a_hold_is_on_and_the_layout_runs_once_it_ends(monkeypatch):
    app = One()
    async with app.run_test(size=(60, 30)) as pilot:
        screen = app.screen
        layouts = record_layouts(screen, monkeypatch)
        painted = []
        real_refresh = screen._compositor_refresh
        monkeypatch.setattr(screen, "_compositor_refresh", lambda: (painted.append(1), real_refresh())[1])
        with screen.hold_layout():
            mounted = Static("a new line", id="new")
            await screen.query_one(VerticalScroll).mount(mounted)
            await pilot.pause()
            painted.clear()
            screen.query_one("#line", Static).update("typed: a")
            await pilot.pause()
            await pilot.pause()
            assert not layouts  # held: the new widget is not placed yet…
            assert mounted.size.height == 0
            assert painted  # …but frames still paint what changed where it stands
        await pilot.pause()
        await pilot.pause()
        assert layouts  # the held layout (and what the new widget's first resize asks for)
        assert mounted.size.height == 1


async def test_a_hold_never_defers_the_layout_longer_than_its_limit(monkeypatch):
    monkeypatch.setattr(layout_hold, "LAYOUT_HOLD_LIMIT", 0.05)
    app = One()
    async with app.run_test(size=(60, 30)) as pilot:
        screen = app.screen
        with screen.hold_layout():
            mounted = Static("a new line")
            await screen.query_one(VerticalScroll).mount(mounted)
            await pilot.pause(0.1)
            await pilot.pause()
            assert mounted.size.height == 1  # laid out, though the hold is still on


async def test_a_hold_taken_inside_another_has_its_own_limit(monkeypatch):
    """The answer's feed holds the layout around an append (and, while the user types, until the gap after the next
    key); the append holds it again while its blocks mount, which can begin long after the feed's hold did."""
    monkeypatch.setattr(layout_hold, "LAYOUT_HOLD_LIMIT", 0.05)
    app = One()
    async with app.run_test(size=(60, 30)) as pilot:
        screen = app.screen
        with screen.hold_layout():
            await pilot.pause(0.1)  # the outer hold's limit is past (a long parse)
            assert not screen.layout_held
            with screen.hold_layout():  # the mount's own
                assert screen.layout_held
                mounted = Static("a new line")
                await screen.query_one(VerticalScroll).mount(mounted)
                await pilot.pause()
                assert mounted.size.height == 0  # held: not laid out yet
            await pilot.pause(0.1)
            assert mounted.size.height == 1


async def test_an_append_lays_out_once_when_its_blocks_have_mounted(monkeypatch):
    """A list mounts over several turns of the event loop (items, bullets, bodies); the screen is arranged once
    for the whole append, and what is drawn is what it was without the hold."""
    monkeypatch.setattr(layout_hold, "LAYOUT_HOLD_LIMIT", 10.0)  # a slow machine must not end the hold early
    app = One()
    async with app.run_test(size=(60, 40)) as pilot:
        screen = app.screen
        markdown = screen.query_one(AnswerMarkdown)
        layouts = record_layouts(screen, monkeypatch)
        during = []
        real_mount_all = markdown.mount_all

        async def mount_all(*args, **kwargs):
            await real_mount_all(*args, **kwargs)
            during.append(len(layouts))

        monkeypatch.setattr(markdown, "mount_all", mount_all)
        await markdown.append(LIST)
        assert during == [0]  # no layout while the blocks mounted
        await pilot.pause()
        await pilot.pause()
        assert layouts
        heights = [block.size.height for block in markdown.children]
        assert all(heights)

    app = Plain()  # the same text on a screen that holds no layout: the same blocks, the same heights
    async with app.run_test(size=(60, 40)) as pilot:
        markdown = app.screen.query_one(AnswerMarkdown)
        await markdown.append(LIST)
        await pilot.pause()
        assert [block.size.height for block in markdown.children] == heights


class WithPrompt(HoldsLayout):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield AnswerMarkdown()
        yield Prompt()


class Typing(App[None]):
    def get_default_screen(self) -> WithPrompt:
        return WithPrompt()


async def test_a_key_is_painted_as_it_is_handled_without_the_layout_that_is_due(monkeypatch):
    """The prompt puts what a key typed on the terminal in the turn that handles the key: not at the next frame,
    which comes after whatever else is queued and brings the due layout of a growing answer with it."""
    app = Typing()
    async with app.run_test(size=(60, 20)) as pilot:
        screen = app.screen
        prompt = screen.query_one(Prompt)
        prompt.focus()
        await pilot.pause()
        layouts = record_layouts(screen, monkeypatch)
        painted: list[tuple[str, int]] = []
        real_display = app._display

        def display(on_screen, update):
            if update is not None:
                painted.append((prompt.text, len(layouts)))
            return real_display(on_screen, update)

        monkeypatch.setattr(app, "_display", display)
        screen.query_one(AnswerMarkdown).refresh(layout=True)  # a layout is due, as while an answer grows
        key = events.Key("x", "x")
        with prompt._context():
            await prompt._dispatch_message(key)
        assert prompt.text == "x"
        assert painted == [("x", 0)]  # painted at once, before the layout that was asked for first
        await pilot.pause()
        assert layouts


async def test_a_key_that_changes_nothing_paints_nothing(monkeypatch):
    app = Typing()
    async with app.run_test(size=(60, 20)) as pilot:
        prompt = app.screen.query_one(Prompt)
        prompt.focus()
        await pilot.pause()
        await pilot.pause()
        painted = []
        real_display = app._display
        monkeypatch.setattr(app, "_display", lambda on_screen, update: (painted.append(update), real_display(on_screen, update))[1])
        with prompt._context():
            await prompt._dispatch_message(events.Key("f13", None))
        during = list(painted)
        await pilot.pause()  # (the key goes on to the app, unhandled)
        assert all(update is None for update in during)
