"""The live auth side panel (one row per provider, kept current by the service) and its one-line summary.

Rows change when the service publishes a status (token refresh, login, logout, a probe); the panel itself
runs light probes in workers and lists models only when asked, never on a provider that is streaming.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Hashable, Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions, Visual
from textual.widgets import ListItem, ListView, Static

from tui_agent.core.credentials import CredentialState, CredentialStatus, state_label
from tui_agent.sanitize import sanitize, sanitize_line
from tui_agent.ui.status_signal import state_classes, status_signal
from tui_agent.ui.widgets.repaint import refresh_keeping_layout
from tui_agent.ui.widgets.usage import UsageMeter

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.timer import Timer
    from textual.worker import Worker

    from tui_agent.core.chain import Step
    from tui_agent.config.schema import ProviderConfig
    from tui_agent.core.events import Usage
    from tui_agent.service.agent import AgentService

log = logging.getLogger("tui_agent.ui.status_panel")

Clock = Callable[[], datetime]

WIDE_AT = 120  # columns from which the panel is shown beside the conversation by default
PROBE_EVERY = 12.0  # seconds between probes of cheap checks (store look-ups, a 300 ms TCP connect)
SLOW_PROBE_EVERY = 60.0  # seconds between probes that start a subprocess (`claude auth status`)
AGE_REFRESH_EVERY = 5.0  # seconds between updates of "checked 12s ago" when nothing else changes

# States that mean "this provider cannot serve now": remembered as the row's last error.
_TROUBLE = {CredentialState.EXPIRED, CredentialState.MISSING, CredentialState.UNREACHABLE, CredentialState.ERROR}
_SLOW_METHODS = {"claude-cli"}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --- pure formatting (checked without Textual) -----------------------------------------------------------


def _span(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def format_countdown(expires_at: datetime, now: datetime) -> str:
    """The countdown text: "expires in 8m 12s", or "expired 3s ago" once the moment has passed."""
    left = int((expires_at - now).total_seconds())
    if left > 0:
        return f"expires in {_span(left)}"
    return f"expired {_span(-left)} ago"


def format_age(when: datetime, now: datetime) -> str:
    """How long ago something happened, coarse enough to refresh every few seconds: "just now", "12s ago"."""
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def chain_text(steps: "Iterable[Step]") -> Text:
    """The steps of a resolution chain, numbered as `tui-agent explain` numbers them, origins dimmed below."""
    text = Text()
    for number, step in enumerate(steps, 1):
        if number > 1:
            text.append("\n")
        text.append(f"{number}. {step.link} ", style="bold")
        text.append(step.found)
        if step.origin:
            text.append(f"\n   {step.origin}", style="dim")
    return text


def _not_checked(provider: "ProviderConfig") -> CredentialStatus:
    return CredentialStatus(
        provider=provider.id, auth_method=provider.default_method, state=CredentialState.UNKNOWN, detail="not checked yet"
    )


# --- messages --------------------------------------------------------------------------------------------


# --- one row ---------------------------------------------------------------------------------------------


class ProviderRow(ListItem):
    """One provider: name and state (symbol + word, coloured by a state class), auth, identity, times.

    The row draws its parts itself (`_RowLines`) instead of holding a Horizontal and five Statics: every layout
    of the screen arranges every shown widget, and seven widgets per provider made the panel the largest part of
    the screen's widget count. Each part keeps its look in CSS as a component class (`row-name`, `row-state`,
    `row-auth`, `row-times`, `row-failure`), styled by the same rules the Statics were.
    """

    COMPONENT_CLASSES = {"row-name", "row-state", "row-auth", "row-times", "row-failure"}

    def __init__(self, provider: "ProviderConfig", status: CredentialStatus) -> None:
        super().__init__(classes=f"-state-{status.state.value}")
        self.provider = provider
        self.status = status
        self.model_count: int | None = None
        self.listing_models = False
        self._parts: dict[str, str] = {"name": provider.name, "state": "", "auth": "", "times": "", "failure": ""}

    def render(self) -> "_RowLines":
        return _RowLines(self, self._parts)

    @property
    def provider_id(self) -> str:
        return self.provider.id

    def show(self, status: CredentialStatus, now: datetime) -> None:
        """Put a new status on the row."""
        # A row's restyle matches the stylesheet for it and its five parts' component classes: once per new state.
        self.update_classes(state_classes(status.state))
        self.status = status
        if status.model_count is not None:
            self.model_count = status.model_count
        auth = [status.auth_method, status.source]
        if status.identity:
            auth.append(status.identity)
        self._set_parts(
            state=state_label(status.state), auth=" · ".join(auth), failure=sanitize_line(status.last_failure),
            times=self._times_text(now),
        )

    def show_times(self, now: datetime) -> None:
        """Refresh what depends on the clock: the countdown and the age of the last check."""
        self._set_parts(times=self._times_text(now))

    def _times_text(self, now: datetime) -> str:
        status = self.status
        parts: list[str] = []
        if self.provider.local:
            parts.append({
                CredentialState.UNREACHABLE: "server down",
                CredentialState.UNKNOWN: "server not probed",
            }.get(status.state, "server up"))
        if self.listing_models:
            parts.append("listing models…")
        elif self.model_count is not None:
            parts.append(f"{self.model_count} model" + ("" if self.model_count == 1 else "s"))
        if status.expires_at is not None:
            parts.append(format_countdown(status.expires_at, now))
        parts.append(f"checked {format_age(status.checked_at, now)}" if status.checked_at else "not checked yet")
        return " · ".join(parts)

    def _set_parts(self, **texts: str) -> None:
        if all(self._parts[part] == text for part, text in texts.items()):
            return
        self._parts = {**self._parts, **texts}
        # The countdown ticks every second and seldom changes the number of lines.
        refresh_keeping_layout(self, lambda width: _RowLines(self, self._parts).get_height(self.styles, width))

    @property
    def texts(self) -> dict[str, str]:
        """What the row shows, by part (for tests and for screen readers of the future)."""
        return dict(self._parts)


class _RowLines(Visual):
    """A provider row's lines, drawn as its Horizontal and five Statics drew them: the name on the left of the first
    line (cut at a word to leave the state its width) and the state on the right, then auth, times and, only when
    there is one, the failure, each wrapped at the row's width. Each part is drawn on its component class's full
    style, as a Static with that class would be, so the themes and the cursor's rules keep their colours."""

    def __init__(self, row: ProviderRow, parts: dict[str, str]) -> None:
        self._row = row
        self._name = Content(parts["name"])
        self._state = Content(parts["state"])
        self._body = [
            (Content(parts[part]), f"row-{part}") for part in ("auth", "times", "failure") if part != "failure" or parts[part]
        ]

    def get_optimal_width(self, rules: "RulesMap", container_width: int) -> int:
        return max(self._name.cell_length + self._state.cell_length, *(text.cell_length for text, _ in self._body))

    def get_height(self, rules: "RulesMap", width: int) -> int:
        return 1 + sum(text.get_height(rules, width) for text, _ in self._body)

    def render_strips(self, width: int, height: int | None, style: VisualStyle, options: RenderOptions) -> list[Strip]:
        if not width:
            return []
        style_of = self._row.get_visual_style
        # Selection offsets are the row's; they do not apply to one part's text.
        options = RenderOptions(options.get_style, options.rules)
        state_width = min(self._state.cell_length, width)
        name_width = width - state_width
        name = self._name.render_strips(name_width, 1, style_of("row-name"), options) if name_width else []
        state = self._state.render_strips(state_width, 1, style_of("row-state"), options) if state_width else []
        blank = VisualStyle(background=style.background).rich_style  # what a Static's own padding is drawn with
        head = Strip.join([(name[0] if name else Strip([])).adjust_cell_length(name_width, blank), *state[:1]])
        strips = [head]
        for text, component in self._body:
            strips.extend(text.render_strips(width, None, style_of(component), options))
        return strips if height is None else strips[:height]


