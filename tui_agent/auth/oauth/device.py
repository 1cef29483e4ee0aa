"""The RFC 8628 device authorization grant as a UI-agnostic state machine: start(), then poll_until_done()."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from tui_agent.auth.oauth._common import (
    LoginCancelled,
    NotJson,
    OAuthErrorResponse,
    TokenSet,
    describe_body,
    error_sentence,
    post_token_request,
)
from tui_agent.auth.oauth.discovery import OAuthEndpoints
from tui_agent.auth.oauth.pkce import PkcePair
from tui_agent.errors import AuthError
from tui_agent.redact import mask_url_userinfo
from tui_agent.sanitize import sanitize, sanitize_line

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: slow_down adds 5 seconds to this and every later request
MAX_BACKOFF = 60  # network trouble doubles the wait, up to this

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class DeviceAuthorization:
    """What the person needs to see (§3.2), plus the device_code the client keeps to itself."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int
    message: str = ""  # Entra sends a ready-made sentence; shown only as extra help


@dataclass(frozen=True)
class PollTick:
    """Progress reported before each wait, so a UI can show a countdown and what the server last said."""

    seconds_left: float
    next_poll_in: float
    interval: float
    polls: int
    last: str  # "started" | "authorization_pending" | "slow_down" | "network error" | "server error"


