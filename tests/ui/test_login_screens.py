"""Pilot tests of the login screens: device code, browser (PKCE), Claude Code and API key, each to success, cancel and failure.

The authorization server is authlib's on loopback (tests/fakes/authserver.py); the provider fakes speak the real
wire format; `claude` is the stand-in executable; App.suspend() is stubbed because run_test cannot suspend.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
import pytest
from textual.app import App
from textual.widgets import Input

from tests.fakes.authserver import AuthlibServer, FakeClock, Reply, ScriptedServer, authorize_url_params
from tests.fakes.fake_claude import install_fake_claude
from tests.fakes.fake_openai import FakeOpenAI
from tests.ui.support import closed_port, wait_until
from tui_agent.auth.oauth.discovery import clear_discovery_cache
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.service.agent import AgentService
from tui_agent.ui.screens.login import (
    ApiKeyScreen,
    BrowserLoginScreen,
    ClaudeLoginScreen,
    DeviceLoginScreen,
    LoginResult,
    log_out,
    login_screen_for,
)

SIZE = (100, 32)
SCOPES = ["openid", "email", "offline_access", "chat"]
GOOD_KEY = "sk-test-good-key-0123456789abcdef"
LOGGED_IN = {"loggedIn": True, "authMethod": "claude.ai", "apiProvider": "firstParty", "subscriptionType": "max", "email": "ada@example.com"}


class Host(App):
    """Pushes one screen and records what it is dismissed with."""

    def __init__(self, make_screen) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.results: list[LoginResult] = []
        self.opened: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self.results.append)

    def open_url(self, url: str, *, new_tab: bool = True) -> None:  # never a real browser in tests
        self.opened.append(url)


def make_service(home: Path, config: str, env: dict[str, str] | None = None) -> AgentService:
    (home / "config.toml").write_text(config, encoding="utf-8")
    base = {"TUI_AGENT_HOME": str(home), "TUI_AGENT_KEYRING": "file", "HOME": str(home), "TUI_AGENT_CLAUDE_PATH": str(home / "no-claude")}
    paths = Paths.resolve(env=base)
    return AgentService(load_config(paths.config_file), paths, env={**base, **(env or {})})


def gateway_config(server: AuthlibServer, method: str) -> str:
    return (
        f'[providers.work-gateway]\ndisplay_name = "Work gateway"\nkind = "openai-chat"\nbase_url = "{server.url}/v1"\n'
        f'auth = ["{method}"]\n[providers.work-gateway.oauth]\nissuer = "{server.issuer}"\n'
        f'client_id = "{server.client_id}"\nscopes = {json.dumps(SCOPES)}\n'
    )


@pytest.fixture(autouse=True)
def _fresh_discovery():
    clear_discovery_cache()
    yield
    clear_discovery_cache()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def server(clock):
    with AuthlibServer(clock=clock, scopes=SCOPES) as srv:
        yield srv


async def _close(service: AgentService) -> None:
    await service.aclose()


# --- device code ------------------------------------------------------------------------------------------------------


async def test_device_login_shows_url_code_and_countdown_then_stores_the_token(home, server, clock):
    service = make_service(home, gateway_config(server, "oauth-device"), env={"DISPLAY": ":0"})
    release = asyncio.Event()
    seen: dict[str, str] = {}

    async def person_approves(seconds: float) -> None:
        await release.wait()  # the test looks at the screen first
        clock.advance(seconds)
        server.approve()

    provider = service.config.providers["work-gateway"]
    app = Host(lambda: DeviceLoginScreen(service, provider, clock=clock, sleep=person_approves))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.authorization is not None, "the device code")
        user_code = server.pending_user_codes[-1]
        seen["url"] = str(screen.query_one("#device-url").render())
        seen["code"] = str(screen.query_one("#device-code").render())
        seen["countdown"] = str(screen.query_one("#device-countdown").render())
        await pilot.press("c")
        seen["clipboard"] = app.clipboard
        await pilot.press("o")
        release.set()
        await wait_until(pilot, lambda: app.results, "the login to finish")
    await _close(service)

    assert f"{server.url}/device" in seen["url"]
    assert seen["code"] == " ".join(user_code)  # spaced out, shown large
    assert seen["countdown"] == "The code expires in 15:00"  # authlib's 900 s on the frozen clock
    assert seen["clipboard"] == user_code
    assert app.opened == [f"{server.url}/device?user_code={user_code}"]
    result = app.results[0]
    assert result.ok and result.offer_models and not result.cancelled
    assert "Logged in to Work gateway as ada@example.com" in result.message
    stored = await service.store.get("work-gateway")
    assert stored.kind == "oauth" and stored.obtained_by == "device flow"
    assert stored.secret not in result.message
    assert result.status is not None and result.status.state.value == "ready"


async def test_device_login_countdown_follows_the_flow_clock(home, server, clock):
    service = make_service(home, gateway_config(server, "oauth-device"))
    polls = 0

    async def nobody_yet(seconds: float) -> None:
        nonlocal polls
        polls += 1
        clock.advance(seconds)
        if polls >= 3:
            await asyncio.Event().wait()  # the person is still at the verification page

    provider = service.config.providers["work-gateway"]
    app = Host(lambda: DeviceLoginScreen(service, provider, clock=clock, sleep=nobody_yet))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: polls >= 3, "three polls")
        await wait_until(pilot, lambda: "14:50" in str(screen.query_one("#device-countdown").render()), "the countdown")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results, "the cancel")
    await _close(service)
    assert app.results[0].cancelled


async def test_cancelling_a_device_login_stores_nothing(home, server, clock):
    service = make_service(home, gateway_config(server, "oauth-device"))

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()

    provider = service.config.providers["work-gateway"]
    app = Host(lambda: DeviceLoginScreen(service, provider, clock=clock, sleep=never))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.authorization is not None, "the device code")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results, "the cancel")
    assert app.results[0] == LoginResult("work-gateway", False, "Login to Work gateway cancelled; nothing was stored.", None, True)
    assert await service.store.get("work-gateway") is None
    await _close(service)


async def test_device_login_declined_says_so_and_offers_another_try(home, server, clock):
    service = make_service(home, gateway_config(server, "oauth-device"))
    attempts = 0

    async def person(seconds: float) -> None:
        clock.advance(seconds)
        if attempts == 1:
            server.deny()
        else:
            server.approve()

    provider = service.config.providers["work-gateway"]
    app = Host(lambda: DeviceLoginScreen(service, provider, clock=clock, sleep=person))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        attempts = 1
        await wait_until(pilot, lambda: screen.failed, "the refusal")
        message = screen.message
        assert screen.check_action("retry", ()) and not screen.check_action("copy_code", ())
        assert app.results == []  # the screen stays open with the reason
        attempts = 2
        await pilot.press("r")
        await wait_until(pilot, lambda: app.results, "the second attempt")
    await _close(service)
    assert message == "The sign-in to Work gateway was declined at the verification page; run login again to retry."
    assert app.results[0].ok


async def test_device_login_against_an_unreachable_issuer_is_one_sentence(home, clock):
    port = closed_port()
    service = make_service(
        home,
        '[providers.work-gateway]\ndisplay_name = "Work gateway"\nkind = "openai-chat"\nbase_url = "https://llm.example.com/v1"\n'
        f'auth = ["oauth-device"]\n[providers.work-gateway.oauth]\nissuer = "http://127.0.0.1:{port}"\nclient_id = "tui-agent"\n',
    )
    provider = service.config.providers["work-gateway"]
    app = Host(lambda: DeviceLoginScreen(service, provider, clock=clock, sleep=lambda s: asyncio.sleep(0)))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.failed, "the failure")
        message, code_shown = screen.message, screen.query_one("#device-code").display
    await _close(service)
    assert message.startswith(f"Could not reach the OAuth issuer at http://127.0.0.1:{port}/")
    assert message.endswith("check the network and oauth.issuer.")
    assert not code_shown and app.results == []


async def test_a_bug_in_a_flow_is_reported_not_left_waiting(home, server, clock):
    service = make_service(home, gateway_config(server, "oauth-device"))

    async def broken(seconds: float) -> None:
        raise RuntimeError("boom")

    provider = service.config.providers["work-gateway"]
    app = Host(lambda: DeviceLoginScreen(service, provider, clock=clock, sleep=broken))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.failed, "the failure")
        message, retry = screen.message, screen.check_action("retry", ())
    await _close(service)
    assert message == "The login to Work gateway stopped on an unexpected RuntimeError; the log file has the details."
    assert retry


# --- browser (PKCE) ------------------------------------------------------------------------------------------------------


async def test_browser_login_completes_when_the_browser_comes_back(home, server):
    service = make_service(home, gateway_config(server, "oauth-pkce"), env={"DISPLAY": ":0"})
    provider = service.config.providers["work-gateway"]
    app = Host(lambda: BrowserLoginScreen(service, provider))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.url, "the sign-in address")
        assert str(screen.query_one("#browser-url").render()) == screen.url
        await pilot.press("ctrl+y")
        assert app.clipboard == screen.url
        await pilot.press("ctrl+o")
        assert app.opened == [screen.url]
        async with httpx.AsyncClient() as browser:  # authlib signs ada in and redirects to our loopback listener
            landing = await browser.get(screen.url, follow_redirects=True)
        await wait_until(pilot, lambda: app.results, "the login to finish")
    await _close(service)
    assert landing.status_code == 200
    result = app.results[0]
    assert result.ok and "Logged in to Work gateway as ada@example.com" in result.message
    stored = await service.store.get("work-gateway")
    assert stored.obtained_by == "PKCE" and server.token_is_valid(stored.secret)


async def test_browser_login_takes_a_pasted_address_over_ssh(home, server):
    service = make_service(home, gateway_config(server, "oauth-pkce"), env={"DISPLAY": ":0", "SSH_CONNECTION": "203.0.113.2 5 203.0.113.1 22"})
    provider = service.config.providers["work-gateway"]
    app = Host(lambda: BrowserLoginScreen(service, provider))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.url, "the sign-in address")
        await pilot.press("ctrl+o")  # over SSH there is no browser here: the address is copied instead
        assert app.opened == [] and app.clipboard == screen.url
        async with httpx.AsyncClient() as browser:  # the browser is elsewhere: its redirect never reaches us
            landing = await browser.get(screen.url, follow_redirects=False)
        field = screen.query_one("#browser-paste", Input)
        field.value = "not-a-url with spaces"
        await pilot.press("enter")
        slip = screen.message
        field.value = landing.headers["location"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, "the login to finish")
    await _close(service)
    assert "neither a redirect address nor a code" in slip
    assert app.results[0].ok
    assert (await service.store.get("work-gateway")).obtained_by == "PKCE"


async def test_browser_login_declined_is_one_sentence_and_stores_nothing(home, server):
    server.deny_authorization = True
    service = make_service(home, gateway_config(server, "oauth-pkce"))
    provider = service.config.providers["work-gateway"]
    app = Host(lambda: BrowserLoginScreen(service, provider))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.url, "the sign-in address")
        async with httpx.AsyncClient() as browser:
            await browser.get(screen.url, follow_redirects=True)
        await wait_until(pilot, lambda: screen.failed, "the refusal")
        message = screen.message
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results, "the close")
    await _close(service)
    assert message.startswith("The sign-in to Work gateway was declined in the browser")
    assert message.count(".") <= 2 and "\n" not in message
    assert not app.results[0].ok
    assert await service.store.get("work-gateway") is None


async def test_cancelling_a_browser_login_closes_the_listener(home, server):
    service = make_service(home, gateway_config(server, "oauth-pkce"))
    provider = service.config.providers["work-gateway"]
    app = Host(lambda: BrowserLoginScreen(service, provider))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.url, "the sign-in address")
        redirect_uri = httpx.URL(screen.url).params["redirect_uri"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results, "the cancel")
        await pilot.pause()
    await _close(service)
    assert app.results[0].cancelled
    with pytest.raises(httpx.TransportError):
        async with httpx.AsyncClient() as browser:
            await browser.get(redirect_uri, params={"code": "late"})


async def test_openrouter_style_browser_login_stores_the_issued_key(home):
    with ScriptedServer() as keys:
        keys.script("POST", "/api/v1/auth/keys", Reply.json({"key": "sk-or-v1-0123456789abcdef0123", "user_id": "user_7"}))
        service = make_service(
            home,
            f'[providers.openrouter]\nbase_url = "{keys.url}/api/v1"\n[providers.openrouter.oauth]\n'
            f'authorization_endpoint = "{keys.url}/auth"\nkeys_endpoint = "{keys.url}/api/v1/auth/keys"\n',
        )
        screen_or_reason = login_screen_for(service, "openrouter")
        assert isinstance(screen_or_reason, BrowserLoginScreen)
        app = Host(lambda: screen_or_reason)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: screen.url, "the sign-in address")
            callback = authorize_url_params(screen.url)["callback_url"]
            async with httpx.AsyncClient() as browser:  # OpenRouter's page sends the browser to callback_url?code=…
                await browser.get(callback, params={"code": "auth_code_abc123"})
            await wait_until(pilot, lambda: app.results, "the login to finish")
        await _close(service)
        sent = keys.seen("/api/v1/auth/keys")[0].json
    result = app.results[0]
    assert result.ok and result.message.startswith("Logged in to OpenRouter as user_7: the API key it issued is stored in ")
    assert "sk-or-v1-0123456789abcdef0123" not in result.message
    stored = await service.store.get("openrouter")
    assert (stored.kind, stored.obtained_by, stored.secret) == ("api-key", "PKCE", "sk-or-v1-0123456789abcdef0123")
    assert sent["code"] == "auth_code_abc123"


# --- Claude Code ---------------------------------------------------------------------------------------------------------


def claude_service(home: Path, scenario: dict) -> tuple[AgentService, Path]:
    launcher = install_fake_claude(home / "fake-claude", scenario)
    service = make_service(home, "", env={"TUI_AGENT_CLAUDE_PATH": str(launcher)})
    return service, home / "fake-claude" / "state"


def stub_suspend(app: App, monkeypatch, on_resume=None) -> list[str]:
    """run_test's driver cannot suspend; record the hand-over and run what the person would have done meanwhile."""
    events: list[str] = []

    @contextlib.contextmanager
    def suspend():
        events.append("suspended")
        yield
        if on_resume is not None:
            on_resume()
        events.append("resumed")

    monkeypatch.setattr(app, "suspend", suspend)
    return events


