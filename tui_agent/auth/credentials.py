"""Credential look-up: turn a resolved provider + method into a CredentialStatus, and into a ready Credential.

Read-only here: logins live in their own modules. The order for api-key is fixed — the store, then the
provider's environment variable — and the winning source is recorded; nothing else is ever tried.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Mapping
from urllib.parse import urlsplit

from tui_agent.core.credentials import (
    NO_CREDENTIAL,
    REFUSED_AT_FIRST_USE,
    UNCHECKED,
    Credential,
    CredentialState,
    CredentialStatus,
    StoredCredential,
)
from tui_agent.config.load import missing_settings
from tui_agent.redact import mask

if TYPE_CHECKING:
    from tui_agent.auth.store import SecretStore
    from tui_agent.auth.tokens import TokenManager
    from tui_agent.config.schema import ProviderConfig

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 0.3  # local servers answer a TCP connect at once, or are not running


def now() -> datetime:
    return datetime.now(timezone.utc)


def env_key_name(provider: "ProviderConfig") -> str | None:
    """The environment variable that may hold this provider's API key."""
    return provider.api_key_env


def host_port(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "127.0.0.1", port


async def tcp_reachable(base_url: str, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether something accepts a TCP connection at the base URL's host and port.

    The connect runs in a thread with a socket timeout: a busy event loop (a long answer rendering) must not
    make a running server look stopped, as a timer on the loop would.
    """
    host, port = host_port(base_url)
    return await asyncio.to_thread(_connects, host, port, timeout)


def _connects(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


async def bound_to_provider(
    stored: StoredCredential, provider: "ProviderConfig", store: "SecretStore"
) -> tuple[StoredCredential, str]:
    """(the credential, why it must not be sent to the provider's base URL, "" when it may).

    A legacy entry (host only) whose host matches is bound to the base URL's full origin here, at its first
    use, and rewritten so; every later use compares origins.
    """
    from tui_agent.auth.store import binding_problem, upgraded_binding

    upgraded = upgraded_binding(stored, provider)
    if upgraded is not None:
        await store.put(provider.id, upgraded)
        log.info("credential for %s bound to %s (stored before origins were bound)", provider.id, upgraded.host)
        stored = upgraded
    return stored, binding_problem(stored, provider) or ""


async def api_key_source(
    provider: "ProviderConfig", store: "SecretStore", env: Mapping[str, str]
) -> tuple[str, str, StoredCredential | None, str]:
    """Find the API key: (secret, source, stored record or None, problem sentence). Secret is "" when none."""
    stored = await store.get(provider.id)
    if stored is not None and stored.kind == "api-key":
        stored, problem = await bound_to_provider(stored, provider, store)
        if problem:
            return "", store.backend, stored, problem
        return stored.secret, store.backend, stored, ""
    name = env_key_name(provider)
    if name and env.get(name):
        return env[name], f"env:{name}", None, ""
    return "", "none", None, ""


async def check_status(
    provider: "ProviderConfig",
    method: str,
    *,
    store: "SecretStore",
    env: Mapping[str, str] | None = None,
    probe: bool = True,
    tokens: "TokenManager | None" = None,
) -> CredentialStatus:
    """The credential state of `provider` used with `method`; `probe=False` skips network and subprocess checks.

    `tokens` is required for the OAuth methods: it knows whether a token is refreshing or its grant is gone.
    """
    env = os.environ if env is None else env
    base = CredentialStatus(provider=provider.id, auth_method=method, state=CredentialState.UNKNOWN, checked_at=now())
    missing = missing_settings(provider, method)
    if missing:
        keys = ", ".join(f"providers.{provider.id}.{key}" for key, _ in missing)
        hint = provider.setup_hint or f"set {keys} in config.toml"
        return base.with_(state=CredentialState.MISSING, detail=f"not configured: {keys} missing; {hint}")

    if method == "claude-cli":
        return await _claude_status(provider, base, env, probe)

    if method == "api-key":
        secret, source, stored, problem = await api_key_source(provider, store, env)
        if problem:
            return base.with_(state=CredentialState.ERROR, source=source, detail=problem)
        if not secret:
            name = env_key_name(provider)
            how = f"run `tui-agent login {provider.id}`" + (f" or set {name}" if name else "")
            return base.with_(state=CredentialState.MISSING, detail=f"no API key — {how}")
        if stored is not None and stored.obtained_by == UNCHECKED:
            # Saved on purpose without a check (login --no-check, "save anyway"): its first use decides.
            return base.with_(state=CredentialState.UNKNOWN, source=source, identity=mask(secret), detail=UNCHECKED)
        if stored is not None and stored.obtained_by == REFUSED_AT_FIRST_USE:
            return base.with_(
                state=CredentialState.ERROR, source=source, identity=mask(secret),
                detail=f"the key saved without a check was refused at its first use; run `tui-agent login {provider.id}` with a working key",
            )
        if stored is None:
            detail = f"from the environment ({env_key_name(provider)})"
        elif source == "file":
            why = "no system keyring" if "no system keyring" in store.description else "TUI_AGENT_KEYRING=file"
            detail = f"{stored.obtained_by}; stored in file — {why}"
        else:
            detail = f"{stored.obtained_by}; stored in the OS keyring"
        status = base.with_(state=CredentialState.READY, source=source, identity=mask(secret), detail=detail)
        return await _with_reachability(provider, status, probe)

    if method in ("oauth-device", "oauth-pkce"):
        assert tokens is not None, "OAuth status needs the token manager"
        stored = await store.get(provider.id)
        if stored is None:
            return base.with_(state=CredentialState.MISSING, detail=f"not logged in — run `tui-agent login {provider.id}`")
        stored, problem = await bound_to_provider(stored, provider, store)
        if problem:
            return base.with_(state=CredentialState.ERROR, source=store.backend, detail=problem)
        state, detail = tokens.state_of(provider.id, stored)
        identity = stored.identity or mask(stored.secret)
        return base.with_(
            state=state, source=store.backend, identity=identity, expires_at=stored.expires_at,
            detail=detail or f"obtained by {stored.obtained_by}",
        )

    # method "none"
    return await _with_reachability(provider, base.with_(state=CredentialState.READY, detail="no authentication needed"), probe)


async def _with_reachability(provider: "ProviderConfig", status: CredentialStatus, probe: bool) -> CredentialStatus:
    if not provider.local or not provider.base_url:
        return status
    host, port = host_port(provider.base_url)
    if not probe:
        return status.with_(state=CredentialState.UNKNOWN, detail=f"{provider.name} at {host}:{port} not probed (--no-probe)")
    if await tcp_reachable(provider.base_url):
        return status.with_(detail=f"{provider.name} running at {host}:{port}" + (f"; {status.detail}" if status.source != "none" else ""))
    return status.with_(
        state=CredentialState.UNREACHABLE,
        detail=f"{provider.name} not running at {host}:{port} — start it, or set providers.{provider.id}.base_url",
    )


async def _claude_status(provider: "ProviderConfig", base: CredentialStatus, env: Mapping[str, str], probe: bool) -> CredentialStatus:
    from tui_agent.auth import claude_cli

    location = claude_cli.find_claude_cli(provider, env)
    if location is None or not probe:
        return claude_cli.to_credential_status(provider.id, location, None).with_(checked_at=base.checked_at)
    status = await claude_cli.cli_status(location, env)
    return claude_cli.to_credential_status(provider.id, location, status).with_(checked_at=base.checked_at)


async def ready_credential(
    provider: "ProviderConfig", method: str, *, store: "SecretStore", env: Mapping[str, str] | None = None,
    tokens: "TokenManager | None" = None,
) -> tuple[Credential | None, str]:
    """The credential to send for one request, or (None, why not). Never substitutes another method."""
    env = os.environ if env is None else env
    if method in ("none", "claude-cli"):
        return NO_CREDENTIAL, ""
    if method == "api-key":
        secret, _source, _stored, problem = await api_key_source(provider, store, env)
        if problem:
            return None, problem
        if not secret:
            name = env_key_name(provider)
            return None, f"no API key for {provider.id} — run `tui-agent login {provider.id}`" + (f" or set {name}" if name else "")
        return Credential("api-key", secret), ""
    # OAuth: the token manager refreshes ahead of expiry
    if tokens is None:
        return None, f"{provider.id}: token handling is not available"
    stored = await tokens.fresh(provider)
    if stored is None:
        return None, f"not logged in to {provider.id} — run `tui-agent login {provider.id}`"
    stored, problem = await bound_to_provider(stored, provider, store)
    if problem:
        return None, problem
    state, detail = tokens.state_of(provider.id, stored)
    if state in (CredentialState.EXPIRED, CredentialState.ERROR):
        return None, detail or f"the login for {provider.id} cannot be used — run `tui-agent login {provider.id}`"
    return Credential("bearer", stored.secret), ""
