"""The history screen: past conversations newest first, full-text search over every message, and open, new,
rename, delete (confirmed) and export (Markdown + JSON), all from the keyboard.

Every read and write goes through `AsyncHistory` in a worker, so the screen draws at once and fills in; searches
are debounced and run in one exclusive worker group, so a slow older search never overwrites a newer one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Spacing
from textual.screen import ModalScreen
from textual.visual import Padding
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_agent.sanitize import sanitize, sanitize_keeping_offsets, sanitize_line
from tui_agent.service.history import HistoryError
from tui_agent.ui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from textual import events

    from tui_agent.service.history import AsyncHistory, Conversation, SearchHit

log = logging.getLogger("tui_agent.ui.history")

HistoryAction = Literal["open", "new"]
_UNTITLED = "Untitled conversation"
_SEARCH_GROUP = "history-search"
_LIST_GROUP = "history-list"
_sleep = asyncio.sleep  # the debounce wait; tests replace it instead of sleeping
_COMMAND_LETTERS = {"n": "new", "r": "rename", "d": "delete", "e": "export"}  # the list's command keys (BINDINGS)


@dataclass(frozen=True)
class HistoryResult:
    """What the history screen was closed with (Escape closes it with None instead)."""

    action: HistoryAction
    conversation_id: int | None = None  # open: the conversation to show
    message_id: int | None = None  # open from a search hit: the message that matched, to scroll to
    profile: str | None = None  # open: the profile the conversation last used (None if it has no answer yet)


def _count(n: int, singular: str, plural: str = "") -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _local_now() -> datetime:
    return datetime.now().astimezone()


def when_text(when: datetime, now: datetime) -> str:
    """How long ago `when` was, for a list: "just now", "5 min ago", "3 h ago", "2 days ago", else the date.

    The date is shown in `now`'s time zone, so a clock with a fixed zone gives the same text on every machine.
    """
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "just now"  # also absorbs small clock skew between writer and reader
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    if days < 7:
        return "1 day ago" if days == 1 else f"{days} days ago"
    return when.astimezone(now.tzinfo).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class _Row:
    """What one line of the list stands for."""

    kind: Literal["conversation", "hit", "more"]
    conversation_id: int | None = None
    title: str = ""
    message_id: int | None = None


class _HistoryList(OptionList):
    """The list of conversations or hits; Up on the first row goes back to the search field."""

    BINDINGS = [
        Binding("enter", "select", "Open"),
        Binding("up", "up_or_search", "Up", show=False),
    ]

    def action_up_or_search(self) -> None:
        if not self.highlighted:
            self.screen.query_one("#history-search", Input).focus()
        else:
            self.action_cursor_up()


class _SearchField(Input):
    """The search input; Down goes to the results (Input's own Down would only scroll the field)."""

    BINDINGS = [Binding("down", "screen.focus_list", "Results", key_display="↓")]


class _RenameDialog(ModalScreen[str | None]):
    """A one-field dialog for a new title; Enter saves, Escape cancels (None)."""

    DEFAULT_CSS = """
    _RenameDialog {
        align: center middle;
    }
    _RenameDialog #rename {
        width: 70;
        max-width: 90%;
        height: auto;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    _RenameDialog #rename-hint {
        color: $text-muted;
        padding: 0 1;
    }
    _RenameDialog #rename-hint.error {
        color: $text-error;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.old_title = title
        self._typed_ahead = False  # a key reached the dialog before its field had the focus

    def compose(self) -> ComposeResult:
        with Vertical(id="rename") as box:
            box.border_title = "Rename conversation"
            yield Input(value=sanitize_line(self.old_title), placeholder="New title", id="rename-input")
            yield Label("Enter saves · Escape cancels", id="rename-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rename-input", Input).focus()

    def on_key(self, event: "events.Key") -> None:
        """A title typed as the dialog opens replaces the old one, as typing into the selected title would."""
        from tui_agent.ui.type_ahead import hand_to_field

        field = self.query_one("#rename-input", Input)
        if not self._typed_ahead and event.is_printable and event.character:
            field.select_on_focus = False
            field.value = ""
        self._typed_ahead = hand_to_field(self, event, field) or self._typed_ahead

    @on(Input.Submitted, "#rename-input")
    def _save(self) -> None:
        title = self.query_one("#rename-input", Input).value.strip()
        if not title:
            hint = self.query_one("#rename-hint", Label)
            hint.update("A title cannot be empty; type one, or press Escape to keep the old one.")
            hint.add_class("error")
            return
        self.dismiss(title)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HistoryScreen(ModalScreen[HistoryResult | None]):
    """Browse and search past conversations; dismisses with a HistoryResult, or None on Escape."""

    CSS_PATH = "history.tcss"
    AUTO_FOCUS = "#history-list"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("slash", "search", "Search"),
        Binding("n", "new", "New chat"),
        Binding("r", "rename", "Rename"),
        Binding("d", "delete", "Delete"),
        Binding("e", "export", "Export"),
    ]

    def __init__(
        self,
        history: "AsyncHistory",
        *,
        export_dir: str | os.PathLike[str],
        clock: Callable[[], datetime] = _local_now,
        current: int | None = None,
        on_delete: Callable[[int], None] | None = None,
        debounce: float = 0.15,
        page_size: int = 100,
        hit_limit: int = 50,
    ) -> None:
        super().__init__()
        self.history = history
        self.export_dir = Path(export_dir)
        self.clock = clock
        self.current = current
        self.on_delete = on_delete
        self.debounce = debounce
        self.page_size = page_size
        self.hit_limit = hit_limit
        self._conversations: list["Conversation"] = []
        self._known: dict[int, "Conversation"] = {}  # every conversation seen, also those reached only by a hit
        self._has_more = False
        self._loaded = False
        self._query = ""
        self._hits: list["SearchHit"] | None = None  # None: not showing search results
        self._more_hits = False
        self._rows: dict[str, _Row] = {}
        # A search was started from the list (a letter, or "/") and its keys may still arrive there: they are text.
        self._typing_ahead = False
        self._open_top_hit = False  # Enter in the search field before its results came in
        self._hits_for = ""  # the words the hits shown were found for

    # --- layout ----------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="history") as box:
            box.border_title = "History"
            # Not selecting its text on focus: letters typed on the list arrive there before the focus does.
            yield _SearchField(placeholder="Search all messages  ( / )", id="history-search", select_on_focus=False)
            yield _HistoryList(id="history-list")
            yield Static("", id="history-empty", markup=False)
            yield Static("Loading conversations…", id="history-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history-empty").display = False
        self._start_list()

    @property
    def loaded(self) -> bool:
        """True once the first page of conversations has arrived."""
        return self._loaded

    # --- loading and searching (workers) -------------------------------------------------------------------------

    def _start_list(self, *, more: bool = False, keep: str | None = None) -> None:
        self.run_worker(
            self._load_list(more, keep), group=_LIST_GROUP, exclusive=True, exit_on_error=False
        )

    async def _load_list(self, more: bool, keep: str | None) -> None:
        offset = len(self._conversations) if more else 0
        # Ask for one more than a page: its presence is what says an older page exists.
        limit = self.page_size if more else max(self.page_size, len(self._conversations))
        page = await self._guard("list the conversations", self.history.list_conversations(limit + 1, offset))
        if page is None:
            return
        self._has_more = len(page) > limit
        page = page[:limit]
        self._conversations = self._conversations + page if more else page
        self._known.update((c.id, c) for c in page)
        self._loaded = True
        if self._hits is None and not self._query:
            self._show_list(keep=keep)

    @on(Input.Changed, "#history-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._query = event.value.strip()
        if not self._query:
            self.workers.cancel_group(self, _SEARCH_GROUP)
            self._hits = None
            if self._loaded:
                self._show_list()
            return
        # A function, not a coroutine: a search cancelled by the next key before it started is never created.
        self.run_worker(partial(self._search, self._query), group=_SEARCH_GROUP, exclusive=True, exit_on_error=False)

    async def _search(self, query: str) -> None:
        # Debounce by sleeping first: the next keystroke starts a new exclusive worker, which cancels this one here.
        if self.debounce:
            await _sleep(self.debounce)
        self._say("Searching…")
        # One more than shown: its presence is what says there are more matches than the list holds.
        hits = await self._guard("search the history", self.history.search(query, limit=self.hit_limit + 1))
        if hits is None:
            return
        more, hits = len(hits) > self.hit_limit, hits[: self.hit_limit]
        for conversation_id in dict.fromkeys(h.conversation_id for h in hits):
            if conversation_id not in self._known:
                found = await self._guard("read a conversation", self.history.get_conversation(conversation_id))
                if found is not None:
                    self._known[conversation_id] = found
        if query != self._query:
            return  # the field changed while this ran; the newer search (or the list) owns the screen
        self._hits, self._more_hits, self._hits_for = hits, more, query
        self._show_hits()
        if self._open_top_hit:
            self._open_top_hit = False
            self._open_first_hit()

    async def _guard(self, what: str, call: Awaitable):
        """Await a history call; a failure becomes one sentence in the status line and None."""
        try:
            return await call
        except HistoryError as err:
            self._say(str(err), error=True)
        except Exception as err:  # a bug must not leave the screen silently stuck
            log.exception("history screen: could not %s", what)
            self._say(f"Could not {what} ({type(err).__name__}); the details are in the log file.", error=True)
        return None

    # --- drawing -------------------------------------------------------------------------------------------------

    def _show_list(self, keep: str | None = None) -> None:
        now = self.clock()
        options = [
            (self._conversation_option(c, now), _Row("conversation", c.id, c.title)) for c in self._conversations
        ]
        if self._has_more:
            more = Option(Content.styled("… show older conversations", "italic $text-muted"), id="more")
            options.append((more, _Row("more")))
        if not options:
            self._fill([], keep, empty="No conversations yet.\n\nPress n to start one, or Escape to go back.")
            self._say("")
            return
        self._fill(options, keep, empty="")
        self._say(_count(len(self._conversations), "conversation") + (", older ones below" if self._has_more else ""))

    def _show_hits(self, keep: str | None = None) -> None:
        hits = self._hits or []
        now = self.clock()
        groups: dict[int, list["SearchHit"]] = {}
        for hit in hits:  # newest first; a conversation's group sits where its newest hit is
            groups.setdefault(hit.conversation_id, []).append(hit)
        options: list[tuple[Option, _Row]] = []
        for conversation_id, group in groups.items():
            conversation = self._known.get(conversation_id)
            title = group[0].conversation_title
            if conversation is not None:
                option = self._conversation_option(conversation, now, matches=len(group))
            else:  # it could not be read just now; its hits still say enough to open it
                option = self._bare_conversation_option(group[0], len(group))
            options.append((option, _Row("conversation", conversation_id, title)))
            options += [
                (self._hit_option(hit, now), _Row("hit", conversation_id, title, hit.message_id)) for hit in group
            ]
        total, places = len(hits), len(groups)
        if not hits:
            status = ""
        elif self._more_hits:
            status = (
                f"The newest {_count(total, 'match', 'matches')}, in {_count(places, 'conversation')}; "
                "add words to narrow the search"
            )
        else:
            status = f"{_count(total, 'match', 'matches')} in {_count(places, 'conversation')}"
        self._fill(options, keep, empty="" if hits else f"No messages match “{self._query}”.")
        self._say(status)

    def _fill(self, rows: list[tuple[Option, _Row]], keep: str | None, *, empty: str) -> None:
        option_list = self.query_one("#history-list", OptionList)
        previous = keep or (option_list.highlighted_option.id if option_list.highlighted_option else None)
        index = option_list.highlighted or 0
        options = [option for option, _ in rows]
        option_list.set_options(options)
        self._rows = {option.id: row for option, row in rows if option.id}
        if options:
            ids = [o.id for o in options]
            option_list.highlighted = ids.index(previous) if previous in ids else min(index, len(options) - 1)
        placeholder = self.query_one("#history-empty", Static)
        placeholder.update(empty)
        placeholder.display = bool(empty)
        # An empty list shrinks to nothing but keeps the focus, so n and / still work as the message says.
        option_list.set_class(bool(empty), "-empty")
        self.refresh_bindings()

    def _conversation_option(self, conversation: "Conversation", now: datetime, matches: int = 0) -> Option:
        title = Content.styled(sanitize_line(conversation.title) or _UNTITLED, "bold" if conversation.title else "italic")
        if conversation.id == self.current:
            title += Content.styled("  · open now", "$text-accent")
        count = conversation.message_count
        meta = [when_text(conversation.updated_at, now), _count(count, "message")]
        if conversation.profile:
            detail = " · ".join(sanitize_line(p) for p in (conversation.provider, conversation.model) if p)
            meta.append(f"{sanitize_line(conversation.profile)} ({detail})" if detail else sanitize_line(conversation.profile))
        else:
            meta.append("no answer yet")
        if matches:
            meta.append(_count(matches, "match", "matches"))
        line = Content.assemble(title, "\n", Content.styled("  " + " · ".join(meta), "$text-muted"))
        return Option(line, id=f"c:{conversation.id}")

    def _bare_conversation_option(self, hit: "SearchHit", matches: int) -> Option:
        title = Content.styled(sanitize_line(hit.conversation_title) or _UNTITLED, "bold" if hit.conversation_title else "italic")
        meta = Content.styled("  " + _count(matches, "match", "matches"), "$text-muted")
        return Option(Content.assemble(title, "\n", meta), id=f"c:{hit.conversation_id}")

    def _hit_option(self, hit: "SearchHit", now: datetime) -> Option:
        who = {"user": "You", "assistant": "Answer", "system": "System"}.get(hit.role, hit.role)
        head = Content.styled(f"{who} · {when_text(hit.created_at, now)}", "$text-muted")
        # Same length replacements keep the highlight offsets valid.
        snippet = Content(sanitize_keeping_offsets(hit.snippet))
        for start, end in hit.highlights:
            snippet = snippet.stylize("bold reverse", start, end)
        body = Content.assemble(head, "\n", snippet)
        return Option(Padding(body, Spacing(0, 0, 0, 4)), id=f"h:{hit.message_id}:{hit.conversation_id}")

    def _say(self, message: str, *, error: bool = False) -> None:
        message = sanitize(message)  # it may quote a title, which may quote anything
        if not self.is_attached:  # closed while a change finished: only a failure is still worth a word
            if error:
                self.app.notify(message, severity="error", timeout=10, markup=False)
            return
        status = self.query_one("#history-status", Static)
        status.update(message)
        status.set_class(error, "error")

    # --- the highlighted row -------------------------------------------------------------------------------------

    def _row(self) -> _Row | None:
        option_list = self.query_one("#history-list", OptionList)
        option = option_list.highlighted_option
        if option is None:
            return None
        return self._rows.get(option.id or "")

    def _target(self) -> "tuple[int, str, Conversation | None] | None":
        """The conversation under the highlight (a hit stands for its conversation): id, title, record if known."""
        row = self._row()
        if row is None or row.conversation_id is None:
            return None
        known = self._known.get(row.conversation_id)
        return row.conversation_id, (known.title if known else row.title), known

    def _typing(self) -> bool:
        return isinstance(self.focused, Input)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("rename", "delete", "export"):
            # Letters typed in the search field are text, not commands: show these dimmed meanwhile.
            return None if self._typing() or self._target() is None else True
        if action == "new":
            return None if self._typing() else True
        if action == "search":
            return not self._typing()  # "/" is text while typing a search
        if action == "focus_list":
            return True if self.query_one("#history-list", OptionList).option_count else None
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    # --- actions -------------------------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_search(self) -> None:
        self.query_one("#history-search", Input).focus()

    def on_key(self, event: "events.Key") -> None:
        """Letters that reach the screen (typed on the list, or before anything had the focus) start a search.

        n, r, d and e stay commands on the list; once a search has started from the list, every letter is text,
        also those that were already on their way to the list when the focus moved."""
        from tui_agent.ui.type_ahead import hand_to_field, pass_to_top

        if not event.is_printable or not event.character or pass_to_top(self, event):
            return
        field = self.query_one("#history-search", Input)
        command = _COMMAND_LETTERS.get(event.character)
        if event.character == "/" and not self._typing_ahead:
            self._typing_ahead = hand_to_field(self, event, field, insert=False)
        elif self._typing_ahead or command is None:
            self._typing_ahead = hand_to_field(self, event, field)
        elif self.check_action(command, ()):
            # Run here rather than by the binding, which resolves only after the letters typed behind it have
            # reached this screen: `r` then a title typed at once renames, the title going to the dialog.
            event.stop()
            event.prevent_default()
            getattr(self, f"action_{command}")()

    def action_focus_list(self) -> None:
        option_list = self.query_one("#history-list", OptionList)
        if option_list.option_count:
            self._typing_ahead = False
            option_list.focus()

    @on(Input.Submitted, "#history-search")
    def _search_submitted(self) -> None:
        """Enter in the search field opens the top hit (once the search has answered); with no words, the list."""
        if not self._query:
            self.action_focus_list()
        elif self._hits is not None and self._hits_for == self._query:
            self._open_first_hit()
        else:
            self._open_top_hit = True

    def _open_first_hit(self) -> None:
        option_list = self.query_one("#history-list", OptionList)
        first = next((option.id for option in option_list.options if option.id and option.id.startswith("h:")), None)
        if first is not None:
            option_list.highlighted = option_list.get_option_index(first)
            option_list.action_select()

    def action_new(self) -> None:
        self.dismiss(HistoryResult("new"))

    @on(OptionList.OptionSelected, "#history-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        row = self._rows.get(event.option_id or "")
        if row is None:
            return
        if row.kind == "more":
            self._say("Loading older conversations…")
            self._start_list(more=True, keep="more")
            return
        known = self._known.get(row.conversation_id or -1)
        self.dismiss(
            HistoryResult(
                "open", conversation_id=row.conversation_id, message_id=row.message_id,
                profile=known.profile if known else None,
            )
        )

    def action_rename(self) -> None:
        target = self._target()
        if target is None:
            return
        conversation_id, old_title, _ = target

        def renamed(title: str | None) -> None:
            if title is not None and title != old_title:
                self._write(self._rename(conversation_id, title))

        self.app.push_screen(_RenameDialog(old_title), renamed)

    def _write(self, work: Awaitable[None]) -> None:
        """Run a confirmed change in an app-owned worker: closing the screen meanwhile must not cut it short
        (a delete would happen without the caller hearing of it). Drawing afterwards is skipped once closed."""
        self.app.run_worker(work, group="history-write", exit_on_error=False)

    async def _rename(self, conversation_id: int, title: str) -> None:
        conversation = await self._guard("rename the conversation", self.history.rename(conversation_id, title))
        if conversation is None:
            return
        self._known[conversation.id] = conversation
        self._conversations = [conversation if c.id == conversation.id else c for c in self._conversations]
        if self._hits is not None:
            self._hits = [_retitled(h, title) if h.conversation_id == conversation.id else h for h in self._hits]
        self._redraw()
        self._say(f"Renamed to “{conversation.title}”.")

    def action_delete(self) -> None:
        target = self._target()
        if target is None:
            return
        conversation_id, title, known = target
        if known is None:
            what = "all its messages"
        else:
            what = f"its {_count(known.message_count, 'message')}"
        question = f"Delete “{sanitize_line(title) or _UNTITLED}” and {what}? This cannot be undone."
        if conversation_id == self.current:
            question += " It is the conversation open now; the chat starts a new one."

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._write(self._delete(conversation_id, title))
            else:
                self._say("Nothing deleted.")

        self.app.push_screen(
            ConfirmScreen(question, title="Delete conversation", yes="Delete", no="Keep", danger=True), answered
        )

    async def _delete(self, conversation_id: int, title: str) -> None:
        deleted = await self._guard("delete the conversation", self.history.delete(conversation_id))
        if deleted is None:
            return
        if self.on_delete is not None:
            self.on_delete(conversation_id)
        self._known.pop(conversation_id, None)
        self._conversations = [c for c in self._conversations if c.id != conversation_id]
        if self._hits is not None:
            self._hits = [h for h in self._hits if h.conversation_id != conversation_id]
        self._redraw()
        self._say(f"Deleted “{title or _UNTITLED}”." if deleted else "That conversation was already gone.")

    def action_export(self) -> None:
        target = self._target()
        if target is None:
            return
        conversation_id, title, _ = target
        self._say("Exporting…")
        self._write(self._export(conversation_id, title))

    async def _export(self, conversation_id: int, title: str) -> None:
        markdown = await self._guard("export the conversation", self.history.export_markdown(conversation_id))
        document = await self._guard("export the conversation", self.history.export_json(conversation_id))
        if markdown is None or document is None:
            return
        try:
            stem = _export_stem(title, conversation_id)
            paths = await asyncio.to_thread(_write_export, self.export_dir, stem, markdown, document)
        except OSError as err:
            self._say(
                f"Could not write the export to {self.export_dir} ({err.strerror or err}); "
                "check that the folder is writable.",
                error=True,
            )
            return
        md_path, json_path = paths
        self._say(f"Exported to {md_path} and {json_path.name}.")
        self.app.notify(f"{md_path}\n{json_path}", title=f"Exported “{sanitize_line(title) or _UNTITLED}”", timeout=8, markup=False)

    def _redraw(self) -> None:
        if not self.is_attached:
            return
        if self._hits is not None:
            self._show_hits()
        else:
            self._show_list()


def _retitled(hit: "SearchHit", title: str) -> "SearchHit":
    from dataclasses import replace

    return replace(hit, conversation_title=title)


def _export_stem(title: str, conversation_id: int) -> str:
    """A file name from the title: lower case, words joined by '-', at most 40 characters, then the id."""
    slug = re.sub(r"[^\w]+", "-", title.casefold()).strip("-_")[:40].rstrip("-_")
    return f"{slug or 'conversation'}-{conversation_id}"


def _write_export(directory: Path, stem: str, markdown: str, document: str) -> tuple[Path, Path]:
    """Write STEM.md and STEM.json (STEM-2… when taken, never overwriting), owner-only like the history itself."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    n = 1
    while True:
        name = stem if n == 1 else f"{stem}-{n}"
        md_path, json_path = directory / f"{name}.md", directory / f"{name}.json"
        if not md_path.exists() and not json_path.exists():
            try:
                _write_new(md_path, markdown)
            except FileExistsError:
                n += 1
                continue
            _write_new(json_path, document)
            return md_path, json_path
        n += 1


def _write_new(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