def calls(state: Path) -> list[list[str]]:
    path = state / "calls.jsonl"
    return [json.loads(line)["argv"] for line in path.read_text().splitlines()] if path.exists() else []


async def test_claude_login_hands_the_terminal_to_the_cli_and_shows_the_new_status(home, monkeypatch):
    service, state = claude_service(home, {})

    def person_logs_in() -> None:  # what `claude auth login` changed: `auth status` now reports a login
        (state / "scenario.json").write_text(json.dumps({"auth_status": {"stdout": json.dumps(LOGGED_IN), "exit": 0}}))

    provider = service.config.providers["claude-code"]
    app = Host(lambda: ClaudeLoginScreen(service, provider))
    async with app.run_test(size=SIZE) as pilot:
        events = stub_suspend(app, monkeypatch, person_logs_in)
        screen = app.screen
        assert "will take over this terminal" in str(screen.query_one("#claude-help").render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.ran and not screen._cli_running, "the CLI login")
        shown = str(screen.query_one("#claude-status").render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, "the close")
    await _close(service)
    assert events == ["suspended", "resumed"]
    assert ["auth", "login", "--claudeai"] in calls(state)
    assert shown.startswith("✓ ready as ada@example.com")
    assert app.results[0].ok and app.results[0].status.state.value == "ready"


