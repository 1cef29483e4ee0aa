"""`tui-agent login` for OAuth providers: drives the device and PKCE flows with prompts on stderr, then stores the result."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, TextIO
from urllib.parse import urlsplit

import httpx

from tui_agent.auth.oauth._common import credential_from_tokens, printable
from tui_agent.auth.oauth.device import Clock, DeviceFlow, PollTick, Sleep
from tui_agent.auth.oauth.discovery import resolve_endpoints
from tui_agent.auth.oauth.pkce_flow import KeyResult, PkceFlow, browser_available
from tui_agent.auth.state import StoredCredential
from tui_agent.errors import AuthError

if TYPE_CHECKING:
    from tui_agent.config.schema import ProviderConfig

REDIRECT_TIMEOUT = 600.0  # seconds to wait for the browser before giving up

_AZURE_APP_HELP = (
    "register an app in the Microsoft Entra admin center (App registrations → New registration), "
    "set Authentication → Allow public client flows to Yes, give your account the Cognitive Services OpenAI User role "
    "on the resource, then set providers.{id}.oauth.tenant and providers.{id}.oauth.client_id in config.toml"
)


class _Store(Protocol):
    async def put(self, provider_id: str, credential: StoredCredential) -> None: ...


async def login_in_terminal(
    provider: "ProviderConfig",
    method: str,
    client: httpx.AsyncClient,
    store: _Store,
    *,
    no_browser: bool,
    stderr: TextIO,
    stdin: TextIO,
    env: Mapping[str, str] | None = None,
    open_url: Callable[[str], Any] | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    redirect_timeout: float = REDIRECT_TIMEOUT,
) -> StoredCredential:
    """Log in to `provider` with an OAuth `method` ("oauth-device" or "oauth-pkce"), store the result and return it.

    OpenRouter-style providers (an oauth.keys_endpoint and no client id) run their PKCE flow for
    "oauth-pkce" and for "api-key" alike, and store the API key it yields. `env`, `open_url`, `clock` and
    `sleep` exist for tests.
    """
    label = provider.name or provider.id
    if not provider.base_url:
        # A token is bound to the host it is for; without a base URL there is nothing to bind it to.
        raise AuthError(
            f"Provider {provider.id!r} has no base_url, so a token could not be bound to its host; "
            f"set providers.{provider.id}.base_url in config.toml first"
            + (f" ({provider.setup_hint})." if provider.setup_hint else ".")
        )
    oauth = provider.oauth
    key_flow = bool(oauth and oauth.keys_endpoint and not oauth.client_id)
    opener = open_url or _open_in_background
    can_open = browser_available(no_browser, env)
    try:
        if method == "oauth-device":
            credential = await _device_login(provider, label, client, stderr, can_open, opener, clock, sleep)
        elif method == "oauth-pkce" or (method == "api-key" and key_flow):
            credential = await _pkce_login(provider, label, client, stderr, stdin, can_open, opener, redirect_timeout)
        else:
            raise AuthError(
                f"Login method {method!r} of provider {provider.id!r} is not an OAuth flow; "
                "use oauth-device or oauth-pkce (or enter an API key)."
            )
    except asyncio.CancelledError:
        _say(stderr, f"Login to {label} cancelled; nothing was stored.")
        raise
    await store.put(provider.id, credential)
    _say(stderr, success_sentence(label, credential))
    return credential


# --- the two flows -----------------------------------------------------------------------------------------------


async def _device_login(provider, label, client, stderr, can_open, opener, clock, sleep) -> StoredCredential:
    oauth = _require_oauth_settings(provider, "oauth-device")
    endpoints = await resolve_endpoints(provider, client)
    flow = DeviceFlow(
        client,
        endpoints,
        client_id=oauth.client_id or "",
        scopes=oauth.scopes,
        audience=oauth.audience,
        use_pkce=oauth.pkce,
        label=label,
        clock=clock,
        sleep=sleep,
    )
    auth = await flow.start()
    # Everything shown comes from the server: printed only after control characters are removed.
    _say(stderr, f"To log in to {label}, open {printable(auth.verification_uri, 2000)} in a browser and enter the code:")
    _say(stderr, f"\n    {printable(auth.user_code, 64)}\n")
    if auth.verification_uri_complete:
        _say(stderr, f"(Or open {printable(auth.verification_uri_complete, 2000)}, which fills the code in for you.)")
    page = auth.verification_uri_complete or auth.verification_uri
    # The server chose this URL: only a web address goes to the browser, never file:, javascript: or a handler.
    if can_open and urlsplit(page).scheme in ("https", "http"):
        opener(page)
        _say(stderr, "A browser window was opened for you.")
    _say(stderr, f"Waiting for you to finish there; the code is valid for {_minutes(auth.expires_in)}. Press Ctrl-C to cancel.")

    noted: set[str] = set()

    def on_tick(tick: PollTick) -> None:
        if tick.last in ("network error", "server error") and tick.last not in noted:
            noted.add(tick.last)
            _say(stderr, f"({tick.last} while checking with {label}; retrying in {int(tick.next_poll_in)} s)")

    tokens = await flow.poll_until_done(on_tick)
    return credential_from_tokens(provider, tokens, token_endpoint=endpoints.token_endpoint, obtained_by="device flow", now=_now())


async def _pkce_login(provider, label, client, stderr, stdin, can_open, opener, redirect_timeout) -> StoredCredential:
    oauth = provider.oauth
    key_flow = bool(oauth and oauth.keys_endpoint and not oauth.client_id)
    if not key_flow:
        oauth = _require_oauth_settings(provider, "oauth-pkce")
    endpoints = await resolve_endpoints(provider, client)
    flow = PkceFlow(
        client,
        endpoints,
        client_id=None if key_flow else oauth.client_id,
        scopes=oauth.scopes if oauth else (),
        audience=oauth.audience if oauth else None,
        label=label,
    )
    try:
        url = await flow.begin()
        _say(stderr, f"To log in to {label}, open this address in a browser:\n\n    {url}\n")
        if can_open:
            opener(url)
            _say(stderr, "A browser window was opened for you.")
        _say(
            stderr,
            "Waiting for the browser to come back. If it cannot reach this machine (SSH, a container), "
            "paste the address it ended on (or the code it shows) here and press Enter. Ctrl-C cancels.",
        )
        code = await _code_from_browser_or_paste(flow, stdin, stderr, redirect_timeout)
        result = await flow.exchange(code)
    finally:
        await flow.close()
    if isinstance(result, KeyResult):
        from tui_agent.auth.store import bound_host

        return StoredCredential(kind="api-key", secret=result.key, host=bound_host(provider), obtained_by="PKCE", identity=result.user_id)
    return credential_from_tokens(provider, result, token_endpoint=endpoints.token_endpoint, obtained_by="PKCE", now=_now())


async def _code_from_browser_or_paste(flow: PkceFlow, stdin: TextIO, stderr: TextIO, timeout: float) -> str:
    """Whichever comes first: the browser's redirect to the listener, or a pasted redirect address or code."""
    lines: asyncio.Queue[str] = asyncio.Queue()
    _start_line_reader(stdin, asyncio.get_running_loop(), lines)
    redirect = asyncio.ensure_future(flow.wait_for_redirect(timeout))
    pasted: asyncio.Future[str] | None = None
    try:
        while True:
            pasted = asyncio.ensure_future(lines.get())
            done, _ = await asyncio.wait({redirect, pasted}, return_when=asyncio.FIRST_COMPLETED)
            if redirect in done:
                return redirect.result()
            line = pasted.result()
            if line == "":
                continue  # end of input (not a terminal, or closed): the browser is the only way left
            if not line.strip():
                continue
            try:
                return flow.accept_pasted(line)
            except AuthError as err:
                _say(stderr, f"{err} Try again, or wait for the browser.")
    finally:
        if pasted is not None and not pasted.done():
            pasted.cancel()
        if not redirect.done():
            redirect.cancel()
            try:
                await redirect
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - already reporting the real outcome
                pass


