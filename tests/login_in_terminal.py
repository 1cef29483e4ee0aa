"""`login_in_terminal`: an OAuth login of a bare provider into any store, rendered as `tui-agent login` renders it.

The application reaches the same pieces through AgentService.plan_login/login; tests drive a provider and a store
of their own without a whole service.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Mapping, TextIO

import httpx

from tui_agent.auth.login import REDIRECT_TIMEOUT, _Store, key_comes_from_browser, plan_for, run_login
from tui_agent.auth.oauth.device import Clock, Sleep
from tui_agent.auth.oauth.pkce_flow import browser_available
from tui_agent.terminal_login import render_in_terminal
from tui_agent.core.credentials import StoredCredential
from tui_agent.config.schema import ProviderConfig
from tui_agent.core.login import LoginPlan


async def login_in_terminal(
    provider: ProviderConfig,
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
    """Log in to `provider` with an OAuth `method`, store the result and return it (raises the located error).

    OpenRouter-style providers run their browser flow for "oauth-pkce" and "api-key" alike. `env`, `open_url`,
    `clock` and `sleep` exist for tests.
    """
    plan = plan_for(provider, method)
    if plan.flow == "api-key" and key_comes_from_browser(provider):
        plan = LoginPlan(provider, method, "browser")  # this provider issues its API key through a browser flow
    pasted: asyncio.Queue[str] = asyncio.Queue()
    steps = run_login(plan, client, store, pasted=pasted, clock=clock, sleep=sleep, redirect_timeout=redirect_timeout)
    return await render_in_terminal(
        plan, steps, pasted, can_open=browser_available(no_browser, env), stderr=stderr, stdin=stdin, open_url=open_url
    )
