"""Login screens: API key entry, OAuth device code, browser (PKCE) with a paste fallback, and the Claude Code CLI.

Each is a ModalScreen[LoginResult] that drives the UI-agnostic flows in tui_agent.auth; `login_screen_for` picks
the right one for a provider, and `log_out` forgets a provider's credential (or runs the CLI's own logout).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import urlsplit

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState
from textual.widgets import Footer, Input, Label, Static

from tui_agent.auth.state import STATE_SYMBOL, CredentialState, CredentialStatus
from tui_agent.errors import AuthError, ProviderError, TuiAgentError

if TYPE_CHECKING:
    from textual.app import App

    from tui_agent.auth.oauth.device import DeviceAuthorization, DeviceFlow, PollTick
    from tui_agent.auth.state import StoredCredential
    from tui_agent.config.schema import ProviderConfig
    from tui_agent.service.agent import AgentService

log = logging.getLogger("tui_agent.ui.login")

REDIRECT_TIMEOUT = 600.0  # seconds the browser screen waits for the redirect before saying so


@dataclass(frozen=True)
class LoginResult:
    """How a login screen closed: `ok` when a credential is now stored (or the CLI reports a login)."""

    provider: str
    ok: bool
    message: str  # one sentence for the person; never a secret (keys appear masked)
    status: CredentialStatus | None = None  # the provider's state after the attempt, when it was checked
    cancelled: bool = False

    @property
    def offer_models(self) -> bool:
        """Whether the caller should offer the model picker filtered to this provider."""
        return self.ok


# --- choosing a screen, and logging out -----------------------------------------------------------------------


def uses_key_flow(provider: "ProviderConfig") -> bool:
    """OpenRouter-style providers: a PKCE flow that yields an API key (a keys endpoint and no client id)."""
    oauth = provider.oauth
    return bool(oauth and oauth.keys_endpoint and not oauth.client_id)


def login_screen_for(
    service: "AgentService", provider_id: str, method: str | None = None, *, api_key: bool = False
) -> "ModalScreen[LoginResult] | str":
    """The login screen for a provider's method (its default unless `method`), or a sentence saying why there is none.

    `api_key=True` asks for a pasted key even where the default is a browser flow (OpenRouter).
    """
    config = service.config
    pid = config.canonical_provider_id(provider_id)
    if pid is None:
        from tui_agent.config.problems import closest_first

        choices = closest_first(provider_id, config.provider_choices())
        return f"There is no provider called {provider_id}; did you mean {choices[0]}?"
    provider = config.providers[pid]
    chosen = "api-key" if api_key else (method or provider.default_method)
    if chosen not in provider.auth:
        return f"{provider.name} does not take {chosen} logins; it allows {', '.join(provider.auth)}."
    from tui_agent.config.load import missing_settings

    missing = missing_settings(provider, chosen)
    if missing:
        keys = ", ".join(f"providers.{pid}.{key}" for key, _why in missing)
        hint = provider.setup_hint or "set them in config.toml"
        return f"{provider.name} cannot log in yet: {keys} missing in {config.file}; {hint}."
    if chosen == "none":
        return f"{provider.name} needs no login; edit its base URL or test the connection instead."
    if chosen == "claude-cli":
        return ClaudeLoginScreen(service, provider)
    if chosen == "oauth-device":
        return DeviceLoginScreen(service, provider)
    if chosen == "oauth-pkce" or (chosen == "api-key" and not api_key and method is None and uses_key_flow(provider)):
        return BrowserLoginScreen(service, provider, chosen)
    return ApiKeyScreen(service, provider)


async def log_out(app: "App", service: "AgentService", provider_id: str) -> str:
    """Forget the stored credential (claude-code: run `claude auth logout` with the app suspended); one sentence back."""
    provider = service.config.providers[provider_id]
    if provider.default_method == "claude-cli":
        from tui_agent.auth import claude_cli

        location = claude_cli.find_claude_cli(provider, service.env)
        if location is None:
            return "The Claude Code CLI was not found, so there is no login to remove."
        try:
            with app.suspend():
                code = await claude_cli.run_logout(location, service.env)
        except ProviderError as exc:
            return str(exc)
        except Exception as exc:  # SuspendNotSupported and friends: the terminal cannot be handed over
            return _no_suspend_sentence(exc, f"tui-agent logout {provider.id}")
        await service.credential_status(provider.id)  # run_logout has dropped the cached CLI status
        if code != 0:
            return f"claude auth logout ended with status {code}; the Claude Code login may still be there."
        return "Logged out of Claude Code (claude auth logout)."
    return await service.forget(provider.id)


def _no_suspend_sentence(exc: Exception, command: str) -> str:
    log.info("suspend failed: %s", type(exc).__name__)
    return f"This terminal cannot be handed over to another program ({type(exc).__name__}); run `{command}` in a shell."


_CLI_COMMAND = re.compile(r"`tui-agent (login|logout) ([^`]+)`")


def state_line(status: CredentialStatus | None) -> str:
    """`✓ ready — detail` for a status, `? not checked yet` without one; shell commands become slash commands."""
    if status is None:
        return f"{STATE_SYMBOL[CredentialState.UNKNOWN]} not checked yet"
    line = f"{STATE_SYMBOL[status.state]} {status.state.value}"
    if status.identity:
        line += f" as {status.identity}"
    detail = _CLI_COMMAND.sub(r"/\1 \2", status.detail)
    return line + (f" — {detail}" if detail else "")


# --- the shared frame -----------------------------------------------------------------------------------------------


class _LoginScreen(ModalScreen[LoginResult]):
    """A bordered box with a title, a body, a one-line message and the footer; Escape cancels."""

    CSS_PATH = str(Path(__file__).with_name("login.tcss"))  # absolute: subclasses elsewhere find it too
    BINDINGS: list[Binding] = []  # each screen lists Escape last, so its own keys lead the footer

    def __init__(self, service: "AgentService", provider: "ProviderConfig") -> None:
        super().__init__()
        self.service = service
        self.provider = provider
        self.label = provider.name
        self.done = False  # set once a result is on its way, so a late answer cannot dismiss twice

    def title_text(self) -> str:
        return f"Log in to {self.label}"

    def compose(self) -> ComposeResult:
        with Vertical(id="login"):
            yield Label(self.title_text(), id="login-title", markup=False)
            yield from self.compose_body()
            yield Static("", id="login-message", markup=False)
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def say(self, message: str, *, error: bool = False) -> None:
        widget = self.query_one("#login-message", Static)
        widget.update(Text(message))
        widget.set_class(error, "-error")

    @property
    def message(self) -> str:
        return str(self.query_one("#login-message", Static).render())

    async def finish(self, ok: bool, message: str, *, cancelled: bool = False) -> None:
        """Check the provider's state once more, then close with the result."""
        if self.done:
            return
        self.done = True
        status = None
        if not cancelled:
            try:
                status = await self.service.credential_status(self.provider.id)
            except Exception:  # the login itself is what we report; a failed re-check must not hide it
                log.exception("status check after login failed for %s", self.provider.id)
        self.dismiss(LoginResult(self.provider.id, ok, message, status, cancelled))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A bug must not leave the screen waiting forever: say so in one sentence; the log has the traceback.
        if event.state == WorkerState.ERROR and not self.done:
            error = event.worker.error
            log.error("login worker failed for %s", self.provider.id, exc_info=error)
            self.failed_unexpectedly(f"The login to {self.label} stopped on an unexpected {type(error).__name__}; the log file has the details.")

    def failed_unexpectedly(self, sentence: str) -> None:
        self.say(sentence, error=True)

    def action_cancel(self) -> None:
        if self.done:
            return
        self.done = True
        self.workers.cancel_all()
        self.dismiss(LoginResult(self.provider.id, False, f"Login to {self.label} cancelled; nothing was stored.", cancelled=True))


