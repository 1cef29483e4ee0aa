"""`claude auth status` parsing, the credential status shown for it, caching, and the CLI's own login/logout."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tui_agent.auth import claude_cli
from tui_agent.auth.claude_cli import (
    CliLocation,
    cli_status,
    cli_version,
    find_claude_cli,
    invalidate,
    run_login,
    run_logout,
    to_credential_status,
)
from tui_agent.core.credentials import CredentialState

# What Claude Code 2.1.197 prints (pretty JSON), in each situation; the claude.ai fields come from its source.
LOGGED_OUT = {"loggedIn": False, "authMethod": "none", "apiProvider": "firstParty"}
SUBSCRIPTION = {"loggedIn": True, "authMethod": "claude.ai", "apiProvider": "firstParty", "email": "ada@example.com",
                "orgId": "0000", "orgName": "Ada's Org", "subscriptionType": "max"}
TOKEN = {"loggedIn": True, "authMethod": "oauth_token", "apiProvider": "firstParty"}


def status_reply(data: dict, exit: int = 0, stderr: str = "") -> dict:
    return {"stdout": json.dumps(data, indent=2) + "\n", "exit": exit, "stderr": stderr}


@pytest.fixture
def location(provider, user_env):
    found = find_claude_cli(provider, user_env)
    assert found is not None and found.found_by == "cli_path"
    return found


def status_calls(fake_claude) -> list[dict]:
    return [c for c in fake_claude.calls() if c["argv"][:2] == ["auth", "status"]]


async def test_subscription_login_is_ready_with_the_account_and_cli_version(fake_claude, location, user_env):
    fake_claude.scenario(auth_status=status_reply(SUBSCRIPTION), version="2.1.197 (Claude Code)")

    status = await cli_status(location, user_env)
    shown = to_credential_status("claude-code", location, status)

    assert status.usable and status.logged_in and status.auth_method == "claude.ai"
    assert (status.email, status.subscription_type, status.version) == ("ada@example.com", "max", "2.1.197")
    assert shown.state is CredentialState.READY and shown.source == "claude-cli"
    assert shown.identity == "ada@example.com"
    assert "claude.ai login (max)" in shown.detail and "Claude Code 2.1.197" in shown.detail


async def test_logged_out_cli_is_missing_with_the_login_hint_even_though_it_exits_1(fake_claude, location, user_env):
    fake_claude.scenario(auth_status=status_reply(LOGGED_OUT, exit=1))

    status = await cli_status(location, user_env)
    shown = to_credential_status("claude-code", location, status)

    assert status.usable and not status.logged_in
    assert shown.state is CredentialState.MISSING and shown.source == "claude-cli"
    assert "not logged in" in shown.detail and "tui-agent login claude-code" in shown.detail


@pytest.mark.parametrize(
    ("reported", "words"),
    [
        (TOKEN, "CLAUDE_CODE_OAUTH_TOKEN"),
        ({"loggedIn": True, "authMethod": "api_key_helper", "apiProvider": "firstParty"}, "apiKeyHelper"),
        ({"loggedIn": True, "authMethod": "third_party", "apiProvider": "bedrock"}, "Amazon Bedrock"),
        ({"loggedIn": True, "authMethod": "third_party", "apiProvider": "vertex"}, "Google Vertex AI"),
        ({"loggedIn": True, "authMethod": "third_party", "apiProvider": "foundry"}, "Microsoft Foundry"),
    ],
)
async def test_detail_says_which_credential_the_cli_will_use(fake_claude, location, user_env, reported, words):
    fake_claude.scenario(auth_status=status_reply(reported))

    shown = to_credential_status("claude-code", location, await cli_status(location, user_env))

    assert shown.state is CredentialState.READY and words in shown.detail


async def test_unknown_and_missing_keys_are_tolerated(fake_claude, location, user_env):
    fake_claude.scenario(auth_status=status_reply({"loggedIn": True, "somethingNew": [1, 2], "loginExpiresAt": 1_900_000_000_000}))

    status = await cli_status(location, user_env)

    assert status.usable and status.logged_in and status.auth_method == "none" and status.api_provider == "firstParty"
    assert status.login_expires_at == datetime.fromtimestamp(1_900_000_000, timezone.utc)
    assert to_credential_status("claude-code", location, status).expires_at == status.login_expires_at


async def test_json_after_a_warning_line_is_still_read(fake_claude, location, user_env):
    fake_claude.scenario(auth_status={"stdout": "Warning: something\n" + json.dumps(TOKEN) + "\n", "exit": 0})

    status = await cli_status(location, user_env)

    assert status.usable and status.auth_method == "oauth_token"


async def test_non_json_output_makes_the_cli_unusable_with_its_stderr(fake_claude, location, user_env):
    fake_claude.scenario(auth_status={"stdout": "", "stderr": "error: keychain is locked\n", "exit": 1})

    status = await cli_status(location, user_env)
    shown = to_credential_status("claude-code", location, status)

    assert not status.usable and "keychain is locked" in status.error
    assert shown.state is CredentialState.ERROR and "keychain is locked" in shown.detail


async def test_a_cli_that_does_not_answer_in_time_is_unusable(fake_claude, location, user_env, monkeypatch):
    monkeypatch.setattr(claude_cli, "STATUS_TIMEOUT", 0.3)
    fake_claude.scenario(auth_status={"hang": True})

    status = await cli_status(location, user_env)

    assert not status.usable and "did not answer" in status.error


async def test_status_runs_in_the_app_workdir_with_the_scrubbed_env(fake_claude, location, user_env, isolated_home):
    fake_claude.scenario(auth_status=status_reply(TOKEN))

    await cli_status(location, user_env)

    [call] = status_calls(fake_claude)
    assert "ANTHROPIC_API_KEY" not in call["env"] and "ANTHROPIC_AUTH_TOKEN" not in call["env"]
    assert call["env"]["CLAUDE_CODE_OAUTH_TOKEN"] == user_env["CLAUDE_CODE_OAUTH_TOKEN"]
    assert call["cwd"] == str(isolated_home / "state" / "claude-cwd")


async def test_status_is_cached_briefly_and_invalidate_forgets_it(fake_claude, location, user_env, monkeypatch):
    now = [100.0]
    monkeypatch.setattr(claude_cli, "_clock", lambda: now[0])
    fake_claude.scenario(auth_status=status_reply(LOGGED_OUT, exit=1))

    await cli_status(location, user_env)
    await cli_status(location, user_env)
    assert len(status_calls(fake_claude)) == 1

    invalidate()
    await cli_status(location, user_env)
    assert len(status_calls(fake_claude)) == 2

    now[0] += claude_cli.CACHE_SECONDS + 0.1
    await cli_status(location, user_env)
    assert len(status_calls(fake_claude)) == 3


async def test_a_different_environment_is_not_served_from_the_cache(fake_claude, location, user_env):
    fake_claude.scenario(auth_status=status_reply(LOGGED_OUT, exit=1))
    await cli_status(location, user_env)

    fake_claude.scenario(auth_status=status_reply(TOKEN))
    status = await cli_status(location, dict(user_env, CLAUDE_CODE_OAUTH_TOKEN="another-token"))

    assert status.logged_in and len(status_calls(fake_claude)) == 2


async def test_cli_version_is_the_version_number(fake_claude, location, user_env):
    fake_claude.scenario(version="2.1.197 (Claude Code)")

    assert await cli_version(location.path, user_env) == "2.1.197"


def test_not_found_is_missing_with_install_instructions():
    shown = to_credential_status("claude-code", None, None)

    assert shown.state is CredentialState.MISSING and shown.source == "none"
    assert "not found" in shown.detail and "npm install -g @anthropic-ai/claude-code" in shown.detail


def test_found_but_not_checked_is_unknown(tmp_path):
    shown = to_credential_status("claude-code", CliLocation(tmp_path / "claude", "PATH"), None)

    assert shown.state is CredentialState.UNKNOWN and str(tmp_path / "claude") in shown.detail


async def test_a_broken_configured_path_is_an_error_without_running_anything(fake_claude, tmp_path):
    location = CliLocation(tmp_path / "nope", "cli_path", problem="providers.claude-code.cli_path is set to 'nope', which is not an executable file")

    status = await cli_status(location)
    shown = to_credential_status("claude-code", location, status)

    assert not status.usable and shown.state is CredentialState.ERROR and "cli_path" in shown.detail
    assert fake_claude.calls() == []


async def test_login_runs_the_cli_own_claude_ai_login_and_invalidates_the_status(fake_claude, location, user_env):
    fake_claude.scenario(auth_status=status_reply(LOGGED_OUT, exit=1), auth_exit=0)
    before = await cli_status(location, user_env)
    fake_claude.scenario(auth_status=status_reply(SUBSCRIPTION), auth_exit=0)

    assert await run_login(location, user_env) == 0
    after = await cli_status(location, user_env)

    [login] = [c for c in fake_claude.calls() if c["argv"][:2] == ["auth", "login"]]
    assert login["argv"] == ["auth", "login", "--claudeai"]
    assert "ANTHROPIC_API_KEY" not in login["env"] and "ANTHROPIC_AUTH_TOKEN" not in login["env"]
    assert (before.logged_in, after.logged_in) == (False, True)


async def test_logout_runs_the_cli_logout_and_returns_its_exit_status(fake_claude, location, user_env):
    fake_claude.scenario(auth_exit=1)

    assert await run_logout(location, user_env) == 1
    assert [c["argv"] for c in fake_claude.calls()] == [["auth", "logout"]]

