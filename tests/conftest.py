"""Test-wide isolation: every test gets its own TUI_AGENT_HOME, the file secret store, and no provider keys."""

from __future__ import annotations

import os
import time

# Read by Textual at import time: snapshots and Pilot tests must not depend on animation timing.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

import pytest

PROVIDER_ENV = (
    "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "OPENROUTER_API_KEY", "AZURE_OPENAI_API_KEY",
    "LM_API_TOKEN", "OLLAMA_HOST", "CLAUDE_CODE_OAUTH_TOKEN", "TUI_AGENT_CONFIG", "TUI_AGENT_CLAUDE_PATH",
    "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY",
    "https_proxy", "http_proxy", "all_proxy",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """A fresh TUI_AGENT_HOME per test; secrets in the 0600 file store, never the developer's keyring."""
    home = tmp_path_factory.mktemp("home")
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUI_AGENT_HOME", str(home))
    monkeypatch.setenv("TUI_AGENT_KEYRING", "file")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


@pytest.fixture
def perf_clock(monkeypatch):
    """`time.perf_counter` held at 100.0 s, for code that reads the time through it: a one-item list, which the test
    moves forward (`perf_clock[0] += 0.05`)."""
    now = [100.0]
    monkeypatch.setattr(time, "perf_counter", lambda: now[0])
    return now
