"""A chat session: one conversation's messages, its active profile and its persistence, in one place.

The chat screen talks to this object only. It resolves a profile switch before making it (transactional),
writes every message to history when it completes, checkpoints a streaming answer as it grows, and cuts
the oldest turns when the conversation outgrows the model's context window — and says so. It also keeps the
conversation's own system prompt and parameters (`/system`, `/set`), stored with it in history, and knows how
full the context is and what an answer cost.

A conversation is a tree (docs/conversation-trees.md): the session holds the branch on screen; /retry and
/edit add siblings, /continue appends to the last answer, and switching a sibling changes the branch. None of
them deletes anything.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, AsyncIterator, Sequence

from tui_agent.core.chat import ChatMessage
from tui_agent.core.events import Done, Event, StreamFailed, TextDelta, ThinkingDelta, Usage
from tui_agent.service.claims import ConversationBusy

if TYPE_CHECKING:
    from tui_agent.core.chain import Chain
    from tui_agent.config.model_facts import ModelFacts
    from tui_agent.service.agent import AgentService
    from tui_agent.service.attachments import Attachment, ImageStore, StoredImage
    from tui_agent.service.history import AsyncHistory, Message

log = logging.getLogger("tui_agent.service.chat_session")

# The one sentence for "nothing to send with yet" (the chat screen, retry, edit and continue say the same).
NO_MODEL = "No model is chosen yet: press ctrl+t (or type /model) to choose one in the picker, or type /model NICK."


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


def continue_messages(
    branch: list["Message"], kind: str, images: "ImageStore | None" = None
) -> tuple[ContinuePlan, list[ChatMessage]]:
    """How to continue the branch's last answer on a wire of this kind, and the messages that request carries."""
    answer = branch[-1]
    plan = continue_plan(kind, answer)
    before = request_messages(branch[:-1], images)
    if plan.how == "prefill":
        # Anthropic refuses a final assistant message that ends in whitespace; the stored text keeps it.
        tail = answer.content.rstrip() if kind == "anthropic-messages" else answer.content
        return plan, before + [ChatMessage("assistant", tail)]
    return plan, before + [ChatMessage("assistant", answer.content), ChatMessage("user", CONTINUE_PROMPT)]


def request_messages(branch: list["Message"], images: "ImageStore | None" = None) -> list[ChatMessage]:
    """What a request carries for a stored branch: a failed or empty answer leaves out itself and its prompt.

    With `images`, a user turn carries again the images it was sent with (read back from the image store)."""
    out: list[ChatMessage] = []
    for message in branch:
        if message.role == "user":
            parts = tuple(p for p in map(images.part, message.images) if p is not None) if images and message.images else ()
            out.append(ChatMessage("user", message.content, parts))
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


