"""The one login subsystem: plan a login (or raise one located error), then drive it as a stream of typed steps.

Nothing here prints or draws: `tui-agent login` (tui_agent/terminal_login.py) and the TUI's login screens render the
steps, and AgentService.login stores what a driver obtained. Every provider-specific choice is made here or in
the catalog, never in a front-end. docs/architecture.md shows the data flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, AsyncIterator, Protocol
from urllib.parse import urlsplit

import httpx

from tui_agent.auth.oauth._common import credential_from_tokens, printable
from tui_agent.auth.oauth.device import Clock, PollTick, Sleep
from tui_agent.core.credentials import StoredCredential
from tui_agent.core.login import Failed, LoginPlan, LoginStep, Obtained, OpenUrl, Progress, ShowCode, Tick
from tui_agent.errors import AuthError, ConfigError, TuiAgentError, UsageError

if TYPE_CHECKING:
    from tui_agent.config.load import Config
    from tui_agent.config.schema import ProviderConfig

REDIRECT_TIMEOUT = 600.0  # seconds to wait for the browser before giving up

_AZURE_APP_HELP = (
    "register an app in the Microsoft Entra admin center (App registrations → New registration), "
    "set Authentication → Allow public client flows to Yes, give your account the Cognitive Services OpenAI User role "
    "on the resource, then set providers.{id}.oauth.tenant and providers.{id}.oauth.client_id in config.toml"
)


# --- the plan ----------------------------------------------------------------------------------------------------


def key_comes_from_browser(provider: "ProviderConfig") -> bool:
    """OpenRouter-style providers (catalog: an oauth.keys_endpoint and no client id): a browser flow yields an API key."""
    oauth = provider.oauth
    return bool(oauth and oauth.keys_endpoint and not oauth.client_id)


def plan_login(
    config: "Config", name: str, method: str | None = None, *, paste_key: bool = False, interactive: bool = True
) -> LoginPlan:
    """The login for provider `name` (an id or alias) and `method` (its default when None); raises one located error.

    `paste_key` asks for a pasted API key even where the default is a browser flow; `interactive` is False when
    nobody can use a browser (a key piped on stdin), so an api-key method always reads a key then.
    """
    provider = config.provider_named(name)
    return plan_for(provider, method, paste_key=paste_key, interactive=interactive, where=str(config.file))


def plan_for(
    provider: "ProviderConfig", method: str | None = None, *, paste_key: bool = False, interactive: bool = True, where: str = ""
) -> LoginPlan:
    """The plan for a provider already looked up: the method allowed, every setting it needs present."""
    from tui_agent.config.load import missing_settings

    chosen = "api-key" if paste_key else (method or provider.default_method)
    if chosen not in provider.auth:
        raise UsageError(f"provider `{provider.id}` does not allow auth method `{chosen}`; valid choices: {', '.join(provider.auth)}")
    missing = missing_settings(provider, chosen)
    if missing:
        keys = ", ".join(f"providers.{provider.id}.{key}" for key, _why in missing)
        azure = provider.id == "azure-openai" or bool(provider.oauth and provider.oauth.tenant)
        hint = provider.setup_hint or (_AZURE_APP_HELP.format(id=provider.id) if azure and chosen.startswith("oauth") else "set them in config.toml")
        label = provider.name or provider.id
        raise ConfigError(f"{label} cannot log in yet: {keys} missing{f' in {where}' if where else ''}; {hint}.")
    if chosen in ("none", "claude-cli"):
        return LoginPlan(provider, chosen, chosen)
    if chosen == "oauth-device":
        return LoginPlan(provider, chosen, "device")
    if chosen == "oauth-pkce":
        return LoginPlan(provider, chosen, "browser")
    browser = not paste_key and method is None and interactive and key_comes_from_browser(provider)
    return LoginPlan(provider, chosen, "browser" if browser else "api-key")


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


def web_address(url: str) -> str:
    """`url` when a browser may open it (http or https: never file:, javascript: or a handler), else ""."""
    return url if urlsplit(url).scheme in ("https", "http") else ""


# --- the drivers -------------------------------------------------------------------------------------------------


async def device_steps(
    plan: LoginPlan,
    client: httpx.AsyncClient,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    flow=None,
) -> AsyncIterator[LoginStep]:
    """RFC 8628: ShowCode, then a Tick before every poll, then Obtained (not yet stored) or Failed.

    `flow` is a prepared (flow, token_endpoint) pair, for tests that script the server's side.
    """
    from tui_agent.auth.oauth._common import LoginCancelled

    ticks: asyncio.Queue[PollTick] = asyncio.Queue()
    try:
        device, token_endpoint = flow if flow is not None else await _device_flow(plan, client, clock, sleep)
        auth = await device.start()
        # Everything shown comes from the server: only printable text leaves here.
        complete = printable(auth.verification_uri_complete, 2000) if auth.verification_uri_complete else ""
        yield ShowCode(
            url=printable(auth.verification_uri, 2000), code=printable(auth.user_code, 64), complete_url=complete,
            expires_in=auth.expires_in, openable=web_address(auth.verification_uri_complete or auth.verification_uri),
        )
        polling = asyncio.ensure_future(device.poll_until_done(ticks.put_nowait))
        try:
            while True:
                getter = asyncio.ensure_future(ticks.get())
                done, _ = await asyncio.wait({polling, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    tick = getter.result()
                    yield Tick(tick.seconds_left, tick.next_poll_in, tick.last)
                    continue
                getter.cancel()
                while not ticks.empty():
                    tick = ticks.get_nowait()
                    yield Tick(tick.seconds_left, tick.next_poll_in, tick.last)
                tokens = polling.result()
                break
        finally:
            if not polling.done():
                cancel = getattr(device, "cancel", None)
                if cancel is not None:
                    cancel()
                polling.cancel()
                try:
                    await polling
                except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the caller is already leaving
                    pass
        yield Progress("Signed in; saving the token…")
        credential = credential_from_tokens(plan.provider, tokens, token_endpoint=token_endpoint, obtained_by="device flow", now=_now())
    except LoginCancelled:
        return
    except (TuiAgentError, OSError) as exc:
        yield Failed(exc)
        return
    yield Obtained(credential)


async def browser_steps(
    plan: LoginPlan,
    client: httpx.AsyncClient,
    pasted: "asyncio.Queue[str]",
    *,
    redirect_timeout: float = REDIRECT_TIMEOUT,
    flow=None,
) -> AsyncIterator[LoginStep]:
    """Authorization code + PKCE (OpenRouter's key variant too): OpenUrl, then the browser's redirect or a pasted answer.

    Lines put on `pasted` are tried as the redirect address or the code; one that is not yields a Progress error
    and the driver keeps waiting. `flow` is a prepared (flow, token_endpoint) pair, for tests.
    """
    from tui_agent.auth.oauth.pkce_flow import KeyResult

    try:
        pkce, token_endpoint = flow if flow is not None else await _browser_flow(plan, client)
    except (TuiAgentError, OSError) as exc:
        yield Failed(exc)
        return
    redirect: asyncio.Future[str] | None = None
    try:
        try:
            url = await pkce.begin()
            yield OpenUrl(url)
            redirect = asyncio.ensure_future(pkce.wait_for_redirect(redirect_timeout))
            code = None
            while code is None:
                line = asyncio.ensure_future(pasted.get())
                done, _ = await asyncio.wait({redirect, line}, return_when=asyncio.FIRST_COMPLETED)
                if redirect in done:
                    line.cancel()
                    code = redirect.result()
                    break
                text = line.result()
                if not text.strip():
                    continue  # an empty line (or end of input): the browser is the only way left
                try:
                    code = pkce.accept_pasted(text)
                except AuthError as err:
                    yield Progress(f"{err} Try again, or wait for the browser.", error=True)
            yield Progress("Signed in; exchanging the code…")
            result = await pkce.exchange(code)
        finally:
            if redirect is not None and not redirect.done():
                redirect.cancel()
                try:
                    await redirect
                except (asyncio.CancelledError, Exception):  # noqa: BLE001 - already reporting the real outcome
                    pass
            await pkce.close()
        if isinstance(result, KeyResult):
            from tui_agent.auth.store import bound_host

            credential = StoredCredential(
                kind="api-key", secret=result.key, host=bound_host(plan.provider), obtained_by="PKCE", identity=result.user_id
            )
        else:
            credential = credential_from_tokens(plan.provider, result, token_endpoint=token_endpoint, obtained_by="PKCE", now=_now())
    except asyncio.TimeoutError:
        yield Failed(AuthError(f"The browser did not come back within {int(redirect_timeout // 60)} min; try again, or paste the address."))
        return
    except (TuiAgentError, OSError) as exc:
        yield Failed(exc)
        return
    yield Obtained(credential)


async def _device_flow(plan: LoginPlan, client: httpx.AsyncClient, clock: Clock, sleep: Sleep):
    from tui_agent.auth.oauth.device import DeviceFlow
    from tui_agent.auth.oauth.discovery import resolve_endpoints

    oauth = plan.provider.oauth
    assert oauth is not None and oauth.client_id, "plan_for checked the client id"
    endpoints = await resolve_endpoints(plan.provider, client)
    flow = DeviceFlow(
        client, endpoints, client_id=oauth.client_id, scopes=oauth.scopes, audience=oauth.audience,
        use_pkce=oauth.pkce, label=plan.label, clock=clock, sleep=sleep,
    )
    return flow, endpoints.token_endpoint


async def _browser_flow(plan: LoginPlan, client: httpx.AsyncClient):
    from tui_agent.auth.oauth.discovery import resolve_endpoints
    from tui_agent.auth.oauth.pkce_flow import PkceFlow

    oauth = plan.provider.oauth
    key_flow = key_comes_from_browser(plan.provider)
    endpoints = await resolve_endpoints(plan.provider, client)
    flow = PkceFlow(
        client, endpoints, client_id=None if key_flow or oauth is None else oauth.client_id,
        scopes=oauth.scopes if oauth else (), audience=oauth.audience if oauth else None, label=plan.label,
    )
    return flow, endpoints.token_endpoint


def _now() -> datetime:
    return datetime.now(timezone.utc)


class _Store(Protocol):
    """What run_login needs of a secret store (SecretStore, or a test's MemoryStore)."""

    async def put(self, provider_id: str, credential: StoredCredential) -> None: ...


async def run_login(
    plan: LoginPlan,
    client: httpx.AsyncClient,
    store: "_Store",
    *,
    pasted: "asyncio.Queue[str] | None" = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    redirect_timeout: float = REDIRECT_TIMEOUT,
    flow=None,
) -> AsyncIterator[LoginStep]:
    """Drive an OAuth plan and store what it obtains: the one place a login's credential is written."""
    if plan.flow == "device":
        steps = device_steps(plan, client, clock=clock, sleep=sleep, flow=flow)
    elif plan.flow == "browser":
        steps = browser_steps(plan, client, pasted if pasted is not None else asyncio.Queue(), redirect_timeout=redirect_timeout, flow=flow)
    else:
        raise AuthError(
            f"Login method {plan.method!r} of provider {plan.provider.id!r} is not an OAuth flow; "
            "use oauth-device or oauth-pkce (or enter an API key)."
        )
    async with contextlib.aclosing(steps) as events:
        async for step in events:
            if isinstance(step, Obtained):
                try:
                    await store.put(plan.provider.id, step.credential)
                except (TuiAgentError, OSError) as exc:
                    yield Failed(exc)
                    return
                where = getattr(store, "description", None)
                yield Obtained(step.credential, success_sentence(plan.label, step.credential, where))
                return
            yield step
