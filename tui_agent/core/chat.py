"""The small protocol every wire adapter speaks, and the request/model records they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable, Literal, Protocol

if TYPE_CHECKING:
    import httpx

    from tui_agent.core.credentials import Credential
    from tui_agent.config.schema import ProviderConfig
    from tui_agent.core.events import Event

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image sent with a user turn: its media type (image/png, …) and its bytes in base64."""

    media_type: str
    data: str

    @property
    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.data}"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation as sent to a model; `images` go with it as image parts (user turns only)."""

    role: Role
    content: str
    images: tuple[ImagePart, ...] = ()


@dataclass(frozen=True)
class ChatRequest:
    """Everything an adapter needs to ask for one answer; parameters left None are not sent."""

    model: str
    messages: list[ChatMessage]
    system: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    reasoning: str | None = None  # off | low | medium | high (config/schema.py ReasoningEffort); None: not sent
    # Which conversation this turn belongs to: lets a stateful back-end (the Claude Code CLI) continue its
    # own session instead of replaying the transcript. HTTP adapters ignore it.
    conversation_id: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """A model a provider reports it can serve."""

    provider: str
    id: str
    display_name: str = ""
    context_window: int | None = None
    loaded: bool | None = None  # local servers: whether it is in memory now
    capabilities: tuple[str, ...] = field(default_factory=tuple)
    # USD per million tokens, when the provider's list says (OpenRouter's `pricing`); None: not known.
    input_usd_per_mtok: float | None = None
    output_usd_per_mtok: float | None = None


# Called by an adapter after a 401: returns a refreshed credential, or None when none can be had.
RefreshCredential = Callable[[], Awaitable["Credential | None"]]


class Adapter(Protocol):
    """One wire kind. Built with the provider's config and the shared httpx client."""

    def __init__(self, provider: "ProviderConfig", client: "httpx.AsyncClient") -> None: ...

    def stream(
        self,
        request: ChatRequest,
        credential: "Credential",
        refresh: RefreshCredential | None = None,
    ) -> AsyncIterator["Event"]:
        """Yield events for one answer; always ends with exactly one Done or StreamFailed."""
        ...

    async def list_models(self, credential: "Credential") -> list[ModelInfo]:
        """Ask the provider which models it serves; raises ProviderError on failure."""
        ...
