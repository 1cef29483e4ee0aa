"""The whole OAuth chain through the service: device login, a chat with the token, an expiry, a refresh, a dead grant.

The authorization server is authlib's (tests/fakes/authserver.py); it also serves a bearer-protected
OpenAI-style /v1/chat/completions, so the real openai-chat adapter uses the token it issued.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.fakes.authserver import AuthlibServer
from tui_agent.auth.oauth.discovery import clear_discovery_cache
from tests.login_in_terminal import login_in_terminal
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.core.chat import ChatMessage
from tui_agent.service.agent import AgentService, collect_text
from tui_agent.core.events import Done, StreamFailed

SCOPES = ["openid", "email", "offline_access", "chat"]


@pytest.fixture
async def service(isolated_home):
    clear_discovery_cache()
    with AuthlibServer(scopes=SCOPES) as server:
        (isolated_home / "config.toml").write_text(
            f'[providers.work-gateway]\nkind = "openai-chat"\nbase_url = "{server.url}/v1"\nauth = ["oauth-device"]\n'
            f'[providers.work-gateway.oauth]\nissuer = "{server.issuer}"\nclient_id = "{server.client_id}"\n'
            f'scopes = {SCOPES!r}\n'.replace("'", '"')
            + '[profiles.work]\nprovider = "work-gateway"\nmodel = "fake-model"\n'
        )
        paths = Paths.resolve()
        svc = AgentService(load_config(paths.config_file), paths)
        svc.server = server
        yield svc
        await svc.aclose()
    clear_discovery_cache()


async def device_login(service: AgentService):
    server = service.server

    async def person_approves_then_wait(seconds: float) -> None:
        server.approve()

    provider = service.config.providers["work-gateway"]
    return await login_in_terminal(
        provider, "oauth-device", service.client, service.store, no_browser=True,
        stderr=io.StringIO(), stdin=io.StringIO(), sleep=person_approves_then_wait,
    )


async def test_status_before_login_is_missing_with_the_command(service):
    status = await service.credential_status("work-gateway")
    assert status.state.value == "missing"
    assert "tui-agent login work-gateway" in status.detail


async def test_device_login_then_chat_then_refresh_after_expiry(service):
    cred = await device_login(service)
    status = await service.credential_status("work-gateway")
    assert (status.state.value, status.source, status.identity) == ("ready", "file", "ada@example.com")
    assert status.expires_at is not None

    text, last = await collect_text(service.send("work", [ChatMessage("user", "hi")]))
    assert isinstance(last, Done) and text == "Hello, ada@example.com."

    # The token runs out: the server no longer accepts it and the store says it expired a minute ago.
    service.server.expire_access_tokens()
    await service.store.put("work-gateway", replace(cred, expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    text, last = await collect_text(service.send("work", [ChatMessage("user", "again")]))
    assert isinstance(last, Done) and text == "Hello, ada@example.com."
    grants = [r.form.get("grant_type") for r in service.server.requests if r.path == "/token"]
    assert grants.count("refresh_token") == 1
    refreshed = await service.store.get("work-gateway")
    assert refreshed.secret != cred.secret and refreshed.expires_at > datetime.now(timezone.utc)


async def test_a_401_mid_session_refreshes_once_and_retries(service):
    await device_login(service)
    service.server.expire_access_tokens()  # revoked server-side while our record still looks valid
    text, last = await collect_text(service.send("work", [ChatMessage("user", "hi")]))
    assert isinstance(last, Done) and text == "Hello, ada@example.com."
    grants = [r.form.get("grant_type") for r in service.server.requests if r.path == "/token"]
    assert grants.count("refresh_token") == 1


async def test_a_dead_grant_moves_to_expired_and_nothing_else_is_tried(service):
    cred = await device_login(service)
    service.server.expire_access_tokens()
    await service.store.put(
        "work-gateway",
        replace(cred, refresh_token="revoked-refresh-token-000000", expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)),
    )
    text, last = await collect_text(service.send("work", [ChatMessage("user", "hi")]))
    assert text == "" and isinstance(last, StreamFailed) and last.kind == "auth"
    assert "tui-agent login work-gateway" in last.message
    status = await service.credential_status("work-gateway")
    assert status.state.value == "expired"
    chat_calls = [r for r in service.server.requests if r.path == "/v1/chat/completions"]
    assert chat_calls == []  # an expired credential is never sent


def _tui_agent(*args: str):
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "tui_agent", *args], capture_output=True, text=True, env=dict(os.environ), timeout=60,
    )


async def test_a_refused_refresh_outlives_the_process_and_the_dead_token_is_not_sent_again(service):
    import json

    cred = await device_login(service)
    service.server.expire_access_tokens()
    await service.store.put(
        "work-gateway",
        replace(cred, refresh_token="revoked-refresh-token-000000", expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)),
    )
    await collect_text(service.send("work", [ChatMessage("user", "hi")]))
    refreshes = lambda: [r for r in service.server.requests if r.path == "/token" and r.form.get("grant_type") == "refresh_token"]
    assert len(refreshes()) == 1
    kept = (service.paths.state_dir / "refused-grants.json").read_text()
    assert "revoked-refresh-token" not in kept and cred.secret not in kept  # a digest, never a token

    # A new process, without probing: still expired, with the reason and the fix.
    status = _tui_agent("status", "--no-probe", "--json")
    assert status.returncode == 0, status.stderr
    row = next(r for r in json.loads(status.stdout) if r["provider"] == "work-gateway")
    assert row["state"] == "expired" and "tui-agent login work-gateway" in row["detail"]
    explain = _tui_agent("explain", "work")
    assert "expired" in explain.stdout

    # Another new process asks: it says to log in again and never sends the dead refresh token.
    asked = _tui_agent("ask", "-m", "work", "hi")
    assert asked.returncode == 1 and "tui-agent login work-gateway" in asked.stderr
    assert len(refreshes()) == 1

    # A new login clears it for every later process.
    await device_login(service)
    status = _tui_agent("status", "--no-probe", "--json")
    row = next(r for r in json.loads(status.stdout) if r["provider"] == "work-gateway")
    assert row["state"] == "ready"
