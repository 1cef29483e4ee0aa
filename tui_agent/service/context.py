"""Fit a conversation into a model's context window by cutting whole turns from the oldest end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Protocol, Sequence, TypeVar

# Roles and separators cost a few tokens per message beyond the text itself.
MESSAGE_OVERHEAD = 4


class _HasRoleAndContent(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


M = TypeVar("M", bound=_HasRoleAndContent)


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token), used when the provider gives nothing better."""
    return (len(text) + 3) // 4


@dataclass(frozen=True)
class Fitted(Generic[M]):
    """What to send, and what was left out so the user can be told."""

    messages: list[M]
    turns_cut: int  # whole turns (a user message and the answers after it) left out, oldest first
    messages_cut: int
    tokens: int  # estimated tokens of `messages`, overhead included
    over_budget: bool  # even the newest user turn alone does not fit; it is sent anyway

    @property
    def trimmed(self) -> bool:
        return self.turns_cut > 0


def fit_context(
    messages: Sequence[M], context_window: int, *, reserve: int = 0,
    estimate: Callable[[str], int] = estimate_tokens,
) -> Fitted[M]:
    """Keep the newest turns whose estimated size fits `context_window - reserve` tokens.

    `reserve` is room kept for the system prompt and the answer. Turns are cut whole, oldest first, so what
    is sent always starts with a user message; the newest user turn is always kept, even when it alone is
    too big (then `over_budget` is True and the provider will say so).
    """
    budget = context_window - reserve
    turns = _turns(messages)
    kept: list[list[M]] = []
    tokens = 0
    for index, turn in enumerate(reversed(turns)):
        size = sum(estimate(message.content) + MESSAGE_OVERHEAD for message in turn)
        # index 0 is the newest turn, which holds the newest user message: it is never cut.
        if index and tokens + size > budget:
            break
        kept.append(turn)
        tokens += size
    kept.reverse()
    sent = [message for turn in kept for message in turn]
    return Fitted(
        messages=sent,
        turns_cut=len(turns) - len(kept),
        messages_cut=len(messages) - len(sent),
        tokens=tokens,
        over_budget=tokens > budget,
    )


def _turns(messages: Sequence[M]) -> list[list[M]]:
    """Group messages into turns: each user message starts one; anything before the first stands alone."""
    turns: list[list[M]] = []
    for message in messages:
        if message.role == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns
