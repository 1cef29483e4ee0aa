"""Pieces every OAuth flow shares: the token set, token-endpoint calls with RFC 6749 §5.2 errors, and id_token display."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from tui_agent.core.credentials import StoredCredential
from tui_agent.errors import AuthError, Interrupted
from tui_agent.redact import mask_url_userinfo, register_secret
from tui_agent.sanitize import sanitize, sanitize_line

if TYPE_CHECKING:
    from tui_agent.config.schema import ProviderConfig


class LoginCancelled(Interrupted):
    """The person cancelled a login (Ctrl-C, Escape, or the flow's cancel())."""


@dataclass(frozen=True)
class TokenSet:
    """A successful RFC 6749 §5.1 token response; secrets never reach repr."""

    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    expires_in: int | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None
    id_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> "TokenSet":
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthError(f"The token endpoint {where} answered without an access_token; the server is not speaking OAuth 2.0 there.")
        # Known to the redactor from the moment it exists, so no log line can carry it.
        for secret in (token, data.get("refresh_token"), data.get("id_token")):
            register_secret(secret if isinstance(secret, str) else None)
        token_type = str(data.get("token_type") or "Bearer")
        if token_type.lower() != "bearer":
            raise AuthError(f"The token endpoint {where} issued a {printable(token_type, 40)!r} token; tui-agent only sends bearer tokens.")
        expires = data.get("expires_in")
        try:
            expires_in = int(expires) if expires is not None else None
        except (TypeError, ValueError):
            expires_in = None
        return cls(
            access_token=token,
            token_type=token_type,
            expires_in=expires_in,
            refresh_token=data.get("refresh_token") or None,
            scope=data.get("scope") or None,
            id_token=data.get("id_token") or None,
        )


@dataclass(frozen=True)
class OAuthErrorResponse:
    """An RFC 6749 §5.2 error body (`error`, `error_description`) with the HTTP status it came with."""

    error: str
    description: str
    status: int


@dataclass(frozen=True)
class NotJson:
    """A response that should have been JSON and was not (an HTML error page, a proxy's banner, garbage)."""

    status: int
    url: str
    what: str  # "an HTML page", "an empty body", "a body that is not JSON"

    def sentence(self, role: str) -> str:
        return f"The {role} {self.url} answered HTTP {self.status} with {self.what} instead of JSON; check the URL and any proxy in between."


def describe_body(response: httpx.Response) -> tuple[Any, NotJson | None]:
    """Parse a response body as JSON, or say in words what it was instead."""
    url = _plain_url(str(response.request.url)) if response.request else ""
    text = response.text
    if not text.strip():
        return None, NotJson(response.status_code, url, "an empty body")
    try:
        return json.loads(text), None
    except ValueError:
        ctype = response.headers.get("content-type", "")
        looks_html = "html" in ctype.lower() or text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
        return None, NotJson(response.status_code, url, "an HTML page" if looks_html else "a body that is not JSON")


async def post_token_request(
    client: httpx.AsyncClient, url: str, form: dict[str, str]
) -> TokenSet | OAuthErrorResponse | NotJson:
    """POST a form to a token endpoint; network errors propagate as httpx.TransportError for the caller to judge."""
    response = await client.post(url, data=form, headers={"Accept": "application/json"})
    data, problem = describe_body(response)
    if problem is not None:
        return problem
    if not isinstance(data, dict):
        return NotJson(response.status_code, _plain_url(url), "JSON that is not an object")
    if response.status_code == 200 and "access_token" in data:
        return TokenSet.from_json(data, _plain_url(url))
    if isinstance(data.get("error"), str):
        return OAuthErrorResponse(data["error"], str(data.get("error_description") or ""), response.status_code)
    if response.status_code == 200:
        return TokenSet.from_json(data, _plain_url(url))  # raises the "no access_token" sentence
    return OAuthErrorResponse("http_" + str(response.status_code), "", response.status_code)


def check_endpoint_url(url: str, what: str) -> str:
    """Allow https anywhere and plain http only on loopback (tests, local gateways), as RFC 8252 §8.3 does for redirects."""
    parts = urlsplit(url)
    if "@" in parts.netloc or sanitize_line(url) != url or " " in url:
        # A user-info part can disguise the host (https://login.example.com@evil.test/); controls are an injection.
        raise AuthError(f"The {what} {mask_url_userinfo(sanitize_line(_plain_url(url)))!r} is not a plain URL (it has a user name or control characters); check the provider's OAuth settings.")
    if parts.scheme == "https" and parts.netloc:
        return url
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost"):
        return url
    raise AuthError(f"The {what} {_plain_url(url)!r} is not an https:// URL; OAuth endpoints must use https (plain http only on 127.0.0.1).")


def id_token_identity(id_token: str | None) -> str:
    """The e-mail or preferred_username in an id_token, for display only.

    The token is decoded WITHOUT verifying its signature: the result labels the account on screen and is
    never used to decide anything.
    """
    if not id_token or id_token.count(".") != 2:
        return ""
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):
        return ""
    if not isinstance(claims, dict):
        return ""
    for key in ("email", "preferred_username", "upn"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return printable(value, 200)
    return ""


def credential_from_tokens(
    provider: "ProviderConfig",
    tokens: TokenSet,
    *,
    token_endpoint: str | None,
    obtained_by: str,
    now: datetime | None = None,
) -> StoredCredential:
    """The StoredCredential for an OAuth token set: expiry, refresh token, bound to the provider's base URL host."""
    from tui_agent.auth.store import bound_host  # the store owns the host-binding rule

    now = now or datetime.now(timezone.utc)
    expires_at = now + timedelta(seconds=tokens.expires_in) if tokens.expires_in else None
    return StoredCredential(
        kind="oauth",
        secret=tokens.access_token,
        host=bound_host(provider),
        refresh_token=tokens.refresh_token,
        expires_at=expires_at,
        obtained_by=obtained_by,
        identity=id_token_identity(tokens.id_token),
        token_endpoint=token_endpoint,
        scope=tokens.scope,
    )


def error_sentence(err: OAuthErrorResponse, where: str) -> str:
    """RFC 6749 §5.2 error text for a person; the description is the server's own words, clipped."""
    desc = f" ({_clip(err.description)})" if err.description else ""
    return f"{where} refused the request with {printable(err.error, 80)}{desc}"


def printable(text: object, limit: int = 300) -> str:
    """Server-supplied text made safe to print on one line (the terminal sanitiser; whitespace runs become one space), clipped."""
    cleaned = sanitize(" ".join(str(text).split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _clip(text: str, limit: int = 300) -> str:
    return printable(text, limit)


def _plain_url(url: str) -> str:
    """A URL without its query string, which may carry codes or secrets."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else url
