"""Snapshots of the auth dialog (every state, checking, explain, base URL edit, login offer) and of each login screen.

Fixed size, no cursor blink, no animations, scripted provider states and scripted OAuth flows with fixed example
URLs (live loopback ports change every run), a frozen clock and a fixed secret-store description. The pictures in
assets/auth-*.svg are copies of these baselines.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from textual.app import App
from textual.widgets import Input

from tests.fakes.authserver import FakeClock
from tui_agent.auth.oauth.device import DeviceAuthorization, PollTick
from tui_agent.core.credentials import CredentialState, CredentialStatus
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.service.agent import AgentService
from tui_agent.ui.screens.auth_dialog import AuthDialog
from tui_agent.ui.screens.login import (
    ApiKeyScreen,
    BrowserLoginScreen,
    ClaudeLoginScreen,
    DeviceLoginScreen,
    LoginResult,
)

SIZE = (120, 34)
LOGIN_SIZE = (100, 30)

CONFIG = """\
[profiles.claude]
provider = "claude-code"
model = "sonnet"

[profiles.local]
provider = "ollama"
model = "llama3.2:latest"

[providers.work-gateway]
display_name = "Work gateway"
kind = "openai-chat"
base_url = "https://llm.example.com/v1"
auth = ["oauth-device"]
[providers.work-gateway.oauth]
issuer = "https://sso.example.com/realms/eng"
client_id = "tui-agent"

[providers.corp-sso]
display_name = "Corp SSO gateway"
kind = "anthropic-messages"
base_url = "https://claude-proxy.example.com"
auth = ["oauth-pkce"]
[providers.corp-sso.oauth]
issuer = "https://sso.example.com/realms/corp"
client_id = "tui-agent"

