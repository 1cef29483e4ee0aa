"""Snapshots of the auth side panel: every state at once, each state selected, usage, and the narrow layout.

Deterministic by construction: a frozen clock, no probes (statuses arrive through the service's publish
path before the first frame), fixed terminal sizes, no host paths or ports on screen.
"""

from __future__ import annotations

import os

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")  # read by Textual at import time

from datetime import timedelta
from pathlib import Path

import pytest

from tests.ui.test_status_panel import FROZEN, ChatLikeApp, FakeClock, PanelApp, make_service
from tui_agent.core.credentials import CredentialState, CredentialStatus
from tui_agent.core.events import Usage
from tui_agent.service.agent import AgentService
from tui_agent.ui.widgets.status_panel import StatusPanel

PANEL_SIZE = (48, 50)

CONFIG = """
default_profile = "gpt"

[profiles.gpt]
provider = "openai"
model = "gpt-4o"

[profiles.claude]
provider = "claude-code"
model = "sonnet"

[profiles.work]
provider = "work-gateway"
model = "gpt-4.1"

[providers.work-gateway]
display_name = "Work gateway"
kind = "openai-chat"
base_url = "https://llm.example.com/v1"
auth = ["oauth-device"]
[providers.work-gateway.oauth]
issuer = "https://sso.example.com/realms/eng"
client_id = "tui-agent"

[providers.company-sso]
display_name = "Company SSO proxy"
kind = "anthropic-messages"
base_url = "https://claude-proxy.example.com"
auth = ["oauth-pkce"]
[providers.company-sso.oauth]
issuer = "https://sso.example.com/realms/eng"
client_id = "tui-agent"
"""


def ago(seconds: int):
    return FROZEN - timedelta(seconds=seconds)


# One provider in each state (two ready ones), as the service would publish them.
STATUSES = [
    CredentialStatus("anthropic", "api-key", CredentialState.READY, "env:ANTHROPIC_API_KEY", "sk-ant…a1B2",
                     detail="stored in env:ANTHROPIC_API_KEY", checked_at=ago(12)),
    CredentialStatus("claude-code", "claude-cli", CredentialState.MISSING, "none",
                     detail="Claude Code CLI not found — install Claude Code and run `tui-agent login claude-code`",
                     checked_at=ago(40)),
    CredentialStatus("openai", "api-key", CredentialState.ERROR, "keyring", "sk-pro…9Zq1",
                     detail="the stored key was saved for api.example.net, not api.openai.com — run `tui-agent login openai`",
                     checked_at=ago(12)),
    CredentialStatus("openrouter", "api-key", CredentialState.UNKNOWN, "none", detail="not checked yet"),
    CredentialStatus("azure-openai", "oauth-device", CredentialState.EXPIRING, "keyring", "ada@contoso.com",
                     expires_at=FROZEN + timedelta(minutes=8, seconds=12),
                     detail="expires in under 10 minutes and has no refresh token — run `tui-agent login azure-openai`",
                     checked_at=ago(3)),
    CredentialStatus("ollama", "none", CredentialState.UNREACHABLE, "none",
                     detail="Ollama not running at 127.0.0.1:11434 — start it, or set providers.ollama.base_url",
                     checked_at=ago(7)),
    CredentialStatus("lmstudio", "none", CredentialState.READY, "none",
                     detail="LM Studio running at 127.0.0.1:1234", checked_at=ago(7), model_count=3),
    CredentialStatus("work-gateway", "oauth-device", CredentialState.REFRESHING, "keyring", "dev@example.com",
                     expires_at=FROZEN + timedelta(seconds=20), detail="refreshing the access token", checked_at=ago(1)),
    CredentialStatus("company-sso", "oauth-pkce", CredentialState.EXPIRED, "keyring", "dev@example.com",
                     expires_at=ago(3 * 3600), detail="the login has expired — run `tui-agent login company-sso`",
                     checked_at=ago(95)),
]
BY_STATE = {s.state: s for s in reversed(STATUSES)}  # the first provider in each state


def published_service(home: Path) -> AgentService:
    service = make_service(home, CONFIG)
    for status in STATUSES:
        service._publish(status)  # the path a probe, refresh, login or logout ends in
    return service


def panel_app(service: AgentService) -> PanelApp:
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    app.title = "tui-agent"
    app.theme = "textual-dark"
    return app


def with_usage(panel: StatusPanel) -> None:
    panel.record_usage(Usage(input_tokens=9_800, output_tokens=420, cost_usd=0.0312), answer_id="a1")
    panel.record_usage(Usage(input_tokens=10_400, output_tokens=1_310, cost_usd=0.0507), answer_id="a2")
    panel.set_context_window(128_000)


def test_panel_with_every_state(snap_compare, isolated_home):
    app = panel_app(published_service(isolated_home))

    def run_before(pilot):
        with_usage(pilot.app.query_one(StatusPanel))

    assert snap_compare(app, terminal_size=(48, 54), run_before=run_before)


def test_panel_usage_with_an_unknown_cost_and_a_full_context(snap_compare, isolated_home):
    """A model without known prices says "cost unknown" (never a guess); 90% full turns the meter to warning."""
    app = panel_app(published_service(isolated_home))

    def run_before(pilot):
        panel = pilot.app.query_one(StatusPanel)
        panel.record_usage(Usage(input_tokens=7_100, output_tokens=420), answer_id="a1")
        panel.set_context_window(8_192)

    assert snap_compare(app, terminal_size=(48, 54), run_before=run_before)


@pytest.mark.parametrize("state", list(CredentialState), ids=lambda s: s.value)
def test_selected_row_in_each_state(snap_compare, isolated_home, state):
    app = panel_app(published_service(isolated_home))
    provider = BY_STATE[state].provider

    async def run_before(pilot):
        panel = pilot.app.query_one(StatusPanel)
        panel.focus_rows()
        panel.select(provider)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(48, 40), run_before=run_before)


def chat_like(home: Path) -> ChatLikeApp:
    app = ChatLikeApp(published_service(home), clock=FakeClock(), probe_every=None)
    app.title = "tui-agent"
    app.theme = "textual-dark"
    return app


def test_narrow_layout_shows_the_one_line_summary(snap_compare, isolated_home):
    assert snap_compare(chat_like(isolated_home), terminal_size=(80, 20))


def test_narrow_layout_expanded(snap_compare, isolated_home):
    assert snap_compare(chat_like(isolated_home), terminal_size=(80, 40), press=["f2"])


def test_wide_layout_has_the_panel_beside_the_conversation(snap_compare, isolated_home):
    assert snap_compare(chat_like(isolated_home), terminal_size=(120, 44))


def test_a_ready_provider_whose_last_request_failed(snap_compare, isolated_home):
    """A 502 HTML page left the state alone: the row says ready and shows the failure on a second line."""
    service = published_service(isolated_home)
    service._publish(BY_STATE[CredentialState.READY].with_(
        last_failure="last request failed: HTTP 502 (not the JSON expected: an HTML page or garbage) 8 s ago",
    ))
    app = panel_app(service)

    async def run_before(pilot):
        panel = pilot.app.query_one(StatusPanel)
        panel.focus_rows()
        panel.select("anthropic")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(48, 40), run_before=run_before)
