"""The auth dialog: every provider with its login state, and the actions that change it.

Log in, log out, set an API key, edit a local or custom provider's base URL and test it, explain the chain.
States load in a worker after the dialog is shown and follow the service's status changes live.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from datetime import timezone
from typing import TYPE_CHECKING, Callable, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, ListItem, ListView, Static
from textual.worker import Worker, WorkerState

from tui_agent.core.credentials import CredentialStatus, state_label
from tui_agent.errors import ConfigError, ProviderError
from tui_agent.sanitize import sanitize
from tui_agent.service.agent import usable
from tui_agent.ui.screens.login import LoginResult, log_out, login_screen_for, state_line
from tui_agent.ui.status_signal import state_classes, status_signal

if TYPE_CHECKING:
    from tui_agent.config.load import Config
    from tui_agent.config.schema import ProviderConfig
    from tui_agent.service.agent import AgentService

log = logging.getLogger("tui_agent.ui.auth_dialog")

AuthAction = Literal["close", "pick-model"]


@dataclass(frozen=True)
class AuthResult:
    """How the dialog closed: `pick-model` asks the caller to open the model picker filtered to `provider`."""

    action: AuthAction
    provider: str | None = None  # for `close`: the provider a login just succeeded for, if any
    config: "Config | None" = None  # the re-loaded configuration when config.toml was written while open
    message: str = ""  # the last thing the dialog said (one sentence), for the conversation


def _expiry(status: CredentialStatus | None) -> str:
    if status is None or status.expires_at is None:
        return "-"
    return status.expires_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


NARROW_DIALOG = 100  # terminal columns below which the table drops its method and source columns


class AuthProviderRow(ListItem):
    """One provider: state (symbol + word, coloured by class), name, method, source, identity, expiry."""

    def __init__(self, provider: "ProviderConfig", status: CredentialStatus | None) -> None:
        super().__init__(id=f"row-{provider.id}")
        self.provider = provider
        self.status = status

    def compose(self) -> ComposeResult:
        with Horizontal(classes="auth-row"):
            yield Label("", classes="col-state", markup=False)
            yield Label(self.provider.name, classes="col-name", markup=False)
            yield Label("", classes="col-method", markup=False)
            yield Label("", classes="col-source", markup=False)
            yield Label("", classes="col-identity", markup=False)
            yield Label("", classes="col-expires", markup=False)

    def on_mount(self) -> None:
        self.show(self.status)

    def show(self, status: CredentialStatus | None) -> None:
        self.status = status
        state = status.state if status is not None else None
        self.update_classes(state_classes(state))
        if not self.is_mounted:
            return
        text = state_label(state) if state is not None else "… checking"
        self.query_one(".col-state", Label).update(text)
        self.query_one(".col-method", Label).update(status.auth_method if status else self.provider.default_method)
        source = status.source if status else ""
        self.query_one(".col-source", Label).update("-" if source == "none" else source)
        self.query_one(".col-identity", Label).update((status.identity if status else "") or "-")
        self.query_one(".col-expires", Label).update(_expiry(status))


class _ProviderList(ListView):
    """The provider rows; Enter logs in (shown in the footer, where ListView's own "select" would hide it)."""

    BINDINGS = [Binding("enter", "screen.login", "Log in")]


class _UrlInput(Input):
    BINDINGS = [Binding("enter", "screen.save_url", "Save and test"), Binding("escape", "screen.close_url", "Cancel")]


class AuthDialog(ModalScreen[AuthResult]):
    """Every provider's login state; dismisses with an AuthResult."""

    CSS_PATH = str(Path(__file__).with_name("auth_dialog.tcss"))  # absolute: subclasses elsewhere find it too
    BINDINGS = [
        Binding("enter", "login", "Log in"),
        Binding("k", "set_key", "API key"),
        Binding("x", "logout", "Log out"),
        Binding("u", "edit_url", "Base URL"),
        Binding("t", "test", "Test"),
        Binding("e", "explain", "Explain"),
        Binding("m", "pick_model", "Models"),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        service: "AgentService",
        *,
        provider: str | None = None,
        login: bool = False,
        screen_factory: Callable[..., object] = login_screen_for,
    ) -> None:
        """`provider` highlights that provider; with `login=True` its login screen opens at once (`/login PROVIDER`)."""
        super().__init__()
        self.service = service
        self.initial = service.config.canonical_provider_id(provider) if provider else None
        self.login_at_once = login and self.initial is not None
        self._screen_factory = screen_factory
        self._changed_config: "Config | None" = None
        self._last_message = ""
        self.checking = True
        self.busy = False  # a logout, test or save is running; row actions wait for it
        self._explained: tuple[str, list[str]] | None = None  # the provider whose chain the detail pane shows
        self.logged_in: str | None = None  # the provider a login just succeeded for (the picker is offered)

    # --- layout ------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="auth"):
            yield Label("Providers and logins", id="auth-title")
            yield Static(f"Secrets: {self.service.store.description}", id="auth-store", markup=False)
            with Horizontal(id="auth-head", classes="auth-row"):
                for cls, text in (
                    ("col-state", "state"), ("col-name", "provider"), ("col-method", "method"),
                    ("col-source", "source"), ("col-identity", "identity"), ("col-expires", "expires (UTC)"),
                ):
                    yield Label(text, classes=cls)
            rows = [AuthProviderRow(p, self.service.last_status(pid)) for pid, p in self.service.config.providers.items()]
            yield _ProviderList(*rows, id="auth-list")
            yield Static("", id="auth-detail", markup=False)
            with Horizontal(id="auth-url-bar"):
                yield Label("Base URL:", id="auth-url-label")
                yield _UrlInput(id="auth-url")
            yield Static("", id="auth-message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#auth-url-bar").display = False
        listing = self.query_one("#auth-list", ListView)
        if self.initial is not None:
            listing.index = list(self.service.config.providers).index(self.initial)
        listing.focus()
        status_signal(self.app, self.service).subscribe(self, self._show_status)
        # Probing waits until the dialog is on screen: a local server's connect check must not delay the frame.
        self.call_after_refresh(self._load_all)
        if self.login_at_once:
            self.call_after_refresh(self.action_login)

    def on_resize(self) -> None:
        # Below 100 columns the method and source columns give way (the detail pane names both), so the state,
        # identity and expiry of every provider stay on screen.
        self.set_class(self.size.width < NARROW_DIALOG, "-narrow")

    # --- states --------------------------------------------------------------------------------------------------

    def _load_all(self) -> None:
        self.checking = True
        self.run_worker(self._load(), group="auth-load", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        try:
            for status in await self.service.status_all(probe=True):
                self._show_status(status)
        finally:
            self.checking = False

    def _show_status(self, status: CredentialStatus) -> None:
        if not self.is_attached:
            return
        provider = self.service.config.providers.get(status.provider)
        if provider is None or status.auth_method != provider.default_method:
            return
        for row in self.query(AuthProviderRow):
            if row.provider.id == status.provider:
                row.show(status)
        if self._current_id() == status.provider:
            self._show_detail()
        self.refresh_bindings()

    def status_of(self, provider_id: str) -> CredentialStatus | None:
        for row in self.query(AuthProviderRow):
            if row.provider.id == provider_id:
                return row.status
        return None

    # --- the highlighted provider ------------------------------------------------------------------------------

    def _current_row(self) -> AuthProviderRow | None:
        item = self.query_one("#auth-list", ListView).highlighted_child
        return item if isinstance(item, AuthProviderRow) else None

    def _current_id(self) -> str | None:
        row = self._current_row()
        return row.provider.id if row is not None else None

    def _current(self) -> "ProviderConfig | None":
        pid = self._current_id()
        return self.service.config.providers.get(pid) if pid else None

    def on_list_view_highlighted(self, _event: ListView.Highlighted) -> None:
        self._explained = None
        self._show_detail()
        self.refresh_bindings()

    def on_list_view_selected(self, _event: ListView.Selected) -> None:
        self.action_login()  # a mouse click on a row

    def _show_detail(self) -> None:
        provider = self._current()
        if provider is None:
            return
        extra = self._explained[1] if self._explained and self._explained[0] == provider.id else None
        status = self.status_of(provider.id)
        origin = self.service.config.origins.get(f"providers.{provider.id}", "catalog")
        lines = [
            f"{provider.name} ({provider.id}) · {provider.kind} · {provider.base_url or 'no base URL'}",
            f"methods: {', '.join(provider.auth)} · from {origin}",
            state_line(status) if status is not None else "… checking",
        ]
        if status is not None and status.last_failure:
            lines.append(status.last_failure)
        if extra:
            lines += [""] + extra
        self.query_one("#auth-detail", Static).update(Text(sanitize("\n".join(lines))))

    def say(self, message: str, *, error: bool = False, hint: str = "") -> None:
        """Show a sentence; `hint` names this dialog's keys, so it is shown here but not carried out on close."""
        self._last_message = message
        widget = self.query_one("#auth-message", Static)
        widget.update(Text(sanitize(f"{message} {hint}" if hint else message)))  # errors may quote a server
        widget.set_class(error, "-error")

    @property
    def message(self) -> str:
        return self._last_message

    # --- which actions apply ------------------------------------------------------------------------------------

    def _editing(self) -> bool:
        return bool(self.query_one("#auth-url-bar").display)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("close", "close_url", "save_url"):
            return True
        provider = self._current()
        if provider is None or self._editing():
            return False
        if self.busy and action != "refresh":
            return None
        if action == "login":
            return provider.default_method != "none"
        if action == "set_key":
            return "api-key" in provider.auth
        if action == "logout":
            return provider.default_method != "none" or "api-key" in provider.auth
        if action in ("edit_url", "test"):
            return provider.kind != "claude-cli" if action == "test" else self._url_editable(provider)
        if action == "pick_model":
            status = self.status_of(provider.id)
            return status is not None and usable(status)[0]
        return True

    def _url_editable(self, provider: "ProviderConfig") -> bool:
        """Local servers, the user's own providers (or ones they overrode) and presets still missing their address."""
        origin = self.service.config.origins.get(f"providers.{provider.id}", "catalog")
        custom = origin != "catalog"
        return provider.kind != "claude-cli" and (provider.local or custom or not provider.base_url)

    # --- actions ---------------------------------------------------------------------------------------------------

    def action_close(self) -> None:
        if self._editing():
            self.action_close_url()
            return
        self.dismiss(AuthResult("close", provider=self.logged_in, config=self._changed_config, message=self._last_message))

    def action_pick_model(self) -> None:
        pid = self._current_id()
        if pid is not None:
            self.dismiss(AuthResult("pick-model", provider=pid, config=self._changed_config, message=self._last_message))

    def action_login(self) -> None:
        self._open_login(api_key=False)

    def action_set_key(self) -> None:
        self._open_login(api_key=True)

    def _open_login(self, *, api_key: bool) -> None:
        provider = self._current()
        if provider is None or self.busy:
            return
        screen = self._screen_factory(self.service, provider.id, api_key=api_key)
        if isinstance(screen, str):
            self.say(screen)
            return
        self.push_screen_result(screen)

    def push_screen_result(self, screen) -> None:
        self.app.push_screen(screen, self._login_done)

    def _login_done(self, result: LoginResult | None) -> None:
        if result is None:
            return
        if result.status is not None:
            self._show_status(result.status)
        if result.ok:
            self.logged_in = result.provider
            name = self.service.config.providers[result.provider].name
            self.say(result.message, hint=f"Press m to choose one of {name}'s models.")
        else:
            self.say(result.message, error=not result.cancelled)
        self.refresh_bindings()

    def action_logout(self) -> None:
        provider = self._current()
        if provider is None or self.busy:
            return
        from tui_agent.ui.screens.confirm import ConfirmScreen

        what = "run `claude auth logout`" if provider.default_method == "claude-cli" else "forget the stored credential"
        question = f"Log out of {provider.name}? This will {what}."

        def answered(yes: bool | None) -> None:
            if yes:
                self._run_busy(self._logout(provider.id))

        self.app.push_screen(ConfirmScreen(question, title="Log out", yes="Log out", danger=True), answered)

    async def _logout(self, provider_id: str) -> None:
        self.say(f"Logging out of {self.service.config.providers[provider_id].name}…")
        self.say(await log_out(self.app, self.service, provider_id))

    def action_test(self) -> None:
        provider = self._current()
        if provider is not None and not self.busy:
            self._run_busy(self._test(provider.id))

    async def _test(self, provider_id: str) -> None:
        provider = self.service.config.providers[provider_id]
        where = provider.base_url or provider.name
        self.say(f"Testing {provider.name} at {where}…")
        try:
            models = await self.service.discover(provider_id, refresh=True)
        except ProviderError as exc:
            self.say(f"{provider.name} at {where} did not answer as expected: {exc}", error=True)
        except Exception as exc:  # a surprise from one provider is reported, never a crashed dialog
            log.exception("connection test failed for %s", provider_id)
            self.say(f"{provider.name} at {where} could not be tested ({type(exc).__name__}).", error=True)
        else:
            count = f"{len(models)} model" + ("" if len(models) == 1 else "s")
            self.say(f"{provider.name} at {where} answered: {count} available.")
        await self.service.credential_status(provider_id)

    def action_explain(self) -> None:
        provider = self._current()
        if provider is not None:
            self.run_worker(self._explain(provider.id), group="auth-explain", exclusive=True, exit_on_error=False)

    async def _explain(self, provider_id: str) -> None:
        from tui_agent.core.chain import format_steps

        config = self.service.config
        nicks = [n for n, p in sorted(config.profiles.items()) if config.canonical_provider_id(p.provider) == provider_id]
        provider = config.providers[provider_id]
        try:
            if nicks:
                steps, _status = await self.service.explain(nicks[0])
                head = f"The chain of profile {nicks[0]}" + (f" ({len(nicks) - 1} more on this provider)" if len(nicks) > 1 else "") + ":"
                lines = [head, *format_steps(steps)]
            else:
                status = await self.service.credential_status(provider_id)
                origin = config.origins.get(f"providers.{provider_id}", "catalog")
                cred = status.source + (f" {status.identity}" if status.identity else "") + (f": {status.detail}" if status.detail else "")
                lines = [
                    f"No profile uses {provider_id}; the provider's own chain:",
                    f"1. provider {provider_id.ljust(13)} {origin}",
                    f"2. method   {provider.default_method.ljust(13)} provider default",
                    f"3. credential  {cred}   state {status.state.value}",
                ]
        except ConfigError as exc:
            lines = [f"The chain is broken: {exc}"]
        if self._current_id() == provider_id and self.is_attached:
            self._explained = (provider_id, lines)
            self._show_detail()

    # --- base URL ----------------------------------------------------------------------------------------------------

    def action_edit_url(self) -> None:
        provider = self._current()
        if provider is None or not self._url_editable(provider):
            return
        self.query_one("#auth-url-label", Label).update(f"Base URL of {provider.name}:")
        field = self.query_one("#auth-url", Input)
        field.value = provider.base_url or ""
        self.query_one("#auth-url-bar").display = True
        field.focus()
        self.say(f"Enter saves it to {self.service.config.file.name} (your comments are kept) and tests it · Escape cancels.")
        self.refresh_bindings()

    def action_close_url(self) -> None:
        self.query_one("#auth-url-bar").display = False
        self.query_one("#auth-list", ListView).focus()
        self.say("")
        self.refresh_bindings()

    def action_save_url(self) -> None:
        provider = self._current()
        if provider is None:
            return
        value = self.query_one("#auth-url", Input).value.strip().rstrip("/")
        try:
            self.service.set_provider_field(provider.id, "base_url", value)
            self._reload()
        except ConfigError as exc:
            self.say(f"Not saved — {exc}", error=True)
            return
        self.action_close_url()
        self.say(f"Saved base URL {value} for {provider.name} in {self.service.config.file}.")
        self._show_detail()
        self._run_busy(self._test(provider.id))

    def _reload(self) -> None:
        """Take the configuration just written as the service's own; the service drops the provider's old
        adapter (it holds the old base URL) and its discovered models."""
        new = self.service.config
        self._changed_config = new
        for row in self.query(AuthProviderRow):
            row.provider = new.providers.get(row.provider.id, row.provider)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # One sentence instead of a silent stop; the traceback goes to the log file.
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            log.error("auth dialog worker %s failed", event.worker.group, exc_info=error)
            if event.worker.group == "auth-load":
                self.checking = False
            self.say(f"That stopped on an unexpected {type(error).__name__}; the log file has the details.", error=True)

    # --- helpers -------------------------------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.say("Checking every provider again…")
        self._load_all()

    def _run_busy(self, work) -> None:
        async def run() -> None:
            self.busy = True
            self.refresh_bindings()
            try:
                await work
            finally:
                self.busy = False
                if self.is_attached:
                    self.refresh_bindings()

        self.run_worker(run(), group="auth-action", exclusive=True, exit_on_error=False)
