"""OAuth token lifecycle: refresh ahead of expiry and after a 401, once per process and once across processes.

Also the RFC 6749 §6 refresh-token grant itself, and the credential state of a stored token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

from tui_agent.core.credentials import CredentialState, StoredCredential
from tui_agent.errors import AuthError
from tui_agent.redact import redact_text, register_secret

if TYPE_CHECKING:
    import httpx

    from tui_agent.auth.store import SecretStore
    from tui_agent.config.schema import ProviderConfig

log = logging.getLogger(__name__)

REFRESH_SKEW = timedelta(seconds=60)  # refresh this long before expiry, so a token never dies in flight
EXPIRING_WITHIN = timedelta(minutes=10)  # docs/interfaces.md: `expiring` = valid under 10 minutes, cannot refresh
LOCK_TIMEOUT = 120.0
_LOCK_POLL = 0.05

Clock = Callable[[], datetime]
Refresher = Callable[["ProviderConfig", StoredCredential], Awaitable[StoredCredential]]
StateListener = Callable[[str], None]


class GrantGone(AuthError):
    """The authorization server refused the refresh token (invalid_grant, HTTP 400/401): log in again."""


class RefreshFailed(AuthError):
    """The refresh could not be completed for a reason that may pass (network, server error)."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# ------------------------------------------------------------------------------ RFC 6749 §6 refresh


