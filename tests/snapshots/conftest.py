"""Snapshot tests of the chat screen: animations off before Textual is imported, fixed size, no blinking cursor."""

from __future__ import annotations

import os

os.environ["TEXTUAL_ANIMATIONS"] = "none"  # read by Textual at import time

import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An isolated TUI_AGENT_HOME with no provider keys in the environment."""
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY", "AZURE_OPENAI_API_KEY", "LM_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUI_AGENT_HOME", str(tmp_path))
    monkeypatch.setenv("TUI_AGENT_KEYRING", "file")
    return tmp_path
