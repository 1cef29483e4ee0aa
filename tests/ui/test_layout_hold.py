"""The screen's layout held while an answer's blocks mount (ui/layout_hold.py): frames then only paint what changed
where it stands, and the layout that was held runs once the mount is over."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_agent.ui import layout_hold
from tui_agent.ui.layout_hold import HoldsLayout
from tui_agent.ui.widgets.answer_markdown import AnswerMarkdown

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
