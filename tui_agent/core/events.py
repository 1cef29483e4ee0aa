"""The one event model for a streamed answer, used by adapters, service, CLI and UI alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

ErrorKind = Literal[
    "auth",  # 401/403, or a refused/expired credential
    "rate_limit",  # 429
    "overloaded",  # 5xx / 529
    "bad_request",  # 400/404/422: the request itself is wrong (unknown model, bad parameter)
    "bad_response",  # HTML or garbage where JSON was expected
    "network",  # connection refused, DNS, TLS, timeout
    "interrupted",  # the stream ended without its terminal marker
    "provider",  # any other error the provider reported
    "stopped",  # the user stopped the answer
]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of the model's visible reasoning."""

    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts so far (cumulative: a later Usage replaces an earlier one)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """The answer finished normally."""

    stop_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StreamFailed:
    """The answer failed; `message` is one sentence for a person (what failed, where, what to do)."""

    message: str
    kind: ErrorKind = "provider"
    status: int | None = None
    retry_after: float | None = None


Event = Union[TextDelta, ThinkingDelta, Usage, Done, StreamFailed]