@dataclass(frozen=True)
class ContextFill:
    """How full the model's context window is with the current conversation (tokens: estimated, see context.py)."""

    tokens: int
    window: int

    @property
    def share(self) -> float:
        return self.tokens / self.window


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
        # Set while `branch` holds only the tail `open_tail` or `switch_sibling` read: the conversation whose older
        # part is unread.
        self._unread_older: int | None = None
        self.answer_id: int | None = None  # the stored answer streaming now, or the last one
        # This conversation's own settings: "system" ("" = none) and any of settings.PARAMETERS.
        self.settings: dict[str, Any] = {}

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
        self._unread_older = None
        self.answer_id = None
        self.settings = {}

    async def open(self, conversation_id: int, message_id: int | None = None) -> list["Message"]:
        """Reopen a stored conversation with the profile of its last answer (when that profile still resolves).

        With `message_id` (a search hit), the branch holding that message is the one shown.
        """
        assert self.history is not None
        self._claim(conversation_id)
        stored = await self.history.branch(conversation_id)
        if message_id is not None and all(m.id != message_id for m in stored):
            stored = await self.history.select(conversation_id, message_id)
        await self._opened(conversation_id, stored)
        return stored

    async def open_tail(
        self, conversation_id: int, count: int, message_id: int | None = None
    ) -> tuple[list["Message"], int]:
        """Reopen a stored conversation as `open` does, reading only the latest `count` messages of its branch.

        Returns them and how many older ones the branch holds. The older part is read by `whole_branch()`, which
        everything that needs the whole branch (a request, the tree, usage) awaits — so a long conversation's
        latest messages can be on screen before the rest is read.
        """
        assert self.history is not None
        if message_id is not None:  # a search hit: its branch may have to be selected first, which reads it all
            stored = await self.open(conversation_id, message_id)
            return stored[-count:], max(0, len(stored) - count)
        self._claim(conversation_id)
        tail, older = await self.history.branch_tail(conversation_id, count)
        if older and not any(m.role == "assistant" and m.profile for m in tail):
            return await self.open(conversation_id), 0  # the profile to use lies further up: read it all now
        await self._opened(conversation_id, tail)
        self._unread_older = conversation_id if older else None
        return tail, older

    async def whole_branch(self) -> list["Message"]:
        """The whole branch shown; after `open_tail` or `switch_sibling`, its older part is read now (once)."""
        while self._unread_older is not None:
            conversation_id = self._unread_older
            assert self.history is not None
            stored = await self.history.branch(conversation_id)
            if self._unread_older == conversation_id:  # still the conversation shown (not replaced meanwhile)
                self._unread_older = None
                self.branch = stored
                self.messages = self._requested(stored)
        return self.branch

    def _claim(self, conversation_id: int) -> None:
        if conversation_id != self.conversation_id and not self.service.claims.claim(conversation_id):
            raise ConversationBusy(
                f"conversation {conversation_id} is open in another tui-agent window; "
                "continue it there, or close that window first"
            )

    async def _opened(self, conversation_id: int, stored: list["Message"]) -> None:
        """Make `stored` (the branch, or its tail) the conversation shown: its settings and last answer's profile."""
        assert self.history is not None
        if self.conversation_id != conversation_id:
            self.service.claims.release(self.conversation_id)
        self.conversation_id = conversation_id
        self.branch = stored
        self._unread_older = None
        self.messages = self._requested(stored)
        self.last_usage = None
        try:
            self.settings = await self.history.settings(conversation_id)
        except Exception:  # a reopened conversation still opens; its settings fall back to the profile's
            log.exception("could not read the settings of conversation %s", conversation_id)
            self.settings = {}
        last_profile = next((m.profile for m in reversed(stored) if m.role == "assistant" and m.profile), None)
        if last_profile and last_profile in self.service.config.profiles:
            try:
                self.chain = self.service.resolve(last_profile)
            except Exception as exc:  # the profile changed since: keep the current one, say why in the log
                log.info("conversation %s: profile %s no longer resolves: %s", conversation_id, last_profile, exc)

    # --- settings (/system, /set) ---------------------------------------------------------------------------

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters this conversation overrides (the rest come from the profile)."""
        from tui_agent.service.settings import PARAMETERS

        return {k: v for k, v in self.settings.items() if k in PARAMETERS}

    def system_prompt(self) -> tuple[str, str]:
        """The system prompt in force ("" for none) and where it comes from (conversation, profile, ...)."""
        from tui_agent.service.settings import effective_system

        return effective_system(self.chain, self.settings.get("system"))

    async def set_system(self, text: str | None) -> None:
        """This conversation's system prompt ("" for none); None goes back to the profile's."""
        await self._change("system", text)

    async def set_parameter(self, name: str, text: str) -> str:
        """`/set NAME VALUE` (or `/set NAME default`), validated like config (raises SettingError: nothing changed).

        Returns one sentence for the person; it says so when this provider cannot apply the parameter."""
        from tui_agent.service.settings import PARAMETERS, parse_value, unsupported_note

        if text.strip().lower() == "default" and name in PARAMETERS:
            await self._change(name, None)
            return f"{name}: back to the profile's value for this conversation."
        value = parse_value(name, text)
        await self._change(name, value)
        note = unsupported_note(self.chain, name) if self.chain is not None else None
        return f"{name} = {value} for this conversation." + (f" {note}" if note else "")

    def describe_settings(self) -> str:
        """`/set` alone: every setting's effective value and where it comes from."""
        from tui_agent.service.settings import PARAMETERS, SOURCE_CONVERSATION, SOURCE_DEFAULT, Effective, describe, effective

        if self.chain is None:
            own = self.parameters
            rows = [Effective(name, own.get(name), SOURCE_CONVERSATION if name in own else SOURCE_DEFAULT) for name in PARAMETERS]
        else:
            rows = effective(self.chain, self.parameters)
        return describe(rows, self.system_prompt())

    async def _change(self, key: str, value: Any) -> None:
        settings = dict(self.settings)
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
        if self.history is not None and self.conversation_id is not None:
            await self.history.set_settings(self.conversation_id, settings)  # raises: nothing changed
        self.settings = settings

    # --- context and cost -----------------------------------------------------------------------------------

    def facts(self) -> "ModelFacts | None":
        """What is known now of the active model (context window, prices); None when no model is chosen."""
        return self.service.known_facts(self.chain) if self.chain is not None else None

    def context_window(self) -> int | None:
        """The active model's context window in tokens, when the provider's list or the shipped table says."""
        facts = self.facts()
        return facts.context_window if facts else None

    def context_fill(self, extra: str = "") -> ContextFill | None:
        """How much of the window the next request would use (the conversation, its system prompt, `extra`)."""
        window = self.context_window()
        if not window:
            return None
        usage = self.last_usage
        if not extra and usage and usage.input_tokens is not None and self.messages and self.messages[-1].role == "assistant":
            # Right after an answer the provider's own count is exact: what was sent plus what came back.
            return ContextFill(usage.input_tokens + (usage.output_tokens or 0), window)
        from tui_agent.service.context import MESSAGE_OVERHEAD, estimate_tokens

        system = self.system_prompt()[0]
        texts = [m.content for m in self.messages] + ([extra] if extra else []) + ([system] if system else [])
        return ContextFill(sum(estimate_tokens(t) + MESSAGE_OVERHEAD for t in texts), window)

    def will_not_fit(self, text: str) -> str | None:
        """One sentence when `text` alone (with the system prompt and room for the answer) exceeds the window."""
        window = self.context_window()
        if not window:
            return None
        from tui_agent.service.context import MESSAGE_OVERHEAD, estimate_tokens

        system = self.system_prompt()[0]
        needed = estimate_tokens(text) + MESSAGE_OVERHEAD + (estimate_tokens(system) + MESSAGE_OVERHEAD if system else 0)
        reserve = self._reserve(window)
        if needed + reserve <= window:
            return None
        return (f"This message is about {needed:,} tokens and the model's context window is {window:,} "
                f"(with {reserve:,} kept for the answer): it will not fit.")

    def _reserve(self, window: int) -> int:
        max_tokens = self.parameters.get("max_tokens") or (self.chain.profile.max_tokens if self.chain else None)
        return max_tokens or min(8192, window // 4)

    def _priced(self, usage: Usage, facts: "ModelFacts | None") -> Usage:
        """`usage` with its cost filled in from known prices when the provider did not report one."""
        if usage.cost_usd is not None or facts is None:
            return usage
        cost = facts.cost(usage.input_tokens, usage.output_tokens)
        return usage if cost is None else replace(usage, cost_usd=cost)

    def _fit(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        window = self.context_window()
        self.last_trim = None
        if not window:
            return messages
        from tui_agent.service.context import fit_context

        assert self.chain is not None
        reserve = self._reserve(window)
        fitted = fit_context(messages, window, reserve=reserve)
        if fitted.trimmed:
            self.last_trim = Trim(fitted.turns_cut, fitted.messages_cut, window)
        return list(fitted.messages)

    def _requested(self, branch: list["Message"]) -> list[ChatMessage]:
        return request_messages(branch, self._images())

    def _images(self) -> "ImageStore":
        from tui_agent.service.attachments import ImageStore

        return ImageStore(self.service.paths.attachments_dir)

    async def send(self, text: str, attachments: Sequence["Attachment"] = ()) -> AsyncIterator[Event]:
        """Stream the answer to `text` (its text attachments already composed in); the user turn, its images
        and the answer are persisted whatever happens."""
        if self.chain is None:
            yield StreamFailed(NO_MODEL, kind="bad_request")
            return
        chain = self.chain
        await self.whole_branch()  # the request carries the whole branch
        images = [a for a in attachments if a.kind == "image"]
        await self._record_user(text, chain, images)
        self.messages.append(ChatMessage("user", text, tuple(a.image_part() for a in images)))
        await self.service.model_facts(chain)  # the context window _fit uses (asked once, then cached)
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
        await self.whole_branch()
        prompt = self.last_prompt()
        if prompt is None:
            raise BranchRefusal("There is no prompt to ask again yet.")
        chain = chain or self.chain
        if chain is None:
            raise BranchRefusal(NO_MODEL)
        self.chain = chain
        upto = self.branch[: self.branch.index(prompt) + 1]
        to_send = self._requested(upto)  # the prompt last, with the images it was sent with
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
        await self.whole_branch()
        original = self.prompt_to_edit(message_id)
        if self.chain is None:
            raise BranchRefusal(NO_MODEL)
        chain = self.chain
        before = self.branch[: self.branch.index(original)]
        nick, provider, model = chain.profile.nickname, chain.provider.id, chain.profile.model
        assert self.history is not None and self.conversation_id is not None
        await self.history.add_message(
            self.conversation_id, "user", text, profile=nick, provider=provider, model=model,
            parent_id=original.parent_id,
        )
        self.messages = self._requested(before) + [ChatMessage("user", text)]
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
        await self.whole_branch()
        why = self.continue_check()
        if why:
            raise BranchRefusal(why)
        if self.chain is None:
            raise BranchRefusal(NO_MODEL)
        chain = self.chain
        answer = self.branch[-1]
        _plan, to_send = continue_messages(self.branch, chain.provider.kind, self._images())
        assert self.history is not None
        await self.history.resume_answer(answer.id)
        self.messages = self._requested(self.branch[:-1])
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
        await self.whole_branch()
        tree = await self.history.children(self.conversation_id)
        marks = {}
        for message in self.branch:
            ids = tree.get(message.parent_id, [])
            if len(ids) > 1 and message.id in ids:
                marks[message.id] = (ids.index(message.id) + 1, len(ids))
        return marks

    async def switch_sibling(self, message_id: int, step: int, count: int) -> tuple[list["Message"], int]:
        """Show the sibling `step` places from message `message_id` (and the newest branch below it).

        As `open_tail` does, only the latest `count` messages of the new branch are read now; returns them and how
        many older ones it holds, which `whole_branch()` reads when they are needed.
        """
        self._tree_ready()
        await self.whole_branch()
        assert self.history is not None and self.conversation_id is not None
        tree = await self.history.children(self.conversation_id)
        ids = self.siblings(message_id, tree)
        if len(ids) < 2:
            raise BranchRefusal("This message has no other versions.")
        at = ids.index(message_id) + step
        if not 0 <= at < len(ids):
            raise BranchRefusal(f"This is the {'first' if at < 0 else 'last'} of its {len(ids)} versions.")
        tail, older = await self.history.select_tail(self.conversation_id, ids[at], count)
        self.branch = tail
        self.messages = self._requested(tail)
        self._unread_older = self.conversation_id if older else None
        return tail, older

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
        facts = await self.service.model_facts(chain)  # prices for the usage's cost
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
            sending = self.service.send(
                chain, to_send, conversation_id=conversation, system=self.settings.get("system"), parameters=self.parameters
            )
            async with contextlib.aclosing(sending) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        text_parts.append(event.text)
                        if checkpoint.add(event.text) and answer_id is not None:
                            await self._checkpoint(answer_id, checkpoint)
                    elif isinstance(event, ThinkingDelta):
                        if checkpoint.add(event.text, thinking=True) and answer_id is not None:
                            await self._checkpoint(answer_id, checkpoint)
                    elif isinstance(event, Usage):
                        event = self._priced(event, facts)
                        self.last_usage = event
                    elif isinstance(event, Done):
                        status, stop_reason = "complete", event.stop_reason
                    elif isinstance(event, StreamFailed):
                        status, error = ("stopped" if event.kind == "stopped" else "error"), event.message
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

    async def _record_user(self, text: str, chain: "Chain", images: Sequence["Attachment"] = ()) -> None:
        nick, provider, model = chain.profile.nickname, chain.provider.id, chain.profile.model
        if self.history is None:
            return
        try:
            stored: list["StoredImage"] = []
            if images:
                import asyncio

                store = self._images()
                stored = [await asyncio.to_thread(store.put, image) for image in images]
            if self.conversation_id is None:
                conv = await self.history.create_conversation(profile=nick, provider=provider, model=model)
                self.conversation_id = conv.id
                self.service.claims.claim(conv.id)  # new, so nobody else holds it
                if self.settings:  # set before the first message: stored with the conversation now
                    await self.history.set_settings(conv.id, self.settings)
            await self.history.add_message(
                self.conversation_id, "user", text, profile=nick, provider=provider, model=model, images=stored
            )
        except Exception:
            log.exception("could not save the prompt")

    async def _checkpoint(self, answer_id: int, checkpoint) -> None:
        try:
            await self.history.checkpoint(answer_id, checkpoint.text, checkpoint.thinking or None)
            checkpoint.saved()
        except Exception:
            log.exception("could not checkpoint the answer")
