"""Finding the Claude Code CLI in the docs/interfaces.md order, without importing claude-agent-sdk."""

from __future__ import annotations

import importlib
import stat
import sys
from pathlib import Path

import pytest

from tui_agent.config.schema import ProviderConfig
from tui_agent.providers import claude_cli
from tui_agent.providers.claude_cli import find_claude_cli


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def provider(cli_path: str | None = None) -> ProviderConfig:
    return ProviderConfig(id="claude-code", kind="claude-cli", auth=["claude-cli"], cli_path=cli_path)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Every location holds a working `claude`; tests remove them one by one, first to last."""
    monkeypatch.setattr(claude_cli, "_bundled_cli", lambda: None)
    home = tmp_path / "home"
    spots = {
        "cli_path": executable(tmp_path / "configured" / "claude"),
        "TUI_AGENT_CLAUDE_PATH": executable(tmp_path / "from-env" / "claude"),
        "PATH": executable(tmp_path / "on-path" / "claude"),
        "~/.claude/local/claude": executable(home / ".claude" / "local" / "claude"),
        "~/.local/bin/claude": executable(home / ".local" / "bin" / "claude"),
    }
    env = {"PATH": str(spots["PATH"].parent), "HOME": str(home), "TUI_AGENT_CLAUDE_PATH": str(spots["TUI_AGENT_CLAUDE_PATH"])}
    return spots, env


def test_search_order_is_cli_path_env_path_claude_local_then_local_bin(places):
    spots, env = places
    cli_path = str(spots["cli_path"])

    assert find_claude_cli(provider(cli_path), env).found_by == "cli_path"
    assert find_claude_cli(provider(), env).found_by == "TUI_AGENT_CLAUDE_PATH"
    del env["TUI_AGENT_CLAUDE_PATH"]
    assert find_claude_cli(provider(), env).found_by == "PATH"
    env["PATH"] = "/nonexistent"
    found = find_claude_cli(provider(), env)
    assert (found.found_by, found.path) == ("~/.claude/local/claude", spots["~/.claude/local/claude"])
    spots["~/.claude/local/claude"].unlink()
    found = find_claude_cli(provider(), env)
    assert (found.found_by, found.path) == ("~/.local/bin/claude", spots["~/.local/bin/claude"])
    spots["~/.local/bin/claude"].unlink()
    assert find_claude_cli(provider(), env) is None


def test_a_configured_path_that_is_not_executable_is_reported_and_the_search_stops(places):
    spots, env = places
    spots["cli_path"].chmod(0o644)

    found = find_claude_cli(provider(str(spots["cli_path"])), env)

    assert found.found_by == "cli_path" and not found.usable
    assert "providers.claude-code.cli_path" in found.problem and str(spots["cli_path"]) in found.problem


def test_a_broken_env_override_is_reported_not_skipped(places, tmp_path):
    _, env = places
    env["TUI_AGENT_CLAUDE_PATH"] = str(tmp_path / "missing" / "claude")

    found = find_claude_cli(provider(), env)

    assert found.found_by == "TUI_AGENT_CLAUDE_PATH" and "TUI_AGENT_CLAUDE_PATH" in found.problem


def test_cli_path_with_a_tilde_is_expanded_against_home(places):
    _, env = places

    found = find_claude_cli(provider("~/.local/bin/claude"), env)

    assert found.usable and found.path == Path(env["HOME"]) / ".local" / "bin" / "claude"


def test_a_non_executable_file_in_a_default_location_is_skipped(places):
    spots, env = places
    del env["TUI_AGENT_CLAUDE_PATH"]
    env["PATH"] = "/nonexistent"
    spots["~/.claude/local/claude"].chmod(0o644)

    assert find_claude_cli(provider(), env).found_by == "~/.local/bin/claude"


def test_the_claude_agent_sdk_binary_is_found_without_importing_the_package(tmp_path, monkeypatch):
    site = tmp_path / "site"
    package = site / "claude_agent_sdk"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('claude_agent_sdk must not be imported')\n")
    bundled = executable(package / "_bundled" / "claude")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()

    found = find_claude_cli(provider(), {"PATH": "/nonexistent", "HOME": str(tmp_path / "empty-home")})

    assert found is not None and (found.found_by, found.path) == ("claude-agent-sdk", bundled)
    assert "claude_agent_sdk" not in sys.modules
