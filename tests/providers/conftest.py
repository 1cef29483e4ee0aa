"""Shared helpers for the provider tests: a real httpx client, provider configs pointed at a fake, a sleep that never waits."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest

from tests.fakes.fixtures import fake_anthropic, fake_ollama, fake_openai  # noqa: F401  (fixtures)
from tui_agent.config.schema import ProviderConfig
from tui_agent.providers import _http
from tui_agent.core.events import Done, Event, StreamFailed


class RecordingSleep:
    """Stands in for asyncio.sleep in a RetryPolicy: records the delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def no_wait_policy(sleep: RecordingSleep) -> _http.RetryPolicy:
    """The default policy (2 retries) with jitter fixed and sleeping recorded instead of done."""
    return _http.RetryPolicy(sleep=sleep, jitter=lambda: 0.0)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def make_provider(kind: str, base_url: str, **fields) -> ProviderConfig:
    return ProviderConfig(id="test", display_name="Test Provider", kind=kind, base_url=base_url, **fields)


async def collect(events: AsyncIterator[Event]) -> list[Event]:
    out = [event async for event in events]
    assert_one_terminal(out)
    return out


def assert_one_terminal(events: list[Event]) -> None:
    """The adapter contract: exactly one Done or StreamFailed, and it is the last event."""
    terminals = [i for i, e in enumerate(events) if isinstance(e, (Done, StreamFailed))]
    assert terminals == [len(events) - 1], events


def text_of(events: list[Event]) -> str:
    from tui_agent.core.events import TextDelta

    return "".join(e.text for e in events if isinstance(e, TextDelta))


def thinking_of(events: list[Event]) -> str:
    from tui_agent.core.events import ThinkingDelta

    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))
