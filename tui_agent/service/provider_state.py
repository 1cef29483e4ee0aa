"""The provider-state authority's memory of request outcomes: what the last requests to a provider showed.

A probe says what a provider looks like from outside (a key is stored, a server accepts connections); a request
says what it really did. Both go through `AgentService.credential_status`, which lays the outcomes recorded here
over the probed status, so the side panel, header summary, auth dialog, picker, `/model`, `status` and `explain`
all show the same thing. The mapping (docs/architecture.md, "Provider state"):

| outcome                                  | state         | shown                                              |
|------------------------------------------|---------------|----------------------------------------------------|
| success                                  | as probed     | clears every recorded outcome                      |
| 401/403: the credential was refused      | `error`       | "the server refused the key 12 s ago" + the fix     |
| connection refused, DNS, TLS, timeout    | `unreachable` | what failed and when                               |
| 5xx, an HTML page, 429, a dropped stream | unchanged     | a second line "last request failed: … 8 s ago"     |

A refused credential stays refused for *that* credential (its fingerprint: source, masked identity, expiry):
a probe never clears it; a new key or a login does, as does a later successful request. A probe that reaches a
local server clears `unreachable`. A refused token refresh is the token manager's (`expired`, kept on disk).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

from tui_agent.core.credentials import CredentialState, CredentialStatus

OutcomeKind = Literal["refused", "unreachable", "failed"]


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    what: str  # "HTTP 502 (an HTML page)", "connection refused at 127.0.0.1:9", …
    at: float
    fingerprint: str = ""  # refused: which credential was refused


def fingerprint(status: CredentialStatus) -> str:
    """Which credential a status describes, without the secret: a new key or login changes it."""
    return f"{status.source}|{status.identity}|{status.expires_iso() or ''}"


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


class ProviderOutcomes:
    """Request outcomes per provider (this process only; what must outlive it is the token manager's)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._refused: dict[str, Outcome] = {}
        self._unreachable: dict[str, Outcome] = {}
        self._failed: dict[str, Outcome] = {}
        self._seen: dict[str, str] = {}  # provider -> fingerprint of the credential last checked
        self._cleared: dict[str, datetime] = {}  # provider -> last success, new key or login

    def cleared_at(self, provider_id: str) -> datetime | None:
        """When a request last succeeded or the credential last changed: an error from before is history."""
        return self._cleared.get(provider_id)

    def succeeded(self, provider_id: str) -> None:
        for table in (self._refused, self._unreachable, self._failed):
            table.pop(provider_id, None)
        self._cleared[provider_id] = self._now()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), timezone.utc)

    def refused(self, provider_id: str, what: str, credential: CredentialStatus) -> None:
        self._refused[provider_id] = Outcome("refused", what, self._clock(), fingerprint(credential))

    def unreachable(self, provider_id: str, what: str) -> None:
        self._unreachable[provider_id] = Outcome("unreachable", what, self._clock())

    def failed(self, provider_id: str, what: str) -> None:
        self._failed[provider_id] = Outcome("failed", what, self._clock())

    def apply(self, status: CredentialStatus, *, fix: str, probed_reachable: bool) -> CredentialStatus:
        """`status` (as checked now) with the recorded outcomes laid over it."""
        pid, now = status.provider, self._clock()
        seen = fingerprint(status)
        if self._seen.get(pid, seen) != seen:
            self._cleared[pid] = self._now()  # another key or a new login
        self._seen[pid] = seen
        if probed_reachable:
            self._unreachable.pop(pid, None)  # a light probe may bring back an unreachable server
        failed = self._failed.get(pid)
        if failed is not None:
            status = status.with_(last_failure=f"last request failed: {failed.what} {ago(now - failed.at)}")
        refused = self._refused.get(pid)
        if refused is not None:
            if refused.fingerprint != fingerprint(status):
                del self._refused[pid]  # another credential now: the refusal was about the old one
            elif status.state not in (CredentialState.MISSING, CredentialState.EXPIRED):
                return status.with_(
                    state=CredentialState.ERROR,
                    detail=f"the server refused {_what_was_refused(status)} {ago(now - refused.at)} ({refused.what}); {fix}",
                )
        unreachable = self._unreachable.get(pid)
        if unreachable is not None and status.state in (CredentialState.READY, CredentialState.UNKNOWN):
            return status.with_(
                state=CredentialState.UNREACHABLE,
                detail=f"the last request could not reach it {ago(now - unreachable.at)}: {unreachable.what}",
            )
        return status


def _what_was_refused(status: CredentialStatus) -> str:
    return "the key" if status.auth_method == "api-key" else "the login"