# --- API key -------------------------------------------------------------------------------------------------------


class _KeyInput(Input):
    BINDINGS = [Binding("enter", "screen.submit", "Check and save")]


class ApiKeyScreen(_LoginScreen):
    """Paste a key (masked); it is checked with a cheap authenticated request and saved only when accepted."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def title_text(self) -> str:
        return f"API key for {self.label}"

    def compose_body(self) -> ComposeResult:
        where = self.provider.base_url or "the provider"
        yield Static(
            f"The key is checked with one request to {where} (the model list) and saved only if it is accepted. "
            "It is never shown or written to config.toml.",
            id="login-help", markup=False,
        )
        env = self.provider.api_key_env
        if env:
            yield Static(f"A saved key takes precedence over {env} in the environment.", classes="login-note", markup=False)
        yield _KeyInput(placeholder="Paste the API key", password=True, id="login-key")

    def on_mount(self) -> None:
        self.query_one("#login-key", Input).focus()

    def action_submit(self) -> None:
        key = self.query_one("#login-key", Input).value.strip()
        if not key:
            self.say("Paste the key first; Escape cancels.", error=True)
            return
        if any(c.isspace() for c in key):
            self.say("A key has no spaces in it; paste just the key.", error=True)
            return
        self.say(f"Checking the key with {self.label}…")
        self.run_worker(self._check_and_save(key), group="login", exclusive=True, exit_on_error=False)

    async def _check_and_save(self, key: str) -> None:
        from tui_agent.commands import store_api_key, validate_api_key
        from tui_agent.redact import mask, register_secret

        register_secret(key)  # from here on the log filter removes it wherever it might appear
        try:
            await validate_api_key(self.service, self.provider, key)
        except AuthError as exc:
            self._refused(f"{self.label} refused the key ({_clip(exc)}); it was not saved.")
            return
        except (ProviderError, TuiAgentError) as exc:
            self._refused(f"The key could not be checked with {self.label} ({_clip(exc)}); it was not saved.")
            return
        try:
            await store_api_key(self.service, self.provider, key)
        except Exception as exc:  # a keyring that refuses to store: say so, the key stays unsaved
            log.error("storing the key for %s failed: %s", self.provider.id, type(exc).__name__)
            self._refused(f"The key was accepted but could not be saved in {self.service.store.description} ({type(exc).__name__}).")
            return
        await self.finish(True, f"Logged in to {self.label} with key {mask(key)} (stored in {self.service.store.description}).")

    def _refused(self, sentence: str) -> None:
        self.say(sentence, error=True)
        field = self.query_one("#login-key", Input)
        field.value = ""
        field.focus()


def _clip(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- device code ------------------------------------------------------------------------------------------------------


class DeviceLoginScreen(_LoginScreen):
    """RFC 8628: show the verification address and the user code (large), count down to expiry, poll until done.

    `clock` and `sleep` are the flow's; tests inject them so nothing waits through a real polling interval.
    """

    BINDINGS = [
        Binding("c", "copy_code", "Copy code"),
        Binding("u", "copy_url", "Copy URL"),
        Binding("o", "open_browser", "Open browser"),
        Binding("r", "retry", "Try again"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        service: "AgentService",
        provider: "ProviderConfig",
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        open_url: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__(service, provider)
        self._clock = clock
        self._sleep = sleep
        self._open_url = open_url
        self.authorization: "DeviceAuthorization | None" = None
        self._flow: "DeviceFlow | None" = None
        self._deadline: float | None = None
        self.failed = False

    def compose_body(self) -> ComposeResult:
        yield Static("Asking for a code…", id="device-step", markup=False)
        yield Static("", id="device-url", markup=False)
        yield Static("", id="device-code", markup=False)
        yield Static("", id="device-countdown", markup=False)

    def on_mount(self) -> None:
        self.query_one("#device-code").display = False
        self.set_interval(1.0, self._show_countdown)
        self._start()

    def _start(self) -> None:
        self.failed = False
        self.authorization = None
        self._deadline = None
        self.refresh_bindings()
        self.run_worker(self._login(), group="login", exclusive=True, exit_on_error=False)

    async def make_flow(self) -> tuple[Any, str | None]:
        """The device flow for this provider and the token endpoint a refresh will use."""
        from tui_agent.auth.oauth.device import DeviceFlow
        from tui_agent.auth.oauth.discovery import resolve_endpoints

        oauth = self.provider.oauth
        if oauth is None or not oauth.client_id:
            raise AuthError(
                f"{self.label} needs providers.{self.provider.id}.oauth.client_id for device login; "
                "use the client id your identity provider issued for this app"
            )
        endpoints = await resolve_endpoints(self.provider, self.service.client)
        flow = DeviceFlow(
            self.service.client, endpoints, client_id=oauth.client_id, scopes=oauth.scopes, audience=oauth.audience,
            use_pkce=oauth.pkce, label=self.label, clock=self._clock, sleep=self._sleep,
        )
        return flow, endpoints.token_endpoint

    async def _login(self) -> None:
        from tui_agent.auth.oauth._common import LoginCancelled, credential_from_tokens

        try:
            flow, token_endpoint = await self.make_flow()
            self._flow = flow
            auth = await flow.start()
            self._show_authorization(auth)
            tokens = await flow.poll_until_done(self._on_tick)
            self._say_step("Signed in; saving the token…")
            credential = credential_from_tokens(
                self.provider, tokens, token_endpoint=token_endpoint, obtained_by="device flow", now=datetime.now(timezone.utc)
            )
            await self.service.store.put(self.provider.id, credential)
        except LoginCancelled:
            return
        except (TuiAgentError, OSError) as exc:
            self._fail(str(exc))
            return
        from tui_agent.auth.oauth.terminal import success_sentence

        await self.finish(True, success_sentence(self.label, credential, self.service.store.description))

    def _show_authorization(self, auth: "DeviceAuthorization") -> None:
        from tui_agent.auth.oauth._common import printable

        self.authorization = auth
        self._deadline = self._clock() + auth.expires_in
        self._say_step("Open this address in a browser (on any device) and enter the code:")
        url = printable(auth.verification_uri, 2000)
        extra = ""
        if auth.verification_uri_complete:
            extra = f"\nor open {printable(auth.verification_uri_complete, 2000)}, which fills the code in"
        self.query_one("#device-url", Static).update(Text(url + extra))
        code = self.query_one("#device-code", Static)
        code.update(Text(_banner(printable(auth.user_code, 64))))
        code.display = True
        self._show_countdown()
        self.say("Waiting for you to finish in the browser…")
        self.refresh_bindings()

    def _on_tick(self, tick: "PollTick") -> None:
        # The flow's own clock is the truth: re-anchor the countdown at every poll.
        self._deadline = self._clock() + tick.seconds_left
        self._show_countdown()
        if tick.last in ("network error", "server error"):
            self.say(f"{tick.last.capitalize()} while checking with {self.label}; trying again in {int(tick.next_poll_in)} s.")
        elif tick.last == "slow_down":
            self.say(f"{self.label} asked to check less often; waiting for you to finish in the browser…")

    def _show_countdown(self) -> None:
        if self._deadline is None or self.failed or not self.is_attached:
            return
        left = max(0, int(self._deadline - self._clock()))
        self.query_one("#device-countdown", Static).update(f"The code expires in {left // 60}:{left % 60:02d}")

    def _say_step(self, text: str) -> None:
        self.query_one("#device-step", Static).update(Text(text))

    def _fail(self, sentence: str) -> None:
        self.failed = True
        self._say_step("The login did not finish.")
        self.query_one("#device-code").display = False
        self.query_one("#device-countdown", Static).update("")
        self.say(sentence, error=True)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("copy_code", "copy_url", "open_browser"):
            return self.authorization is not None and not self.failed
        if action == "retry":
            return self.failed
        return True

    def action_copy_code(self) -> None:
        if self.authorization is not None:
            self.app.copy_to_clipboard(self.authorization.user_code)
            self.say("The code is copied; waiting for you to finish in the browser…")

    def action_copy_url(self) -> None:
        if self.authorization is not None:
            self.app.copy_to_clipboard(self.authorization.verification_uri_complete or self.authorization.verification_uri)
            self.say("The address is copied; waiting for you to finish in the browser…")

    def action_open_browser(self) -> None:
        auth = self.authorization
        if auth is None:
            return
        page = auth.verification_uri_complete or auth.verification_uri
        # The server chose this address: only a web address goes to the browser, never file: or a handler.
        if urlsplit(page).scheme not in ("https", "http"):
            self.say("The server's verification address is not a web address, so it is not opened; copy it instead.", error=True)
            return
        if _open(self.app, page, self._open_url, self.service.env):
            self.say("Opened the browser; waiting for you to finish there…")

    def action_retry(self) -> None:
        if self.failed:
            self._start()

    def failed_unexpectedly(self, sentence: str) -> None:
        self._fail(sentence)

    def action_cancel(self) -> None:
        if self._flow is not None:
            self._flow.cancel()
        super().action_cancel()


def _banner(code: str) -> str:
    """The user code spaced out so it reads large and cannot be mistaken (shown bold in a box)."""
    return " ".join(code)


def _open(app: "App", url: str, opener: Callable[[str], Any] | None, env: Mapping[str, str]) -> bool:
    """Open `url` in a browser when there is one here; otherwise copy it. True when a browser was asked."""
    if opener is not None:
        opener(url)
        return True
    from tui_agent.auth.oauth.pkce_flow import browser_available

    if not browser_available(env=env):
        # Without a display Python's webbrowser would start a text browser on top of the TUI.
        app.copy_to_clipboard(url)
        app.notify("No browser here (SSH or no display): the address is copied instead.", markup=False)
        return False
    app.open_url(url)
    return True


# --- browser (authorization code + PKCE) -------------------------------------------------------------------------------


class _PasteInput(Input):
    BINDINGS = [Binding("enter", "screen.paste", "Use pasted")]


class BrowserLoginScreen(_LoginScreen):
    """Authorization code + PKCE: the browser comes back to a loopback listener, or the person pastes where it ended."""

    BINDINGS = [
        Binding("ctrl+o", "open_browser", "Open browser"),
        Binding("ctrl+y", "copy_url", "Copy URL"),
        Binding("ctrl+r", "retry", "Try again"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        service: "AgentService",
        provider: "ProviderConfig",
        method: str = "oauth-pkce",
        *,
        open_url: Callable[[str], Any] | None = None,
        redirect_timeout: float = REDIRECT_TIMEOUT,
    ) -> None:
        super().__init__(service, provider)
        self.method = method
        self._open_url = open_url
        self._redirect_timeout = redirect_timeout
        self.url = ""
        self.failed = False
        self._flow: Any = None
        self._pasted: asyncio.Future[str] | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("Preparing the sign-in address…", id="browser-step", markup=False)
        yield Static("", id="browser-url", markup=False)
        yield Static(
            "If the browser cannot reach this machine (SSH, a container), paste the address it ended on, or the code it shows:",
            id="browser-paste-help", markup=False,
        )
        yield _PasteInput(placeholder="Paste the address from the browser's address bar", id="browser-paste")

    def on_mount(self) -> None:
        self.query_one("#browser-paste", Input).focus()
        self._start()

    def _start(self) -> None:
        self.failed = False
        self.url = ""
        self.refresh_bindings()
        self.run_worker(self._login(), group="login", exclusive=True, exit_on_error=False)

    async def make_flow(self) -> tuple[Any, str | None]:
        """The PKCE flow for this provider (OpenRouter's key variant included) and its token endpoint."""
        from tui_agent.auth.oauth.discovery import resolve_endpoints
        from tui_agent.auth.oauth.pkce_flow import PkceFlow

        oauth = self.provider.oauth
        key_flow = uses_key_flow(self.provider)
        if not key_flow and (oauth is None or not oauth.client_id):
            raise AuthError(
                f"{self.label} needs providers.{self.provider.id}.oauth.client_id for browser login; "
                "use the client id your identity provider issued for this app"
            )
        endpoints = await resolve_endpoints(self.provider, self.service.client)
        flow = PkceFlow(
            self.service.client, endpoints, client_id=None if key_flow else oauth.client_id,
            scopes=oauth.scopes if oauth else (), audience=oauth.audience if oauth else None, label=self.label,
        )
        return flow, endpoints.token_endpoint

    async def _login(self) -> None:
        from tui_agent.auth.oauth._common import credential_from_tokens
        from tui_agent.auth.oauth.pkce_flow import KeyResult

        redirect: asyncio.Future[str] | None = None
        try:
            flow, token_endpoint = await self.make_flow()
            self._flow = flow
            try:
                self.url = await flow.begin()
                self._show_url()
                self._pasted = asyncio.get_running_loop().create_future()
                redirect = asyncio.ensure_future(flow.wait_for_redirect(self._redirect_timeout))
                done, _ = await asyncio.wait({redirect, self._pasted}, return_when=asyncio.FIRST_COMPLETED)
                code = redirect.result() if redirect in done else self._pasted.result()
                self._step("Signed in; exchanging the code…")
                result = await flow.exchange(code)
            finally:
                if redirect is not None and not redirect.done():
                    redirect.cancel()
                await flow.close()
            if isinstance(result, KeyResult):
                from tui_agent.auth.state import StoredCredential
                from tui_agent.auth.store import bound_host

                credential = StoredCredential(
                    kind="api-key", secret=result.key, host=bound_host(self.provider), obtained_by="PKCE", identity=result.user_id
                )
            else:
                credential = credential_from_tokens(
                    self.provider, result, token_endpoint=token_endpoint, obtained_by="PKCE", now=datetime.now(timezone.utc)
                )
            await self.service.store.put(self.provider.id, credential)
        except asyncio.TimeoutError:
            self._fail(f"The browser did not come back within {int(self._redirect_timeout // 60)} min; try again, or paste the address.")
            return
        except (TuiAgentError, OSError) as exc:
            self._fail(str(exc))
            return
        from tui_agent.auth.oauth.terminal import success_sentence

        await self.finish(True, success_sentence(self.label, credential, self.service.store.description))

    def _show_url(self) -> None:
        self._step("Open this address in a browser and sign in; tui-agent is listening for the browser to come back:")
        self.query_one("#browser-url", Static).update(Text(self.url))
        self.say("Waiting for the browser… (ctrl+o opens it here, ctrl+y copies the address)")
        self.refresh_bindings()

    def _step(self, text: str) -> None:
        self.query_one("#browser-step", Static).update(Text(text))

    def _fail(self, sentence: str) -> None:
        self.failed = True
        self._step("The login did not finish.")
        self.say(sentence, error=True)
        self.refresh_bindings()

    def action_paste(self) -> None:
        field = self.query_one("#browser-paste", Input)
        text = field.value
        if self._flow is None or self._pasted is None or self._pasted.done() or self.failed:
            self.say("Nothing is waiting for a pasted address right now.", error=True)
            return
        try:
            code = self._flow.accept_pasted(text)
        except AuthError as exc:
            self.say(f"{exc} Try again, or wait for the browser.", error=True)
            return
        field.value = ""
        self._pasted.set_result(code)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("open_browser", "copy_url"):
            return bool(self.url) and not self.failed
        if action == "retry":
            return self.failed
        return True

    def action_open_browser(self) -> None:
        if self.url:
            if _open(self.app, self.url, self._open_url, self.service.env):
                self.say("Opened the browser; waiting for it to come back…")

    def action_copy_url(self) -> None:
        if self.url:
            self.app.copy_to_clipboard(self.url)
            self.say("The address is copied; waiting for the browser to come back…")

    def action_retry(self) -> None:
        if self.failed:
            self._start()

    def failed_unexpectedly(self, sentence: str) -> None:
        self._fail(sentence)


# --- Claude Code -------------------------------------------------------------------------------------------------------


class ClaudeLoginScreen(_LoginScreen):
    """Hands the terminal to the official `claude auth login`, then shows what `claude auth status` says now."""

    BINDINGS = [
        Binding("enter", "run", "Run claude auth login"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, service: "AgentService", provider: "ProviderConfig", *, env: Mapping[str, str] | None = None) -> None:
        super().__init__(service, provider)
        self._env = service.env if env is None else env
        self.ran = False
        self.status: CredentialStatus | None = None
        self._cli_running = False
        from tui_agent.auth import claude_cli

        found = claude_cli.find_claude_cli(provider, self._env)
        self.problem = found.problem if found is not None else ""
        self.location = found if found is not None and not found.problem else None

    def title_text(self) -> str:
        return "Log in to Claude Code (your Claude subscription)"

    def compose_body(self) -> ComposeResult:
        if self.problem:
            text = f"The Claude Code CLI cannot be used: {self.problem}."
        elif self.location is None:
            text = (
                "The Claude Code CLI was not found. Install it (https://claude.com/claude-code), "
                f"or set providers.{self.provider.id}.cli_path in config.toml."
            )
        else:
            text = (
                "The official Claude Code CLI will take over this terminal to log you in "
                "(it opens a browser or asks you to paste a code). tui-agent comes back when it finishes. "
                "tui-agent never sees or stores the subscription token."
            )
        yield Static(text, id="claude-help", markup=False)
        yield Static("" if self.location is None else f"CLI: {self.location.path}", id="claude-path", markup=False)
        yield Static(state_line(self.service.last_status(self.provider.id)), id="claude-status", markup=False)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "run":
            return self.location is not None and not self._cli_running
        return True

    def action_run(self) -> None:
        if self.ran and self.status is not None and self.status.state == CredentialState.READY:
            self.run_worker(self.finish(True, f"Logged in to Claude Code: {state_line(self.status)}."), group="login")
            return
        if self.location is None or self._cli_running:
            return
        self._cli_running = True
        self.refresh_bindings()
        self.run_worker(self._login(), group="login", exclusive=True, exit_on_error=False)

    async def _login(self) -> None:
        from tui_agent.auth import claude_cli

        assert self.location is not None
        self.say("Running claude auth login…")
        try:
            try:
                with self.app.suspend():
                    print("Running `claude auth login`; tui-agent comes back when it finishes.", flush=True)
                    code = await claude_cli.run_login(self.location, self._env)
            except ProviderError as exc:
                self.say(str(exc), error=True)
                return
            except Exception as exc:  # SuspendNotSupported: this terminal cannot be handed over
                self.say(_no_suspend_sentence(exc, f"tui-agent login {self.provider.id}"), error=True)
                return
            claude_cli.invalidate()
            self.ran = True
            self.status = await self.service.credential_status(self.provider.id)
            self.query_one("#claude-status", Static).update(Text(state_line(self.status)))
            if self.status.state == CredentialState.READY:
                self.say("Claude Code reports a login. Enter closes; Escape too.")
                self._relabel("Done")
            else:
                failed = f"claude auth login ended with status {code}; " if code != 0 else ""
                self.say(f"{failed}Claude Code is still not logged in. Enter runs the login again.", error=True)
                self._relabel("Run claude auth login again")
        finally:
            self._cli_running = False
            self.refresh_bindings()

    def _relabel(self, description: str) -> None:
        self._bindings.bind("enter", "run", description)

    def action_cancel(self) -> None:
        if self.ran and self.status is not None and self.status.state == CredentialState.READY:
            self.action_run()
            return
        super().action_cancel()
