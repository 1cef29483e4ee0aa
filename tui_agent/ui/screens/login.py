"""Login screens: API key entry, OAuth device code, browser (PKCE) with a paste fallback, and the Claude Code CLI.

Each is a ModalScreen[LoginResult] that renders the typed steps of a login the service plans and drives
(tui_agent/auth/login.py); `login_screen_for` shows the screen for the service's plan, and `log_out` asks the
service to log out (handing the terminal to the Claude Code CLI when it needs it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState
from textual.widgets import Footer, Input, Label, Static

from tui_agent.sanitize import sanitize
from tui_agent.core.credentials import CredentialState, CredentialStatus
from tui_agent.core.credentials import state_line as _state_line
from tui_agent.core.login import Failed, LoginPlan, Obtained, OpenUrl, Progress, ShowCode, Tick
from tui_agent.errors import AuthError, ProviderError, TuiAgentError, Unreachable
from tui_agent.ui.slash import as_slash_commands

if TYPE_CHECKING:
    from textual.app import App

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


def login_screen_for(
    service: "AgentService", provider_id: str, method: str | None = None, *, api_key: bool = False
) -> "ModalScreen[LoginResult] | str":
    """The login screen for the service's plan (the provider's default method unless `method`), or why there is none.

    `api_key=True` asks for a pasted key even where the default is a browser flow (OpenRouter).
    """
    try:
        plan = service.plan_login(provider_id, method, paste_key=api_key)
    except TuiAgentError as exc:
        return str(exc)
    provider = plan.provider
    if plan.flow == "none":
        return f"{provider.name} needs no login; edit its base URL or test the connection instead."
    if plan.flow == "claude-cli":
        return ClaudeLoginScreen(service, provider)
    if plan.flow == "device":
        return DeviceLoginScreen(service, provider)
    if plan.flow == "browser":
        return BrowserLoginScreen(service, provider, plan.method)
    return ApiKeyScreen(service, provider)


async def log_out(app: "App", service: "AgentService", provider_id: str) -> str:
    """Log out through the service (claude-code: `claude auth logout` with the app suspended); one sentence back."""
    try:
        return await service.logout(provider_id, hand_over=app.suspend)
    except TuiAgentError as exc:
        return str(exc)
    except Exception as exc:  # SuspendNotSupported and friends: the terminal cannot be handed over
        return _no_suspend_sentence(exc, f"tui-agent logout {provider_id}")


def _no_suspend_sentence(exc: Exception, command: str) -> str:
    log.info("suspend failed: %s", type(exc).__name__)
    return f"This terminal cannot be handed over to another program ({type(exc).__name__}); run `{command}` in a shell."


def state_line(status: CredentialStatus | None) -> str:
    """`✓ ready as WHO — detail` (or `? not checked yet`); shell commands in the detail become slash commands."""
    detail = as_slash_commands(status.detail) if status is not None else None
    return _state_line(status, identity=True, detail=detail)


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
        widget.update(Text(sanitize(message)))  # it may quote a server or an identity it sent
        widget.set_class(error, "-error")

    @property
    def message(self) -> str:
        return str(self.query_one("#login-message", Static).render())

    async def _ended_by(self, step: object) -> bool:
        """A Failed or Obtained step ends the login on screen (the same for every flow); True when it did."""
        if isinstance(step, Failed):
            self._fail(step.sentence)
            return True
        if isinstance(step, Obtained):
            await self.finish(True, step.sentence)
            return True
        return False

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
    """Paste a key (masked); it is checked with a cheap authenticated request and saved only when accepted.

    When the check could not reach the provider (network, DNS, TLS, timeout, no models endpoint) — never when
    the key was refused — ctrl+s saves the key anyway, as `unknown` until its first use.
    """

    BINDINGS = [Binding("ctrl+s", "save_anyway", "Save anyway"), Binding("escape", "cancel", "Cancel")]

    def __init__(self, service: "AgentService", provider: "ProviderConfig") -> None:
        super().__init__(service, provider)
        self.unchecked_key = ""  # the key whose check could not reach the provider: it may be saved anyway

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
        from tui_agent.redact import register_secret

        register_secret(key)  # from here on the log filter removes it wherever it might appear
        try:
            await self.service.check_api_key(self.provider.id, key)
        except AuthError as exc:
            self._refused(f"{self.label} refused the key ({_clip(exc)}); it was not saved.")
            return
        except Unreachable as exc:
            self.unchecked_key = key
            self.say(f"The key could not be checked with {self.label} ({_clip(exc)}); it was not saved. ctrl+s saves it anyway, unchecked.", error=True)
            self.refresh_bindings()
            return
        except TuiAgentError as exc:  # ProviderError included
            self._refused(f"The key could not be checked with {self.label} ({_clip(exc)}); it was not saved.")
            return
        await self._save(key, checked=True)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "save_anyway":
            return bool(self.unchecked_key) and self.query_one("#login-key", Input).value.strip() == self.unchecked_key
        return True

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.refresh_bindings()  # a different key withdraws "save anyway"

    def action_save_anyway(self) -> None:
        if self.check_action("save_anyway", ()):
            self.run_worker(self._save(self.unchecked_key, checked=False), group="login", exclusive=True, exit_on_error=False)

    async def _save(self, key: str, *, checked: bool) -> None:
        try:
            sentence = await self.service.save_api_key(self.provider.id, key, checked=checked)
        except Exception as exc:  # a keyring that refuses to store: say so, the key stays unsaved
            log.error("storing the key for %s failed: %s", self.provider.id, type(exc).__name__)
            accepted = "was accepted but " if checked else ""
            self._refused(f"The key {accepted}could not be saved in {self.service.store.description} ({type(exc).__name__}).")
            return
        await self.finish(True, sentence)

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
        self.authorization: ShowCode | None = None
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

    async def make_flow(self) -> tuple[Any, str | None] | None:
        """A prepared (flow, token endpoint) pair to drive instead of the provider's own; None (the default) in use."""
        return None

    async def _login(self) -> None:
        plan = LoginPlan(self.provider, "oauth-device", "device")
        steps = self.service.login(plan, clock=self._clock, sleep=self._sleep, flow=await self.make_flow())
        async for step in steps:
            if isinstance(step, ShowCode):
                self._show_authorization(step)
            elif isinstance(step, Tick):
                self._on_tick(step)
            elif isinstance(step, Progress):
                self._say_step(step.sentence)
            elif await self._ended_by(step):
                return

    def _show_authorization(self, step: ShowCode) -> None:
        self.authorization = step
        self._deadline = self._clock() + step.expires_in
        self._say_step("Open this address in a browser (on any device) and enter the code:")
        extra = f"\nor open {step.complete_url}, which fills the code in" if step.complete_url else ""
        self.query_one("#device-url", Static).update(Text(step.url + extra))
        code = self.query_one("#device-code", Static)
        code.update(Text(_banner(step.code)))
        code.display = True
        self._show_countdown()
        self.say("Waiting for you to finish in the browser…")
        self.refresh_bindings()

    def _on_tick(self, tick: Tick) -> None:
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
            self.app.copy_to_clipboard(self.authorization.code)
            self.say("The code is copied; waiting for you to finish in the browser…")

    def action_copy_url(self) -> None:
        if self.authorization is not None:
            self.app.copy_to_clipboard(self.authorization.complete_url or self.authorization.url)
            self.say("The address is copied; waiting for you to finish in the browser…")

    def action_open_browser(self) -> None:
        auth = self.authorization
        if auth is None:
            return
        # The server chose this address: the driver passes on only a web address, never file: or a handler.
        if not auth.openable:
            self.say("The server's verification address is not a web address, so it is not opened; copy it instead.", error=True)
            return
        if _open(self.app, auth.openable, self._open_url, self.service):
            self.say("Opened the browser; waiting for you to finish there…")

    def action_retry(self) -> None:
        if self.failed:
            self._start()

    def failed_unexpectedly(self, sentence: str) -> None:
        self._fail(sentence)



