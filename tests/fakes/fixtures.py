"""Pytest fixtures for the loopback fakes; import them into a conftest with `from tests.fakes.fixtures import *`."""

from __future__ import annotations

from typing import Iterator

import pytest

from . import FakeAnthropic, FakeOllama, FakeOpenAI

__all__ = ["fake_anthropic", "fake_openai", "fake_ollama"]


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A running FakeAnthropic (no key required; set `.api_key` to require one)."""
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running FakeOpenAI at `.base_url` (…/v1)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A running FakeOllama at `.base_url` (the host root)."""
    with FakeOllama() as fake:
        yield fake
