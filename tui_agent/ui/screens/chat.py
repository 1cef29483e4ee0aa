"""The chat screen: header with the active profile, the conversation, slash-command hints, the prompt, the footer.

The first frame needs nothing but the config: the service is built (lazily, by the app) only when a
model is chosen, a prompt is sent, or the first-run scan starts after the first refresh. Message widgets
and Markdown are imported when the first message is shown.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from functools import partial
from typing import TYPE_CHECKING, Iterator

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive, var
from textual.widgets import Footer, Static

from tui_agent.service.claims import ConversationBusy
from tui_agent.ui.branching import BranchCommands
from tui_agent.ui.input_timing import key_pace, user_typing
from tui_agent.ui.layout_hold import HoldsLayout
from tui_agent.ui.widgets.attachments import AttachmentChips, with_attached
from tui_agent.ui.widgets.completion import CompletionMenu
from tui_agent.ui.widgets.transcript import Transcript
from tui_agent.ui.widgets.prompt import Prompt

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.worker import Worker

    from tui_agent.core.chain import Chain
    from tui_agent.core.chat import ChatMessage
    from tui_agent.core.events import Usage
    from tui_agent.service.attachments import Prepared
    from tui_agent.service.chat_session import ChatSession
    from tui_agent.service.history import Message as StoredMessage
    from tui_agent.ui.code_blocks import CodeBlock
    from tui_agent.ui.widgets.message import AnswerState, AssistantMessage
    from tui_agent.ui.widgets.status_panel import StatusPanel
    from tui_agent.ui.widgets.welcome import Welcome

log = logging.getLogger("tui_agent.ui.chat")

# Shown by /help beside the commands; keep in step with BINDINGS and the prompt's keys.
KEYS_HELP: tuple[tuple[str, str], ...] = (
    ("Enter", "send the prompt"),
    ("shift+enter, ctrl+j", "new line in the prompt"),
    ("up / down", "earlier prompts, also from earlier runs (on the first / last line); in an open menu, move"),
    ("Tab", "complete from the menu (/commands, their arguments, @paths): common prefix first, then cycle"),
    ("Escape", "close the completion menu; else stop the answer that is streaming (keeps what arrived); leave editing a prompt"),
    ("ctrl+c", "stop the streaming answer; copy selected text; clear the prompt (Up brings it back); "
               "twice within a second on an empty prompt: quit"),
    ("f4", "edit the last prompt (or the selected one): Enter sends it as a new branch"),
    ("f5", "retry: ask the last prompt again (/retry NICK: with another profile)"),
    ("f8", "continue an answer that was stopped, cut off or failed midway"),
    ("alt+left / alt+right", "switch to the previous / next version (‹ 2/3 ›) of the selected message"),
    ("alt+up / alt+down", "select an earlier / later message (for f4 and alt+left / alt+right)"),
    ("PageUp / PageDown", "scroll the conversation (PageUp at the top: older messages of a reopened one)"),
    ("End", "jump to the bottom and follow new text (when scrolled up)"),
    ("ctrl+n", "new conversation"),
    ("ctrl+t", "choose a model (the model picker)"),
    ("ctrl+r", "history: past conversations, search"),
    ("f2", "show or hide the auth status panel"),
    ("f3", "logins: every provider's state, log in or out"),
    ("ctrl+o", "copy the last answer (its Markdown)"),
    ("ctrl+b", "copy the last code block (palette: any code block)"),
    ("ctrl+p", "command palette: every action"),
    ("f1", "this help"),
    ("ctrl+q", "quit"),
)

# Below this width the footer is compact and leaves out these keys (/help and the palette still name them), so
# the keys it shows are never cut at the right edge (at 80 columns the full set ended in "f1 Hel").
NARROW_FOOTER = 100
NARROW_FOOTER_HIDES = frozenset({"f2", "f3"})

STREAM_TURN = 0.01  # seconds the answer's stream may be read without letting the event loop run something else
# …and while the user types: a key goes from the terminal to the prompt in several hops (the app, the screen, the
# prompt), each of which waits for the callbacks queued before it, and a turn of the stream is one of them.
STREAM_TURN_TYPING = 0.002
MAX_MOUNTED = 200  # message widgets kept in a live conversation; older ones page back in from history
OPEN_PAGE = 10  # messages mounted when a stored conversation opens (a screenful or more), and per page scrolled up


def _chat_commands() -> "type[Provider]":
    from tui_agent.ui.palette import PaletteCommands

    return PaletteCommands


class ChatScreen(BranchCommands, HoldsLayout):
    """Where the conversation happens."""

    # chat.tcss is loaded with the app's CSS (ui/app.py): the first screen costs no stylesheet re-parse.
    # The side panel shows by default from 120 columns; below, a one-line summary sits in the header.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    # The prompt takes the focus as the screen is composed: with Textual's default ("*") the conversation took
    # it first and gave it up to the prompt only after the first frame (a restyle each way).
    AUTO_FOCUS = "#prompt"
    COMMANDS = {_chat_commands}
    BINDINGS = [
        Binding("ctrl+q", "app.quit", "Quit", priority=True),
        Binding("escape", "close_menu", show=False, priority=True),
        Binding("escape", "stop", "Stop", priority=True),
        Binding("escape", "cancel_edit", "Cancel edit", show=False),
        Binding("ctrl+c", "ctrl_c", "Clear/quit", priority=True),
        Binding("end", "bottom", "Bottom", priority=True),
        Binding("pageup", "page_up", "Page up", show=False, priority=True),
        Binding("pagedown", "page_down", "Page down", show=False, priority=True),
        Binding("ctrl+n", "new", "New"),
        Binding("ctrl+t", "models", "Model"),
        Binding("ctrl+o", "copy_answer", "Copy answer", show=False),
        Binding("ctrl+b", "copy_code", "Copy code", show=False),
        Binding("ctrl+r", "history", "History"),
        Binding("f2", "toggle_status", "Status"),
        Binding("f3", "auth", "Logins"),
        Binding("f1", "help", "Help"),
        # Continue shows only when it can act, before Retry: a narrow footer cuts from the right.
        Binding("f4", "edit", "Edit"),
        Binding("f8", "continue", "Continue"),
        Binding("f5", "retry", "Retry"),
        Binding("alt+left", "sibling_prev", "‹ Branch"),
        Binding("alt+right", "sibling_next", "Branch ›"),
        Binding("alt+up", "select_up", "Select up", show=False),
        Binding("alt+down", "select_down", "Select down", show=False),
    ]

    is_streaming: reactive[bool] = reactive(False, bindings=True)
    following: reactive[bool] = reactive(True, bindings=True)
    # Watchable by other widgets (the status side panel): `self.watch(chat_screen, "profile", callback)`.
    profile: var[str | None] = var(None)  # the active nickname (None: first run, nothing chosen yet)
    usage: var["Usage | None"] = var(None)  # the last answer's token counts

    @property
    def answer_busy(self) -> bool:
        """An answer streams, or its worker still draws what arrived: a fast answer is drawn after its stream ended."""
        worker = self._worker
        return self.is_streaming or (worker is not None and not worker.is_finished)

    def __init__(self, profile: str | None) -> None:
        super().__init__()
        self.profile = profile
        self._height = 0  # the screen's height at the last resize
        self.chain: "Chain | None" = None  # resolved on first use, or by /model
        # The conversation's messages and persistence live in the service's ChatSession, built on first use.
        self.session: "ChatSession | None" = None
        self._older: list["StoredMessage"] = []  # a reopened conversation's messages not mounted yet (oldest first)
        self._answer: "AssistantMessage | None" = None  # the answer streaming now
        self._answer_prompt = ""  # the prompt text of that answer, given back if it fails
        self._answer_chips: list = []  # the files attached with /attach to that prompt, given back with it
        self._worker: "Worker | None" = None
        self._welcome: "Welcome | None" = None
        self._more_text = ""
        # A prompt sent or a conversation opened: the resume at start (after the first frame) must not replace it.
        self._user_acted = False
        self._oversize_confirmed = ""  # a prompt the user was warned will not fit the context window
        from tui_agent.ui.ctrl_c import CtrlC

        self._ctrl_c = CtrlC()
        self._menu: CompletionMenu | None = None

    # --- layout ------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from tui_agent.ui.widgets.footer import KeysFooter
        from tui_agent.ui.widgets.settings_lines import ContextSummary, SystemPromptLine
        from tui_agent.ui.widgets.status_summary import StatusSummary

        # The width class (-narrow / -wide) is set before the children are styled: added by Textual's first
        # Resize instead, it restyled the whole screen once more before the first frame.
        self.set_class(True, *self._get_breakpoint_classes(self.app.size.width, self.HORIZONTAL_BREAKPOINTS), update=False)
        with Horizontal(id="chat-header-row"):
            yield Static(self._header_text(), id="chat-header", markup=False)
            yield ContextSummary(id="context-summary")
            yield StatusSummary(self.app.config.providers, lambda: self.app.service)
        # #body holds the conversation column; the status side panel mounts beside #main after the first frame.
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield Static(id="history-banner", markup=False)
                yield SystemPromptLine(id="system-line")
                with Transcript(id="conversation"):
                    if self.profile is None:
                        from tui_agent.ui.widgets.welcome import Welcome

                        self._welcome = Welcome(self.app.config)
                        yield self._welcome
                yield Static("more arriving ↓  (End jumps to the bottom)", id="more", markup=False)
                prompt = Prompt(id="prompt")
                yield AttachmentChips(prompt, id="attachments")
                yield prompt
                # id "hints": the menu also shows a command's usage while its argument is typed.
                yield CompletionMenu(prompt, self._completion_sources, id="hints")
        yield KeysFooter()

    def on_mount(self) -> None:
        for name in ("#more", "#hints", "#history-banner"):
            self.query_one(name).display = False
        setting = self.app.config.ui.side_panel
        if setting != "auto":
            self.add_class("-status-open" if setting == "show" else "-status-closed")
        self.prompt.focus()
        self._menu = self.prompt.menu = self.query_one("#hints", CompletionMenu)
        self.app.after_first_frame(self._load_recall)
        # The screen's callbacks run once it is painted and idle: its first frame is on the terminal then.
        self.call_after_refresh(self.app.first_frame_drawn)
        # The side panel's rows, timers and the service behind them are not needed for the first frame.
        self.app.after_first_frame(self._ensure_status_panel)
        self.app.after_first_frame(lambda: self._show_settings(learn=True))  # the profile's system prompt, context
        if self.profile is None:
            # The scan probes local servers and the CLI: never before the first frame is on screen.
            self.app.after_first_frame(self._scan_machine)
        # Reading history is disk work: after the first frame too. The store is opened either way, so a damaged
        # database is said at once, not at the first send.
        self.app.after_first_frame(lambda: self.run_worker(self._open_history(), group="resume", exit_on_error=False))
        if self.app.explicit_model:
            self.app.after_first_frame(lambda: self.run_worker(self._say_why_explicit_model_cannot_serve(), exit_on_error=False))

    def _load_recall(self) -> None:
        """Prompts sent in earlier runs, for up/down (a small file: read after the first frame)."""
        from tui_agent.service.recall import PromptRecall

        store = PromptRecall(self.app.paths.prompt_recall_file)
        self.prompt.load_recall(store.load())
        self.prompt.recall_store = store

    def _ensure_status_panel(self) -> "StatusPanel":
        """The side panel, mounted now unless it is already (planned after the first frame, or on first use)."""
        found = self.query_one("#body").query_children("#status-panel")
        if found:
            return found.first()
        from tui_agent.ui.widgets.status_panel import PROBE_EVERY, StatusPanel

        panel = StatusPanel(
            self.app.service, profile=self.profile, id="status-panel",
            probe_every=PROBE_EVERY if self.app.status_probes else None,
        )
        self.query_one("#body").mount(panel)
        return panel

    async def _open_history(self) -> None:
        try:
            await self.app.service.history.open()
        except Exception:
            log.exception("could not open the history")
        self.show_history_notice()
        if self.app.config.ui.resume_last:
            await self._resume_last()

    def show_history_notice(self) -> None:
        """The history banner: what is wrong with the history database, where it is and what happens now."""
        notice = self.app.service.history_notice()
        banner = self.query_one("#history-banner", Static)
        if notice:
            from tui_agent.sanitize import sanitize

            banner.update(f"⚠ {sanitize(notice)}")
        banner.display = bool(notice)

    async def _resume_last(self) -> None:
        """Open on the last conversation ([ui] resume_last = true); `--model` keeps the profile it named."""
        try:
            last = await self.app.service.history.last_conversation()
        except Exception:
            log.exception("could not read the last conversation")
            return
        if last is None or not last.message_count or self._user_acted:
            return  # nothing to resume, or the user has already sent a prompt or opened a conversation
        if not self.app.service.claims.claim(last.id):
            self._note("Your last conversation is open in another tui-agent window, so this one starts a new "
                       "conversation (/history lists them all).")
            return
        await self.open_conversation(last.id, keep_profile=self.app.explicit_model)

    def _header_text(self) -> Text:
        text = Text()
        if self.profile is None:
            text.append("tui-agent", style="bold")
            text.append(" · no model chosen — press ctrl+t to choose one")
            return text
        if self.chain is not None:  # also covers a session profile that is not in config.toml
            provider, model = self.chain.provider.id, self.chain.profile.model
        else:
            profile = self.app.config.profiles[self.profile]
            provider, model = self.app.config.canonical_provider_id(profile.provider) or profile.provider, profile.model
        text.append(self.profile, style="bold")
        text.append(f" · {provider} · {model}")
        return text

    def _refresh_header(self) -> None:
        self.query_one("#chat-header", Static).update(self._header_text())

    @property
    def transcript(self) -> list["ChatMessage"]:
        """What the next request sends (the session's messages)."""
        return self.session.messages if self.session is not None else []

    @property
    def conversation_id(self) -> int | None:
        """The stored conversation's id (None until its first message is sent)."""
        return self.session.conversation_id if self.session is not None else None

    def _ensure_session(self) -> "ChatSession":
        if self.session is None:
            self.session = self.app.service.chat_session(None)
        return self.session

    @property
    def conversation(self) -> Transcript:
        return self.query_one("#conversation", Transcript)

    @property
    def prompt(self) -> Prompt:
        return self.query_one("#prompt", Prompt)

    # --- first run ---------------------------------------------------------------------------------------

    def _scan_machine(self) -> None:
        self.run_worker(self._scan(), group="scan", exit_on_error=False)

    async def _scan(self) -> None:
        try:
            statuses = await self.app.service.status_all(probe=True)
        except Exception:
            log.exception("first-run scan failed")
            statuses = []
        if self._welcome is not None:
            self._welcome.show_found(statuses)
            self.call_after_refresh(self._welcome_from_its_top)

    def _welcome_from_its_top(self) -> None:
        """A welcome taller than the view is read from its first line, not scrolled to its end."""
        if self._welcome is not None and self.conversation.max_scroll_y > 0:
            self.conversation.release_anchor()
            self.conversation.scroll_home(animate=False)

    def _remove_welcome(self) -> None:
        if self._welcome is not None:
            self._welcome.remove()
            self._welcome = None
            self.conversation.jump_to_bottom()

    # --- prompt ------------------------------------------------------------------------------------------

    def on_text_area_changed(self, event: Prompt.Changed) -> None:
        if event.text_area is self.prompt:
            self._show_hints(self.prompt.text)
            pacer = self.app.gc_pacer
            if pacer is not None:  # after the frame that shows the key typed: the gap before the next one
                self.call_after_refresh(pacer.after_echo)

    def _show_hints(self, text: str) -> None:
        self.query_one("#hints", CompletionMenu).refresh_for(text)
        self.query_one(AttachmentChips).follow(text)

    def _completion_sources(self) -> tuple[list[str], list[str]]:
        """What /model (profiles) and /login, /logout (providers) complete from: the config in force."""
        return list(self.app.config.profiles), list(self.app.config.providers)

    def on_prompt_tab_pressed(self, event: Prompt.TabPressed) -> None:
        menu = self.query_one("#hints", CompletionMenu)
        if not menu.is_open:
            menu.reopen()
        menu.tab()

    async def on_prompt_submitted(self, event: Prompt.Submitted) -> None:
        from tui_agent.ui import slash  # the command table: when a prompt is sent, not at start

        text = event.text
        if slash.is_slash(text):
            self.prompt.remember(text)
            self.prompt.clear()
            await self.run_command(text)
            return
        if text.lstrip().startswith("//"):
            text = text.replace("//", "/", 1)  # "//" escapes a message that starts with a slash
        if self.is_streaming:
            self.notify("An answer is still arriving; press Escape to stop it, or wait, then press Enter.", severity="warning", markup=False)
            return
        if self.profile is None:
            from tui_agent.service.chat_session import NO_MODEL

            self._note(f"{NO_MODEL[:-1]}; then send again.", error=True)
            return
        chain = self._ensure_chain()
        if chain is None:
            return
        session = self._ensure_session()
        session.switch_to_chain(chain)
        warning = session.will_not_fit(text)
        if warning and self._oversize_confirmed != text:
            self._oversize_confirmed = text  # a second Enter on the same text sends it anyway
            self._note(f"{warning} Shorten it, or press Enter again to send it anyway.", error=True)
            return
        self._oversize_confirmed = ""
        if await self.submit_edit(text):
            return
        prepared = self._prepare(text, chain)
        if prepared is None:
            return  # the prompt and the chips stay for the user to fix
        self.prompt.remember(text)
        self.prompt.clear()
        chips = self.query_one(AttachmentChips)
        self._answer_chips = chips.attachments
        await chips.clear()
        await self.send(text, prepared)

    def _prepare(self, text: str, chain: "Chain") -> "Prepared | None":
        """Read the prompt's attachments; on a problem, say it in one sentence and return None."""
        from tui_agent.service import attachments

        try:
            prepared = attachments.prepare(text, self.query_one(AttachmentChips).attachments)
        except attachments.AttachmentError as exc:
            self._note(str(exc), error=True)
            return None
        refusal = attachments.refusal(chain.adapter_kind, prepared)
        if refusal:
            self._note(refusal, error=True)
            return None
        return prepared

    def _ensure_chain(self) -> "Chain | None":
        if self.chain is None and self.profile is not None:
            from tui_agent.errors import ConfigError

            try:
                self.chain = self.app.service.resolve(self.profile)
            except ConfigError as exc:
                self._note(str(exc), error=True)
                return None
        return self.chain

    # --- sending and streaming ---------------------------------------------------------------------------

    async def send(self, text: str, prepared: "Prepared | None" = None) -> None:
        """Show the user's turn and an empty answer, then stream the answer in a worker."""
        from tui_agent.ui.widgets.branch import author_text
        from tui_agent.ui.widgets.message import AssistantMessage, UserMessage

        assert self.chain is not None
        self._user_acted = True
        self._remove_welcome()
        answer = AssistantMessage(author=author_text(self.profile, self.chain.provider.id, self.chain.profile.model))
        # Awaited: a Markdown's on_mount resets its source, so nothing may be written to it before then.
        shown = text if prepared is None else with_attached(prepared.text, [a.name for a in prepared.attachments])
        await self.conversation.mount_all([UserMessage(shown), answer])
        self.conversation.jump_to_bottom()
        self._answer = answer
        self._answer_prompt = text
        self.is_streaming = True
        if prepared is None:
            self._worker = self._stream_answer(answer, self.chain, text)
        else:
            self._worker = self._stream_answer(answer, self.chain, prepared.content, prepared.attachments)

    async def open_conversation(self, conversation_id: int, *, keep_profile: bool = False, message_id: int | None = None) -> None:
        """Reopen a stored conversation: its latest messages render at once, older ones load on scroll-up.

        Only those latest messages are read before they are drawn; the rest of the branch (for older pages,
        sibling marks and usage) is read after that paint, by `_finish_open` (see `show_tail`).
        The profile of its last answer becomes active (unless `keep_profile`, e.g. `--model` was given), but only
        when that profile still resolves; otherwise the current one stays and the screen says why.
        """
        self._user_acted = True
        self.action_stop()
        session = self._ensure_session()
        current = self.chain
        try:
            tail, older = await session.open_tail(conversation_id, OPEN_PAGE, message_id)
        except ConversationBusy as exc:
            self._note(f"Not opened: {exc}.", error=True)
            return
        last_profile = next((m.profile for m in reversed(tail) if m.role == "assistant" and m.profile), None)
        refused = ""
        if keep_profile or session.chain is None:
            session.chain = current
        elif session.chain is not current:
            # Reopening applies /model's rule: the conversation's profile only if its chain can serve now.
            ready = await self.app.service.readiness(session.chain.profile.nickname)
            if not ready.ok:
                session.chain = current
                refused = (f"This conversation was last answered by `{ready.chain.profile.nickname}`, which cannot "
                           f"be used now ({ready.reason.rstrip('.')}; to fix it, {ready.fix}); continuing with "
                           f"{self.profile or 'no model (type /model NICK)'}.")
                last_profile = None  # said below: not again as "no longer resolves"
        if session.chain is not None and session.chain is not current:
            self.profile = session.chain.profile.nickname
            self.chain = session.chain
            self._refresh_header()
        self._remove_welcome()
        await self.show_tail(tail, older)
        if last_profile and (self.chain is None or last_profile != self.chain.profile.nickname) and not keep_profile:
            self._note(f"This conversation was last answered by `{last_profile}`, which no longer resolves; "
                       f"continuing with {self.profile or 'no model (type /model NICK)'}.", error=True)
        if refused:
            self._note(refused, error=True)
        self._show_settings(learn=True)

    async def _finish_open(self, session: "ChatSession", tail: list["StoredMessage"]) -> None:
        """Read the whole branch of a conversation just reopened (or a branch just switched to): its older messages
        page in on scroll-up, and sibling marks, usage and context count all of it."""
        stored = await session.whole_branch()
        first_shown = next((at for at, m in enumerate(stored) if tail and m.id == tail[0].id), None)
        if session is not self.session or first_shown is None:
            return  # another conversation (or another branch of it) is shown by now
        self._older = stored[:first_shown]
        await self.refresh_branch()  # marks, and the usage history recorded for the branch shown
        self._show_settings()

    def _message_widgets(self, stored: list["StoredMessage"]) -> list:
        from tui_agent.service.history import LENGTH_STOP_REASONS, with_continue_marks
        from tui_agent.ui.branching import CUT_AT_LIMIT
        from tui_agent.ui.widgets.branch import author_text
        from tui_agent.ui.widgets.message import AssistantMessage, Note, UserMessage

        widgets = []
        for message in stored:
            if message.role == "user":
                widgets.append(UserMessage(with_attached(message.content, [i.name for i in message.images]), message.id))
            elif message.content or message.error:
                author = author_text(message.profile, message.provider, message.model)
                answer = AssistantMessage(with_continue_marks(message), message_id=message.id, author=author)
                widgets.append(answer)
                if message.status != "complete":
                    what = {"stopped": "was stopped", "interrupted": "was interrupted (the app ended while it streamed)"}.get(message.status, "failed")
                    widgets.append(Note(f"The answer above {what}." + (f" {message.error}" if message.error else ""), error=message.status == "error"))
                elif message.stop_reason in LENGTH_STOP_REASONS:
                    widgets.append(Note(CUT_AT_LIMIT))
        return widgets

    def _older_marker(self, count: int | None = None):
        from tui_agent.ui.widgets.message import Note

        count = len(self._older) if count is None else count
        marker = Note(f"↑ {count} older messages — scroll up (PageUp at the top) to show them")
        marker.add_class("older-marker")
        return marker

    async def action_load_older(self) -> None:
        """Mount the next page of older messages above what is shown (a reopened long conversation)."""
        if not self._older:
            return
        page, self._older = self._older[-OPEN_PAGE:], self._older[:-OPEN_PAGE]
        markers = self.conversation.query_children(".older-marker")
        await markers.remove()
        reading = self.conversation.children[0] if self.conversation.children else None
        widgets = self._message_widgets(page)
        for widget in widgets:  # marks were read with the whole branch; a page shows those of its messages
            if getattr(widget, "message_id", None) in self._marks:
                widget.set_mark(self._marks[widget.message_id])
        with self.app.batch_update():
            await self.conversation.mount_all(widgets, before=0)
            if self._older:
                await self.conversation.mount(self._older_marker(), before=0)
        if reading is not None:  # keep the message the user was reading where it was, not jump to the new top
            self.conversation.scroll_to_widget(reading, top=True, animate=False)

    def on_transcript_reached_top(self, _event) -> None:
        if self._older:
            self.run_worker(self.action_load_older(), group="older", exclusive=True)

    # Not exclusive: is_streaming already allows one stream at a time, and an exclusive start would cancel the
    # previous worker while it renders its stopped answer for the last time.
    @work(group="chat", exit_on_error=False)
    async def _stream_answer(
        self, answer: "AssistantMessage", chain: "Chain", text: str, attachments: tuple = (), *, source=None,
        answer_chain: "Chain | None" = None,
    ) -> None:
        """Stream `session.send(text, attachments)`, or `source()` (a retry, edit or continue answered by `answer_chain`)."""
        import contextlib

        from tui_agent.errors import TuiAgentError
        from tui_agent.core.events import Done, StreamFailed, TextDelta, ThinkingDelta, Usage
        from tui_agent.service.chat_session import BranchRefusal

        state: "AnswerState" = "complete"
        error = ""
        pace = key_pace(self.app)
        if pace is not None:
            pace.answer_asked()  # drawn at once until the user types again (ui/input_timing.py)
        from tui_agent.ui.allocator import hold_mmap_threshold_once

        hold_mmap_threshold_once()  # what a long answer frees goes back to the system (ui/allocator.py)
        session = self._ensure_session()
        session.switch_to_chain(chain)
        first = True
        busy_since = time.perf_counter()
        try:
            async with contextlib.aclosing(source() if source is not None else session.send(text, attachments)) as events:
                async for event in events:
                    # While the socket holds more data, reading it never suspends this task: a fast stream (5 MB at
                    # full speed) read for seconds on end and keys waited for all of it. Let the loop in regularly.
                    # (Whether the user types is asked only once the shorter turn is over: not once per event.)
                    turn = time.perf_counter() - busy_since
                    if turn > STREAM_TURN_TYPING and (turn > STREAM_TURN or user_typing(self.app)):
                        await asyncio.sleep(0)
                        busy_since = time.perf_counter()
                    if first:
                        first = False
                        self.status_panel.set_context_window(session.context_window())
                        if session.last_trim is not None:
                            self._trim_note(answer, session.last_trim)
                    if isinstance(event, TextDelta):
                        answer.add_text(event.text)
                        self._more_arriving()
                    elif isinstance(event, ThinkingDelta):
                        answer.add_thinking(event.text)
                        self._more_arriving()
                    elif isinstance(event, Usage):
                        self.usage = event
                        self.status_panel.record_usage(event, answer_id=id(answer))
                    elif isinstance(event, StreamFailed):
                        state, error = ("stopped", "") if event.kind == "stopped" else ("error", _error_text(event, answer_chain or chain))
                    elif isinstance(event, Done):
                        state = "complete"
        except asyncio.CancelledError:
            # Escape (or /new, or leaving) cancelled us: the adapter has closed the connection; the outcome was
            # recorded by whoever cancelled; render what arrived, then let the cancellation finish.
            self._conclude(answer, "stopped")
            await self._render_end(answer, "stopped")
            raise
        except (TuiAgentError, BranchRefusal) as exc:  # BranchRefusal: the tree changed under a retry, edit or continue
            state, error = "error", str(exc)
        except Exception as exc:  # a bug must not take the screen down: say so on the answer, details in the log
            log.exception("streaming the answer failed")
            state, error = "error", f"the answer failed unexpectedly ({type(exc).__name__}); details are in {self.app.paths.log_file}"
        self._conclude(answer, state)
        await self._render_end(answer, state, error)
        await self.answer_ended()
        self.show_history_notice()  # a save that failed (or worked again) shows at once
        self._show_settings()
        await self._prune()

    async def _prune(self) -> None:
        """Keep the DOM bounded in a long live conversation: the oldest messages go back to history.

        They come back as pages when the user scrolls to the top, exactly as for a reopened conversation. Never
        while an answer streams, and never under a reader who is scrolled up.
        """
        from tui_agent.ui.widgets.message import AssistantMessage, UserMessage

        session = self.session
        if session is None or session.history is None or session.conversation_id is None:
            return
        if self._answer is not None or not self.following:
            return
        shown = [w for w in self.conversation.children if isinstance(w, (UserMessage, AssistantMessage))]
        excess = len(shown) - MAX_MOUNTED
        if excess <= 0:
            return
        first_kept = shown[excess]
        doomed = []
        for child in self.conversation.children:
            if child is first_kept:
                break
            doomed.append(child)
        stored = session.branch  # the branch shown, as stored when its last answer ended
        drawable = [m for m in stored if m.role == "user" or m.content or m.error]  # what _message_widgets draws
        kept = len(shown) - excess
        self._older = drawable[: max(0, len(drawable) - kept)]
        with self.app.batch_update():
            await self.conversation.remove_children(doomed)
            if self._older:
                await self.conversation.mount(self._older_marker(), before=0)
        self.conversation.jump_to_bottom()

    def _conclude(self, answer: "AssistantMessage", state: "AnswerState") -> None:
        """Record an answer's outcome once on screen: the prompt given back, the streaming flag.

        What is sent next time (the transcript) and what is stored are the session's business.
        """
        if answer.outcome_recorded:
            return
        answer.outcome_recorded = True
        text = answer.text
        if not (text and state in ("complete", "stopped")):
            # Failed, empty, or stopped before any text: its text goes back to the prompt so it can be sent again
            # (unless the user has typed something new meanwhile).
            if self._answer is answer and not self.prompt.text.strip():
                self.prompt.load_text(self._answer_prompt)
                self.prompt.move_cursor(self.prompt.document.end)
                chips = self.query_one(AttachmentChips)
                if not chips.attachments:
                    for attachment in self._answer_chips:
                        chips.add(attachment)
        if self._answer is answer:
            self._answer = None
            self.is_streaming = False
            if self.query_one("#more", Static).display:
                self._set_more("↓ more below  (End jumps to the bottom)")

    async def _render_end(self, answer: "AssistantMessage", state: "AnswerState", error: str = "") -> None:
        if not answer.is_attached:
            return
        try:
            # The footer stops offering Stop at once; the text that arrived is drawn (a backlog in slices, frames
            # apart, so keys typed meanwhile are shown), then the mark.
            self._footer_without_stop()
            await answer.finish(state, error)
            # The turn is stored by now (a stopped one too): Retry and Edit may have become possible.
            self.refresh_bindings()
            self._fold_earlier_answers(answer)
        except Exception:  # the widget went away mid-render (/new, quit): nothing left to show
            log.debug("final render skipped", exc_info=True)

    def _fold_earlier_answers(self, answer: "AssistantMessage") -> None:
        """Have the answers before `answer` fold what they show far above the view (a long chat keeps a bounded
        number of widgets); scrolling up makes them again, as it does for the streaming answer's folded blocks."""
        from tui_agent.ui.widgets.message import AssistantMessage

        for child in self.conversation.children:
            if child is answer:
                break
            if isinstance(child, AssistantMessage):
                child.fold_out_of_view()

    def _footer_without_stop(self) -> None:
        """Hide the footer's Stop key now: Textual rebuilds the footer only after the next frame is drawn."""
        from textual.widgets._footer import FooterKey  # Textual 8.2.8 (pinned) does not export it

        for key in self.query_one(Footer).query(FooterKey):
            if key.action == "stop":
                key.display = False

    def _trim_note(self, answer: "AssistantMessage", trim) -> None:
        from tui_agent.ui.widgets.message import Note

        turns = "turn was" if trim.turns_cut == 1 else "turns were"
        note = Note(
            f"This conversation is longer than the model's context window ({trim.context_window:,} tokens): "
            f"the oldest {trim.turns_cut} {turns} left out of this request."
        )
        self.conversation.mount(note, before=answer)

    def _more_arriving(self) -> None:
        if not self.following:
            self._set_more("more arriving ↓  (End jumps to the bottom)")

    def _set_more(self, text: str) -> None:
        more = self.query_one("#more", Static)
        if more.display and self._more_text == text:
            return  # called for every delta while scrolled up: only a change is worth a repaint
        self._more_text = text
        more.update(text)
        more.display = True

    def on_transcript_follow_changed(self, event: Transcript.FollowChanged) -> None:
        self.following = event.following
        if event.following:
            self.query_one("#more", Static).display = False
        else:
            self._unfold_answers()  # the user scrolls up: the spacers come into view

    def _unfold_answers(self) -> None:
        """Have every answer with folded blocks make them again (the streaming one, and any that ended folded)."""
        from tui_agent.ui.widgets.message import AssistantMessage

        for child in self.conversation.children:
            if isinstance(child, AssistantMessage) and child.folded:
                child.unfold()

    # --- actions (keys, palette, slash commands) -----------------------------------------------------------

    @property
    def active_bindings(self):
        """The keys the footer shows: at narrow widths, fewer (they all still work)."""
        from dataclasses import replace

        from textual.binding import ActiveBinding

        bindings = super().active_bindings
        if self.size.width and self.size.width < NARROW_FOOTER:
            for key in NARROW_FOOTER_HIDES & bindings.keys():
                node, binding, enabled, tooltip = bindings[key]
                bindings[key] = ActiveBinding(node, replace(binding, show=False), enabled, tooltip)
        return bindings

    def on_resize(self) -> None:
        if 0 < self._height < self.size.height:  # the blocks an answer kept when it folded may no longer fill the view
            self._unfold_answers()
        self._height = self.size.height
        narrow = self.size.width < NARROW_FOOTER
        footer = self.query_one(Footer)
        if footer.compact != narrow:
            footer.compact = narrow
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_menu":
            return self._menu is not None and self._menu.display
        if action == "stop":
            return self.is_streaming
        if action == "cancel_edit":
            return self._editing is not None and not self.is_streaming
        if action in ("retry", "edit", "continue", "sibling_prev", "sibling_next"):
            return self.branch_action_state(action)
        if action == "bottom":
            return not self.following and self._welcome is None  # a long welcome is read from the top
        if action == "copy_answer":
            return True if self.last_answer() is not None else None
        if action == "copy_code":
            return True if any(answer.has_code_blocks() for answer in self._answers_latest_first()) else None
        return True

    def action_stop(self) -> None:
        """Stop the streaming answer at once and keep what arrived, marked "stopped"."""
        answer = self._answer
        if answer is None:
            return
        answer.mark_stopped()
        self._conclude(answer, "stopped")
        if self._worker is not None:
            self._worker.cancel()
        # Drawn by us, not only by the cancelled worker: a worker cancelled before it ran never draws its end. In a
        # worker, not in the screen's task: the final draw waits for frames, which that task must be free to draw.
        self.run_worker(self._render_end(answer, "stopped"), group="render-end", exit_on_error=False)

    async def stop_and_settle(self, timeout: float) -> None:
        """Stop the streaming answer and wait until its worker has saved it (at most `timeout` seconds)."""
        worker = self._worker
        self.action_stop()
        if worker is not None and not worker.is_finished:
            import asyncio

            try:
                await asyncio.wait_for(worker.wait(), timeout)
            except Exception:  # cancelled, failed or slow: the answer row is marked interrupted at the next open
                pass

    def action_close_menu(self) -> None:
        if self._menu is not None:
            self._menu.close()

    def action_ctrl_c(self) -> None:
        """ctrl+c, in order: stop the answer, copy selected text, clear the prompt, quit on a second press."""
        prompt = self.prompt
        selection = prompt.selected_text if prompt.has_focus else (self.get_selected_text() or "")
        outcome = self._ctrl_c.press(streaming=self.is_streaming, selection=selection, prompt_text=prompt.text)
        if outcome == "stop":
            self.action_stop()
        elif outcome == "copy":
            self.copy(selection, "the selected text")
        elif outcome == "clear":
            prompt.clear_keeping()
            prompt.focus()
        elif outcome == "arm":
            self.notify("Press ctrl+c again to quit.", timeout=2, markup=False)
        else:
            self.app.exit(0)

    def action_bottom(self) -> None:
        self.conversation.jump_to_bottom()

    def action_page_up(self) -> None:
        if self._older and self.conversation.scroll_y <= 0:
            self.run_worker(self.action_load_older(), group="older", exclusive=True)
            return
        self.conversation.action_page_up()

    def action_page_down(self) -> None:
        self.conversation.action_page_down()

    async def action_new(self) -> None:
        await self.run_command("/new")

    async def action_models(self) -> None:
        await self.run_command("/model")

    async def action_help(self) -> None:
        await self.run_command("/help")

    async def action_history(self) -> None:
        await self.run_command("/history")

    async def action_auth(self) -> None:
        await self.run_command("/auth")

    @property
    def status_panel(self) -> "StatusPanel":
        """The side panel (mounted at once if asked for before its planned mount, e.g. by a prompt sent at once)."""
        return self._ensure_status_panel()

    def action_toggle_status(self) -> None:
        """Show or hide the side panel (F2, /status, a click on the header summary)."""
        panel = self.status_panel
        shown = panel.display
        self.set_class(shown, "-status-closed")
        self.set_class(not shown, "-status-open")
        if not shown:
            panel.focus_rows()
        else:
            self.prompt.focus()

    def on_status_summary_clicked(self, _message) -> None:
        self.action_toggle_status()

    def watch_profile(self, profile: str | None) -> None:
        if self.is_mounted:
            self.status_panel.set_profile(profile)


    def _answers_latest_first(self) -> Iterator["AssistantMessage"]:
        # No answer exists before its module is loaded, and loading it (Markdown) is not for the first frame:
        # the footer asks check_action("copy_answer") while it composes.
        message = sys.modules.get("tui_agent.ui.widgets.message")
        if message is None:
            return
        # Direct children only: a query would walk every Markdown block of a long conversation.
        for child in reversed(self.conversation.children):
            if isinstance(child, message.AssistantMessage):
                yield child

    def last_answer(self) -> "AssistantMessage | None":
        return next((a for a in self._answers_latest_first() if a.text), None)

    def code_blocks(self) -> list["CodeBlock"]:
        """Every code block of the conversation's answers, latest last."""
        blocks: list["CodeBlock"] = []
        for answer in self._answers_latest_first():
            blocks[:0] = answer.code_blocks()
        return blocks

    def _last_code_block(self) -> "CodeBlock | None":
        for answer in self._answers_latest_first():
            blocks = answer.code_blocks()
            if blocks:
                return blocks[-1]
        return None

    def action_copy_answer(self) -> None:
        answer = self.last_answer()
        if answer is None:
            self.notify("There is no answer to copy yet.", severity="warning")
            return
        self.copy(answer.text, "the last answer")

    def action_copy_code(self) -> None:
        block = self._last_code_block()
        if block is None:
            self.notify("There is no code block to copy yet.", severity="warning")
            return
        self.copy(block.code, "the last code block")

    def copy(self, text: str, what: str) -> None:
        """Put source text on the clipboard (OSC 52) and say what was copied."""
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {what} ({len(text):,} characters).", markup=False)

    # --- slash commands ----------------------------------------------------------------------------------

    async def run_command(self, text: str) -> None:
        """Run a slash command (typed, from the palette, or from a key)."""
        from tui_agent.ui import slash

        parsed = slash.parse(text)
        command = parsed.command
        if command is None:
            near = slash.closest(parsed.word)
            hint = f"did you mean /{near}? " if near else ""
            self._note(f"Unknown command /{parsed.word}: {hint}type /help for the list.", error=True)
            return
        if command.arg_required and not parsed.arg:
            choices = ", ".join(sorted(self.app.config.providers))
            what = f" — PROVIDER is one of {choices}" if command.arg == "PROVIDER" else ""
            self._note(f"Usage: {command.usage}{what}.", error=True)
            return
        handler = getattr(self, f"_cmd_{command.name}")
        result = handler(parsed.arg)
        if asyncio.iscoroutine(result):
            await result

    async def _cmd_model(self, arg: str) -> None:
        words = arg.split()
        force = "--force" in words
        nick = " ".join(w for w in words if w != "--force")
        if not nick:
            self.open_model_picker()
            return
        from tui_agent.errors import ConfigError

        current = f"; still on {self.profile}" if self.profile else ""
        try:
            ready = await self.app.service.readiness(nick)
        except ConfigError as exc:
            self._note(f"{exc}{current}", error=True)
            return
        if not ready.ok and not force:
            # The same rule as the picker's: a chain that cannot serve now is not switched to without a word.
            self._note(f"{nick} cannot be used now: {ready.reason.rstrip('.')}. To fix it, {ready.fix}; "
                       f"or type /model {nick} --force to switch anyway{current}.", error=True)
            return
        warning = f" It cannot answer yet: {ready.reason.rstrip('.')} ({ready.fix})." if not ready.ok else ""
        self.switch_to(nick, ready.chain, f"Model: {nick} ({ready.chain.provider.id} · {ready.chain.profile.model}).{warning}")

    async def _say_why_explicit_model_cannot_serve(self) -> None:
        """`--model NICK` opens on NICK as asked; when its chain cannot serve now the screen says why at once."""
        if self.profile is None:
            return
        try:
            ready = await self.app.service.readiness(self.profile)
        except Exception:
            return  # a broken reference was refused before the app started
        if not ready.ok:
            self._note(f"{self.profile} cannot answer yet: {ready.reason.rstrip('.')}. To fix it, {ready.fix}.", error=True)

    def switch_to(self, nickname: str, chain: "Chain", message: str = "") -> None:
        """Make an already resolved chain the active model (for /model, and for the picker once it lands)."""
        self.profile = nickname
        self.chain = chain
        self._remove_welcome()
        self._refresh_header()
        self._note(message or f"Model: {nickname} ({chain.provider.id} · {chain.profile.model}).")
        session = self._settings_session()
        from tui_agent.service.settings import not_applied

        if unapplied := not_applied(chain, session.parameters):  # never silently
            self._note(unapplied, error=True)
        self._show_settings(learn=True)

    async def _cmd_new(self, _arg: str) -> None:
        self.action_stop()  # the cancelled worker renders nothing once its widgets are gone
        if self.session is not None:
            self.session.new()
        self.cancel_edit()
        self._select(None)
        self._marks = {}
        self._older = []
        self.usage = None
        self.status_panel.reset_usage()
        self._show_settings()
        await self.conversation.remove_children()
        self.conversation.jump_to_bottom()
        self.prompt.focus()
        self.notify("New conversation.", markup=False)

    def _cmd_help(self, _arg: str) -> None:
        from tui_agent.ui import slash

        width = max(len(c.usage) for c in slash.COMMANDS)
        lines = ["Commands:"]
        lines += [f"  {c.usage.ljust(width)}  {c.help}" for c in slash.COMMANDS]
        key_width = max(len(k) for k, _ in KEYS_HELP)
        lines += ["", "Keys:"]
        lines += [f"  {k.ljust(key_width)}  {d}" for k, d in KEYS_HELP]
        lines += ["", "Start a message with // to send text that begins with a slash."]
        self._note("\n".join(lines))

    async def _cmd_system(self, arg: str) -> None:
        from tui_agent.ui.settings_commands import system_command

        reply = await system_command(self._settings_session(), arg)
        self._note(reply.text, error=reply.error)
        self._show_settings()

    async def _cmd_set(self, arg: str) -> None:
        from tui_agent.ui.settings_commands import set_command

        reply = await set_command(self._settings_session(), arg)
        self._note(reply.text, error=reply.error)
        self._show_settings()

    def _settings_session(self) -> "ChatSession":
        """The session, on the active model when one is chosen (its profile's values are the defaults shown)."""
        session = self._ensure_session()
        if self.chain is not None or self.profile is not None:
            chain = self._ensure_chain()
            if chain is not None:
                session.switch_to_chain(chain)
        return session

    def _show_settings(self, *, learn: bool = False) -> None:
        """Refresh the system-prompt line, context and cost; with `learn`, ask the provider about the model first."""
        from tui_agent.errors import ConfigError
        from tui_agent.ui.settings_commands import learn_and_show, show_settings

        if (self.session is None or self.session.chain is None) and self.profile is not None:
            try:  # quietly: a broken profile is reported when it is used, not by this refresh
                self.chain = self.chain or self.app.service.resolve(self.profile)
                self._ensure_session().switch_to_chain(self.chain)
            except ConfigError:
                pass
        show_settings(self, self.session)
        if learn and self.is_attached and self.session is not None and self.session.chain is not None:
            # A function, not a coroutine: an exclusive worker cancelled before it ran leaves no coroutine unawaited.
            self.run_worker(partial(learn_and_show, self, self.session), group="model-facts", exclusive=True,
                            exit_on_error=False)

    def _cmd_attach(self, path: str) -> None:
        from tui_agent.service import attachments

        chips = self.query_one(AttachmentChips)
        try:
            found = attachments.read_attachment(path, attachments.working_dir())
            attachments.check_caps([*chips.attachments, found])
        except attachments.AttachmentError as exc:
            self._note(str(exc), error=True)
            self.prompt.load_text(f"/attach {path}")  # kept, to be corrected
            self.prompt.move_cursor(self.prompt.document.end)
            return
        chips.add(found)

    def _cmd_quit(self, _arg: str) -> None:
        self.app.exit(0)

    # One line each until their issues land; each names what to use meanwhile.
    def open_auth(self, provider: str | None = None, *, login: bool = False) -> None:
        """The auth dialog (F3, /auth, the palette), optionally on one provider and going straight to its login."""
        from tui_agent.ui.screens.auth_dialog import AuthDialog

        self.app.push_screen(AuthDialog(self.app.service, provider=provider, login=login), self._auth_closed)

    def _auth_closed(self, result) -> None:
        if result is None:
            return
        if result.config is not None:
            self._config_changed(result.config)
        message = result.message
        if result.action == "close" and result.provider in self.app.config.providers:
            name = self.app.config.providers[result.provider].name
            message = f"{message} Press ctrl+t to choose one of {name}'s models.".strip()
        if message:
            self._note(message)
        if result.action == "pick-model":
            self.open_model_picker(query=result.provider or "")

    def _config_changed(self, config) -> None:
        """config.toml was edited (base URL, default, a saved profile): use it, and re-resolve the active chain."""
        from tui_agent.errors import ConfigError

        self.app.config = config
        if self.chain is not None and self.profile in config.profiles:
            try:
                self.chain = self.app.service.resolve(self.profile)
            except ConfigError as exc:
                self._note(f"{exc}; the current model keeps its old settings until you switch.", error=True)
        self._refresh_header()

    def _cmd_auth(self, _arg: str) -> None:
        self.open_auth()

    def _provider_id(self, name: str) -> str | None:
        """The provider called `name`, or None after saying which names are close."""
        from tui_agent.errors import UsageError

        try:
            return self.app.service.provider(name).id
        except UsageError as exc:
            self._note(f"{str(exc)[:1].upper()}{str(exc)[1:]}. Type /auth to see them all.", error=True)
            return None

    def _cmd_login(self, provider: str) -> None:
        pid = self._provider_id(provider)
        if pid is None:
            return
        self.open_auth(pid, login=True)

    async def _cmd_logout(self, provider: str) -> None:
        pid = self._provider_id(provider)
        if pid is None:
            return
        from tui_agent.ui.screens.login import log_out

        self._note(await log_out(self.app, self.app.service, pid))

    def _cmd_history(self, _arg: str) -> None:
        from tui_agent.ui.screens.history import HistoryScreen

        self.app.push_screen(
            HistoryScreen(
                self.app.service.history, export_dir=self.app.paths.data_dir / "exports",
                current=self.conversation_id, on_delete=self._conversation_deleted,
            ),
            self._history_closed,
        )

    def _history_closed(self, result) -> None:
        if result is None:
            return
        if result.action == "new":
            self.run_worker(self._cmd_new(""), group="history")
        elif result.conversation_id is not None:
            self.run_worker(self.open_conversation(result.conversation_id, message_id=result.message_id), group="history", exit_on_error=False)

    def _conversation_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            # Its rows are gone: carrying on would write into a conversation that no longer exists.
            self.run_worker(self._cmd_new(""), group="history")

    def _cmd_status(self, _arg: str) -> None:
        self.action_toggle_status()

    # --- the model picker ------------------------------------------------------------------------------

    def open_model_picker(self, query: str = "") -> None:
        from tui_agent.ui.screens.model_picker import ModelPicker

        first_run = self.app.config.default_profile is None
        self.app.push_screen(
            ModelPicker(self.app.service, current=self.profile, first_run=first_run, query=query), self._model_picked
        )

    def _model_picked(self, result) -> None:
        if result is None:
            return
        if result.config is not None:
            self._config_changed(result.config)  # config.toml was written (a default, a saved profile)
        if result.action == "switch":
            self.switch_to(result.nickname, result.chain, result.message or "")
        elif result.action == "connect":
            self.open_auth(result.provider, login=True)
        elif result.message:
            self._note(result.message)

    # --- notes -------------------------------------------------------------------------------------------

    def _note(self, text: str, *, error: bool = False) -> None:
        from tui_agent.ui.widgets.message import Note

        self.conversation.mount(Note(text, error=error))
        self.conversation.jump_to_bottom()


def _error_text(event, chain: "Chain") -> str:
    """The one sentence shown on a failed answer; a refused login also names the in-app fix."""
    message = event.message.rstrip()
    if event.kind == "auth" and "/login" not in message:
        message = f"{message.rstrip('.')} (here: /login {chain.provider.id})"
    return message