def _banner(code: str) -> str:
    """The user code spaced out so it reads large and cannot be mistaken (shown bold in a box)."""
    return " ".join(code)


def _open(app: "App", url: str, opener: Callable[[str], Any] | None, service: "AgentService") -> bool:
    """Open `url` in a browser when there is one here; otherwise copy it. True when a browser was asked."""
    if opener is not None:
        opener(url)
        return True
    if not service.browser_available():
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
        self._pasted: asyncio.Queue[str] = asyncio.Queue()
        self._waiting = False  # the driver is waiting for the browser or a pasted answer

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

    async def make_flow(self) -> tuple[Any, str | None] | None:
        """A prepared (flow, token endpoint) pair to drive instead of the provider's own; None (the default) in use."""
        return None

    async def _login(self) -> None:
        plan = LoginPlan(self.provider, self.method, "browser")
        self._pasted = asyncio.Queue()
        steps = self.service.login(plan, pasted=self._pasted, redirect_timeout=self._redirect_timeout, flow=await self.make_flow())
        try:
            async for step in steps:
                if isinstance(step, OpenUrl):
                    self.url = step.url
                    self._waiting = True
                    self._show_url()
                elif isinstance(step, Progress):
                    if step.error:
                        self.say(step.sentence, error=True)
                    else:
                        self._waiting = False
                        self.query_one("#browser-paste", Input).value = ""
                        self._step(step.sentence)
                elif await self._ended_by(step):
                    return
        finally:
            self._waiting = False

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
        if not self._waiting or self.failed:
            self.say("Nothing is waiting for a pasted address right now.", error=True)
            return
        if not field.value.strip():
            self.say("Nothing was pasted; paste the address the browser was sent to after signing in, or the code it shows. Try again, or wait for the browser.", error=True)
            return
        self._pasted.put_nowait(field.value)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("open_browser", "copy_url"):
            return bool(self.url) and not self.failed
        if action == "retry":
            return self.failed
        return True

    def action_open_browser(self) -> None:
        if self.url:
            if _open(self.app, self.url, self._open_url, self.service):
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

    def __init__(self, service: "AgentService", provider: "ProviderConfig") -> None:
        super().__init__(service, provider)
        self.ran = False
        self.status: CredentialStatus | None = None
        self._cli_running = False
        found = service.claude_cli(provider.id)
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
        assert self.location is not None
        self.say("Running claude auth login…")
        try:
            try:
                code, self.status = await self.service.claude_login(
                    self.provider.id, hand_over=self.app.suspend, say=lambda line: print(line, flush=True)
                )
            except ProviderError as exc:
                self.say(str(exc), error=True)
                return
            except Exception as exc:  # SuspendNotSupported: this terminal cannot be handed over
                self.say(_no_suspend_sentence(exc, f"tui-agent login {self.provider.id}"), error=True)
                return
            self.ran = True
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