[providers.lab-box]
display_name = "Lab llama.cpp"
kind = "openai-chat"
base_url = "http://lab-box.invalid:8080/v1"
local = true
"""

S = CredentialState
UTC = timezone.utc
STATUSES = {
    "anthropic": (S.READY, "file", "sk-ant…a1B2", None, "key entered, stored in file"),
    "claude-code": (S.READY, "claude-cli", "ada@example.com", None, "claude.ai subscription (max) · Claude Code 2.1.197"),
    "openai": (S.MISSING, "none", "", None, "no API key — run `tui-agent login openai` or set OPENAI_API_KEY"),
    "openrouter": (S.EXPIRED, "file", "", datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "the key was revoked at openrouter.ai; log in again"),
    "azure-openai": (S.ERROR, "none", "", None, "token endpoint answered HTTP 500"),
    "ollama": (S.READY, "none", "", None, "Ollama running at 127.0.0.1:11434"),
    "lmstudio": (S.UNREACHABLE, "none", "", None, "LM Studio not running at 127.0.0.1:1234 — start it, or set providers.lmstudio.base_url"),
    "work-gateway": (S.EXPIRING, "file", "ada@example.com", datetime(2026, 11, 27, 21, 42, tzinfo=UTC), "device flow; no refresh token"),
    "lab-box": (S.UNKNOWN, "none", "", None, "Lab llama.cpp at lab-box.invalid:8080 not probed"),
    "corp-sso": (S.REFRESHING, "file", "ada@example.com", datetime(2026, 11, 27, 22, 0, tzinfo=UTC), "PKCE; renewing"),
}


class FixedStore:
    """A secret store that keeps nothing and always describes itself the same way (no host path in the picture)."""

    description = "OS keyring (SecretService), service tui-agent"
    backend = "keyring"

    async def get(self, provider_id):
        return None

    async def put(self, provider_id, credential):
        pass

    async def delete(self, provider_id):
        return False


class ScriptedService(AgentService):
    """The real service with provider states fixed, so the pictures never change."""

    hold = False

    async def credential_status(self, provider_id, method=None, *, probe=True):
        if self.hold:
            await asyncio.Event().wait()
        provider = self.config.providers[provider_id]
        state, source, identity, expires, detail = STATUSES.get(provider_id, (S.UNKNOWN, "none", "", None, ""))
        status = CredentialStatus(
            provider_id, method or provider.default_method, state, source=source, identity=identity, expires_at=expires, detail=detail
        )
        self._publish(status)
        return status


def make_service(env: dict[str, str] | None = None) -> ScriptedService:
    paths = Paths.resolve()
    paths.config_file.write_text(CONFIG, encoding="utf-8")
    service = ScriptedService(load_config(paths.config_file), paths, env={"TUI_AGENT_KEYRING": "file", **(env or {})}, store=FixedStore())
    return service


class Host(App):
    TITLE = "tui-agent"

    def __init__(self, factory) -> None:
        super().__init__()
        self.factory = factory

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(self.factory())


async def settle(pilot) -> None:
    screen = pilot.app.screen
    for _ in range(300):
        await pilot.pause(0.01)
        if not getattr(screen, "checking", False):
            break
    for widget in screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def dialog(service: ScriptedService | None = None, **kwargs) -> Host:
    service = service or make_service()
    return Host(lambda: AuthDialog(service, **kwargs))


# --- the dialog ----------------------------------------------------------------------------------------------------------


def test_dialog_every_state(snap_compare):
    assert snap_compare(dialog(), terminal_size=SIZE, run_before=settle)


def test_dialog_at_80_by_24_keeps_state_identity_and_expiry(snap_compare):
    assert snap_compare(dialog(), terminal_size=(80, 24), run_before=settle)


def test_dialog_while_states_are_checked(snap_compare):
    service = make_service()
    service.hold = True
    assert snap_compare(dialog(service), terminal_size=SIZE)


def test_dialog_explains_a_profile_chain(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)

    assert snap_compare(dialog(provider="ollama"), terminal_size=SIZE, run_before=run_before)


def test_dialog_editing_a_base_url(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)

    assert snap_compare(dialog(provider="lmstudio"), terminal_size=SIZE, run_before=run_before)


def test_dialog_after_a_login_offers_the_models(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        screen = pilot.app.screen
        screen._login_done(LoginResult("anthropic", True, "Logged in to Anthropic API with key sk-ant…a1B2 (stored in OS keyring (SecretService), service tui-agent)."))
        await settle(pilot)

    assert snap_compare(dialog(provider="anthropic"), terminal_size=SIZE, run_before=run_before)


# --- the login screens -----------------------------------------------------------------------------------------------------


class ScriptedDeviceFlow:
    """A device flow that has issued its code and waits for the person (no server, fixed example URLs)."""

    def __init__(self) -> None:
        self._cancelled = asyncio.Event()

    async def start(self) -> DeviceAuthorization:
        return DeviceAuthorization(
            device_code="device-code-not-shown", user_code="WDJB-MJHT", verification_uri="https://sso.example.com/device",
            verification_uri_complete="https://sso.example.com/device?user_code=WDJB-MJHT", expires_in=900, interval=5,
        )

    async def poll_until_done(self, on_tick):
        on_tick(PollTick(seconds_left=754.0, next_poll_in=5.0, interval=5.0, polls=29, last="authorization_pending"))
        await self._cancelled.wait()

    def cancel(self) -> None:
        self._cancelled.set()


class ScriptedDeviceScreen(DeviceLoginScreen):
    async def make_flow(self):
        return ScriptedDeviceFlow(), "https://sso.example.com/token"


class ScriptedPkceFlow:
    URL = (
        "https://sso.example.com/realms/corp/protocol/openid-connect/auth?response_type=code&client_id=tui-agent"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&state=Xy7q2&code_challenge=E9Melhoa2Owv&code_challenge_method=S256"
    )

    async def begin(self) -> str:
        return self.URL

    async def wait_for_redirect(self, timeout=None) -> str:
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass


class ScriptedBrowserScreen(BrowserLoginScreen):
    async def make_flow(self):
        return ScriptedPkceFlow(), "https://sso.example.com/token"


def test_device_code_login(snap_compare):
    service = make_service()
    provider = service.config.providers["work-gateway"]
    app = Host(lambda: ScriptedDeviceScreen(service, provider, clock=FakeClock()))
    assert snap_compare(app, terminal_size=LOGIN_SIZE, run_before=settle)


def test_browser_login_with_paste_field(snap_compare):
    service = make_service()
    provider = service.config.providers["corp-sso"]
    app = Host(lambda: ScriptedBrowserScreen(service, provider))
    assert snap_compare(app, terminal_size=LOGIN_SIZE, run_before=settle)


def test_claude_code_login(snap_compare):
    service = make_service(env={"TUI_AGENT_CLAUDE_PATH": "/bin/true"})
    service._statuses["claude-code"] = CredentialStatus(
        "claude-code", "claude-cli", S.MISSING, source="claude-cli", detail="Claude Code is not logged in: run `tui-agent login claude-code`"
    )
    provider = service.config.providers["claude-code"]
    app = Host(lambda: ClaudeLoginScreen(service, provider))
    assert snap_compare(app, terminal_size=LOGIN_SIZE, run_before=settle)


def test_api_key_entry(snap_compare):
    service = make_service()
    provider = service.config.providers["openai"]

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press(*"sk-proj-example")

    app = Host(lambda: ApiKeyScreen(service, provider))
    assert snap_compare(app, terminal_size=LOGIN_SIZE, run_before=run_before)
