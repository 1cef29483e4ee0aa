"""A login's plan and the typed steps its driver yields; front-ends render these and decide nothing themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:
    from tui_agent.core.credentials import StoredCredential
    from tui_agent.config.schema import ProviderConfig

# What actually runs: no login at all, the Claude Code CLI's own login, a pasted key, RFC 8628, or a browser (PKCE).
LoginFlow = Literal["none", "claude-cli", "api-key", "device", "browser"]


@dataclass(frozen=True)
class LoginPlan:
    """A login decided once: the provider, the auth method the credential is for, and the flow that gets it."""

    provider: "ProviderConfig"
    method: str
    flow: LoginFlow

    @property
    def label(self) -> str:
        return self.provider.name or self.provider.id


@dataclass(frozen=True)
class ShowCode:
    """Device flow: the person opens `url` and enters `code`; `complete_url` fills the code in (may be "")."""

    url: str
    code: str
    complete_url: str
    expires_in: int
    # The page a browser may open: a web address only (never file: or a handler), or "" when there is none.
    openable: str


@dataclass(frozen=True)
class OpenUrl:
    """Browser flow: the address to sign in at; the driver now waits for the browser or a pasted answer."""

    url: str


@dataclass(frozen=True)
class Tick:
    """Device flow, before each poll: the code's time left and what the server last said."""

    seconds_left: float
    next_poll_in: float
    last: str  # "started" | "authorization_pending" | "slow_down" | "network error" | "server error"


@dataclass(frozen=True)
class Progress:
    """A sentence between steps (a pasted answer refused, the code being exchanged)."""

    sentence: str
    error: bool = False


@dataclass(frozen=True)
class Obtained:
    """The login worked and the credential is stored; `sentence` reports who is logged in and until when."""

    credential: "StoredCredential" = field(repr=False)
    sentence: str = ""


@dataclass(frozen=True)
class Failed:
    """The login ended without a credential; `error` is the located TuiAgentError (or OSError) that ended it."""

    error: Exception

    @property
    def sentence(self) -> str:
        return str(self.error)


LoginStep = Union[ShowCode, OpenUrl, Tick, Progress, Obtained, Failed]
