"""A chat session: one conversation's messages, its active profile and its persistence, in one place.

The chat screen talks to this object only. It resolves a profile switch before making it (transactional),
writes every message to history when it completes, checkpoints a streaming answer as it grows, and cuts
the oldest turns when the conversation outgrows the model's context window — and says so.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator

from tui_agent.providers.base import ChatMessage
from tui_agent.providers.events import Done, Event, StreamError, TextDelta, ThinkingDelta, Usage

if TYPE_CHECKING:
    from tui_agent.auth.resolve import Chain
    from tui_agent.service.agent import AgentService
    from tui_agent.service.history import AsyncHistory, Message

log = logging.getLogger("tui_agent.service.conversation")


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
        self.conversation_id = None
        self.messages = []
        self.last_trim = None
        self.last_usage = None

    async def open(self, conversation_id: int) -> list["Message"]:
        """Reopen a stored conversation with the profile of its last answer (when that profile still resolves)."""
        assert self.history is not None
        stored = await self.history.messages(conversation_id)
        self.conversation_id = conversation_id
        self.messages = [ChatMessage(m.role, m.content) for m in stored if m.role in ("user", "assistant") and m.content]
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
        nick, provider, model = chain.profile.nickname, chain.provider.id, chain.profile.model
        await self._record_user(text, nick, provider, model)
        self.messages.append(ChatMessage("user", text))
        to_send = self._fit(self.messages)

        answer_id = None
        if self.history is not None and self.conversation_id is not None:
            answer_id = (await self.history.start_answer(self.conversation_id, profile=nick, provider=provider, model=model)).id
        from tui_agent.service.history import Checkpointer

        checkpoint = Checkpointer()
        status, error = "stopped", None
        text_parts: list[str] = []
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
                        status = "complete"
                    elif isinstance(event, StreamError):
                        status, error = ("stopped" if event.kind == "cancelled" else "error"), event.message
                    yield event
        finally:
            answer = "".join(text_parts)
            if answer and status in ("complete", "stopped"):
                self.messages.append(ChatMessage("assistant", answer))
            elif self.messages and self.messages[-1].role == "user":
                # Failed or empty: the turn leaves what is sent next time (the UI offers the prompt again);
                # history keeps it, with the error, for the record.
                self.messages.pop()
            if answer_id is not None and self.history is not None:
                usage = self.last_usage
                try:
                    await self.history.finish_answer(
                        answer_id, answer, status=status, error=error, thinking=checkpoint.thinking or None,
                        input_tokens=usage.input_tokens if usage else None,
                        output_tokens=usage.output_tokens if usage else None,
                    )
                except Exception:  # a disk problem must not turn a good answer into a crash
                    log.exception("could not save the answer")

    async def _record_user(self, text: str, nick: str, provider: str, model: str) -> None:
        if self.history is None:
            return
        try:
            if self.conversation_id is None:
                conv = await self.history.create_conversation(profile=nick, provider=provider, model=model)
                self.conversation_id = conv.id
            await self.history.add_message(self.conversation_id, "user", text, profile=nick, provider=provider, model=model)
        except Exception:
            log.exception("could not save the prompt")

    async def _checkpoint(self, answer_id: int, checkpoint) -> None:
        try:
            await self.history.checkpoint(answer_id, checkpoint.text, checkpoint.thinking or None)
            checkpoint.saved()
        except Exception:
            log.exception("could not checkpoint the answer")


def stored_usage(messages: "list[Message]") -> list[tuple[int, Usage]]:
    """Each stored answer's token counts, oldest first (for a reopened conversation's usage meter)."""
    return [
        (m.id, Usage(m.input_tokens, m.output_tokens))
        for m in messages
        if m.role == "assistant" and (m.input_tokens is not None or m.output_tokens is not None)
    ]