def _start_line_reader(stdin: TextIO, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str]) -> None:
    # A daemon thread, because a blocked readline() cannot be cancelled and must not keep the process alive.
    def run() -> None:
        while True:
            try:
                line = stdin.readline()
            except (OSError, ValueError):
                line = ""
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            except RuntimeError:  # the loop is gone: the login is over
                return
            if line == "":
                return

    threading.Thread(target=run, name="tui-agent-paste", daemon=True).start()


# --- helpers -----------------------------------------------------------------------------------------------------


def _require_oauth_settings(provider: "ProviderConfig", method: str):
    oauth = provider.oauth
    azure = provider.id == "azure-openai" or bool(oauth and oauth.tenant)
    if azure and method == "oauth-device" and not (oauth and oauth.tenant) and not (oauth and (oauth.issuer or oauth.device_endpoint)):
        raise AuthError(
            f"Provider {provider.id!r} needs providers.{provider.id}.oauth.tenant for Entra ID login; "
            + _AZURE_APP_HELP.format(id=provider.id) + "."
        )
    if oauth is None or not oauth.client_id:
        if azure:
            raise AuthError(
                f"Provider {provider.id!r} needs providers.{provider.id}.oauth.client_id (tui-agent ships no client id of its own); "
                + _AZURE_APP_HELP.format(id=provider.id) + "."
            )
        raise AuthError(
            f"Provider {provider.id!r} needs providers.{provider.id}.oauth.client_id for {method} login; "
            "use the client id your identity provider issued for this app (a public client)."
        )
    return oauth


def _open_in_background(url: str) -> None:
    # webbrowser.open can block (a text browser, a slow launcher); the login must keep waiting regardless.
    import webbrowser

    threading.Thread(target=webbrowser.open, args=(url,), name="tui-agent-browser", daemon=True).start()


def success_sentence(label: str, credential: StoredCredential, where: str | None = None) -> str:
    """The one sentence that reports a finished login, in the terminal and on the TUI's login screens alike."""
    who = f" as {credential.identity}" if credential.identity else ""
    stored = f"stored in {where}" if where else "stored"
    if credential.kind == "api-key":
        return f"Logged in to {label}{who}: the API key it issued is {stored}."
    until = ""
    if credential.expires_at:
        until = f", valid until {credential.expires_at.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}"
        until += " and renewed automatically" if credential.refresh_token else "; log in again after that"
    return f"Logged in to {label}{who}: the token is {stored}{until}."


def _minutes(seconds: int) -> str:
    return f"{max(1, round(seconds / 60))} min"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _say(stderr: TextIO, text: str) -> None:
    print(text, file=stderr, flush=True)
