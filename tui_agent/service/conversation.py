"""A chat session: one conversation's messages, its active profile and its persistence, in one place.

The chat screen talks to this object only. It resolves a profile switch before making it (transactional),
writes every message to history when it completes, checkpoints a streaming answer as it grows, and cuts
the oldest turns when the conversation outgrows the model's context window — and says so.

A conversation is a tree (docs/conversation-trees.md): the session holds the branch on screen; /retry and
/edit add siblings, /continue appends to the last answer, and switching a sibling changes the branch. None of
them deletes anything.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator

from tui_agent.providers.base import ChatMessage
from tui_agent.providers.events import Done, Event, StreamError, TextDelta, ThinkingDelta, Usage
from tui_agent.service.claims import ConversationBusy

if TYPE_CHECKING:
    from tui_agent.auth.resolve import Chain
    from tui_agent.service.agent import AgentService
    from tui_agent.service.history import AsyncHistory, Message

log = logging.getLogger("tui_agent.service.conversation")


# The user turn sent when a wire cannot continue a trailing assistant message itself (see continue_plan).
CONTINUE_PROMPT = (
    "Your previous answer was cut off. Continue it exactly where it stopped: do not repeat anything already "
    "written, add no preamble, and start with the very next characters."
)


class BranchRefusal(Exception):
    """A tree operation that cannot be done now; the message is one sentence for the person."""


@dataclass(frozen=True)
class ContinuePlan:
    """How /continue asks a wire to go on: `prefill` (a trailing assistant message) or `ask` (a user turn)."""

    how: str
    note: str = ""  # said on screen when the fallback is used


def continue_plan(kind: str, answer: "Message") -> ContinuePlan:
    """The way to continue `answer` on a wire of this kind (the table is in the README)."""
    if kind == "anthropic-messages":
        if answer.thinking:
            return ContinuePlan("ask", "Anthropic does not accept a prefilled answer with extended thinking on; "
                                       "the model was asked to go on from where it stopped.")
        return ContinuePlan("prefill")
    if kind == "ollama":
        return ContinuePlan("prefill")  # Ollama's chat templates leave a trailing assistant message open
    if kind == "claude-cli":
        return ContinuePlan("ask", "The Claude Code CLI takes only user turns, so it cannot continue an answer in "
                                   "place; it was asked to go on from where it stopped.")
    return ContinuePlan("ask")  # OpenAI-compatible servers do not reliably continue a trailing assistant message


def continue_messages(branch: list["Message"], kind: str) -> tuple[ContinuePlan, list[ChatMessage]]:
    """How to continue the branch's last answer on a wire of this kind, and the messages that request carries."""
    answer = branch[-1]
    plan = continue_plan(kind, answer)
    before = request_messages(branch[:-1])
    if plan.how == "prefill":
        # Anthropic refuses a final assistant message that ends in whitespace; the stored text keeps it.
        tail = answer.content.rstrip() if kind == "anthropic-messages" else answer.content
        return plan, before + [ChatMessage("assistant", tail)]
    return plan, before + [ChatMessage("assistant", answer.content), ChatMessage("user", CONTINUE_PROMPT)]


def request_messages(branch: list["Message"]) -> list[ChatMessage]:
    """What a request carries for a stored branch: a failed or empty answer leaves out itself and its prompt."""
    out: list[ChatMessage] = []
    for message in branch:
        if message.role == "user":
            out.append(ChatMessage("user", message.content))
        elif message.role == "assistant":
            if message.content and message.status != "error":
                out.append(ChatMessage("assistant", message.content))
            elif out and out[-1].role == "user":
                out.pop()
    return out


def continuable(message: "Message | None") -> str:
    """Why `message` cannot be continued ("" when it can: stopped, interrupted, failed mid-way, or cut at the limit)."""
    from tui_agent.service.history import LENGTH_STOP_REASONS

    if message is None or message.role != "assistant":
        return "There is no answer to continue yet."
    if message.status == "streaming":
        return "That answer is still streaming."
    if not message.content:
        return "The last answer has no text to continue; /retry asks again."
    if message.status == "complete" and message.stop_reason not in LENGTH_STOP_REASONS:
        return "There is nothing to continue: the last answer is complete."
    return ""


@dataclass(frozen=True)
class Trim:
    """What was left out of the last request because of the context window."""

    turns_cut: int
    messages_cut: int
    context_window: int


