"""Authorization code + PKCE with a loopback redirect (RFC 7636, RFC 8252), and OpenRouter's code-for-key variant."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlencode, urlsplit

import httpx

from tui_agent.auth.oauth._common import (
    NotJson,
    printable,
    TokenSet,
    describe_body,
    error_sentence,
    post_token_request,
)
from tui_agent.auth.oauth.discovery import OAuthEndpoints
from tui_agent.auth.oauth.loopback import LoopbackListener, RedirectResult, redirect_result, state_matches, state_mismatch_error
from tui_agent.auth.oauth.pkce import PkcePair, make_state
from tui_agent.errors import AuthError
from tui_agent.redact import register_secret


@dataclass(frozen=True)
class KeyResult:
    """OpenRouter's answer to the code exchange: a normal API key (and its account id, when given)."""

    key: str = field(repr=False)
    user_id: str = ""


class PkceFlow:
    """One authorization-code login: begin() gives the URL, then wait_for_redirect() or accept_pasted(), then exchange().

    With `keys_endpoint` set and no client id this is OpenRouter's flow: `callback_url` instead of
    client_id/redirect_uri/state, and the code is exchanged for an API key (JSON body) instead of tokens.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        endpoints: OAuthEndpoints,
        *,
        client_id: str | None,
        scopes: list[str] | tuple[str, ...] = (),
        audience: str | None = None,
        label: str = "the identity provider",
    ) -> None:
        if not endpoints.authorization_endpoint:
            raise AuthError(f"{label} has no authorization endpoint; set oauth.authorization_endpoint or oauth.issuer.")
        self.key_exchange = bool(endpoints.keys_endpoint) and not client_id
        if not self.key_exchange:
            if not client_id:
                raise AuthError(f"{label} needs an OAuth client id for browser login; set oauth.client_id to your app registration's id.")
            if not endpoints.token_endpoint:
                raise AuthError(f"{label} has no token endpoint; set oauth.token_endpoint or oauth.issuer.")
        if endpoints.code_challenge_methods and not endpoints.advertises_s256:
            raise AuthError(
                f"{label} advertises PKCE methods {', '.join(endpoints.code_challenge_methods)} but not S256; "
                "tui-agent only uses S256, so log in another way."
            )
        self._client = client
        self._endpoints = endpoints
        self._client_id = client_id
        self._scopes = list(scopes)
        self._audience = audience
        self._label = label
        self._pkce = PkcePair.new()
        # OpenRouter echoes no state: the fresh port and unguessable path stand in for it there.
        self.state: str | None = None if self.key_exchange else make_state()
        self.listener: LoopbackListener | None = None
        self.authorize_url = ""

    async def begin(self) -> str:
        """Open the loopback listener and return the URL the person must visit."""
        self.listener = await LoopbackListener(expected_state=self.state).start()
        redirect = self.listener.redirect_uri
        params: dict[str, str]
        if self.key_exchange:
            params = {"callback_url": redirect}
        else:
            params = {"response_type": "code", "client_id": self._client_id or "", "redirect_uri": redirect}
            if self._scopes:
                params["scope"] = " ".join(self._scopes)
            if self._audience:
                params["audience"] = self._audience
            assert self.state is not None
            params["state"] = self.state
        params["code_challenge"] = self._pkce.challenge
        params["code_challenge_method"] = self._pkce.method
        base = self._endpoints.authorization_endpoint or ""
        self.authorize_url = base + ("&" if "?" in base else "?") + urlencode(params)
        return self.authorize_url

    async def wait_for_redirect(self, timeout: float | None = 600) -> str:
        """The code from the browser's redirect to the listener."""
        assert self.listener is not None, "begin() first"
        return self._code_from(await self.listener.wait(timeout))

    def accept_pasted(self, text: str) -> str:
        """The code from what the person pasted: the whole redirect URL (state checked) or just the code."""
        text = text.strip()
        if not text:
            raise AuthError("Nothing was pasted; paste the address the browser was sent to after signing in, or the code it shows.")
        if "://" in text or text.startswith(("?", "/")) or "code=" in text:
            query = urlsplit(text).query if "://" in text or text.startswith("/") else text.lstrip("?")
            result = redirect_result(query)
            if result.code is None and result.error is None:
                raise AuthError("The pasted address has no `code` in it; paste the full address the browser ended on after signing in.")
            if not state_matches(self.state, result.state):
                raise state_mismatch_error()
            return self._code_from(result)
        if any(c.isspace() for c in text) or len(text) > 2048:
            raise AuthError("The pasted text is neither a redirect address nor a code; paste the address the browser ended on.")
        return text  # a bare code: the state cannot be checked, but the PKCE verifier still binds it to us

    async def exchange(self, code: str) -> TokenSet | KeyResult:
        """Trade the code (with our verifier) for tokens, or for an API key on OpenRouter."""
        if self.listener is not None:
            await self.listener.close()
        if self.key_exchange:
            return await self._exchange_for_key(code)
        assert self.listener is not None
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.listener.redirect_uri,
            "client_id": self._client_id or "",
            "code_verifier": self._pkce.verifier,
        }
        url = self._endpoints.token_endpoint or ""
        try:
            result = await post_token_request(self._client, url, form)
        except httpx.TransportError as exc:
            raise AuthError(f"Could not reach the token endpoint {url} ({type(exc).__name__}); check the network and run login again.") from None
        if isinstance(result, TokenSet):
            return result
        if isinstance(result, NotJson):
            raise AuthError(result.sentence("token endpoint"))
        raise AuthError(error_sentence(result, f"The token endpoint {url}") + "; run login again.")

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()

    async def _exchange_for_key(self, code: str) -> KeyResult:
        url = self._endpoints.keys_endpoint or ""
        body = {"code": code, "code_verifier": self._pkce.verifier, "code_challenge_method": self._pkce.method}
        try:
            response = await self._client.post(url, json=body, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise AuthError(f"Could not reach {url} ({type(exc).__name__}); check the network and run login again.") from None
        data, problem = describe_body(response)
        if 400 <= response.status_code < 500:
            # Documented 400/403 and seen-in-the-wild variants all mean the same thing: this code is spent.
            said = ""
            if isinstance(data, dict):
                said = str(data.get("error", {}).get("message", "") if isinstance(data.get("error"), dict) else data.get("error") or data.get("message") or "")
            said = f" ({printable(said, 200)})" if said.strip() else ""
            raise AuthError(f"{self._label} rejected the sign-in code at {url} with HTTP {response.status_code}{said}; run login again.")
        if problem is not None:
            raise AuthError(problem.sentence("key exchange endpoint"))
        key = data.get("key") if isinstance(data, dict) else None
        if response.status_code != 200 or not isinstance(key, str) or not key:
            raise AuthError(f"{url} answered HTTP {response.status_code} without a key; run login again.")
        register_secret(key)
        user = data.get("user_id")
        return KeyResult(key=key, user_id=printable(user, 200) if user not in (None, "") else "")  # shown as the identity

    def _code_from(self, result: RedirectResult) -> str:
        if result.error:
            desc = f" ({printable(result.error_description, 200)})" if result.error_description.strip() else ""
            if result.error == "access_denied":
                raise AuthError(f"The sign-in to {self._label} was declined in the browser{desc}; run login again to retry.")
            raise AuthError(f"{self._label} reported {printable(result.error, 80)} on the sign-in redirect{desc}; run login again.")
        assert result.code is not None
        return result.code


def browser_available(no_browser: bool = False, env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether opening a browser makes sense: never over SSH, and on Linux only with a display or $BROWSER.

    Without a display Python's webbrowser falls back to a text browser that would take over the terminal.
    """
    if no_browser:
        return False
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if any(env.get(name) for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")):
        return False
    if platform.startswith(("darwin", "win")):
        return True
    return any(env.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"))
