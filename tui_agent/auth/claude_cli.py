"""The Claude Code CLI as an auth method: where it is, what `claude auth status` says, and its own login/logout.

tui-agent never obtains, stores or sends a Claude subscription token (docs/auth.md §A.3): it asks the CLI, and lets the
CLI log in and out on the real terminal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from tui_agent.core.credentials import CredentialState, CredentialStatus
from tui_agent.errors import ProviderError
from tui_agent.providers.claude_cli import (  # re-exported: finding the CLI is shared with the chat adapter
    INSTALL_HINT,
    LOGIN_HINT,
    CliLocation,
    claude_child_env,
    find_claude_cli,
    note_login_changed,
    prepare_workdir,
    scrub,
)

__all__ = [
    "CliLocation", "ClaudeAuthStatus", "find_claude_cli", "claude_child_env", "cli_version", "cli_status",
    "invalidate", "to_credential_status", "run_login", "run_logout",
]

log = logging.getLogger(__name__)

STATUS_TIMEOUT = 10.0
CACHE_SECONDS = 5.0
_clock = time.monotonic  # replaced in tests
_cache: dict[tuple[str, int], tuple[float, "ClaudeAuthStatus"]] = {}

_PROVIDERS = {
    "bedrock": "Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK)",
    "vertex": "Google Vertex AI (CLAUDE_CODE_USE_VERTEX)",
    "foundry": "Microsoft Foundry (CLAUDE_CODE_USE_FOUNDRY)",
    "anthropicAws": "Anthropic on AWS (CLAUDE_CODE_USE_ANTHROPIC_AWS)",
    "mantle": "Bedrock Mantle (CLAUDE_CODE_USE_MANTLE)",
    "gateway": "an LLM gateway configured in Claude Code",
}


@dataclass(frozen=True)
class ClaudeAuthStatus:
    """What `claude auth status` reported; `usable` is False when the CLI could not answer (see `error`)."""

    usable: bool
    logged_in: bool = False
    auth_method: str = "none"  # none | claude.ai | oauth_token | api_key_helper | api_key | third_party | …
    api_provider: str = "firstParty"  # firstParty | bedrock | vertex | foundry | …
    api_key_source: str | None = None
    login_expires_at: datetime | None = None
    email: str | None = None
    org_name: str | None = None
    subscription_type: str | None = None
    version: str | None = None
    error: str = ""


def invalidate() -> None:
    """Forget cached statuses: call after login, logout, or anything else that changes the CLI's login."""
    _cache.clear()


async def cli_version(path: Path | str, env: Mapping[str, str] | None = None) -> str | None:
    """The CLI's version (`claude --version`), e.g. "2.1.197", or None when it does not answer."""
    result = await _run(Path(path), ["--version"], env, timeout=STATUS_TIMEOUT)
    if result is None or result[0] != 0:
        return None
    first = result[1].strip().splitlines()[0] if result[1].strip() else ""
    match = re.search(r"\d+\.\d+\.\d+[\w.\-+]*", first)
    return match.group(0) if match else (first or None)


async def cli_status(
    location: CliLocation, env: Mapping[str, str] | None = None, *, workdir: Path | None = None
) -> ClaudeAuthStatus:
    """Ask `claude auth status` (10 s timeout), cached for a few seconds per binary and environment."""
    if location.problem:
        return ClaudeAuthStatus(usable=False, error=location.problem)
    child_env = claude_child_env(env)
    # hash() of the environment stays in memory; it only tells two environments apart (a token set or not).
    key = (str(location.path), hash(tuple(sorted(child_env.items()))))
    cached = _cache.get(key)
    if cached is not None and _clock() - cached[0] < CACHE_SECONDS:
        return cached[1]
    status_task = _run(location.path, ["auth", "status"], env, timeout=STATUS_TIMEOUT, workdir=workdir)
    version, result = await asyncio.gather(cli_version(location.path, env), status_task)
    status = replace(_parse_status(result), version=version)
    _cache[key] = (_clock(), status)
    return status


def to_credential_status(
    provider_id: str, location: CliLocation | None, status: ClaudeAuthStatus | None
) -> CredentialStatus:
    """The credential state the CLI, side panel and JSON show for the `claude-code` provider."""
    base = CredentialStatus(
        provider=provider_id, auth_method="claude-cli", state=CredentialState.MISSING, source="claude-cli",
        checked_at=datetime.now(timezone.utc),
    )
    if location is None:
        return base.with_(source="none", detail=f"Claude Code CLI not found: {INSTALL_HINT}")
    if location.problem:
        return base.with_(state=CredentialState.ERROR, detail=location.problem)
    if status is None:
        return base.with_(state=CredentialState.UNKNOWN, detail=f"Claude Code CLI at {location.path} (not checked)")
    cli = f"Claude Code {status.version}" if status.version else "Claude Code"
    where = f"{cli} at {location.path} ({_found(location)})"
    if not status.usable:
        return base.with_(state=CredentialState.ERROR, detail=f"{where} could not report its login: {status.error}")
    if not status.logged_in:
        return base.with_(detail=f"{cli} is not logged in: {LOGIN_HINT}")
    return base.with_(
        state=CredentialState.READY,
        identity=status.email or "",
        expires_at=status.login_expires_at,
        detail=f"{_uses(status)} · {cli} ({_found(location)})",
    )