async def test_claude_login_that_fails_keeps_the_screen_with_the_state(home, monkeypatch):
    service, state = claude_service(home, {"auth_exit": 1})
    provider = service.config.providers["claude-code"]
    app = Host(lambda: ClaudeLoginScreen(service, provider))
    async with app.run_test(size=SIZE) as pilot:
        stub_suspend(app, monkeypatch)
        screen = app.screen
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.ran and not screen._cli_running, "the CLI login")
        message, shown = screen.message, str(screen.query_one("#claude-status").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results, "the cancel")
    await _close(service)
    assert message == "claude auth login ended with status 1; Claude Code is still not logged in. Enter runs the login again."
    assert shown.startswith("○ missing")
    assert not app.results[0].ok


async def test_claude_login_on_a_terminal_that_cannot_suspend_says_what_to_run(home, monkeypatch):
    from textual.app import SuspendNotSupported

    service, state = claude_service(home, {})
    provider = service.config.providers["claude-code"]
    app = Host(lambda: ClaudeLoginScreen(service, provider))
    async with app.run_test(size=SIZE) as pilot:
        def cannot():
            raise SuspendNotSupported("no")

        monkeypatch.setattr(app, "suspend", cannot)
        screen = app.screen
        await pilot.press("enter")
        await wait_until(pilot, lambda: "cannot be handed over" in screen.message, "the refusal")
        message = screen.message
    await _close(service)
    assert message.endswith("run `tui-agent login claude-code` in a shell.")
    assert ["auth", "login", "--claudeai"] not in calls(state)


