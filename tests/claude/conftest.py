"""Fixtures for the Claude Code CLI tests: a fake `claude` on disk, recorded stream-json lines, a ready adapter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.fake_claude import install_fake_claude
from tui_agent.auth import claude_cli as auth_cli
from tui_agent.config.schema import ProviderConfig

# Recorded from Claude Code 2.1.197 (npm @anthropic-ai/claude-code) on 2026-11-27 against a loopback fake
# Anthropic server, with `-p --output-format stream-json --verbose --include-partial-messages`.
RECORDINGS = Path(__file__).parent / "recordings"


@dataclass
class FakeClaude:
    """A fake `claude` installed in tmp_path: `path` is the launcher, `calls()` what it was run with."""

    path: Path
    state: Path

    def scenario(self, **scenario) -> None:
        (self.state / "scenario.json").write_text(json.dumps(scenario))

    def calls(self) -> list[dict]:
        file = self.state / "calls.jsonl"
        return [json.loads(line) for line in file.read_text().splitlines()] if file.exists() else []

    def print_calls(self) -> list[dict]:
        return [c for c in self.calls() if "-p" in c["argv"]]

    def signals(self) -> list[str]:
        file = self.state / "signals.log"
        return [line.split()[0] for line in file.read_text().splitlines()] if file.exists() else []


def recording(name: str) -> str:
    return str(RECORDINGS / f"{name}.jsonl")


@pytest.fixture(autouse=True)
def _fresh_status_cache():
    auth_cli.invalidate()
    yield
    auth_cli.invalidate()


@pytest.fixture
def fake_claude(tmp_path) -> FakeClaude:
    launcher = install_fake_claude(tmp_path / "fake-claude")
    return FakeClaude(path=launcher, state=launcher.parent.parent / "state")


@pytest.fixture
def provider(fake_claude) -> ProviderConfig:
    return ProviderConfig(id="claude-code", kind="claude-cli", auth=["claude-cli"], cli_path=str(fake_claude.path))


@pytest.fixture
def user_env(tmp_path) -> dict[str, str]:
    """The environment tui-agent runs in: an exported API key and gateway token, plus a headless OAuth token."""
    home = tmp_path / "user-home"
    home.mkdir()
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "ANTHROPIC_API_KEY": "sk-ant-api03-exported-for-other-tools",
        "ANTHROPIC_AUTH_TOKEN": "gateway-token-for-other-tools",
        "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-headless-token-from-setup-token",
        "LANG": "C.UTF-8",
    }
