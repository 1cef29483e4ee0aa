"""The headless commands with the `claude-code` provider, driven through a stand-in `claude` executable."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.fake_claude import install_fake_claude
from tui_agent.cli import main

RECORDINGS = Path(__file__).resolve().parents[1] / "claude" / "recordings"
LOGGED_IN = {"loggedIn": True, "authMethod": "claude.ai", "apiProvider": "firstParty", "subscriptionType": "max"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_reads_the_cli_login(capsys, tmp_path, monkeypatch):
    launcher = install_fake_claude(tmp_path, {"auth_status": {"stdout": json.dumps(LOGGED_IN), "exit": 0}})
    monkeypatch.setenv("TUI_AGENT_CLAUDE_PATH", str(launcher))
    code, out, _err = run(capsys, "status", "--json")
    row = {r["provider"]: r for r in json.loads(out)}["claude-code"]
    assert code == 0
    assert (row["state"], row["source"], row["auth_method"]) == ("ready", "claude-cli", "claude-cli")
    assert "claude.ai" in row["detail"]


def test_status_when_the_cli_is_not_logged_in_says_how(capsys, tmp_path, monkeypatch):
    launcher = install_fake_claude(tmp_path, {})
    monkeypatch.setenv("TUI_AGENT_CLAUDE_PATH", str(launcher))
    code, out, _err = run(capsys, "status", "--json")
    row = {r["provider"]: r for r in json.loads(out)}["claude-code"]
    assert (code, row["state"]) == (0, "missing")
    assert "tui-agent login claude-code" in row["detail"]


def test_ask_through_the_cli_streams_and_never_passes_an_exported_key(capsys, tmp_path, monkeypatch, isolated_home):
    recording = sorted(RECORDINGS.glob("*success*"))[0]
    launcher = install_fake_claude(tmp_path, {"print": [{"recording": str(recording), "exit": 0}]})
    monkeypatch.setenv("TUI_AGENT_CLAUDE_PATH", str(launcher))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-exported-for-other-tools")
    (isolated_home / "config.toml").write_text('[profiles.claude]\nprovider = "claude-code-max"\nmodel = "sonnet"\n')
    code, out, err = run(capsys, "ask", "-m", "claude", "hi")
    assert code == 0, err
    assert out.strip()
    calls = [json.loads(line) for line in (tmp_path / "state" / "calls.jsonl").read_text().splitlines()]
    chat = [c for c in calls if "-p" in c["argv"]][0]
    assert "ANTHROPIC_API_KEY" not in chat["env"]
    assert "--model=sonnet" in chat["argv"] or "sonnet" in chat["argv"]


def test_ask_says_which_profile_parameters_the_cli_cannot_apply(capsys, tmp_path, monkeypatch, isolated_home):
    recording = sorted(RECORDINGS.glob("*success*"))[0]
    launcher = install_fake_claude(tmp_path, {"print": [{"recording": str(recording), "exit": 0}]})
    monkeypatch.setenv("TUI_AGENT_CLAUDE_PATH", str(launcher))
    (isolated_home / "config.toml").write_text(
        '[profiles.claude]\nprovider = "claude-code"\nmodel = "sonnet"\ntemperature = 0.2\nreasoning = "high"\n')
    code, out, err = run(capsys, "ask", "-m", "claude", "hi")
    assert code == 0 and out.strip()
    assert "The Claude Code CLI cannot take temperature, reasoning: set for claude, not applied." in err


async def test_status_shows_which_credential_the_cli_really_used(tmp_path, monkeypatch, isolated_home):
    from tui_agent.config.load import load_config
    from tui_agent.config.paths import Paths
    from tui_agent.core.chat import ChatMessage
    from tui_agent.service.agent import AgentService, collect_text

    recording = sorted(RECORDINGS.glob("*success*"))[0]
    launcher = install_fake_claude(
        tmp_path, {"auth_status": {"stdout": json.dumps(LOGGED_IN), "exit": 0}, "print": [{"recording": str(recording), "exit": 0}]}
    )
    monkeypatch.setenv("TUI_AGENT_CLAUDE_PATH", str(launcher))
    (isolated_home / "config.toml").write_text('[profiles.claude]\nprovider = "claude-code"\nmodel = "sonnet"\n')
    paths = Paths.resolve()
    service = AgentService(load_config(paths.config_file), paths)
    try:
        before = await service.credential_status("claude-code")
        assert "apiKeySource" not in before.detail
        _text, _last = await collect_text(service.send("claude", [ChatMessage("user", "hi")]))
        after = await service.credential_status("claude-code")
        assert "last answer's apiKeySource: none" in after.detail
    finally:
        await service.aclose()