async def test_claude_login_without_the_cli_says_how_to_install_it(home):
    service = make_service(home, "", env={"TUI_AGENT_CLAUDE_PATH": "", "PATH": str(home / "empty-bin")})
    provider = service.config.providers["claude-code"]
    app = Host(lambda: ClaudeLoginScreen(service, provider))
    async with app.run_test(size=SIZE):
        screen = app.screen
        text = str(screen.query_one("#claude-help").render())
        runnable = screen.check_action("run", ())
    await _close(service)
    assert "was not found" in text and "cli_path" in text
    assert runnable is False


async def test_claude_login_with_a_broken_cli_path_names_the_problem(home):
    service = make_service(home, "")  # TUI_AGENT_CLAUDE_PATH names a file that does not exist
    provider = service.config.providers["claude-code"]
    app = Host(lambda: ClaudeLoginScreen(service, provider))
    async with app.run_test(size=SIZE):
        screen = app.screen
        text = str(screen.query_one("#claude-help").render())
        runnable = screen.check_action("run", ())
    await _close(service)
    assert text.startswith("The Claude Code CLI cannot be used: TUI_AGENT_CLAUDE_PATH is set to")
    assert runnable is False


async def test_claude_logout_runs_the_cli_logout_while_suspended(home, monkeypatch):
    service, state = claude_service(home, {"auth_status": {"stdout": json.dumps(LOGGED_IN), "exit": 0}})
    app = Host(lambda: ClaudeLoginScreen(service, service.config.providers["claude-code"]))
    async with app.run_test(size=SIZE):
        events = stub_suspend(app, monkeypatch)
        sentence = await log_out(app, service, "claude-code")
    await _close(service)
    assert events == ["suspended", "resumed"]
    assert ["auth", "logout"] in calls(state)
    assert sentence == "Logged out of Claude Code (claude auth logout)."


