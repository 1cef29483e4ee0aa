"""A chat session: one conversation's messages, its active profile and its persistence, in one place.

The chat screen talks to this object only. It resolves a profile switch before making it (transactional),
writes every message to history when it completes, checkpoints a streaming answer as it grows, and cuts
the oldest turns when the conversation outgrows the model's context window — and says so. It also keeps the
conversation's own system prompt and parameters (`/system`, `/set`), stored with it in history, and knows how
full the context is and what an answer cost.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, AsyncIterator

from tui_agent.providers.base import ChatMessage
from tui_agent.providers.events import Done, Event, StreamError, TextDelta, ThinkingDelta, Usage

if TYPE_CHECKING:
    from tui_agent.auth.resolve import Chain
    from tui_agent.config.model_facts import ModelFacts
    from tui_agent.service.agent import AgentService
    from tui_agent.service.history import AsyncHistory, Message

log = logging.getLogger("tui_agent.service.conversation")


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
        self.conversation_id = None
        self.messages = []
        self.last_trim = None
        self.last_usage = None
        self.settings = {}

    async def open(self, conversation_id: int) -> list["Message"]:
        """Reopen a stored conversation with the profile of its last answer (when that profile still resolves)."""
        assert self.history is not None
        stored = await self.history.messages(conversation_id)
        self.conversation_id = conversation_id
        self.last_usage = None
        self.messages = [ChatMessage(m.role, m.content) for m in stored if m.role in ("user", "assistant") and m.content]
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
        return stored

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

    async def send(self, text: str) -> AsyncIterator[Event]:
        """Stream the answer to `text`; the user turn and the answer are persisted whatever happens."""
        if self.chain is None:
            yield StreamError("no model is chosen — type /model NICK", kind="bad_request")
            return
        chain = self.chain
        nick, provider, model = chain.profile.nickname, chain.provider.id, chain.profile.model
        await self._record_user(text, nick, provider, model)
        self.messages.append(ChatMessage("user", text))
        facts = await self.service.model_facts(chain)
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
                if self.settings:  # set before the first message: stored with the conversation now
                    await self.history.set_settings(conv.id, self.settings)
            await self.history.add_message(self.conversation_id, "user", text, profile=nick, provider=provider, model=model)
        except Exception:
            log.exception("could not save the prompt")

    async def _checkpoint(self, answer_id: int, checkpoint) -> None:
        try:
            await self.history.checkpoint(answer_id, checkpoint.text, checkpoint.thinking or None)
            checkpoint.saved()
        except Exception:
            log.exception("could not checkpoint the answer")
