"""Pydantic models for providers, profiles and the whole configuration."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

WireKind = Literal["anthropic-messages", "openai-chat", "ollama", "claude-cli"]
AuthMethodName = Literal["none", "api-key", "oauth-device", "oauth-pkce", "claude-cli"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OAuthSettings(_Strict):
    """Where and how to obtain OAuth tokens for a provider."""

    issuer: str | None = None  # OIDC discovery base
    device_endpoint: str | None = None
    token_endpoint: str | None = None
    authorization_endpoint: str | None = None
    keys_endpoint: str | None = None  # OpenRouter: exchanges the PKCE code for an API key
    client_id: str | None = None
    tenant: str | None = None  # Microsoft Entra ID
    scopes: list[str] = Field(default_factory=list)
    audience: str | None = None
    pkce: bool | None = None  # None: use PKCE when the server advertises S256


class Timeouts(_Strict):
    """Seconds allowed for connecting and between bytes of a response."""

    connect: float = 10.0
    read: float = 300.0


class ProviderConfig(_Strict):
    """A provider: its wire kind, where it lives and which auth methods it allows (the first is the default)."""

    id: str = ""
    display_name: str = ""
    kind: WireKind
    base_url: str | None = None
    auth: list[AuthMethodName] = Field(default_factory=lambda: ["none"], min_length=1)
    api_key_env: str | None = None
    api_key_header: str | None = None  # e.g. "api-key" for Azure; default per wire kind
    anthropic_version: str | None = None
    oauth: OAuthSettings | None = None
    cli_path: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    default_model: str | None = None
    local: bool = False  # a server on the user's machine: reachability is its state
    aliases: list[str] = Field(default_factory=list)  # catalog only: old ids that name this provider
    setup_hint: str = ""  # catalog only: how to supply what is missing

    @field_validator("auth", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

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


class ProfileConfig(_Strict):
    """A nickname for a model on a provider, with optional parameters and auth method."""

    nickname: str = ""
    provider: str
    model: str
    auth: AuthMethodName | None = None
    system: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)


class UISettings(BaseModel):
    """Preferences for the TUI; unknown keys are kept for forward compatibility."""

    model_config = ConfigDict(extra="allow", frozen=True)

    side_panel: Literal["auto", "show", "hide"] = "auto"
    resume_last: bool = True
    theme: str | None = None