# --- the panel -------------------------------------------------------------------------------------------


class StatusPanel(Vertical):
    """The side panel: provider rows, the selected row's chain and last error, and this conversation's usage.

    The title line is drawn by the panel itself (`_PanelTitle`, styled by its `panel-title` component class) above
    the list, which starts one line down: a Static less on a screen whose every layout arranges every widget.
    """

    COMPONENT_CLASSES = {"panel-title"}

    DEFAULT_CSS = """
    StatusPanel {
        width: 48;
        height: 1fr;
        border-left: vkey $primary-muted;
        background: $surface;
    }
    StatusPanel > .panel-title {
        padding: 0 1;
        text-style: bold;
        background: $primary-muted;
    }
    StatusPanel > ListView {
        height: 1fr;
        min-height: 4;
        margin-top: 1;  /* the title's line */
        background: $surface;
    }
    StatusPanel ProviderRow {
        height: auto;
        padding: 0 1;
        margin: 0 0 1 0;
    }
    /* Component classes of ProviderRow (the parts it draws), not widgets. */
    StatusPanel .row-name { text-style: bold; }
    StatusPanel .row-state { text-style: bold; }
    StatusPanel .row-auth, StatusPanel .row-times { color: $text-muted; }
    StatusPanel .row-failure { color: $text-error; }
    StatusPanel ProviderRow.-state-ready .row-state { color: $text-success; }
    StatusPanel ProviderRow.-state-expiring .row-state { color: $text-warning; }
    StatusPanel ProviderRow.-state-expired .row-state { color: $text-error; }
    StatusPanel ProviderRow.-state-refreshing .row-state { color: $text-primary; }
    StatusPanel ProviderRow.-state-missing .row-state { color: $text-muted; }
    StatusPanel ProviderRow.-state-unreachable .row-state { color: $text-warning; }
    StatusPanel ProviderRow.-state-error .row-state { color: $text-error; }
    StatusPanel ProviderRow.-state-unknown .row-state { color: $text-muted; }
    /* On the cursor row the state colour would fight the cursor's background; symbol and word still read. */
    StatusPanel ListView > ProviderRow.-highlight .row-state,
    StatusPanel ListView > ProviderRow.-highlight .row-auth,
    StatusPanel ListView > ProviderRow.-highlight .row-times { color: $block-cursor-blurred-foreground; }
    StatusPanel ListView:focus > ProviderRow.-highlight .row-state,
    StatusPanel ListView:focus > ProviderRow.-highlight .row-auth,
    StatusPanel ListView:focus > ProviderRow.-highlight .row-times { color: $block-cursor-foreground; }
    StatusPanel > #status-detail {
        height: auto;
        max-height: 50%;
        padding: 0 1;
        border-top: hkey $primary-muted;
    }
    StatusPanel > UsageMeter {
        border-top: hkey $primary-muted;
    }
    """

    BINDINGS = [
        Binding("r", "recheck", "Re-check"),
        Binding("m", "list_models", "Models"),
    ]

    def __init__(
        self,
        service: "AgentService",
        *,
        profile: str | None = None,
        clock: Clock = utc_now,
        probe_every: float | None = PROBE_EVERY,
        slow_probe_every: float | None = SLOW_PROBE_EVERY,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """`probe_every=None` switches automatic probes off (including the one on mount): rows then change only
        when the service publishes. `slow_probe_every` applies to subprocess checks (the Claude Code CLI)."""
        super().__init__(id=id, classes=classes)
        self.service = service
        self.profile = profile
        self.clock = clock
        self.probe_every = probe_every
        self.slow_probe_every = slow_probe_every
        self._rows: dict[str, ProviderRow] = {}
        for pid, provider in service.config.providers.items():
            self._rows[pid] = ProviderRow(provider, service.last_status(pid) or _not_checked(provider))
        self._usage = UsageMeter(id="status-usage")
        self._detail = Static("Select a provider (Enter) to see its chain and last error.", id="status-detail", markup=False)
        self._selected: str | None = None
        self._note: dict[str, str] = {}  # provider id -> a one-off line for the detail view (e.g. a refused model listing)
        self._last_error: dict[str, tuple[datetime, str]] = {}
        self._in_flight: set[str] = set()
        self._expiry_rechecked: set[tuple[str, datetime]] = set()
        self._countdown: "Timer | None" = None

    def compose(self) -> ComposeResult:
        yield ListView(*self._rows.values(), id="status-rows")
        yield self._detail
        yield self._usage

    def render(self) -> "_PanelTitle":
        return _PanelTitle(self, "Providers")

    # --- life cycle ---------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        status_signal(self.app, self.service).subscribe(self, self.apply_status)
        now = self.clock()
        for row in self._rows.values():
            row.show(row.status, now)
        self._sync_countdown()
        self.set_interval(AGE_REFRESH_EVERY, self.refresh_times, name="status-ages")
        if self.probe_every is not None:
            # Probes open the secret store (keyring) and may start the Claude Code CLI: after the first frame.
            getattr(self.app, "after_first_frame", self.call_after_refresh)(self.recheck)
            self.set_interval(self.probe_every, lambda: self._probe_round(slow=False), name="status-probe")
        if self.slow_probe_every is not None and self.probe_every is not None:
            self.set_interval(self.slow_probe_every, lambda: self._probe_round(slow=True), name="status-probe-slow")

    # --- what others call ---------------------------------------------------------------------------------

    @property
    def statuses(self) -> dict[str, CredentialStatus]:
        """The status each row shows now, by provider id."""
        return {pid: row.status for pid, row in self._rows.items()}

    def row(self, provider_id: str) -> ProviderRow:
        return self._rows[provider_id]

    @property
    def ticking(self) -> bool:
        """Whether the one-second countdown timer runs (only while some row has an expiry)."""
        return self._countdown is not None

    @property
    def selected(self) -> str | None:
        return self._selected

    def apply_status(self, status: CredentialStatus) -> None:
        """Show a status on its row (normally it arrives through the service subscription)."""
        row = self._rows.get(status.provider)
        if row is None:
            return
        if status.state in _TROUBLE and status.detail:
            self._last_error[status.provider] = (status.checked_at or self.clock(), status.detail)
        elif status.last_failure:
            self._last_error[status.provider] = (status.checked_at or self.clock(), status.last_failure)
        row.show(status, self.clock())
        self._sync_countdown()
        if self._selected == status.provider:
            self._show_detail()

    def set_profile(self, nickname: str | None) -> None:
        """The chat's active profile: its chain is the one shown for its provider's row."""
        self.profile = nickname
        if self._selected is not None:
            self._show_detail()

    def select(self, provider_id: str) -> None:
        """Select a row as Enter or a click would, and show its chain and last error."""
        listview = self.query_one(ListView)
        listview.index = list(self._rows).index(provider_id)
        self._selected = provider_id
        self._show_detail()

    def focus_rows(self) -> None:
        self.query_one(ListView).focus()

    def recheck(self, provider_ids: Iterable[str] | None = None, *, probe: bool = True) -> "Worker | None":
        """Check providers now in a worker (all by default); ones already being checked are skipped."""
        wanted = list(self._rows) if provider_ids is None else [p for p in provider_ids if p in self._rows]
        ids = [pid for pid in wanted if pid not in self._in_flight]
        if not ids:
            return None
        self._in_flight.update(ids)
        return self.run_worker(self._check(ids, probe), group="status-probe", exit_on_error=False)

    def list_models(self, provider_id: str | None = None) -> "Worker | None":
        """Ask the selected (or given) provider for its models, unless it is streaming an answer right now."""
        pid = provider_id or self._selected or self._highlighted()
        if pid is None:
            return None
        row = self._rows[pid]
        if self.service.is_streaming(pid):
            self._note[pid] = f"{row.provider.name} is answering right now; press m again when it is done."
            self._selected = pid
            self._show_detail()
            return None
        row.listing_models = True
        row.show_times(self.clock())
        return self.run_worker(self._discover(pid), group="status-models", exit_on_error=False)

    def record_usage(self, usage: "Usage", answer_id: Hashable | None = None) -> None:
        """Count a Usage event; with `answer_id`, a later Usage of the same answer replaces the earlier one."""
        self._usage.record_usage(usage, answer_id)

    def reset_usage(self) -> None:
        """A new conversation: usage starts from zero."""
        self._usage.reset_usage()

    def set_context_window(self, tokens: int | None) -> None:
        """The active model's context window, or None when not known (then no context line is shown)."""
        self._usage.set_context_window(tokens)

    def set_context_used(self, tokens: int | None) -> None:
        """How many tokens of the window the conversation fills now (None: the last answer's count)."""
        self._usage.set_context_used(tokens)

    @property
    def usage(self) -> UsageMeter:
        return self._usage

    def refresh_times(self) -> None:
        """Redraw countdowns and ages from the clock; re-check a credential whose expiry has just passed."""
        now = self.clock()
        due: list[str] = []
        for pid, row in self._rows.items():
            row.show_times(now)
            expires = row.status.expires_at
            if expires is not None and expires <= now and row.status.state != CredentialState.EXPIRED:
                key = (pid, expires)
                if key not in self._expiry_rechecked:
                    self._expiry_rechecked.add(key)
                    due.append(pid)
        if due:
            # The service decides what a passed expiry means (refresh, or expired); no network or subprocess here.
            self.recheck(due, probe=False)

    # --- actions and events -------------------------------------------------------------------------------

    def action_recheck(self) -> None:
        self.recheck()

    def action_list_models(self) -> None:
        self.list_models()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, ProviderRow):
            self._selected = event.item.provider_id
            self._show_detail()

    # --- internals ----------------------------------------------------------------------------------------

    def _highlighted(self) -> str | None:
        item = self.query_one(ListView).highlighted_child
        return item.provider_id if isinstance(item, ProviderRow) else None

    def _probe_round(self, *, slow: bool) -> None:
        ids = [pid for pid, row in self._rows.items() if (row.provider.default_method in _SLOW_METHODS) == slow]
        self.recheck(ids)

    async def _check(self, ids: list[str], probe: bool) -> None:
        try:
            # Each finished check is published by the service and reaches the rows through the subscription.
            await asyncio.gather(*(self.service.credential_status(pid, probe=probe) for pid in ids))
        finally:
            self._in_flight.difference_update(ids)

    async def _discover(self, pid: str) -> None:
        row = self._rows[pid]
        try:
            models = await self.service.discover(pid, refresh=True)
        except Exception as exc:  # any failure is shown on its row; it must not take the panel down
            log.info("listing models failed for %s: %s", pid, exc)
            from tui_agent.redact import redact_text

            message = redact_text(str(exc)) or f"{row.provider.name}: the model list could not be read ({type(exc).__name__})"
            self._last_error[pid] = (self.clock(), f"listing models failed: {message}")
            self._note.pop(pid, None)
        else:
            row.model_count = len(models)
            self._note.pop(pid, None)
        finally:
            row.listing_models = False
        row.show_times(self.clock())
        if self._selected == pid:
            self._show_detail()

    def _sync_countdown(self) -> None:
        need = any(row.status.expires_at is not None for row in self._rows.values())
        if need and self._countdown is None:
            self._countdown = self.set_interval(1.0, self.refresh_times, name="status-countdown")
        elif not need and self._countdown is not None:
            self._countdown.stop()
            self._countdown = None

    def _profile_for(self, pid: str) -> str | None:
        config = self.service.config

        def on_pid(nick: str | None) -> bool:
            profile = config.profiles.get(nick) if nick else None
            return profile is not None and config.canonical_provider_id(profile.provider) == pid

        for nick in (self.profile, config.default_profile):
            if on_pid(nick):
                return nick
        return next((nick for nick in sorted(config.profiles) if on_pid(nick)), None)

    def detail_text(self, pid: str) -> Text:
        """The selected row's chain (explain's steps) and last error."""
        from tui_agent.core.chain import Step
        from tui_agent.service.agent import credential_step
        from tui_agent.errors import ResolutionError

        row = self._rows[pid]
        status = row.status
        config = self.service.config
        nick = self._profile_for(pid)
        text = Text()
        text.append(row.provider.name, style="bold")
        text.append(f"  (profile {nick})\n" if nick else "  (no profile uses it)\n", style="dim")
        steps: list[Step] = []
        if nick is not None:
            try:
                chain = self.service.resolve(nick)
            except ResolutionError as exc:
                text.append(f"The chain is broken: {sanitize(str(exc))}\n")
            else:
                steps = list(chain.steps)
                steps.append(credential_step(status))
                steps.append(Step("adapter", chain.adapter_kind, f"model {chain.profile.model}"))
        else:
            steps = [
                Step("provider", pid, config.origins.get(f"providers.{pid}", "catalog")),
                Step("method", status.auth_method, "provider default"),
                credential_step(status),
            ]
        if steps:
            text.append_text(chain_text(steps))
            text.append("\n")
        note = self._note.get(pid)
        if note:
            text.append(note + "\n")
        error = self._last_error.get(pid)
        cleared = self.service.outcomes.cleared_at(pid)
        if error is not None and cleared is not None and error[0] <= cleared:
            error = None  # a request succeeded, or a new key or login came, since: it is not the provider's state
        text.append("Last error: ", style="bold")
        if error is None:
            text.append("none this session")
        else:
            when, message = error
            text.append(f"({format_age(when, self.clock())}) {sanitize(message)}")  # a server's words
        return text

    def _show_detail(self) -> None:
        if self._selected is not None:
            self._detail.update(self.detail_text(self._selected))


class _PanelTitle(Visual):
    """The panel's first line, drawn as a Static with the `panel-title` class drew it: its padding, its text on the
    class's full style, the rest of the line on the class's background. The panel's children cover the lines below."""

    def __init__(self, panel: StatusPanel, title: str) -> None:
        self._panel = panel
        self._title = Content(title)

    def get_optimal_width(self, rules: "RulesMap", container_width: int) -> int:
        return self._title.cell_length

    def get_height(self, rules: "RulesMap", width: int) -> int:
        return 1

    def render_strips(self, width: int, height: int | None, style: VisualStyle, options: RenderOptions) -> list[Strip]:
        if not width:
            return []
        padding = self._panel.get_component_styles("panel-title").padding
        title_style = self._panel.get_visual_style("panel-title")
        blank = VisualStyle(background=title_style.background).rich_style
        text_width = max(0, width - padding.left - padding.right)
        text = self._title.render_strips(text_width, 1, title_style, RenderOptions(options.get_style, options.rules))
        line = (text[0] if text else Strip([])).adjust_cell_length(text_width, blank)
        return [Strip.join([Strip.blank(padding.left, blank), line, Strip.blank(padding.right, blank)])]


# --- the narrow summary ----------------------------------------------------------------------------------


