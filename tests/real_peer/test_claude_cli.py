"""The claude-code provider with the real Claude Code CLI, pointed at a loopback fake Anthropic server.

Run with scripts/real_peer_claude.sh (installs the CLI from npm into a cache folder when none is found). No Claude
account is needed: the CLI is given a dummy CLAUDE_CODE_OAUTH_TOKEN and talks only to the fake on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest

from tests.fakes import FakeAnthropic
from tui_agent.auth.claude_cli import cli_status, find_claude_cli, to_credential_status
from tui_agent.core.credentials import NO_CREDENTIAL, CredentialState
from tui_agent.config.schema import ProviderConfig
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.providers.claude_cli import ClaudeCliAdapter
from tui_agent.core.events import Done, StreamFailed, TextDelta

pytestmark = pytest.mark.real_peer

EXPORTED_KEY = "sk-ant-api03-dummy-key-exported-for-other-tools"
HEADLESS_TOKEN = "sk-ant-oat01-dummy-token-from-setup-token"


def _real_cli() -> str | None:
    # TUI_AGENT_CLAUDE_PATH is cleared for every test by tests/conftest.py, so the script names the CLI here.
    return os.environ.get("TUI_AGENT_REAL_CLAUDE") or shutil.which("claude")


@pytest.fixture
def real_cli() -> str:
    path = _real_cli()
    if not path or not os.access(path, os.X_OK):
        pytest.skip("the Claude Code CLI is not installed (run scripts/real_peer_claude.sh)")
    return path


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def cli_env(tmp_path, fake) -> dict[str, str]:
    """tui-agent's environment: an exported API key AND a headless token; a throwaway HOME so no real login is read."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": fake.base_url,
        "ANTHROPIC_API_KEY": EXPORTED_KEY,
        "CLAUDE_CODE_OAUTH_TOKEN": HEADLESS_TOKEN,
        # Keep the CLI off the internet: no telemetry, error reports or update checks.
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }


@pytest.fixture
async def make_adapter(real_cli, cli_env, tmp_path):
    provider = ProviderConfig(id="claude-code", kind="claude-cli", auth=["claude-cli"], cli_path=real_cli)
    made: list[ClaudeCliAdapter] = []
    async with httpx.AsyncClient() as client:
        def make(**options) -> ClaudeCliAdapter:
            made.append(ClaudeCliAdapter(provider, client, tmp_path / "claude-cwd", env=cli_env, **options))
            return made[-1]

        yield make
        for adapter in made:
            await adapter.aclose()


@pytest.fixture
def adapter(make_adapter):
    return make_adapter()


def request(*texts: str) -> ChatRequest:
    roles = ["user", "assistant"]
    return ChatRequest(
        model="sonnet", system="You are terse.", conversation_id="real-peer",
        messages=[ChatMessage(roles[i % 2], t) for i, t in enumerate(texts)],  # type: ignore[arg-type]
    )


async def test_answer_streams_through_the_cli_with_the_token_not_the_exported_key(adapter, fake):
    events = [e async for e in adapter.stream(request("Say hello"), NO_CREDENTIAL)]

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello from the fake."
    assert isinstance(events[-1], Done), events[-1]
    [chat] = fake.chat_requests
    assert chat.headers.get("authorization") == f"Bearer {HEADLESS_TOKEN}"
    assert "x-api-key" not in chat.headers
    assert chat.json["system"][-1]["text"] == "You are terse."
    assert chat.json.get("tools") in (None, [])  # --tools "": a chat, not an agent
    assert adapter.last_api_key_source == "none"


@pytest.mark.parametrize("keep_alive", [1, 0], ids=["kept-process", "resume"])
async def test_second_turn_continues_the_same_cli_session(make_adapter, fake, keep_alive):
    adapter = make_adapter(keep_alive=keep_alive)
    first = [e async for e in adapter.stream(request("Say hello"), NO_CREDENTIAL)]
    answer = "".join(e.text for e in first if isinstance(e, TextDelta))
    session = adapter.last_session_id

    second = [e async for e in adapter.stream(request("Say hello", answer, "Once more"), NO_CREDENTIAL)]

    assert isinstance(second[-1], Done), second[-1]
    assert adapter.last_session_id == session
    messages = fake.chat_requests[-1].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "Say hello" in json.dumps(messages[0]) and "<conversation_history>" not in json.dumps(messages)
    assert "Hello from the fake." in json.dumps(messages[1])
    assert "Once more" in json.dumps(messages[2])


async def test_reopened_conversation_reaches_the_model_as_a_transcript(make_adapter, fake):
    events = [e async for e in make_adapter().stream(request("Say hello", "Hi from before", "And now?"), NO_CREDENTIAL)]

    assert isinstance(events[-1], Done), events[-1]
    [chat] = fake.chat_requests
    sent = json.dumps(chat.json["messages"])
    assert sent.index("Say hello") < sent.index("Hi from before") < sent.index("And now?")


async def test_a_turn_outside_any_conversation_works_without_session_files(make_adapter, fake, cli_env):
    one_shot = ChatRequest(model="sonnet", messages=[ChatMessage("user", "Say hello")])

    events = [e async for e in make_adapter().stream(one_shot, NO_CREDENTIAL)]

    assert isinstance(events[-1], Done), events[-1]
    sessions = list((Path(cli_env["CLAUDE_CONFIG_DIR"]) / "projects").rglob("*.jsonl"))
    assert sessions == []


async def test_status_reports_the_headless_token(real_cli, cli_env):
    location = find_claude_cli(ProviderConfig(id="claude-code", kind="claude-cli", auth=["claude-cli"], cli_path=real_cli), cli_env)

    status = await cli_status(location, cli_env)
    shown = to_credential_status("claude-code", location, status)

    assert status.logged_in and status.auth_method == "oauth_token"
    assert shown.state is CredentialState.READY and "CLAUDE_CODE_OAUTH_TOKEN" in shown.detail
    assert status.version and status.version[0].isdigit()


async def test_without_login_or_token_the_answer_is_an_auth_error(adapter, cli_env, fake):
    del cli_env["CLAUDE_CODE_OAUTH_TOKEN"]  # the exported API key is still there, and must not be used

    events = [e async for e in adapter.stream(request("Say hello"), NO_CREDENTIAL)]

    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "auth", events[-1]
    assert "tui-agent login claude-code" in events[-1].message
    assert fake.chat_requests == []


async def test_stopping_an_answer_stops_the_cli(adapter, fake):
    fake.script(fake.answer("Hel", "lo", " and", " more", pause_after=4))
    stream = adapter.stream(request("Say hello"), NO_CREDENTIAL)

    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()

    [chat] = fake.chat_requests
    assert chat.disconnected.wait(10)  # the CLI went away mid-stream
