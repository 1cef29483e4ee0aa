"""Credential states, sources and the records that carry them: defined once, used by CLI, JSON, panel and logs."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Literal

from tui_agent.sanitize import sanitize_line

AuthMethod = Literal["none", "api-key", "oauth-device", "oauth-pkce", "claude-cli"]
AUTH_METHODS: tuple[str, ...] = ("none", "api-key", "oauth-device", "oauth-pkce", "claude-cli")


class CredentialState(str, enum.Enum):
    """The state of a provider's credential, exactly as docs/interfaces.md names them."""

    READY = "ready"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REFRESHING = "refreshing"
    MISSING = "missing"
    UNREACHABLE = "unreachable"
    ERROR = "error"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


# Symbols read without colour; colours are a second channel, never the only one.
STATE_SYMBOL = {
    CredentialState.READY: "✓",
    CredentialState.EXPIRING: "◔",
    CredentialState.EXPIRED: "✗",
    CredentialState.REFRESHING: "↻",
    CredentialState.MISSING: "○",
    CredentialState.UNREACHABLE: "⊘",
    CredentialState.ERROR: "!",
    CredentialState.UNKNOWN: "?",
}


@dataclass(frozen=True)
class Credential:
    """A ready credential handed to an adapter: what to send, never where it came from."""

    kind: Literal["api-key", "bearer", "none"]
    secret: str = field(default="", repr=False)

    def __repr__(self) -> str:  # never let a secret reach a log through repr
        return f"Credential(kind={self.kind!r})"


NO_CREDENTIAL = Credential(kind="none")


# How a key saved without a check is recorded (StoredCredential.obtained_by), and what its first use made of it.
UNCHECKED = "saved without a check"
REFUSED_AT_FIRST_USE = "refused at its first use"


@dataclass(frozen=True)
class StoredCredential:
    """What the secret store keeps for one provider: an API key or an OAuth token set, bound to an origin."""

    kind: Literal["api-key", "oauth"]
    secret: str = field(repr=False)
    # The origin (scheme://host[:port]) the secret was stored for; it is never sent anywhere else. Entries
    # written before origins were bound hold host[:port] only (see auth/store.py, `upgraded_binding`).
    host: str = ""
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    obtained_by: str = "entered"  # entered | device flow | PKCE | imported | UNCHECKED | REFUSED_AT_FIRST_USE
    identity: str = ""  # a non-secret label (account, e-mail) when the provider told us one
    token_endpoint: str | None = None
    scope: str | None = None

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "secret": self.secret,
            "host": self.host,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "obtained_by": self.obtained_by,
            "identity": self.identity,
            "token_endpoint": self.token_endpoint,
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, data: object) -> "StoredCredential":
        """Read a stored record; ValueError names the first field that is missing or of the wrong type."""
        if not isinstance(data, dict):
            raise ValueError(f"it is a JSON {_json_type(data)}, not an object")
        kind = data.get("kind", "api-key")
        if kind not in ("api-key", "oauth"):
            raise ValueError("its `kind` is neither \"api-key\" nor \"oauth\"")
        secret = data.get("secret")
        if not isinstance(secret, str) or not secret:
            raise ValueError("its `secret` is missing or not text")
        for name in ("host", "obtained_by", "identity"):
            if not isinstance(data.get(name, ""), str):
                raise ValueError(f"its `{name}` is not text")
        for name in ("refresh_token", "expires_at", "token_endpoint", "scope"):
            if not isinstance(data.get(name), (str, type(None))):
                raise ValueError(f"its `{name}` is not text")
        expires = data.get("expires_at")
        try:
            expires_at = datetime.fromisoformat(expires) if expires else None
        except ValueError:
            raise ValueError("its `expires_at` is not a date") from None
        return cls(
            kind=kind,
            secret=secret,
            host=data.get("host", ""),
            refresh_token=data.get("refresh_token"),
            expires_at=expires_at,
            obtained_by=data.get("obtained_by", "entered"),
            identity=data.get("identity", ""),
            token_endpoint=data.get("token_endpoint"),
            scope=data.get("scope"),
        )

    def __repr__(self) -> str:
        return f"StoredCredential(kind={self.kind!r}, host={self.host!r}, expires_at={self.expires_at!r})"


def _json_type(value: object) -> str:
    names = {list: "list", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class CredentialStatus:
    """The state of one provider's credential as shown everywhere (status, JSON, side panel, explain)."""

    provider: str
    auth_method: str
    state: CredentialState
    source: str = "none"  # keyring | file | env:NAME | claude-cli | none
    identity: str = ""  # always masked or non-secret
    expires_at: datetime | None = None
    detail: str = ""
    checked_at: datetime | None = None
    model_count: int | None = None  # local servers: how many models, when known
    # A request that failed without changing the state (5xx, an HTML page, 429): a second line on the row.
    last_failure: str = ""

    def __post_init__(self) -> None:
        # Identity and detail quote servers, tokens and the Claude CLI's output; every front-end shows them.
        for name in ("source", "identity", "detail"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, sanitize_line(value))

    def with_(self, **changes) -> "CredentialStatus":
        return replace(self, **changes)

    def expires_iso(self) -> str | None:
        if self.expires_at is None:
            return None
        return self.expires_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def state_label(state: CredentialState) -> str:
    """`✓ ready`: the symbol (readable without colour) and the state's name."""
    return f"{STATE_SYMBOL[state]} {state.value}"


def state_line(status: CredentialStatus | None, *, identity: bool = False, detail: str | None = None) -> str:
    """The one "symbol state — detail" line: `✓ ready as ada — detail`, or `? not checked yet` without a status.

    `identity` adds "as WHO"; `detail` replaces the status's own detail (a front-end's rewording of it).
    """
    if status is None:
        return f"{STATE_SYMBOL[CredentialState.UNKNOWN]} not checked yet"
    line = state_label(status.state)
    if identity and status.identity:
        line += f" as {status.identity}"
    text = status.detail if detail is None else detail
    return line + (f" — {text}" if text else "")
