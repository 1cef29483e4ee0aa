"""Snapshots of the history screen: the list, a search with hits, the empty state and the delete confirmation.

Fixed terminal size, a frozen clock in UTC, a pinned theme, animations and cursor blink off; the data is written
with a store clock the test drives, so every run draws the same picture.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from textual.app import App
from textual.widgets import Input

from tui_agent.service.history import AsyncHistory, HistoryStore
from tui_agent.ui.screens.history import HistoryScreen

SIZE = (100, 30)
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
HOUR, DAY = 3600, 86_400


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class _Host(App):
    TITLE = "tui-agent"

    def __init__(self, screen: HistoryScreen) -> None:
        super().__init__()
        self.history_screen = screen

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(self.history_screen)


def _fill(store: HistoryStore, clock: _Clock) -> int:
    """Six conversations over three weeks; returns the id of the one 'open now'."""
    talk = [
        ("Trip to Lisbon", "Three days in Lisbon in March: what should I not miss?",
         "Alfama at sunset, the tram 28 early in the morning, and pastéis in Belém.",
         ("claude", "claude-code", "sonnet")),
        ("", "How do ocean tides work?",
         "The Moon's gravity pulls the ocean toward it; the Sun adds a smaller pull.",
         ("gpt", "openai", "gpt-4.1")),
        ("Regex for ISO dates", "A regex for ISO 8601 dates?",
         r"`^\d{4}-\d{2}-\d{2}$` matches the date part; use a parser for the rest.",
         ("local", "ollama", "llama3.2")),
        ("Sourdough schedule", "My starter doubles in 6 hours; when do I mix the dough?",
         "Mix when it has doubled and domed, then bulk ferment 4–5 hours near the ocean breeze.",
         ("claude", "claude-code", "sonnet")),
        ("Rust lifetimes", "Explain lifetimes with an example.", "", None),
        ("Tide tables for sailing", "Where do I find tide tables for the Solent?",
         "The UK Hydrographic Office publishes them; tides there have a double high water.",
         ("gpt", "openai", "gpt-4.1")),
    ]
    gaps = [0, 9 * DAY, 4 * DAY, 5 * DAY, 2 * HOUR, 40 * 60]
    current = 0
    for (title, question, answer, profile), gap in zip(talk, gaps):
        clock.now += gap
        conversation = store.create_conversation(title)
        store.add_message(conversation.id, "user", question)
        if profile:
            clock.now += 30
            nick, provider, model = profile
            store.add_message(conversation.id, "assistant", answer, profile=nick, provider=provider, model=model)
        if title == "Sourdough schedule":
            current = conversation.id
    clock.now += 5 * 60
    return current


@pytest.fixture
def history_app(tmp_path):
    def build(*, empty: bool = False) -> tuple[_Host, HistoryScreen]:
        clock = _Clock()
        store = HistoryStore(tmp_path / "history.db", clock=clock)
        current = None if empty else _fill(store, clock)
        now = datetime.fromtimestamp(clock.now, tz=timezone.utc)
        screen = HistoryScreen(
            AsyncHistory(store), export_dir=tmp_path / "exports", clock=lambda: now, current=current, debounce=0
        )
        return _Host(screen), screen

    return build


async def _ready(pilot, screen: HistoryScreen) -> None:
    for _ in range(500):
        if screen.loaded:
            break
        await pilot.pause(0.01)
    assert screen.loaded, "the conversation list never arrived"
    screen.query_one("#history-search", Input).cursor_blink = False
    await pilot.pause()


def test_history_list(snap_compare, history_app):
    app, screen = history_app()

    async def run_before(pilot) -> None:
        await _ready(pilot, screen)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_history_search_with_hits(snap_compare, history_app):
    app, screen = history_app()

    async def run_before(pilot) -> None:
        await _ready(pilot, screen)
        await pilot.press("slash", *"ocean")
        for _ in range(500):
            if screen._hits is not None and screen._query == "ocean":
                break
            await pilot.pause(0.01)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_history_empty(snap_compare, history_app):
    app, screen = history_app(empty=True)

    async def run_before(pilot) -> None:
        await _ready(pilot, screen)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_history_delete_confirmation(snap_compare, history_app):
    app, screen = history_app()

    async def run_before(pilot) -> None:
        await _ready(pilot, screen)
        await pilot.press("down", "d")
        for _ in range(500):
            if app.screen is not screen:
                break
            await pilot.pause(0.01)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
