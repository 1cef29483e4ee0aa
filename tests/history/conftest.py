"""Shared fixtures for the history tests: a store in a temporary directory with a clock the test drives."""

from __future__ import annotations

import pytest

from tui_agent.service.history import HistoryStore


class FakeClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock):
    history = HistoryStore(tmp_path / "history.db", clock=clock)
    yield history
    history.close()
