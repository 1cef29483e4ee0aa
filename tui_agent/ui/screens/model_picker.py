"""The model picker: a modal of every profile and discovered model, grouped by provider state, filled in by workers.

Enter resolves the chain first and only then dismisses with a PickerResult; a broken chain keeps it open with the reason.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_agent.core.credentials import STATE_SYMBOL, CredentialStatus, state_line
from tui_agent.errors import ConfigError, ProviderError
from tui_agent.sanitize import sanitize
from tui_agent.service.agent import same_model, usable
from tui_agent.ui import recents as recents_store
from tui_agent.ui.slash import as_slash_commands

if TYPE_CHECKING:
    from tui_agent.core.chain import Chain
    from rich.console import Group
    from textual import events

    from tui_agent.config.load import Config
    from tui_agent.config.schema import ProfileConfig, ProviderConfig
    from tui_agent.core.chat import ModelInfo
    from tui_agent.service.agent import AgentService

log = logging.getLogger("tui_agent.ui.model_picker")

PickerAction = Literal["switch", "connect", "cancel"]

MAX_DISCOVERED_SHOWN = 15  # per provider, before the user types a filter


@dataclass(frozen=True)
class PickerResult:
    """What the picker was closed with; the caller acts on `action`."""

    action: PickerAction
    nickname: str | None = None  # switch: the profile's nickname (`provider/model` for a session profile)
    profile: "ProfileConfig | None" = None
    is_session_profile: bool = False  # switch: a discovered model with no profile in config.toml
    chain: Chain | None = None  # switch: the resolved chain, ready for AgentService.send
    provider: str | None = None  # switch and connect: the provider id
    saved_default: bool = False  # switch: default_profile was written to config.toml by this choice
    config: "Config | None" = None  # the re-loaded configuration when config.toml was written while open
    message: str = ""  # one sentence for the conversation


@dataclass(frozen=True)
class _Entry:
    """A choosable model: a profile, or a discovered model known by its session nickname."""

    key: str
    provider: str
    model: str
    profile: str | None  # nickname of the profile, None for a discovered model

    @property
    def is_session(self) -> bool:
        return self.profile is None


@dataclass(frozen=True)
class _Row:
    kind: Literal["entry", "connect"]
    provider: str
    entry: _Entry | None = None


# --- small text helpers (pure; tested through the screen) --------------------------------------------------------




def suggest_nickname(model: str, taken: set[str] | dict) -> str:
    """A bare-key nickname for a discovered model, not yet used: `llama3.2:latest` → `llama3.2`."""
    base = model.rsplit("/", 1)[-1]
    base = base.removesuffix(":latest")
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._") or "model"
    nickname, n = base, 2
    while nickname in taken:
        nickname, n = f"{base}-{n}", n + 1
    return nickname


class _FilterInput(Input):
    """The filter box: Enter switches to the highlighted model (shown in the footer), the arrows move the list."""

    # Here, not on the screen, so they win over Input's own enter/ctrl+d and lead the footer.
    BINDINGS = [
        Binding("enter", "screen.choose", "Switch"),
        Binding("ctrl+d", "screen.set_default", "Set default"),
    ]


def _line(text: str = "", style: str = "") -> Text:
    """A one-line row: long details are cut with an ellipsis (the detail pane shows them whole)."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


class _NicknameInput(Input):
    """The nickname box of the save bar: Enter saves, Escape (on the screen) cancels."""

    BINDINGS = [Binding("enter", "screen.choose", "Save"), Binding("escape", "screen.cancel", "Cancel")]