# --- API key -------------------------------------------------------------------------------------------------------------


def openai_config(fake: FakeOpenAI) -> str:
    return f'[providers.openai]\nbase_url = "{fake.base_url}"\n'


async def test_api_key_screen_saves_an_accepted_key_masked_everywhere(home):
    with FakeOpenAI(api_key=GOOD_KEY) as fake:
        service = make_service(home, openai_config(fake))
        app = Host(lambda: ApiKeyScreen(service, service.config.providers["openai"]))
        async with app.run_test(size=SIZE) as pilot:
            field = app.screen.query_one("#login-key", Input)
            assert field.password
            field.value = GOOD_KEY
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.results, "the key check")
        await _close(service)
        assert [r.headers.get("authorization") for r in fake.requests] == [f"Bearer {GOOD_KEY}"]
    result = app.results[0]
    assert result.ok and "sk-tes…cdef" in result.message and GOOD_KEY not in result.message
    assert (await service.store.get("openai")).secret == GOOD_KEY


async def test_api_key_screen_refused_key_is_not_saved_and_can_be_retried(home):
    with FakeOpenAI(api_key=GOOD_KEY) as fake:
        service = make_service(home, openai_config(fake))
        app = Host(lambda: ApiKeyScreen(service, service.config.providers["openai"]))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            field = screen.query_one("#login-key", Input)
            field.value = "sk-test-wrong-key-000000000000000"
            await pilot.press("enter")
            await wait_until(pilot, lambda: "refused" in screen.message, "the refusal")
            message = screen.message
            assert app.results == [] and field.value == ""
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.results, "the cancel")
        await _close(service)
    assert message.startswith("OpenAI refused the key (") and message.endswith("; it was not saved.")
    assert "wrong-key" not in message
    assert "login" not in message  # not "run the login you are in"
    assert await service.store.get("openai") is None
    assert app.results[0].cancelled


# --- choosing the screen -------------------------------------------------------------------------------------------------


async def test_login_screen_for_picks_each_method_and_explains_what_it_cannot(home):
    service = make_service(home, '[providers.corp]\nkind = "openai-chat"\nbase_url = "https://llm.example.com/v1"\nauth = ["oauth-pkce"]\n')
    assert isinstance(login_screen_for(service, "openai"), ApiKeyScreen)
    assert isinstance(login_screen_for(service, "openrouter"), BrowserLoginScreen)  # its PKCE flow yields a key
    assert isinstance(login_screen_for(service, "openrouter", api_key=True), ApiKeyScreen)
    assert isinstance(login_screen_for(service, "claude-code-max"), ClaudeLoginScreen)  # aliases resolve
    assert login_screen_for(service, "ollama") == "Ollama needs no login; edit its base URL or test the connection instead."
    sentence = login_screen_for(service, "corp")
    assert sentence.startswith("corp cannot log in yet: providers.corp.oauth.client_id") and str(service.config.file) in sentence
    assert login_screen_for(service, "azure-openai").startswith("Azure OpenAI cannot log in yet: providers.azure-openai.base_url")
    assert login_screen_for(service, "opnai").startswith("unknown provider `opnai`; did you mean `openai`?")
    await _close(service)