class ChatSession:
    """One conversation with a profile that may change between answers."""

    def __init__(self, service: "AgentService", history: "AsyncHistory | None", profile: str | None) -> None:
        self.service = service
        self.history = history
        self.chain: "Chain | None" = service.resolve(profile) if profile else None
        self.conversation_id: int | None = None
        self.messages: list[ChatMessage] = []
        self.last_trim: Trim | None = None
        self.last_usage: Usage | None = None
        # The stored branch on screen, oldest first (kept when there is a history; refreshed after each answer).
        self.branch: list["Message"] = []
        self.answer_id: int | None = None  # the stored answer streaming now, or the last one

    @property
    def profile(self) -> str | None:
        return self.chain.profile.nickname if self.chain else None

    def switch(self, nickname: str) -> "Chain":
        """Resolve `nickname` first; only a chain that resolves replaces the current one (raises ResolutionError)."""
        chain = self.service.resolve(nickname)
        self.chain = chain
        return chain

    def switch_to_chain(self, chain: "Chain") -> None:
        """Use an already resolved chain (e.g. a session profile chosen in the picker)."""
        self.chain = chain

    def new(self) -> None:
        """Start a new conversation (it is created in history when its first message is sent)."""
        self.service.claims.release(self.conversation_id)
        self.conversation_id = None
        self.messages = []
        self.last_trim = None
        self.last_usage = None
        self.branch = []
        self.answer_id = None

    async def open(self, conversation_id: int, message_id: int | None = None) -> list["Message"]:
        """Reopen a stored conversation with the profile of its last answer (when that profile still resolves).

        With `message_id` (a search hit), the branch holding that message is the one shown.
        """
        assert self.history is not None
        if conversation_id != self.conversation_id and not self.service.claims.claim(conversation_id):
            raise ConversationBusy(
                f"conversation {conversation_id} is open in another tui-agent window; "
                "continue it there, or close that window first"
            )
        stored = await self.history.branch(conversation_id)
        if message_id is not None and all(m.id != message_id for m in stored):
            stored = await self.history.select(conversation_id, message_id)
        if self.conversation_id != conversation_id:
            self.service.claims.release(self.conversation_id)
        self.conversation_id = conversation_id
        self.branch = stored
        self.messages = request_messages(stored)
        last_profile = next((m.profile for m in reversed(stored) if m.role == "assistant" and m.profile), None)
        if last_profile and last_profile in self.service.config.profiles:
            try:
                self.chain = self.service.resolve(last_profile)
            except Exception as exc:  # the profile changed since: keep the current one, say why in the log
                log.info("conversation %s: profile %s no longer resolves: %s", conversation_id, last_profile, exc)
        return stored

    def context_window(self) -> int | None:
        """The active model's context window in tokens, when discovery has told us."""
        if self.chain is None:
            return None
        for info in self.service.cached_models(self.chain.provider.id):
            if info.id == self.chain.profile.model and info.context_window:
                return info.context_window
        return None

    def _fit(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        window = self.context_window()
        self.last_trim = None
        if not window:
            return messages
        from tui_agent.service.context import fit_context

        assert self.chain is not None
        reserve = self.chain.profile.max_tokens or min(8192, window // 4)
        fitted = fit_context(messages, window, reserve=reserve)
        if fitted.trimmed:
            self.last_trim = Trim(fitted.turns_cut, fitted.messages_cut, window)
        return list(fitted.messages)

    async def send(self, text: str) -> AsyncIterator[Event]:
        """Stream the answer to `text`; the user turn and the answer are persisted whatever happens."""
        if self.chain is None:
            yield StreamError("no model is chosen — type /model NICK", kind="bad_request")
            return
        chain = self.chain
        await self._record_user(text, chain)
        self.messages.append(ChatMessage("user", text))
        async with contextlib.aclosing(self._answer(chain, self._fit(self.messages))) as events:
            async for event in events:
                yield event

    # --- the tree --------------------------------------------------------------------------------------------

    def _tree_ready(self) -> None:
        if self.history is None or self.conversation_id is None or not self.branch:
            raise BranchRefusal("There is nothing in this conversation yet.")

    def last_prompt(self) -> "Message | None":
        """The last user turn on the branch shown."""
        return next((m for m in reversed(self.branch) if m.role == "user"), None)

    async def retry(self, chain: "Chain | None" = None) -> AsyncIterator[Event]:
        """Ask the last prompt again (with `chain`, else the current profile); the answer is a sibling of the old one."""
        self._tree_ready()
        prompt = self.last_prompt()
        if prompt is None:
            raise BranchRefusal("There is no prompt to ask again yet.")
        chain = chain or self.chain
        if chain is None:
            raise BranchRefusal("No model is chosen — type /model NICK first.")
        self.chain = chain
        upto = self.branch[: self.branch.index(prompt) + 1]
        to_send = request_messages(upto[:-1]) + [ChatMessage("user", prompt.content)]
        self.messages = to_send
        async with contextlib.aclosing(self._answer(chain, self._fit(to_send), parent_id=prompt.id)) as events:
            async for event in events:
                yield event

    def prompt_to_edit(self, message_id: int | None = None) -> "Message":
        """The prompt /edit brings back: `message_id` (a user turn on the branch), else the last prompt."""
        if self.history is None or not self.branch:
            raise BranchRefusal("There is nothing to edit: the conversation is empty.")
        if message_id is None:
            found = self.last_prompt()
        else:
            found = next((m for m in self.branch if m.id == message_id), None)
            if found is not None and found.role != "user":
                index = self.branch.index(found)
                found = next((m for m in reversed(self.branch[:index]) if m.role == "user"), None)
        if found is None:
            raise BranchRefusal("There is no prompt to edit in this conversation.")
        return found

    async def edit(self, message_id: int, text: str) -> AsyncIterator[Event]:
        """Send `text` in place of prompt `message_id`: a sibling branch starts there; the old one stays."""
        self._tree_ready()
        original = self.prompt_to_edit(message_id)
        if self.chain is None:
            raise BranchRefusal("No model is chosen — type /model NICK first.")
        chain = self.chain
        before = self.branch[: self.branch.index(original)]
        nick, provider, model = chain.profile.nickname, chain.provider.id, chain.profile.model
        assert self.history is not None and self.conversation_id is not None
        await self.history.add_message(
            self.conversation_id, "user", text, profile=nick, provider=provider, model=model,
            parent_id=original.parent_id,
        )
        self.messages = request_messages(before) + [ChatMessage("user", text)]
        async with contextlib.aclosing(self._answer(chain, self._fit(self.messages))) as events:
            async for event in events:
                yield event

    def continue_check(self) -> str:
        """Why /continue cannot run now ("" when it can)."""
        if self.history is None or not self.branch:
            return "There is no answer to continue yet."
        return continuable(self.branch[-1])

    def plan_continue(self) -> ContinuePlan:
        """How the last answer will be continued with the current profile."""
        assert self.chain is not None
        return continue_plan(self.chain.provider.kind, self.branch[-1])

    async def continue_answer(self) -> AsyncIterator[Event]:
        """Ask the model to go on from where the last answer ended; the new text is appended to that answer."""
        why = self.continue_check()
        if why:
            raise BranchRefusal(why)
        if self.chain is None:
            raise BranchRefusal("No model is chosen — type /model NICK first.")
        chain = self.chain
        answer = self.branch[-1]
        _plan, to_send = continue_messages(self.branch, chain.provider.kind)
        assert self.history is not None
        await self.history.resume_answer(answer.id)
        self.messages = request_messages(self.branch[:-1])
        async with contextlib.aclosing(self._answer(chain, self._fit(to_send), resume=answer)) as events:
            async for event in events:
                yield event

    def siblings(self, message_id: int, tree: dict[int | None, list[int]]) -> list[int]:
        found = next((m for m in self.branch if m.id == message_id), None)
        return tree.get(found.parent_id, []) if found is not None else []

    async def branch_marks(self) -> dict[int, tuple[int, int]]:
        """For each message of the branch shown that has siblings: (its position from 1, how many there are)."""
        if self.history is None or self.conversation_id is None or not self.branch:
            return {}
        tree = await self.history.children(self.conversation_id)
        marks = {}
        for message in self.branch:
            ids = tree.get(message.parent_id, [])
            if len(ids) > 1 and message.id in ids:
                marks[message.id] = (ids.index(message.id) + 1, len(ids))
        return marks

    async def switch_sibling(self, message_id: int, step: int) -> list["Message"]:
        """Show the sibling `step` places from message `message_id` (and the newest branch below it)."""
        self._tree_ready()
        assert self.history is not None and self.conversation_id is not None
        tree = await self.history.children(self.conversation_id)
        ids = self.siblings(message_id, tree)
        if len(ids) < 2:
            raise BranchRefusal("This message has no other versions.")
        at = ids.index(message_id) + step
        if not 0 <= at < len(ids):
            raise BranchRefusal(f"This is the {'first' if at < 0 else 'last'} of its {len(ids)} versions.")
        self.branch = await self.history.select(self.conversation_id, ids[at])
        self.messages = request_messages(self.branch)
        return self.branch

    # --- streaming and persistence ---------------------------------------------------------------------------

    async def _answer(
        self, chain: "Chain", to_send: list[ChatMessage], *, parent_id=None, resume: "Message | None" = None
    ) -> AsyncIterator[Event]:
        """Stream one answer to `to_send` and store it: a new answer (after `parent_id`, default the leaf) or,
        with `resume`, more text appended to that stored answer."""
        from tui_agent.service.history import AFTER_CURRENT, Checkpointer

        nick, provider, model = chain.profile.nickname, chain.provider.id, chain.profile.model
        answer_id = None
        if self.history is not None and self.conversation_id is not None:
            if resume is not None:
                answer_id = resume.id
            else:
                try:
                    answer_id = (await self.history.start_answer(
                        self.conversation_id, profile=nick, provider=provider, model=model,
                        parent_id=AFTER_CURRENT if parent_id is None else parent_id,
                    )).id
                except Exception:
                    log.exception("could not start saving the answer")
        self.answer_id = answer_id
        base = resume.content if resume is not None else ""
        checkpoint = Checkpointer()
        if base:
            checkpoint.add(base)
            checkpoint.saved()
        status, error, stop_reason = "stopped", None, None
        text_parts: list[str] = [base]
        self.last_usage = None
        try:
            conversation = str(self.conversation_id) if self.conversation_id is not None else None
            async with contextlib.aclosing(self.service.send(chain, to_send, conversation_id=conversation)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        text_parts.append(event.text)
                        if checkpoint.add(event.text) and answer_id is not None:
                            await self._checkpoint(answer_id, checkpoint)
                    elif isinstance(event, ThinkingDelta):
                        if checkpoint.add(event.text, thinking=True) and answer_id is not None:
                            await self._checkpoint(answer_id, checkpoint)
                    elif isinstance(event, Usage):
                        self.last_usage = event
                    elif isinstance(event, Done):
                        status, stop_reason = "complete", event.stop_reason
                    elif isinstance(event, StreamError):
                        status, error = ("stopped" if event.kind == "cancelled" else "error"), event.message
                    yield event
        finally:
            answer = "".join(text_parts)
            if resume is not None and status == "error" and answer == base:
                status, error = resume.status, resume.error or error  # nothing came: the answer stays as it was
            if answer and status in ("complete", "stopped"):
                self.messages.append(ChatMessage("assistant", answer))
            elif self.messages and self.messages[-1].role == "user":
                # Failed or empty: the turn leaves what is sent next time (the UI offers the prompt again);
                # history keeps it, with the error, for the record.
                self.messages.pop()
            if answer_id is not None and self.history is not None:
                usage = self.last_usage
                output = usage.output_tokens if usage else None
                if resume is not None and resume.output_tokens is not None and output is not None:
                    output += resume.output_tokens  # the answer's tokens are those of all its parts
                thinking = (resume.thinking if resume is not None else "") + checkpoint.thinking
                try:
                    await self.history.finish_answer(
                        answer_id, answer, status=status, error=error,
                        thinking=thinking or None, stop_reason=stop_reason,
                        input_tokens=usage.input_tokens if usage else None, output_tokens=output,
                    )
                    self.branch = await self.history.branch(self.conversation_id)
                except Exception:  # a disk problem must not turn a good answer into a crash
                    log.exception("could not save the answer")

    async def _record_user(self, text: str, chain: "Chain") -> None:
        nick, provider, model = chain.profile.nickname, chain.provider.id, chain.profile.model
        if self.history is None:
            return
        try:
            if self.conversation_id is None:
                conv = await self.history.create_conversation(profile=nick, provider=provider, model=model)
                self.conversation_id = conv.id
                self.service.claims.claim(conv.id)  # new, so nobody else holds it
            await self.history.add_message(self.conversation_id, "user", text, profile=nick, provider=provider, model=model)
        except Exception:
            log.exception("could not save the prompt")

    async def _checkpoint(self, answer_id: int, checkpoint) -> None:
        try:
            await self.history.checkpoint(answer_id, checkpoint.text, checkpoint.thinking or None)
            checkpoint.saved()
        except Exception:
            log.exception("could not checkpoint the answer")