class DeviceFlow:
    """One device-code login. Not reusable: make a new flow for a new attempt."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        endpoints: OAuthEndpoints,
        *,
        client_id: str,
        scopes: list[str] | tuple[str, ...] = (),
        audience: str | None = None,
        use_pkce: bool | None = None,
        label: str = "the identity provider",
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not endpoints.device_authorization_endpoint:
            raise AuthError(
                f"{label} has no device authorization endpoint (none configured and none in its discovery document); "
                "set oauth.device_endpoint, or use another login method."
            )
        if not endpoints.token_endpoint:
            raise AuthError(f"{label} has no token endpoint; set oauth.token_endpoint or oauth.issuer.")
        self._client = client
        self._endpoints = endpoints
        self._client_id = client_id
        self._scopes = list(scopes)
        self._audience = audience
        # PKCE is not part of RFC 8628; add it when the server advertises S256 or the config asks for it.
        want = endpoints.advertises_s256 if use_pkce is None else use_pkce
        self._pkce = PkcePair.new() if want else None
        self._label = label
        self._clock = clock
        self._sleep = sleep
        self._cancelled = asyncio.Event()
        self.authorization: DeviceAuthorization | None = None
        self._started_at = 0.0

    @property
    def uses_pkce(self) -> bool:
        return self._pkce is not None

    def cancel(self) -> None:
        """Stop polling at the next opportunity; poll_until_done() then raises LoginCancelled."""
        self._cancelled.set()

    async def start(self) -> DeviceAuthorization:
        """Ask for a device code and user code (RFC 8628 §3.1)."""
        form = {"client_id": self._client_id}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        if self._audience:
            form["audience"] = self._audience
        if self._pkce:
            form["code_challenge"] = self._pkce.challenge
            form["code_challenge_method"] = self._pkce.method
        url = self._endpoints.device_authorization_endpoint
        assert url is not None
        try:
            response = await self._client.post(url, data=form, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise AuthError(f"Could not reach the device authorization endpoint {url} ({type(exc).__name__}); check the network and try again.") from None
        data, problem = describe_body(response)
        if problem is not None:
            raise AuthError(problem.sentence("device authorization endpoint"))
        if not isinstance(data, dict):
            raise AuthError(f"The device authorization endpoint {url} answered with JSON that is not an object.")
        if response.status_code != 200 or "error" in data:
            err = OAuthErrorResponse(str(data.get("error") or f"HTTP {response.status_code}"), str(data.get("error_description") or ""), response.status_code)
            raise AuthError(error_sentence(err, f"The device authorization endpoint {url}") + _hint(err.error, err.description) + ".")
        self.authorization = _parse_authorization(data, url)
        self._started_at = self._clock()
        return self.authorization

    async def poll_until_done(self, on_tick: Callable[[PollTick], None] | None = None) -> TokenSet:
        """Poll the token endpoint (§3.4–3.5) until the person approves, declines, or the code expires."""
        if self.authorization is None:
            raise RuntimeError("DeviceFlow.start() must be called before poll_until_done()")
        auth = self.authorization
        deadline = self._started_at + auth.expires_in
        interval = float(auth.interval)
        wait = interval
        polls = 0
        last = "started"
        form = {"grant_type": DEVICE_GRANT, "device_code": auth.device_code, "client_id": self._client_id}
        if self._pkce:
            form["code_verifier"] = self._pkce.verifier
        url = self._endpoints.token_endpoint
        assert url is not None
        failures_in_a_row = 0
        while True:
            left = deadline - self._clock()
            if left <= 0:
                raise AuthError(self._expired_sentence())
            wait = min(wait, left)  # never sleep past the code's expiry, however long the server's interval
            if on_tick is not None:
                on_tick(PollTick(seconds_left=left, next_poll_in=wait, interval=interval, polls=polls, last=last))
            await self._wait(wait)
            if self._clock() >= deadline:
                raise AuthError(self._expired_sentence())
            polls += 1
            try:
                result = await post_token_request(self._client, url, form)
            except httpx.TransportError:
                # §3.5: back off on connection trouble rather than hammer a struggling server.
                failures_in_a_row += 1
                wait, last = _backoff(interval, failures_in_a_row), "network error"
                continue
            if isinstance(result, TokenSet):
                return result
            if isinstance(result, NotJson):
                if _transient(result.status):
                    failures_in_a_row += 1  # a gateway's HTML error page: transient, like a network error
                    wait, last = _backoff(interval, failures_in_a_row), "server error"
                    continue
                raise AuthError(result.sentence("token endpoint"))
            error = result.error
            if error == "authorization_pending":
                wait, last, failures_in_a_row = interval, error, 0
            elif error == "slow_down":
                interval += SLOW_DOWN_STEP
                wait, last, failures_in_a_row = interval, error, 0
            elif error in ("access_denied", "authorization_declined"):
                raise AuthError(f"The sign-in to {self._label} was declined at the verification page; run login again to retry.")
            elif error == "expired_token":
                raise AuthError(self._expired_sentence())
            elif error == "bad_verification_code":
                raise AuthError(f"{self._label} did not recognise the device code; run login again to get a new one.")
            elif _transient(result.status) or error == "temporarily_unavailable":
                failures_in_a_row += 1
                wait, last = _backoff(interval, failures_in_a_row), "server error"
            else:
                raise AuthError(error_sentence(result, f"The token endpoint {url}") + _hint(error, result.description) + ".")

    async def _wait(self, seconds: float) -> None:
        if self._cancelled.is_set():
            raise LoginCancelled(f"Login to {self._label} was cancelled.")
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(self._cancelled.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                if not task.done():
                    task.cancel()
        if self._cancelled.is_set():
            raise LoginCancelled(f"Login to {self._label} was cancelled.")
        sleeper.result()  # surface an exception from an injected sleep

    def _expired_sentence(self) -> str:
        seconds = self.authorization.expires_in if self.authorization else 0
        valid = f"{seconds} s" if seconds < 120 else f"about {round(seconds / 60)} min"
        return f"The device code for {self._label} expired before the sign-in was finished (it was valid for {valid}); run login again."


def _backoff(interval: float, failures: int) -> float:
    """Double the wait for each failure in a row, capped at a minute (or the interval, if that is longer)."""
    return min(interval * 2**failures, max(MAX_BACKOFF, interval))


def _transient(status: int) -> bool:
    return status >= 500 or status == 429


def _parse_authorization(data: dict, url: str) -> DeviceAuthorization:
    # Some servers (Google) still say verification_url, the draft's name.
    uri = data.get("verification_uri") or data.get("verification_url")
    device_code, user_code = data.get("device_code"), data.get("user_code")
    if not (isinstance(device_code, str) and device_code and isinstance(user_code, str) and user_code and isinstance(uri, str) and uri):
        raise AuthError(
            f"The device authorization endpoint {url} answered without device_code, user_code and verification_uri; "
            "it does not look like an RFC 8628 endpoint."
        )
    try:
        interval = int(data.get("interval") or DEFAULT_INTERVAL)
    except (TypeError, ValueError):
        interval = DEFAULT_INTERVAL
    try:
        expires_in = int(data.get("expires_in") or 1800)
    except (TypeError, ValueError):
        expires_in = 1800
    # What the person is shown and types comes from the server: it must be plain text, and the page an http(s)
    # URL whose host is not disguised by a user-info part (`https://login.example.com@evil.test/`).
    if sanitize_line(user_code) != user_code:
        raise AuthError(f"The device authorization endpoint {url} sent a user code with control characters ({sanitize_line(user_code)}); it cannot be shown or typed safely.")
    if not _plain_web_url(uri):
        raise AuthError(f"The device authorization endpoint {url} sent a verification address that is not a plain http(s) URL ({mask_url_userinfo(sanitize_line(uri))}); not opening or showing it.")
    complete = data.get("verification_uri_complete")
    return DeviceAuthorization(
        device_code=device_code,
        user_code=user_code,
        verification_uri=uri,
        verification_uri_complete=complete if isinstance(complete, str) and _plain_web_url(complete) else None,
        expires_in=max(expires_in, 1),
        interval=max(interval, 1),  # never poll in a tight loop, whatever the server says
        message=sanitize(str(data.get("message") or "")),
    )


def _plain_web_url(value: str) -> bool:
    """An http(s) URL with a host, no user-info part, and nothing a terminal would act on or hide."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc and sanitize_line(value) == value and " " not in value


def _hint(error: str, description: str) -> str:
    if "AADSTS7000218" in description:
        return "; in the Entra ID app registration set Authentication → Allow public client flows to Yes"
    if error == "invalid_client" or error == "unauthorized_client":
        return "; check oauth.client_id and that the client may use the device flow"
    if error == "invalid_scope":
        return "; check oauth.scopes"
    return ""