async def refresh_token_grant(
    client: "httpx.AsyncClient",
    token_endpoint: str,
    client_id: str | None,
    cred: StoredCredential,
    scope: str | None = None,
    *,
    clock: Clock = utc_now,
) -> StoredCredential:
    """Exchange `cred.refresh_token` for a new access token (RFC 6749 §6); keeps the old refresh token
    when the server does not rotate it. Raises GrantGone (refused: log in again) or RefreshFailed."""
    import httpx

    where = urlsplit(token_endpoint).netloc or token_endpoint
    register_secret(cred.secret)  # a server may echo them back in an error we show
    register_secret(cred.refresh_token)
    if not cred.refresh_token:
        raise GrantGone(f"no refresh token is stored for {cred.host or where}")
    form = {"grant_type": "refresh_token", "refresh_token": cred.refresh_token}
    if client_id:
        form["client_id"] = client_id
    if scope:
        form["scope"] = scope
    try:
        response = await client.post(
            token_endpoint, data=form, headers={"Accept": "application/json"}, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise RefreshFailed(
            f"could not reach the token endpoint {where} to refresh the token ({type(exc).__name__}); "
            "check the network and try again"
        ) from None
    body = _json_object(response)
    if response.status_code in (400, 401):
        error = str(body.get("error") or f"HTTP {response.status_code}")
        description = str(body.get("error_description") or "").strip()
        said = f"{error}: {description}" if description else error
        raise GrantGone(f"the token endpoint {where} refused the refresh token ({redact_text(said)})")
    if response.status_code != 200:
        raise RefreshFailed(f"the token endpoint {where} answered HTTP {response.status_code} to a token refresh; try again later")
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise RefreshFailed(f"the token endpoint {where} answered a refresh without an access_token")
    token_type = str(body.get("token_type") or "bearer")
    if token_type.lower() != "bearer":
        raise RefreshFailed(f"the token endpoint {where} issued a `{token_type}` token; only bearer tokens are supported")
    register_secret(access)
    new_refresh = body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else None
    register_secret(new_refresh)
    return replace(
        cred,
        secret=access,
        refresh_token=new_refresh or cred.refresh_token,  # §6: the server MAY rotate; if not, keep ours
        expires_at=_expiry(body.get("expires_in"), clock),
        scope=str(body["scope"]) if body.get("scope") else cred.scope,
    )


def _json_object(response: "httpx.Response") -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _expiry(expires_in: object, clock: Clock) -> datetime | None:
    try:
        seconds = float(expires_in)  # some servers send it as a string
    except (TypeError, ValueError):
        return None
    return clock() + timedelta(seconds=seconds)


# --------------------------------------------------------------------------------------- the manager


@dataclass(frozen=True)
class _Failure:
    """The last refresh of a token failed.

    `gone`: the grant is dead and only a new login helps. `dead`: the provider refused the access token
    itself (a 401), so it is unusable whatever its expiry says.
    """

    secret_digest: str
    gone: bool
    detail: str
    dead: bool = False


class TokenManager:
    """Keeps OAuth tokens fresh: single-flight per provider in this process, serialised across processes."""

    def __init__(
        self,
        store: "SecretStore",
        refresher: Refresher,
        lock_dir: Path,
        clock: Clock = utc_now,
        *,
        lock_timeout: float = LOCK_TIMEOUT,
        refusals_file: Path | None = None,
    ) -> None:
        self._store = store
        # A refused grant outlives the process (state/refused-grants.json): a later process must not show the
        # token as ready, nor send its dead refresh token again. Only the token's digest is kept, never the token.
        self._refusals = _RefusalFile(refusals_file) if refusals_file is not None else None
        self._refresher = refresher
        self._lock_dir = Path(lock_dir)
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._inflight: dict[str, asyncio.Task[StoredCredential | None]] = {}
        self._failures: dict[str, _Failure] = (
            self._refusals.load() if self._refusals is not None else {}
        )
        self._refreshed_after_401: dict[str, str] = {}  # provider -> digest of the token a 401-refresh produced
        self._listeners: list[StateListener] = []

    # -- observing ----------------------------------------------------------------------------------

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        """Call `listener(provider_id)` whenever a provider's token state may have changed; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def refreshing(self, provider_id: str) -> bool:
        """True while a refresh of this provider's token runs in this process."""
        return provider_id in self._inflight

    def lock_path(self, provider_id: str) -> Path:
        """The file every tui-agent process locks while refreshing this provider's token."""
        return self._lock_dir / f".refresh-{_safe_name(provider_id)}.lock"

    def state_of(self, provider_id: str, cred: StoredCredential | None) -> tuple[CredentialState, str]:
        """The state and detail of a stored credential, as docs/interfaces.md defines them."""
        if provider_id in self._inflight:
            return CredentialState.REFRESHING, "refreshing the access token"
        if cred is None:
            return CredentialState.MISSING, f"not logged in; run `tui-agent login {provider_id}`"
        failure = self._failure_for(provider_id, cred)
        if failure and failure.gone:
            return CredentialState.EXPIRED, failure.detail
        if failure and failure.dead:
            return CredentialState.ERROR, failure.detail
        if cred.kind != "oauth" or cred.expires_at is None:
            return CredentialState.READY, failure.detail if failure else ""
        left = _aware(cred.expires_at) - self._clock()
        if failure:  # the last refresh failed for a reason that may pass
            return (CredentialState.ERROR if left <= timedelta(0) else CredentialState.READY), failure.detail
        if cred.refresh_token:
            return CredentialState.READY, ""  # it refreshes itself before it expires
        login = f"run `tui-agent login {provider_id}`"
        if left <= timedelta(0):
            return CredentialState.EXPIRED, f"the token expired and cannot refresh itself; {login}"
        if left < EXPIRING_WITHIN:
            minutes = max(1, int(left.total_seconds() // 60))
            return CredentialState.EXPIRING, f"the token expires in {minutes} min and cannot refresh itself; {login}"
        return CredentialState.READY, ""

    # -- getting a usable token ---------------------------------------------------------------------

    async def fresh(self, provider: "ProviderConfig") -> StoredCredential | None:
        """The stored credential, refreshed first when it is an OAuth token within 60 s of expiry.

        None only when nothing is stored. A token that could not be refreshed is returned as stored:
        check `state_of` before sending it (`expired` or `error`: do not send; the detail says why).
        """
        cred = await self._store.get(provider.id)
        if cred is None or not self._needs_refresh(cred):
            return cred
        failure = self._failure_for(provider.id, cred)
        if (failure and failure.gone) or not cred.refresh_token:
            return cred  # no loop: a dead grant stays dead until the user logs in again
        return await self._single_flight(provider, self._needs_refresh, after_401=False)

    async def after_unauthorized(self, provider: "ProviderConfig", rejected_secret: str) -> StoredCredential | None:
        """An adapter got a 401 with `rejected_secret`: refresh once, unless another caller already replaced it.

        Returns a different, usable credential to retry with, or None (then `state_of` says why).
        """
        pid = provider.id
        cred = await self._store.get(pid)
        if cred is None:
            return None
        if cred.secret != rejected_secret:
            # Someone (this process or another) already replaced it: hand that over, refreshed if due.
            cred = await self.fresh(provider)
            return cred if cred is not None and cred.secret != rejected_secret and self._usable(pid, cred) else None
        if cred.kind != "oauth":
            return None  # a refused API key cannot be refreshed; the caller reports the refusal
        failure = self._failure_for(pid, cred)
        if failure and failure.gone:
            return None
        login = f"run `tui-agent login {pid}`"
        if self._refreshed_after_401.get(pid) == _digest(rejected_secret):
            self._fail(pid, cred, gone=True, detail=f"the provider refused a freshly refreshed token; {login}")
            return None  # refreshing again would only loop
        if not cred.refresh_token:
            self._fail(pid, cred, gone=True, detail=f"the provider refused the token and it cannot refresh itself; {login}")
            return None
        result = await self._single_flight(provider, lambda c: c.secret == rejected_secret, after_401=True)
        if result is None or result.secret == rejected_secret or not self._usable(pid, result):
            return None
        return result

    # -- private ------------------------------------------------------------------------------------

    async def _single_flight(
        self, provider: "ProviderConfig", still_needed: Callable[[StoredCredential], bool], *, after_401: bool
    ) -> StoredCredential | None:
        """Run one refresh per provider at a time; every concurrent caller gets its result (the stored credential)."""
        pid = provider.id
        task = self._inflight.get(pid)
        if task is None:
            task = asyncio.ensure_future(self._refresh(provider, still_needed, after_401))
            self._inflight[pid] = task
            task.add_done_callback(lambda _t: self._finished(pid, _t))
            self._notify(pid)
        # shield: one caller giving up (a cancelled request) must not cancel the refresh the others wait for
        return await asyncio.shield(task)

    def _finished(self, pid: str, task: asyncio.Task) -> None:
        if self._inflight.get(pid) is task:
            del self._inflight[pid]
        if not task.cancelled():
            task.exception()  # mark retrieved: every waiter has received it already
        self._notify(pid)

    async def _refresh(
        self, provider: "ProviderConfig", still_needed: Callable[[StoredCredential], bool], after_401: bool
    ) -> StoredCredential | None:
        """Refresh under the cross-process lock if still needed; returns what is stored afterwards."""
        pid = provider.id
        try:
            async with self._process_lock(pid):
                return await self._refresh_locked(provider, still_needed, after_401)
        except RefreshFailed as exc:  # the lock stayed taken: a state, like any other transient failure
            cred = await self._store.get(pid)
            if cred is not None:
                self._fail(pid, cred, gone=False, detail=str(exc), dead=after_401)
            return cred

    async def _refresh_locked(
        self, provider: "ProviderConfig", still_needed: Callable[[StoredCredential], bool], after_401: bool
    ) -> StoredCredential | None:
        pid = provider.id
        # Re-read under the lock: another process may have refreshed (and rotated the refresh token).
        cred = await self._store.get(pid)
        if cred is None or not still_needed(cred):
            return cred
        if self._refusals is not None and pid in (persisted := self._refusals.load()):
            self._failures[pid] = persisted[pid]  # another process saw this grant refused meanwhile
        failure = self._failure_for(pid, cred)
        if (failure and failure.gone) or not cred.refresh_token:
            return cred
        try:
            new = await self._refresher(provider, cred)
        except GrantGone as exc:
            detail = f"{redact_text(str(exc))}; run `tui-agent login {pid}`"
            self._fail(pid, cred, gone=True, detail=detail)
            log.warning("token refresh for %s refused: %s", pid, detail)
            return cred  # kept, not deleted: the state explains it until the user logs in again
        except Exception as exc:  # a refresher is third-party code: any failure is a state, not a crash
            detail = f"could not refresh the token: {redact_text(str(exc)) or type(exc).__name__}"
            self._fail(pid, cred, gone=False, detail=detail, dead=after_401)
            log.warning("token refresh for %s failed: %s", pid, detail)
            return cred
        if not new.refresh_token and cred.refresh_token:
            new = replace(new, refresh_token=cred.refresh_token)  # RFC 6749 §6: not rotated, keep ours
        register_secret(new.secret)
        register_secret(new.refresh_token)
        await self._store.put(pid, new)
        self._forget_failure(pid)
        if after_401:
            self._refreshed_after_401[pid] = _digest(new.secret)
        else:
            self._refreshed_after_401.pop(pid, None)
        log.info("refreshed the access token of %s", pid)
        return new

    def _usable(self, pid: str, cred: StoredCredential) -> bool:
        failure = self._failure_for(pid, cred)
        return not (failure and (failure.gone or failure.dead)) and self._still_valid(cred)

    @contextlib.asynccontextmanager
    async def _process_lock(self, pid: str) -> AsyncIterator[None]:
        """The cross-process refresh lock of one provider; waits without blocking the event loop."""
        import filelock

        self._lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.lock_path(pid)
        lock = filelock.FileLock(str(path), mode=0o600, thread_local=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_timeout
        waited = False
        while True:
            try:
                lock.acquire(blocking=False)  # a non-blocking flock: never stalls the loop
                break
            except filelock.Timeout:
                if not waited:
                    log.info("waiting for another tui-agent process refreshing the token of %s (lock %s)", pid, path)
                    waited = True
                if loop.time() > deadline:
                    raise RefreshFailed(
                        f"another tui-agent process has been refreshing the token of {pid} for over "
                        f"{self._lock_timeout:g} s (lock {path}); try again"
                    ) from None
                await asyncio.sleep(_LOCK_POLL)
        try:
            yield
        finally:
            lock.release()

    def _needs_refresh(self, cred: StoredCredential) -> bool:
        return (
            cred.kind == "oauth"
            and cred.expires_at is not None
            and _aware(cred.expires_at) - REFRESH_SKEW <= self._clock()
        )

    def _still_valid(self, cred: StoredCredential) -> bool:
        return cred.expires_at is None or _aware(cred.expires_at) > self._clock()

    def _failure_for(self, pid: str, cred: StoredCredential) -> _Failure | None:
        failure = self._failures.get(pid)
        return failure if failure and failure.secret_digest == _digest(cred.secret) else None

    def _fail(self, pid: str, cred: StoredCredential, *, gone: bool, detail: str, dead: bool = False) -> None:
        failure = _Failure(_digest(cred.secret), gone, detail, dead)
        self._failures[pid] = failure
        if gone and self._refusals is not None:
            self._refusals.record(pid, failure)
        self._notify(pid)

    def _forget_failure(self, pid: str) -> None:
        failure = self._failures.pop(pid, None)
        if failure is not None and failure.gone and self._refusals is not None:
            self._refusals.forget(pid)

    def _notify(self, pid: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(pid)
            except Exception:  # a broken listener must not break a refresh
                log.exception("token state listener failed")


class _RefusalFile:
    """Refused grants kept across processes: `{provider: {"digest", "detail", "at"}}`, written atomically.

    A damaged file is ignored (logged): it can only make a dead token look alive until its next refusal.
    An entry stops mattering by itself when a new login stores another token (its digest no longer matches).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, _Failure]:
        failures: dict[str, _Failure] = {}
        for pid, entry in self._read().items():
            if isinstance(entry, dict) and isinstance(entry.get("digest"), str) and isinstance(entry.get("detail"), str):
                failures[pid] = _Failure(entry["digest"], True, entry["detail"])
        return failures

    def record(self, pid: str, failure: _Failure) -> None:
        entries = self._read()
        entries[pid] = {"digest": failure.secret_digest, "detail": failure.detail, "at": utc_now().isoformat(timespec="seconds")}
        self._write(entries)

    def forget(self, pid: str) -> None:
        entries = self._read()
        if entries.pop(pid, None) is not None:
            self._write(entries)

    def _read(self) -> dict:
        import json

        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: %s", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict) -> None:
        import json
        import os
        import tempfile

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".refused-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entries, out, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:  # the state stays right in this process; only the next one may not know
            log.warning("could not write %s: %s", self.path, exc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _digest(secret: str) -> str:
    # Remember which token failed without keeping (another copy of) the token itself.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _safe_name(provider_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", provider_id)
    if cleaned == provider_id:
        return cleaned
    return f"{cleaned}-{hashlib.sha256(provider_id.encode()).hexdigest()[:8]}"