class ModelPicker(ModalScreen[PickerResult]):
    """Choose the model for the conversation; dismisses with a PickerResult."""

    CSS_PATH = "model_picker.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Close"),
        Binding("up", "cursor('up')", "Up", show=False),
        Binding("down", "cursor('down')", "Down", show=False),
        Binding("pageup", "cursor('page_up')", "Page up", show=False),
        Binding("pagedown", "cursor('page_down')", "Page down", show=False),
        Binding("ctrl+f", "favourite", "Favourite"),
        Binding("ctrl+s", "save_profile", "Save profile"),
        Binding("ctrl+l", "connect", "Connect"),
        Binding("ctrl+r", "refresh", "Refresh"),
    ]

    def __init__(
        self, service: "AgentService", *, current: str | None = None, first_run: bool = False, query: str = ""
    ) -> None:
        """`current` is marked and highlighted; `first_run` saves the first choice as default_profile when there is
        none; `query` starts the filter (e.g. a provider id, after logging in to it)."""
        super().__init__()
        self.service = service
        self.current = current
        self.query_text = query
        # First run only counts while there is no default to keep: a default written meanwhile ends it.
        self.first_run = first_run and service.config.default_profile is None
        self._statuses: dict[str, CredentialStatus] = {}
        self._profile_statuses: dict[str, CredentialStatus] = {}  # profiles using a non-default auth method
        self._models: dict[str, list["ModelInfo"]] = {}
        self._discovery_errors: dict[str, str] = {}
        self._rows: dict[str, _Row] = {}
        self._recents = recents_store.load_recents(service.paths.recents_file)
        self._changed_config: "Config | None" = None
        self._saving: tuple[Literal["save", "default", "first-run"], _Entry] | None = None
        self._rebuild_pending = False
        self._widths = (8, 8)
        self._auto_highlight = True
        self._footer_state: tuple = ()
        # provider id -> generation of the worker loading it; every provider counts as loading until its first answer
        self._loading: dict[str, int] = dict.fromkeys(service.config.providers, 0)
        self._generation = 0

    # --- layout --------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            title = "Choose a model — your first choice becomes the default" if self.first_run else "Choose a model"
            yield Label(title, id="picker-title")
            yield _FilterInput(self.query_text, placeholder="Type to filter (fuzzy): profile, model or provider", id="picker-filter")
            with Horizontal(id="picker-body"):
                options = OptionList(id="picker-list")
                options.can_focus = False  # typing always filters; the list follows the arrow keys
                yield options
                yield Static("", id="picker-detail")
            with Horizontal(id="picker-save"):
                yield Label("", id="picker-save-label")
                yield _NicknameInput(id="picker-nickname")
            yield Static("", id="picker-message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#picker-save").display = False
        self._rebuild(reset_highlight=True)
        self.query_one("#picker-filter", Input).focus()
        # Probe only once the modal is on screen: a local server's connect check is short and must not
        # compete with the first frame.
        self.call_after_refresh(self._start_all)

    def on_key(self, event: "events.Key") -> None:
        """Typing that reached the screen (before the filter had the focus) filters like any other."""
        from tui_agent.ui.type_ahead import hand_to_field

        if not self.query_one("#picker-save").display:
            hand_to_field(self, event, self.query_one("#picker-filter", Input))

    def _start_all(self, refresh: bool = False) -> None:
        for pid in self._provider_order():
            self._start_load(pid, refresh)

    # --- background loading --------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """Whether provider states or model lists are still being fetched (or not yet shown)."""
        return bool(self._loading) or self._rebuild_pending

    def _start_load(self, pid: str, refresh: bool = False) -> None:
        self._generation += 1
        self._loading[pid] = self._generation
        self.run_worker(self._load(pid, refresh, self._generation), group=f"picker-{pid}", exclusive=True, exit_on_error=False)

    async def _load(self, pid: str, refresh: bool, generation: int) -> None:
        """One provider: its state (and the state of profiles using another method), then its models."""
        try:
            await self._load_provider(pid, refresh)
        finally:
            if self._loading.get(pid) == generation:  # a refresh that replaced this worker is still loading
                del self._loading[pid]
            self._rebuild_soon()

    async def _load_provider(self, pid: str, refresh: bool) -> None:
        config = self.service.config
        status = await self.service.credential_status(pid)
        self._statuses[pid] = status
        for nick, profile in config.profiles.items():
            if config.canonical_provider_id(profile.provider) == pid and profile.auth and profile.auth != status.auth_method:
                self._profile_statuses[nick] = await self.service.credential_status(pid, profile.auth)
        self._rebuild_soon()
        if not usable(status)[0]:
            return
        try:
            self._models[pid] = await self.service.discover(pid, refresh=refresh)
            self._discovery_errors.pop(pid, None)
        except ProviderError as exc:
            self._discovery_errors[pid] = str(exc)
        except Exception as exc:  # one broken provider must not break the picker
            log.exception("model discovery failed for %s", pid)
            self._discovery_errors[pid] = f"the model list of {pid} could not be read ({type(exc).__name__})"

    def _rebuild_soon(self) -> None:
        """Coalesce the rebuilds of answers that arrive together into one, after the current messages."""
        if not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_later(self._rebuild_now)

    def _rebuild_now(self) -> None:
        self._rebuild_pending = False
        if self.is_attached:  # answers may still arrive while the picker is being dismissed
            self._rebuild()

    # --- the list --------------------------------------------------------------------------------------------

    def _provider_order(self) -> list[str]:
        """Providers that have profiles first, then the rest, each in configuration order (stable while loading)."""
        config = self.service.config
        used = {config.canonical_provider_id(p.provider) for p in config.profiles.values()}
        return [p for p in config.providers if p in used] + [p for p in config.providers if p not in used]

    def _entries(self, pid: str) -> list[_Entry]:
        """Profiles on this provider, then its discovered models that no profile already names."""
        config = self.service.config
        entries = [
            _Entry(nick, pid, profile.model, nick)
            for nick, profile in sorted(config.profiles.items())
            if config.canonical_provider_id(profile.provider) == pid
        ]
        named = {e.model for e in entries}
        for info in self._models.get(pid, []):
            if not any(same_model(model, info.id) for model in named):
                entries.append(_Entry(f"{pid}/{info.id}", pid, info.id, None))
        return entries

    def _entry_for(self, key: str) -> _Entry | None:
        """A recent or favourite by nickname: a profile, or `provider/model` even before discovery has run."""
        config = self.service.config
        if key in config.profiles:
            profile = config.profiles[key]
            pid = config.canonical_provider_id(profile.provider)
            return _Entry(key, pid, profile.model, key) if pid else None
        pid, _, model = key.partition("/")
        if pid in config.providers and model:
            return _Entry(key, pid, model, None)
        return None

    def _availability(self, entry: _Entry) -> tuple[bool | None, str]:
        """(True, "") usable · (False, reason) cannot serve now · (None, "") not checked yet."""
        status = self._profile_statuses.get(entry.profile or "") or self._statuses.get(entry.provider)
        if status is None:
            return None, ""
        ok, reason = usable(status)
        return ok, as_slash_commands(reason)

    def _rebuild(self, reset_highlight: bool = False) -> None:
        option_list = self.query_one("#picker-list", OptionList)
        previous = option_list.highlighted_option.id if option_list.highlighted_option else None
        query = self.query_one("#picker-filter", Input).value.strip()
        self._rows = {}
        every = [e for pid in self.service.config.providers for e in self._entries(pid) if e.profile]
        self._widths = (
            min(20, max([len(e.key) for e in every] + [8])),
            min(24, max([len(e.model) for e in every] + [8])),
        )
        options: list[Option] = []
        if query:
            options = self._filtered_options(Matcher(query))
        else:
            options = self._grouped_options()
        option_list.set_options(options)
        if reset_highlight:
            self._auto_highlight = True
        # Until the user moves, the highlight follows the best row as states arrive; after, it stays put.
        target = None if self._auto_highlight else previous
        if target is None and not query and self.current:
            target = next((rid for rid, row in self._rows.items() if row.entry and row.entry.key == self.current), None)
        if target is not None and target in self._rows:
            option_list.highlighted = option_list.get_option_index(target)
        else:
            # The first row that can be used now; failing that, the first row at all.
            usable_rows = [i for i, o in enumerate(options) if not o.disabled and self._row_available(o.id)]
            choosable = [i for i, o in enumerate(options) if not o.disabled]
            option_list.highlighted = (usable_rows or choosable or [None])[0]
        self._show_detail()
        self._refresh_footer()

    def _grouped_options(self) -> list[Option]:
        options: list[Option] = []
        favourites = [e for e in (self._entry_for(k) for k in self._recents.favourites) if e]
        recent = [e for e in (self._entry_for(k) for k in self._recents.recent) if e]
        for section, title, entries in (("fav", "★ Favourites", favourites), ("recent", "Recent", recent)):
            if entries:
                options.append(self._header_option(section, _line(title, style="bold")))
                options += [self._entry_option(section, e) for e in entries]
        for pid in self._provider_order():
            options += self._group_options(pid, self._entries(pid))
        return options

    def _filtered_options(self, matcher: Matcher) -> list[Option]:
        """Matching rows only, still under their provider; the best-matching group and row first."""
        config = self.service.config
        groups = []
        for pid in self._provider_order():
            provider = config.providers[pid]
            scored = []
            for entry in self._entries(pid):
                score = max(matcher.match(entry.key), matcher.match(entry.model), 0.8 * matcher.match(f"{pid} {entry.model}"))
                if score > 0:
                    scored.append((score, entry))
            if not scored and not self._can_serve(pid):
                score = max(matcher.match(pid), matcher.match(provider.name))
                if score > 0:
                    groups.append((score, pid, None))
                continue
            if scored:
                scored.sort(key=lambda pair: -pair[0])
                groups.append((scored[0][0], pid, [e for _, e in scored]))
        groups.sort(key=lambda g: -g[0])  # stable: ties keep configuration order
        options: list[Option] = []
        for _, pid, entries in groups:
            options += self._group_options(pid, entries, filtered=True)
        return options

    def _row_available(self, row_id: str | None) -> bool:
        row = self._rows.get(row_id or "")
        return row is not None and row.entry is not None and self._availability(row.entry)[0] is not False

    def _can_serve(self, pid: str) -> bool:
        status = self._statuses.get(pid)
        return status is None or usable(status)[0]

    def _group_options(self, pid: str, entries: list[_Entry] | None, filtered: bool = False) -> list[Option]:
        options = [self._header_option(f"p:{pid}", self._group_title(pid))]
        hidden = 0
        if entries and not filtered:
            # A gateway may list hundreds of models: show the profiles and the first few, and let typing find the rest.
            profiles = [e for e in entries if not e.is_session]
            discovered = [e for e in entries if e.is_session]
            hidden = max(0, len(discovered) - MAX_DISCOVERED_SHOWN)
            entries = profiles + discovered[:MAX_DISCOVERED_SHOWN]
        if entries:
            options += [self._entry_option(f"p:{pid}", e) for e in entries]
        if hidden:
            options.append(self._note_option(pid, f"… and {hidden} more models: type to filter", suffix="more"))
        if not self._can_serve(pid):
            if not entries:
                options.append(self._connect_option(pid))
        elif not filtered:
            if pid not in self._statuses or (pid not in self._models and pid not in self._discovery_errors):
                options.append(self._note_option(pid, "checking…" if pid not in self._statuses else "looking for models…"))
            elif pid in self._discovery_errors:
                options.append(self._note_option(pid, f"model list unavailable: {self._discovery_errors[pid]}"))
            elif not entries:
                options.append(self._note_option(pid, "no models found"))
        return options

    def _group_title(self, pid: str) -> Text:
        """One line: state symbol, provider, state and (cut to fit) its detail; the full detail is in the pane."""
        provider = self.service.config.providers[pid]
        status = self._statuses.get(pid)
        title = _line()
        if status is None:
            title.append(f"… {provider.name}", style="bold")
            title.append(f" ({pid}) · checking", style="dim")
            return title
        ok = usable(status)[0]
        title.append(f"{STATE_SYMBOL[status.state]} {provider.name}", style="bold" if ok else "bold dim")
        title.append(f" ({pid}) · {status.state.value}", style="dim")
        if status.detail and ok:
            title.append(f" — {as_slash_commands(status.detail)}", style="dim")
        return title

    def _header_option(self, section: str, prompt: Text) -> Option:
        return Option(prompt, id=f"{section}\x1fheader", disabled=True)

    def _note_option(self, pid: str, text: str, suffix: str = "note") -> Option:
        return Option(_line(f"    {text}", style="dim italic"), id=f"p:{pid}\x1f{suffix}", disabled=True)

    def _connect_option(self, pid: str) -> Option:
        row_id = f"p:{pid}\x1fconnect"
        self._rows[row_id] = _Row("connect", pid)
        status = self._statuses.get(pid)
        reason = as_slash_commands(usable(status)[1]) if status is not None else ""
        text = _line("    ")
        text.append("connect:" if reason else "connect", style="bold dim")
        text.append(f" {reason}", style="dim italic")
        return Option(text, id=row_id)

    def _entry_option(self, section: str, entry: _Entry) -> Option:
        row_id = f"{section}\x1f{entry.key}"
        self._rows[row_id] = _Row("entry", entry.provider, entry)
        available, reason = self._availability(entry)
        config = self.service.config
        in_group = section.startswith("p:")
        dim = "dim" if available is False else ""
        text = _line()
        text.append(" ★ " if self._recents.is_favourite(entry.key) else "   ", style="yellow")
        key_w, model_w = self._widths
        if entry.is_session:
            # In its group the provider is named above; elsewhere the key `provider/model` says it all.
            text.append(f"{entry.model if in_group else entry.key:<{key_w + model_w + 1}} ", style=dim)
        else:
            text.append(f"{entry.key:<{key_w}} ", style=f"bold {dim}".strip())
            text.append(f"{entry.model:<{model_w}} ", style=dim)
        tags = []
        if not in_group:
            tags.append(entry.provider)
        if entry.is_session:
            tags.append("discovered")
        if entry.key == config.default_profile:
            tags.append("default")
        if entry.key == self.current:
            tags.append("current")
        info = self._info(entry)
        if info is not None and info.loaded:
            tags.append("loaded")
        if available is False:
            tags.append(f"unavailable: {reason}")
        if tags:
            text.append(" · ".join(tags), style="dim italic" if available is False else "dim")
        return Option(text, id=row_id)

    def _info(self, entry: _Entry) -> "ModelInfo | None":
        return next((m for m in self._models.get(entry.provider, []) if m.id == entry.model), None)

    # --- the detail pane -------------------------------------------------------------------------------------

    def _highlighted_row(self) -> _Row | None:
        option = self.query_one("#picker-list", OptionList).highlighted_option
        return self._rows.get(option.id) if option is not None and option.id else None

    def _show_detail(self) -> None:
        row = self._highlighted_row()
        self.query_one("#picker-detail", Static).update(self._detail_text(row) if row else Text("Nothing matches.", style="dim"))

    def _detail_text(self, row: _Row) -> "Group":
        from rich.console import Group
        from rich.table import Table

        config = self.service.config
        provider = config.providers[row.provider]
        entry = row.entry
        text = Text()
        if entry is None:
            text.append(f"{provider.name}\n", style="bold")
        else:
            text.append(f"{entry.key}\n", style="bold")
            text.append("profile\n" if entry.profile else "discovered model — a session profile until saved\n", style="dim")
        # A grid, so long values wrap inside their own column.
        fields = Table.grid(padding=(0, 1))
        fields.add_column(style="dim", no_wrap=True)
        fields.add_column()
        profile = config.profiles.get(entry.profile) if entry and entry.profile else None
        status = (self._profile_statuses.get(entry.profile or "") if entry else None) or self._statuses.get(row.provider)
        method = (profile.auth if profile and profile.auth else None) or (status.auth_method if status else provider.default_method)

        def field(name: str, value: str, style: str = "") -> None:
            fields.add_row(name, Text(value, style=style))

        field("Provider", f"{provider.name} ({provider.id})")
        if entry is not None:
            field("Model", entry.model)
        field("Auth", f"{method} · source {status.source}" if status else f"{method} · checking…")
        if status is not None:
            ok, _ = usable(status)
            line = state_line(status, detail=as_slash_commands(status.detail))
            field("State", line, "" if ok else "italic")
        available, reason = self._availability(entry) if entry else (self._can_serve(row.provider), "")
        if entry is not None:
            info = self._info(entry)
            # "not known yet" only while a model list may still come
            known = entry.provider in self._models or entry.provider in self._discovery_errors or available is False
            if info is not None and info.context_window:
                field("Context", f"{info.context_window:,} tokens")
            else:
                field("Context", "unknown" if known else "not known yet", "dim")
            if info is not None and info.capabilities:
                field("Capabilities", ", ".join(info.capabilities))
            if provider.local:
                loaded = None if info is None else info.loaded
                field("Loaded", {True: "yes, in memory", False: "no (loads on first use)", None: "unknown"}[loaded])
            if profile is not None:
                params = [f"{k}={getattr(profile, k)!r}" for k in ("temperature", "top_p", "max_tokens") if getattr(profile, k) is not None]
                if params:
                    field("Parameters", ", ".join(params))
                if profile.system:
                    field("System", profile.system if len(profile.system) <= 60 else profile.system[:59] + "…")
            if entry.key == config.default_profile:
                field("Default", "yes (default_profile)")
        hint = Text("\n", style="dim")
        if available is False or entry is None:
            hint.append(f"Enter or ctrl+l: connect {provider.id}" if entry is None else f"ctrl+l: connect {provider.id}")
        elif self.first_run:
            hint.append("Enter switches and makes it the default" + (" (saved as a profile first)" if entry.is_session else ""))
        elif entry.is_session:
            hint.append("Enter switches for this session · ctrl+s saves it as a profile")
        else:
            hint.append("Enter switches · ctrl+d makes it the default")
        return Group(text, fields, hint)

    # --- events ------------------------------------------------------------------------------------------------

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self) -> None:
        self._rebuild(reset_highlight=True)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()
        self._refresh_footer()

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_choose()

    def _refresh_footer(self) -> None:
        """Redraw the footer only when what it shows changes: redrawing it on every keystroke is slow."""
        actions = ("favourite", "set_default", "save_profile", "connect", "refresh")
        shown = tuple(self.check_action(a, ()) for a in actions)
        if shown != self._footer_state:
            self._footer_state = shown
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("favourite", "set_default", "save_profile", "connect", "refresh", "choose"):
            if self._saving is not None:
                return None if action != "choose" else True
            row = self._highlighted_row()
            if action in ("favourite", "set_default"):
                return None if row is None or row.entry is None else True
            if action == "save_profile":
                return None if row is None or row.entry is None or not row.entry.is_session else True
            if action == "connect":
                return None if row is None else True
        return True

    # --- actions -----------------------------------------------------------------------------------------------

    def action_cursor(self, direction: str) -> None:
        if self._saving is None:
            self._auto_highlight = False
            option_list = self.query_one("#picker-list", OptionList)
            {"up": option_list.action_cursor_up, "down": option_list.action_cursor_down,
             "page_up": option_list.action_page_up, "page_down": option_list.action_page_down}[direction]()

    def action_cancel(self) -> None:
        if self._saving is not None:
            self._close_save_bar()
            self._say("Not saved.")
            return
        self.dismiss(PickerResult("cancel", config=self._changed_config))

    def action_choose(self) -> None:
        if self._saving is not None:
            self._save_session(self.query_one("#picker-nickname", Input).value.strip())
            return
        row = self._highlighted_row()
        if row is None:
            self._say("Nothing to choose: change the filter.", error=True)
            return
        if row.kind == "connect" or row.entry is None:
            self.action_connect()
            return
        entry = row.entry
        available, reason = self._availability(entry)
        if available is False:
            self._say(f"{entry.key} cannot be used now: {reason}; press ctrl+l to connect {entry.provider}.", error=True)
            return
        try:
            chain = self._resolve(entry)
        except ConfigError as exc:
            self._say(f"Not switched — {exc}", error=True)
            return
        if self.first_run:
            if entry.is_session:
                self._open_save_bar("first-run", entry)
                return
            saved, note = self._write_default(entry.key)  # the switch happens either way; the note says how it went
            self._switch(entry, chain, saved_default=saved, note=note)
            return
        self._switch(entry, chain)

    def action_favourite(self) -> None:
        row = self._highlighted_row()
        if row is None or row.entry is None:
            return
        self._recents = recents_store.toggle_favourite(self.service.paths.recents_file, row.entry.key)
        starred = self._recents.is_favourite(row.entry.key)
        self._say(f"{row.entry.key} {'added to' if starred else 'removed from'} favourites.")
        self._rebuild()

    def action_set_default(self) -> None:
        row = self._highlighted_row()
        if row is None or row.entry is None:
            return
        if row.entry.is_session:
            self._open_save_bar("default", row.entry)
            return
        saved, note = self._write_default(row.entry.key)
        self._say(note, error=not saved)
        self._rebuild()

    def action_save_profile(self) -> None:
        row = self._highlighted_row()
        if row is not None and row.entry is not None and row.entry.is_session:
            self._open_save_bar("save", row.entry)

    def action_connect(self) -> None:
        row = self._highlighted_row()
        if row is None:
            return
        provider = self.service.config.providers[row.provider]
        self.dismiss(
            PickerResult("connect", provider=provider.id, config=self._changed_config, message=self._connect_hint(provider))
        )

    def action_refresh(self) -> None:
        self._start_all(refresh=True)
        self._say("Checking providers and model lists again…")

    # --- switching and saving ----------------------------------------------------------------------------------

    def _resolve(self, entry: _Entry) -> Chain:
        """The chain for an entry; a discovered model is resolved as a session profile against a config copy."""
        if entry.profile is not None:
            return self.service.resolve(entry.profile)
        return self.service.session_chain(entry.provider, entry.model)

    def _switch(self, entry: _Entry, chain: Chain, *, saved_default: bool = False, note: str = "") -> None:
        recents_store.record_use(self.service.paths.recents_file, entry.key)
        nickname = chain.profile.nickname
        message = f"Switched to {nickname} ({chain.provider.id} · {chain.profile.model})."
        if note:
            message += f" {note}"
        elif entry.is_session:
            message += " It is a session profile: open the model picker and press ctrl+s to save it as a profile."
        self.dismiss(
            PickerResult(
                "switch", nickname=nickname, profile=chain.profile, is_session_profile=entry.is_session and nickname not in self.service.config.profiles,
                chain=chain, provider=chain.provider.id, saved_default=saved_default, config=self._changed_config, message=message,
            )
        )

    def _write_default(self, nickname: str) -> tuple[bool, str]:
        path = self.service.config.file
        try:
            self.service.set_default_profile(nickname)
            self._reload()
        except ConfigError as exc:
            return False, f"Could not save {nickname} as the default: {exc}"
        return True, f"{nickname} is now the default model (default_profile in {path})."

    def _reload(self) -> None:
        """Note the configuration the service took after an edit (the first-run title goes once a default exists)."""
        self._changed_config = self.service.config
        if self.first_run and self.service.config.default_profile is not None:
            self.first_run = False
            self.query_one("#picker-title", Label).update("Choose a model")

    def _open_save_bar(self, purpose: Literal["save", "default", "first-run"], entry: _Entry) -> None:
        self._saving = (purpose, entry)
        label = {
            "save": f"Save {entry.key} as profile:",
            "default": f"Save {entry.key} as profile and make it the default:",
            "first-run": f"Save {entry.key} as your default profile:",
        }[purpose]
        self.query_one("#picker-save-label", Label).update(label)
        nickname = self.query_one("#picker-nickname", Input)
        nickname.value = suggest_nickname(entry.model, self.service.config.profiles)
        self.query_one("#picker-save").display = True
        nickname.focus()
        self._say("Enter saves to config.toml (your comments are kept) · Escape cancels.")
        self._refresh_footer()

    def _close_save_bar(self) -> None:
        self._saving = None
        self.query_one("#picker-save").display = False
        self.query_one("#picker-filter", Input).focus()
        self._refresh_footer()

    def _save_session(self, nickname: str) -> None:
        from tui_agent.core.chain import NICKNAME

        if self._saving is None:
            return
        purpose, entry = self._saving
        config = self.service.config
        if not NICKNAME.match(nickname):
            self._say("A nickname is letters, digits, '.', '_' or '-', starting with a letter or digit.", error=True)
            return
        if nickname in config.profiles:
            self._say(f"A profile called {nickname} already exists; choose another nickname.", error=True)
            return
        path = config.file
        try:
            self.service.add_profile(nickname, entry.provider, entry.model, make_default=purpose in ("default", "first-run"))
            self._reload()
        except ConfigError as exc:
            self._say(f"Not saved — {exc}", error=True)
            return
        self._close_save_bar()
        saved = _Entry(nickname, entry.provider, entry.model, nickname)
        if purpose == "first-run":
            try:
                chain = self._resolve(saved)
            except ConfigError as exc:
                self._say(f"Saved, but not switched — {exc}", error=True)
                return
            self._switch(saved, chain, saved_default=True, note=f"Saved as profile {nickname} and made it the default model (default_profile in {path}).")
            return
        if purpose == "default":
            self._say(f"Saved profile {nickname} and made it the default model in {path}.")
        else:
            self._say(f"Saved profile {nickname} in {path}.")
        self.query_one("#picker-filter", Input).value = ""
        self._rebuild()
        option_list = self.query_one("#picker-list", OptionList)
        row_id = f"p:{entry.provider}\x1f{nickname}"
        if row_id in self._rows:
            option_list.highlighted = option_list.get_option_index(row_id)

    def _connect_hint(self, provider: "ProviderConfig") -> str:
        status = self._statuses.get(provider.id)
        method = status.auth_method if status else provider.default_method
        reason = as_slash_commands(status.detail) if status is not None and not usable(status)[0] and status.detail else ""
        if method == "none":
            return f"{provider.name}: {reason}" if reason else f"{provider.name} needs no login."
        if "/login" in reason:
            return f"{provider.name}: {reason}"
        return f"{provider.name}: " + (f"{reason}; " if reason else "") + f"run /login {provider.id}"

    def _say(self, message: str, *, error: bool = False) -> None:
        widget = self.query_one("#picker-message", Static)
        widget.update(Text(sanitize(message)))  # errors may quote a server
        widget.set_class(error, "error")
