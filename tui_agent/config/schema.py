"""The configuration's types: frozen dataclasses that pydantic validates, without importing pydantic here.

Pydantic validates these classes (`TypeAdapter(ProviderConfig)` in `config/load.py`), so it stays the one
validator of config.toml; but the app uses plain dataclasses, and a config already validated once is rebuilt
from the start-up cache (`config/cache.py`) without importing pydantic at all — its import and schema
building were the largest cost before the first frame. Field constraints and validators are written as
`Annotated[..., _Pydantic(...)]` metadata whose pydantic objects are built only when pydantic asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal
from urllib.parse import urlsplit

WireKind = Literal["anthropic-messages", "openai-chat", "ollama", "claude-cli"]
AuthMethodName = Literal["none", "api-key", "oauth-device", "oauth-pkce", "claude-cli"]
# How much a model should reason before answering; each wire kind maps it to its own field (README's table).
ReasoningEffort = Literal["off", "low", "medium", "high"]

# pydantic's ConfigDict for stdlib dataclasses (a plain dict is what ConfigDict is).
_FORBID = {"extra": "forbid"}


class _Pydantic:
    """`Annotated` metadata built lazily: pydantic calls `__get_pydantic_core_schema__` (its documented hook)
    only when it builds a validator, and only then are the pydantic objects from `build()` made.

    A field carries at most one of these (it generates the whole schema of its type)."""

    def __init__(self, build: Callable[[], tuple[Any, ...]], constraints: dict[str, Any] | None = None) -> None:
        self.build = build
        self.constraints = constraints or {}  # numeric bounds, kept readable for the problem sentences

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return handler.generate_schema(Annotated.__class_getitem__((source, *self.build())))  # type: ignore[attr-defined]


def _constrained(**constraints: Any) -> _Pydantic:
    """Numeric or length bounds, as pydantic's `Field(ge=…, le=…)` would give."""

    def build() -> tuple[Any, ...]:
        from pydantic import Field

        return (Field(**constraints),)

    return _Pydantic(build, constraints)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _http_url(value: str | None) -> str | None:
    if value is None:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    if "@" in parts.netloc:
        raise ValueError(
            "must not contain a user name or password (`user:password@`); credentials belong in the key store "
            "(`tui-agent login`) or the environment (api_key_env), never in config.toml"
        )
    return value.rstrip("/")


def _auth_list() -> tuple[Any, ...]:
    from pydantic import BeforeValidator, Field

    return (BeforeValidator(_one_or_many), Field(min_length=1))


def _base_url() -> tuple[Any, ...]:
    from pydantic import AfterValidator

    return (AfterValidator(_http_url),)


@dataclass(frozen=True)
class OAuthSettings:
    """Where and how to obtain OAuth tokens for a provider."""

    __pydantic_config__ = _FORBID

    issuer: str | None = None  # OIDC discovery base
    device_endpoint: str | None = None
    token_endpoint: str | None = None
    authorization_endpoint: str | None = None
    keys_endpoint: str | None = None  # OpenRouter: exchanges the PKCE code for an API key
    client_id: str | None = None
    tenant: str | None = None  # Microsoft Entra ID
    scopes: list[str] = field(default_factory=list)
    audience: str | None = None
    pkce: bool | None = None  # None: use PKCE when the server advertises S256


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed: to connect, for the answer to start, and for a silence in the middle of an answer.

    Unset limits take their defaults from `providers/_http.py` (`headers_limit`, `idle_limit`), which know
    whether the provider is local.
    """

    __pydantic_config__ = _FORBID

    connect: Annotated[float, _constrained(gt=0)] = 10.0
    # After the request is sent, until the response headers arrive (a local server may be loading the model).
    headers: Annotated[float | None, _constrained(gt=0)] = None
    # In the middle of a streaming answer: the longest silence before it is reported, what arrived kept.
    idle: Annotated[float | None, _constrained(gt=0)] = None
    # The key of earlier versions, one limit for both; when set it is the default of `headers` and `idle`.
    read: Annotated[float | None, _constrained(gt=0)] = None


@dataclass(frozen=True)
class ProviderConfig:
    """A provider: its wire kind, where it lives and which auth methods it allows (the first is the default)."""

    __pydantic_config__ = _FORBID

    kind: WireKind
    id: str = ""
    display_name: str = ""
    base_url: Annotated[str | None, _Pydantic(_base_url)] = None
    auth: Annotated[list[AuthMethodName], _Pydantic(_auth_list)] = field(default_factory=lambda: ["none"])
    api_key_env: str | None = None
    api_key_header: str | None = None  # e.g. "api-key" for Azure; default per wire kind
    anthropic_version: str | None = None
    oauth: OAuthSettings | None = None
    cli_path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeouts: Timeouts = field(default_factory=Timeouts)
    default_model: str | None = None
    local: bool = False  # a server on the user's machine: reachability is its state
    aliases: list[str] = field(default_factory=list)  # catalog only: old ids that name this provider
    setup_hint: str = ""  # catalog only: how to supply what is missing

    @property
    def default_method(self) -> str:
        return self.auth[0]

    @property
    def host(self) -> str:
        """The host[:port] of the base URL, or "" when there is none."""
        return urlsplit(self.base_url).netloc if self.base_url else ""

    @property
    def name(self) -> str:
        return self.display_name or self.id


@dataclass(frozen=True)
class ProfileConfig:
    """A nickname for a model on a provider, with optional parameters and auth method."""

    __pydantic_config__ = _FORBID

    provider: str
    model: str
    nickname: str = ""
    auth: AuthMethodName | None = None
    system: str | None = None
    temperature: Annotated[float | None, _constrained(ge=0, le=2)] = None
    top_p: Annotated[float | None, _constrained(gt=0, le=1)] = None
    max_tokens: Annotated[int | None, _constrained(gt=0)] = None
    reasoning: ReasoningEffort | None = None


@dataclass(frozen=True)
class UISettings:
    """Preferences for the TUI; unknown keys are ignored, so a newer config still opens in an older version."""

    __pydantic_config__ = {"extra": "ignore"}

    side_panel: Literal["auto", "show", "hide"] = "auto"
    resume_last: bool = True
    theme: str | None = None


# Each model's nested tables, for rebuilding a validated config from plain data (the start-up cache).
NESTED: dict[type, dict[str, type]] = {ProviderConfig: {"oauth": OAuthSettings, "timeouts": Timeouts}}