async def run_login(location: CliLocation, env: Mapping[str, str] | None = None, *, workdir: Path | None = None) -> int:
    """Run `claude auth login --claudeai` on the real terminal (call inside App.suspend()); returns its exit status."""
    return await _interactive(location, ["auth", "login", "--claudeai"], env, workdir)


async def run_logout(location: CliLocation, env: Mapping[str, str] | None = None, *, workdir: Path | None = None) -> int:
    """Run `claude auth logout` on the real terminal; returns its exit status."""
    return await _interactive(location, ["auth", "logout"], env, workdir)


# --- private helpers ---------------------------------------------------------------------------------------


async def _interactive(location: CliLocation, args: list[str], env: Mapping[str, str] | None, workdir: Path | None) -> int:
    if location.problem:
        raise ProviderError(f"The Claude Code CLI cannot be used: {location.problem}.")
    try:
        cwd = prepare_workdir(workdir)
        # stdin/stdout/stderr inherited: the CLI talks to the person directly (browser link, pasted code).
        proc = await asyncio.create_subprocess_exec(str(location.path), *args, cwd=str(cwd), env=claude_child_env(env))
    except OSError as exc:
        raise ProviderError(f"Could not start the Claude Code CLI at {location.path} ({exc.strerror or exc}); {INSTALL_HINT}.") from None
    try:
        return await proc.wait()
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
        raise
    finally:
        invalidate()
        note_login_changed()


async def _run(
    path: Path, args: list[str], env: Mapping[str, str] | None, *, timeout: float, workdir: Path | None = None
) -> tuple[int, str, str] | str | None:
    """Run the CLI with captured output: (status, stdout, stderr), or a sentence when it could not run at all."""
    try:
        # `auth …` runs where the chat runs, so no project's settings (an apiKeyHelper, say) colour the answer.
        cwd = str(prepare_workdir(workdir)) if args[0] == "auth" else None
        proc = await asyncio.create_subprocess_exec(
            str(path), *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=cwd, env=claude_child_env(env),
        )
    except OSError as exc:
        return f"it could not be started ({exc.strerror or exc})"
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return f"`claude {' '.join(args)}` did not answer within {timeout:g} s"
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _parse_status(result: tuple[int, str, str] | str | None) -> ClaudeAuthStatus:
    if result is None or isinstance(result, str):
        return ClaudeAuthStatus(usable=False, error=result or "it did not answer")
    returncode, out, err = result
    data = _json_object(out)
    if data is None:
        # `auth status` exits 1 when logged out, so the status code alone says nothing; the JSON does.
        said = err.strip() or out.strip()
        detail = scrub(said.splitlines()[-1]) if said else f"it exited with status {returncode} and printed nothing"
        return ClaudeAuthStatus(usable=False, error=f"`claude auth status` gave no JSON: {detail}")
    return ClaudeAuthStatus(
        usable=True,
        logged_in=bool(data.get("loggedIn")),
        auth_method=str(data.get("authMethod") or "none"),
        api_provider=str(data.get("apiProvider") or "firstParty"),
        api_key_source=_str(data.get("apiKeySource")),
        login_expires_at=_when(data.get("loginExpiresAt")),
        email=_str(data.get("email")),
        org_name=_str(data.get("orgName")),
        subscription_type=_str(data.get("subscriptionType")),
    )


def _json_object(text: str) -> dict[str, Any] | None:
    text = text.strip()
    for candidate in (text, text[text.find("{"): text.rfind("}") + 1] if "{" in text else ""):
        if not candidate:
            continue
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return None


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _when(value: Any) -> datetime | None:
    """loginExpiresAt as ISO 8601 or epoch seconds/milliseconds; anything else is ignored."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, timezone.utc)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _found(location: CliLocation) -> str:
    return {"PATH": "on PATH", "cli_path": "cli_path", "claude-agent-sdk": "bundled with claude-agent-sdk"}.get(
        location.found_by, location.found_by
    )


def _uses(status: ClaudeAuthStatus) -> str:
    """What the CLI will use for requests, in words (docs/auth.md §B.3 precedence)."""
    if status.api_provider in _PROVIDERS:
        return f"uses {_PROVIDERS[status.api_provider]}"
    method = status.auth_method
    if method == "claude.ai":
        plan = f" ({status.subscription_type})" if status.subscription_type else ""
        return f"claude.ai login{plan}"
    if method == "oauth_token":
        return "CLAUDE_CODE_OAUTH_TOKEN (a `claude setup-token` token)"
    if method == "api_key_helper":
        return "apiKeyHelper from Claude Code's settings (billed to that key, not the subscription)"
    if method == "api_key":
        source = status.api_key_source or "an API key"
        return f"an API key from {source} (billed per token, not the subscription)"
    if method == "third_party":
        return "a third-party provider configured in Claude Code"
    return "logged in" if method == "none" else f"logged in (authMethod {method})"
