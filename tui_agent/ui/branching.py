"""The chat screen's conversation-tree commands: /retry, /edit, /continue, sibling switches and message selection.

A mixin of ChatScreen, kept apart so the screen stays a renderer: every decision about the tree is the service's
(ChatSession); this module turns keys and commands into those calls and re-renders the branch they leave.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui_agent.core.chain import Chain
    from tui_agent.service.chat_session import ChatSession
    from tui_agent.service.history import Message as StoredMessage
    from tui_agent.ui.widgets.message import AssistantMessage, UserMessage

log = logging.getLogger("tui_agent.ui.branching")


def _no_model() -> str:
    """The one sentence for "no model chosen" (imported when said: the chat session is not needed before the first frame)."""
    from tui_agent.service.chat_session import NO_MODEL

    return NO_MODEL

STOP_FIRST = "An answer is still arriving; press Escape to stop it first."
CUT_AT_LIMIT = "The answer above reached the output token limit; /continue (f8) asks for the rest."
EDITING_TITLE = "editing a prompt — Enter sends it as a new branch · Escape cancels"
SCREENFULS = 2  # a reopened or switched branch mounts enough of its latest messages to fill this many screens


def first_to_draw(tail: "list[StoredMessage]", width: int, height: int) -> int:
    """Where to start drawing `tail` so that its latest messages fill about SCREENFULS screens of `height` rows
    at `width` columns — every mounted message costs its widgets' memory and layout, and long answers fill a
    screen in one or two. Heights are estimated from the text (a line per wrapped line, two per message), so
    short messages all get drawn; 0 (all of them) when the screen has no size yet."""
    if width <= 0 or height <= 0:
        return 0
    rows = 0
    for at in range(len(tail) - 1, -1, -1):
        rows += 2 + sum(1 + len(line) // width for line in tail[at].content.split("\n"))
        if rows >= SCREENFULS * height:
            return at
    return 0


class BranchCommands:
    """Mixed into ChatScreen (which provides session, conversation, prompt, _note, _stream_answer, …)."""

    _editing: "int | None" = None  # the stored id of the prompt being edited in the prompt box
    _marks: "dict[int, tuple[int, int]]" = {}  # sibling marks of the branch shown (message id → position, count)
    _selected: Any = None  # the message widget picked with alt+up / alt+down (edit and sibling keys act on it)
    _costs: "dict[int, float] | None" = None  # cost reported for stored answers this session (history has none)

    # --- what the footer and the palette offer ---------------------------------------------------------------

    def branch_action_state(self, action: str) -> bool | None:
        """check_action for this module's actions: None (greyed) or False (hidden) when they cannot act now."""
        session: Any = self.session
        has_prompt = session is not None and session.last_prompt() is not None
        if action in ("retry", "edit"):
            return True if has_prompt else None
        if action == "continue":
            return session is not None and not session.continue_check()
        if action in ("sibling_prev", "sibling_next"):
            return bool(self._marks)
        return True

    # --- /retry ----------------------------------------------------------------------------------------------

    def _refused(self, why: str) -> bool:
        """Say why a command cannot run now, when there is a reason (True); False when it can."""
        if why:
            self._note(why, error=True)
        return bool(why)

    async def _cmd_retry(self, nick: str) -> None:
        session = self._ensure_session()
        prompt = session.last_prompt()
        if self._refused(STOP_FIRST if self.is_streaming else "" if prompt else "There is no prompt to ask again yet."):
            return
        chain = self._ensure_chain()
        if nick:
            from tui_agent.errors import ConfigError

            try:
                chain = self.app.service.resolve(nick)
            except ConfigError as exc:
                self._note(f"{exc}; nothing was asked.", error=True)
                return
        if self._refused("" if chain else _no_model()):
            return
        if not await self._read_whole_branch(session):  # a retry typed right after a reopen: all of it is drawn
            return
        prompt = session.last_prompt() or prompt
        upto = session.branch[: session.branch.index(prompt) + 1]
        answer = await self._show_for_answer(upto)
        self._start_answer(chain, prompt.content, lambda: session.retry(chain), answer)

    async def action_retry(self) -> None:
        await self.run_command("/retry")

    # --- /edit -----------------------------------------------------------------------------------------------

    def _cmd_edit(self, _arg: str) -> None:
        from tui_agent.service.chat_session import BranchRefusal

        session = self._ensure_session()
        selected = getattr(self._selected, "message_id", None)
        try:
            prompt = session.prompt_to_edit(selected)
        except BranchRefusal as exc:
            self._note(str(exc), error=True)
            return
        self._editing = prompt.id
        self._select(None)
        self.prompt.load_text(prompt.content)
        self.prompt.move_cursor(self.prompt.document.end)
        self.prompt.border_title = EDITING_TITLE
        self.prompt.focus()

    async def action_edit(self) -> None:
        await self.run_command("/edit")

    def action_cancel_edit(self) -> None:
        self.cancel_edit()

    def cancel_edit(self) -> bool:
        """Leave edit mode (Escape); True when there was one to leave."""
        if self._editing is None:
            return False
        self._editing = None
        self.prompt.border_title = None
        self.prompt.clear()
        return True

    async def submit_edit(self, text: str) -> bool:
        """Send `text` as the edited prompt when the box holds one being edited; False when it does not."""
        if self._editing is None:
            return False
        message_id, self._editing = self._editing, None
        self.prompt.border_title = None
        session = self._ensure_session()
        if not await self._read_whole_branch(session):  # said why: the prompt stays, still being edited
            self._editing, self.prompt.border_title = message_id, EDITING_TITLE
            return True
        original = next((m for m in session.branch if m.id == message_id), None)
        chain = self._ensure_chain()
        if original is None or chain is None:
            return False  # the branch changed meanwhile: send it as a new prompt instead
        self.prompt.remember(text)
        self.prompt.clear()
        from tui_agent.ui.widgets.message import UserMessage

        answer = await self._show_for_answer(session.branch[: session.branch.index(original)], UserMessage(text))
        self._start_answer(chain, text, lambda: session.edit(message_id, text), answer)
        return True

    # --- /continue -------------------------------------------------------------------------------------------

    async def _cmd_continue(self, _arg: str) -> None:
        session = self._ensure_session()
        if self._refused(STOP_FIRST if self.is_streaming else session.continue_check()):
            return
        chain = self._ensure_chain()
        if self._refused("" if chain else _no_model()):
            return
        session.switch_to_chain(chain)
        plan = session.plan_continue()
        if plan.note:
            self._note(plan.note)
        from tui_agent.service.history import CONTINUE_MARK, with_continue_marks

        if not await self._read_whole_branch(session):
            return
        stored = session.branch[-1]
        answer = await self._show_for_answer(session.branch[:-1], continuing=stored)
        answer.add_text(with_continue_marks(stored) + CONTINUE_MARK)
        self._start_answer(chain, "", session.continue_answer, answer)

    async def action_continue(self) -> None:
        await self.run_command("/continue")

    # --- siblings ------------------------------------------------------------------------------------------

    async def action_sibling_prev(self) -> None:
        await self._switch_sibling(-1)

    async def action_sibling_next(self) -> None:
        await self._switch_sibling(+1)

    async def _switch_sibling(self, step: int) -> None:
        from tui_agent.service.chat_session import BranchRefusal

        if self.is_streaming:
            self._note("An answer is still arriving; press Escape to stop it before switching branch.", error=True)
            return
        target = getattr(self._selected, "message_id", None)
        if target not in self._marks:
            # Nothing (or a message without siblings) is selected: the lowest message with siblings.
            session = self._ensure_session()
            target = next((m.id for m in reversed(session.branch) if m.id in self._marks), None)
        if target is None:
            self._note("No message here has other versions; /retry and /edit make them.", error=True)
            return
        from tui_agent.ui.screens.chat import OPEN_PAGE

        parent = next(m.parent_id for m in self.session.branch if m.id == target)
        try:
            tail, older = await self.session.switch_sibling(target, step, OPEN_PAGE)
        except BranchRefusal as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        except Exception as exc:
            log.exception("switching branch failed")
            self._note(f"Could not switch branch: {exc}", error=True)
            return
        # The sibling now shown is the branch's message with the same parent; the view stays on it when it is
        # among the latest messages (further up, it pages in on scroll-up like the rest).
        await self.show_tail(tail, older, focus_id=next((m.id for m in tail if m.parent_id == parent), None))

    # --- selecting a message ---------------------------------------------------------------------------------

    def action_select_up(self) -> None:
        self._move_selection(-1)

    def action_select_down(self) -> None:
        self._move_selection(+1)

    def _selectable(self) -> list:
        from tui_agent.ui.widgets.message import AssistantMessage, UserMessage

        return [
            w for w in self.conversation.children
            if isinstance(w, (UserMessage, AssistantMessage)) and w.message_id is not None
        ]

    def _move_selection(self, step: int) -> None:
        shown = self._selectable()
        if not shown:
            return
        if self._selected in shown:
            at = shown.index(self._selected) + step
        else:
            at = len(shown) - 1 if step < 0 else len(shown)
        self._select(shown[at] if 0 <= at < len(shown) else None)

    def _select(self, widget) -> None:
        if self._selected is not None and self._selected.is_attached:
            self._selected.remove_class("-selected")
        self._selected = widget
        if widget is not None:
            widget.add_class("-selected")
            self.conversation.scroll_to_widget(widget, animate=False)

    async def _read_whole_branch(self, session: "ChatSession") -> bool:
        """Read the rest of the branch shown, if a reopen or a switch has not yet (a command typed at once after
        one draws all of it); False, having said why in one sentence, when the history cannot be read."""
        try:
            await session.whole_branch()
        except Exception as exc:
            log.exception("reading the rest of the branch failed")
            self._note(f"Could not read the rest of this conversation: {exc}", error=True)
            return False
        return True

    # --- rendering the branch --------------------------------------------------------------------------------

    async def show_tail(self, tail: "list[StoredMessage]", older: int, *, focus_id: int | None = None) -> None:
        """Draw the latest messages of the branch shown (a reopen or a switch), `older` more above them: those of
        `tail` that fill the screen (`first_to_draw`), the rest of it paging in on scroll-up with the older ones.

        The rest of the branch — the pages that load on scroll-up, sibling marks, usage — is read after this
        paint (`_finish_open`), so a long branch is drawn as soon as a short one. The view ends on message
        `focus_id` when it is drawn, else at the bottom.
        """
        session = self.session
        self._select(None)
        self._marks = {}  # those of the branch left; the new ones are read with the rest
        self._older = []  # filled once the whole branch is read (_finish_open)
        first = first_to_draw(tail, self.conversation.size.width, self.conversation.size.height)
        tail, older = tail[first:], older + first
        with self.app.batch_update():
            await self.conversation.remove_children()
            await self.conversation.mount_all(self._message_widgets(tail))
            if older:
                await self.conversation.mount(self._older_marker(older), before=0)
        focused = next((w for w in self._selectable() if w.message_id == focus_id), None)
        if focused is not None and focused is not self._selectable()[-1]:
            self.conversation.scroll_to_widget(focused, top=True, animate=False)
        else:
            self.conversation.jump_to_bottom()
        # After the paint of the latest messages: read the rest of the branch (the paint does not wait for it).
        self.call_after_refresh(
            lambda: self.run_worker(self._finish_open(session, tail), group="open", exclusive=True, exit_on_error=False)
        )

    async def show_branch(self, branch: "list[StoredMessage]") -> None:
        """Re-render the conversation as `branch`, read whole (a retry, edit or continue): its latest messages,
        older ones paging in on scroll-up as in a reopened conversation."""
        from tui_agent.ui.screens.chat import OPEN_PAGE

        self._select(None)
        # A reopen's read of the rest of its branch, still under way, would set the older pages of the view it drew.
        self.workers.cancel_group(self, "open")
        drawable = [m for m in branch if m.role == "user" or m.content or m.error]
        start = max(0, len(drawable) - OPEN_PAGE)
        self._older = drawable[:start]
        with self.app.batch_update():
            await self.conversation.remove_children()
            await self.conversation.mount_all(self._message_widgets(drawable[start:]))
            if self._older:
                await self.conversation.mount(self._older_marker(), before=0)
        await self.refresh_branch()
        self.conversation.jump_to_bottom()

    async def _show_for_answer(
        self, branch: "list[StoredMessage]", *extra, continuing: "StoredMessage | None" = None
    ) -> "AssistantMessage":
        """Render `branch`, then `extra` widgets and the answer a retry, edit or continue streams into."""
        from tui_agent.ui.widgets.message import AssistantMessage

        await self.show_branch(branch)
        answer = AssistantMessage(message_id=continuing.id if continuing is not None else None)
        await self.conversation.mount_all([*extra, answer])
        self.conversation.jump_to_bottom()
        return answer

    def _start_answer(self, chain: "Chain", prompt_text: str, source, answer: "AssistantMessage") -> None:
        from tui_agent.ui.widgets.branch import author_text

        answer.set_author(author_text(chain.profile.nickname, chain.provider.id, chain.profile.model))
        self._user_acted = True
        self._answer = answer
        self._answer_prompt = prompt_text
        self.is_streaming = True
        self._worker = self._stream_answer(answer, self.chain or chain, prompt_text, source=source, answer_chain=chain)

    async def answer_ended(self) -> None:
        """After an answer (sent, retried, edited or continued): ids and marks, and say when it was cut at the limit."""
        from tui_agent.service.history import LENGTH_STOP_REASONS

        session = self.session
        usage = session.last_usage if session is not None else None
        if usage is not None and usage.cost_usd is not None and session.answer_id is not None:
            self._costs = self._costs or {}
            # A continued answer costs what all its parts cost.
            self._costs[session.answer_id] = self._costs.get(session.answer_id, 0.0) + usage.cost_usd
        await self.refresh_branch()
        last = session.branch[-1] if session is not None and session.branch else None
        if last is not None and last.id == session.answer_id and last.stop_reason in LENGTH_STOP_REASONS:
            self._note(CUT_AT_LIMIT)

    async def refresh_branch(self) -> None:
        """Give the shown messages their stored ids, sibling marks, and count usage over the branch shown."""
        from tui_agent.ui.widgets.message import AssistantMessage, UserMessage

        session = self.session
        if session is None:
            return
        try:
            self._marks = await session.branch_marks()
        except Exception:
            log.exception("could not read the conversation's branches")
            self._marks = {}
        by_id = {m.id: m for m in session.branch}
        # A live answer and its prompt get their ids when the answer is stored.
        widgets = [w for w in self.conversation.children if isinstance(w, (UserMessage, AssistantMessage))]
        for widget in reversed(widgets):
            if widget.message_id is None and isinstance(widget, AssistantMessage) and session.answer_id in by_id:
                widget.message_id = session.answer_id
            if widget.message_id is not None:
                break
        for previous, widget in zip(widgets, widgets[1:]):
            if previous.message_id is None and isinstance(previous, UserMessage) and widget.message_id in by_id:
                previous.message_id = by_id[widget.message_id].parent_id
        for widget in widgets:
            widget.set_mark(self._marks.get(widget.message_id))
        self._count_branch_usage()
        self.refresh_bindings()

    def _count_branch_usage(self) -> None:
        """Token usage counts the branch shown: a sibling left behind no longer adds to it."""
        from tui_agent.core.events import Usage

        panel = self.status_panel
        panel.reset_usage()
        costs = self._costs or {}
        last = None
        for message in self.session.branch:
            if message.role == "assistant" and (message.input_tokens is not None or message.output_tokens is not None):
                last = usage = Usage(message.input_tokens, message.output_tokens, costs.get(message.id))
                panel.record_usage(usage, answer_id=message.id)
        if not self.is_streaming:
            self.usage = last  # the branch's latest answer (a reopened conversation's too)

