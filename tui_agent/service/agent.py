"""AgentService: the async facade the CLI and the TUI share.

It owns the loaded configuration, the resolver, the credential store, one shared httpx client and the
adapters, and it emits status changes to whoever subscribes. No Textual imports here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator, Callable, Mapping

from tui_agent.auth.resolve import Chain, Step, credential_step, resolve
from tui_agent.auth.state import STATE_SYMBOL, CredentialState, CredentialStatus
from tui_agent.config.load import Config, load_config
from tui_agent.config.paths import Paths
from tui_agent.errors import ProviderError, UsageError
from tui_agent.providers.base import ChatMessage, ChatRequest, ModelInfo
from tui_agent.providers.events import Done, Event, StreamError, TextDelta

if TYPE_CHECKING:
    import httpx

    from tui_agent.auth.store import SecretStore
    from tui_agent.auth.tokens import TokenManager
    from tui_agent.config.schema import ProviderConfig
    from tui_agent.providers.base import Adapter
    from tui_agent.service.conversation import ChatSession
    from tui_agent.service.history import AsyncHistory

log = logging.getLogger("tui_agent.service")

StatusListener = Callable[[CredentialStatus], None]


NO_TEXT = "(the model returned no text)"  # what `ask` and the chat say for an answer that ended with no text


@dataclass(frozen=True)
class ModelRow:
    """One row of `models`: a profile or a discovered model, and whether it can serve now."""

    provider: str
    model: str
    profile: str | None
    origin: str  # profile | discovered
    available: bool
    reason: str = ""
    loaded: bool | None = None

    def to_json(self) -> dict:
        return {
            "provider": self.provider, "model": self.model, "profile": self.profile, "origin": self.origin,
            "available": self.available, "reason": self.reason, "loaded": self.loaded,
        }


class AgentService:
    """The one object both front-ends talk to."""

    def __init__(
        self,
        config: Config,
        paths: Paths,
        *,
        env: Mapping[str, str] | None = None,
        store: "SecretStore | None" = None,
        client: "httpx.AsyncClient | None" = None,
    ) -> None:
        self._adapters: dict[str, "Adapter"] = {}
        self._models_cache: dict[str, list[ModelInfo]] = {}
        self._config = config
        self.paths = paths
        self.env = os.environ if env is None else env
        self._store = store
        self._client = client
        self._tokens: "TokenManager | None" = None
        self._history: "AsyncHistory | None" = None
        self._statuses: dict[str, CredentialStatus] = {}
        self._listeners: list[StatusListener] = []
        self._streaming: dict[str, int] = {}  # provider id -> streams running (never discover on a busy local server)

    @property
    def config(self) -> Config:
        return self._config

    @config.setter
    def config(self, config: Config) -> None:
        """Swap in a re-loaded configuration (after an edit); adapters of changed providers are rebuilt."""
        old, self._config = self._config, config
        for pid in list(self._adapters):
            if config.providers.get(pid) != old.providers.get(pid):
                adapter = self._adapters.pop(pid)
                self._models_cache.pop(pid, None)
                close = getattr(adapter, "aclose", None)
                if close is not None:
                    try:
                        asyncio.get_running_loop().create_task(close())
                    except RuntimeError:
                        pass

    def reload_config(self) -> Config:
        """Take config.toml as it is now (after an edit) as the configuration in force; raises ConfigError."""
        self.config = load_config(self._config.file, cache=self.paths.config_cache)
        return self._config

    @classmethod
    def load(cls, config_flag: str | None = None, env: Mapping[str, str] | None = None) -> "AgentService":
        """Resolve paths, load and validate the configuration (raises ConfigError) and build the service."""
        paths = Paths.resolve(config_flag, env)
        return cls(load_config(paths.config_file, cache=paths.config_cache), paths, env=env)

    # --- shared resources, created on first use (never before the TUI's first frame) -----------------------

    @property
    def store(self) -> "SecretStore":
        if self._store is None:
            from tui_agent.auth.store import open_store

            self._store = open_store(self.paths, self.env)
        return self._store

    @property
    def client(self) -> "httpx.AsyncClient":
        if self._client is None:
            import httpx

            # follow_redirects=False: a key must never follow a redirect to another host.
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=True, timeout=httpx.Timeout(30.0, connect=10.0))
        return self._client

    def proxies(self, provider_ids: list[str] | None = None) -> list[tuple[str, str, str]]:
        """(provider, base URL, proxy) for each provider whose requests go through a proxy (userinfo masked)."""
        from tui_agent.providers.proxy import proxy_for

        found = []
        for pid in provider_ids if provider_ids is not None else list(self.config.providers):
            base_url = self.config.providers[pid].base_url
            proxy = proxy_for(base_url) if base_url else None
            if proxy:
                found.append((pid, base_url, proxy))
        return found

    @property
    def history(self) -> "AsyncHistory":
        """The conversation store, opened lazily (never before the TUI's first frame)."""
        if self._history is None:
            from tui_agent.service.history import AsyncHistory, HistoryStore

            self._history = AsyncHistory(HistoryStore(self.paths.history_db))
        return self._history

    def chat_session(self, profile: str | None, *, persist: bool = True) -> "ChatSession":
        """A new chat session on `profile` (raises ResolutionError when it does not resolve)."""
        from tui_agent.service.conversation import ChatSession

        return ChatSession(self, self.history if persist else None, profile)

    @property
    def tokens(self) -> "TokenManager":
        if self._tokens is None:
            from tui_agent.auth.tokens import TokenManager

            self._tokens = TokenManager(self.store, self._refresh_token, lock_dir=self.paths.data_dir)
            self._tokens.subscribe(lambda provider_id: self._schedule_status(provider_id))
        return self._tokens

    async def _refresh_token(self, provider: "ProviderConfig", stored):
        from tui_agent.auth.oauth.discovery import resolve_endpoints
        from tui_agent.auth.tokens import refresh_token_grant

        # The token endpoint recorded at login avoids a discovery round-trip on every refresh.
        token_endpoint = stored.token_endpoint or (await resolve_endpoints(provider, self.client)).token_endpoint
        oauth = provider.oauth
        return await refresh_token_grant(
            self.client, token_endpoint, oauth.client_id if oauth else None, stored,
            scope=" ".join(oauth.scopes) if oauth and oauth.scopes else None,
        )

    def adapter(self, provider: "ProviderConfig") -> "Adapter":
        if provider.id not in self._adapters:
            from tui_agent.providers import make_adapter

            if provider.kind == "claude-cli":
                from tui_agent.providers.claude_cli import ClaudeCliAdapter

                self._adapters[provider.id] = ClaudeCliAdapter(provider, self.client, workdir=self.paths.claude_workdir)
            else:
                self._adapters[provider.id] = make_adapter(provider, self.client)
        return self._adapters[provider.id]

    async def aclose(self) -> None:
        for adapter in self._adapters.values():
            close = getattr(adapter, "aclose", None)  # the Claude CLI adapter keeps a process between turns
            if close is not None:
                try:
                    await close()
                except Exception:
                    log.exception("closing an adapter failed")
        if self._history is not None:
            await self._history.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- the chain ----------------------------------------------------------------------------------------

    def resolve(self, nickname: str) -> Chain:
        return resolve(self.config, nickname)

    def default_profile(self) -> str | None:
        return self.config.default_profile

    async def explain(self, nickname: str, *, probe: bool = True) -> tuple[list[Step], CredentialStatus]:
        """Every step of the chain, the credential's state included (raises ResolutionError on a broken link)."""
        chain = self.resolve(nickname)
        status = await self.credential_status(chain.provider.id, chain.method, probe=probe)
        steps = list(chain.steps)
        steps.append(credential_step(status))
        steps.append(Step("adapter", chain.adapter_kind, f"model {chain.profile.model}"))
        for step in steps:
            log.info("chain %s: %s %s (%s)", nickname, step.link, step.found, step.origin)
        return steps, status

    # --- credential state -------------------------------------------------------------------------------

    async def credential_status(self, provider_id: str, method: str | None = None, *, probe: bool = True) -> CredentialStatus:
        from tui_agent.auth.credentials import check_status

        provider = self.config.providers[provider_id]
        method = method or provider.default_method
        try:
            status = await check_status(
                provider, method, store=self.store, env=self.env, probe=probe,
                tokens=self.tokens if method.startswith("oauth") else None,
            )
        except Exception as exc:  # a state, not a crash: one broken provider must not hide the others
            log.exception("status check failed for %s", provider_id)
            status = CredentialStatus(provider=provider_id, auth_method=method, state=CredentialState.ERROR, detail=str(exc))
        used = getattr(self._adapters.get(provider_id), "last_api_key_source", None)
        if method == "claude-cli" and used:
            # What the CLI itself reported using for the last answer (its `init` line), beside what status says.
            status = status.with_(detail=f"{status.detail} · last answer's apiKeySource: {used}")
        if method == provider.default_method:
            self._publish(status)
        return status

    async def status_all(self, *, probe: bool = True) -> list[CredentialStatus]:
        """The state of every provider's default method, checked in parallel."""
        ids = list(self.config.providers)
        return list(await asyncio.gather(*(self.credential_status(pid, probe=probe) for pid in ids)))

    async def forget(self, provider_id: str) -> str:
        """Delete a provider's stored credential; one sentence on what happened (and on a key still in the env)."""
        provider = self.config.providers[provider_id]
        removed = await self.store.delete(provider_id)
        await self.credential_status(provider_id)
        sentence = f"Forgot the stored credential for {provider.name}." if removed else f"Nothing was stored for {provider.name}."
        name = provider.api_key_env
        if name and self.env.get(name):
            sentence += f" {name} is still set in the environment, so {provider.name} keeps using it."
        return sentence

    def last_status(self, provider_id: str) -> CredentialStatus | None:
        return self._statuses.get(provider_id)

    def subscribe(self, listener: StatusListener) -> Callable[[], None]:
        """Call `listener` with every new status; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _publish(self, status: CredentialStatus) -> None:
        self._statuses[status.provider] = status
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                log.exception("status listener failed")

    def _schedule_status(self, provider_id: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.create_task(self.credential_status(provider_id, probe=False))

    # --- chat ---------------------------------------------------------------------------------------------

    def build_request(self, chain: Chain, messages: list[ChatMessage], *, system: str | None = None, conversation_id: str | None = None) -> ChatRequest:
        profile = chain.profile
        return ChatRequest(
            model=profile.model, messages=list(messages), system=system if system is not None else profile.system,
            temperature=profile.temperature, top_p=profile.top_p, max_tokens=profile.max_tokens,
            conversation_id=conversation_id,
        )

    async def send(
        self,
        profile: str | Chain,
        messages: list[ChatMessage],
        *,
        system: str | None = None,
        conversation_id: str | None = None,
    ) -> AsyncIterator[Event]:
        """Stream one answer as events; always ends with one Done or StreamError. Never switches provider."""
        chain = self.resolve(profile) if isinstance(profile, str) else profile
        provider = chain.provider
        from tui_agent.auth.credentials import ready_credential

        credential, why = await ready_credential(
            provider, chain.method, store=self.store, env=self.env,
            tokens=self.tokens if chain.method.startswith("oauth") else None,
        )
        if credential is None:
            yield StreamError(message=why, kind="auth")
            return
        refresh = None
        if chain.method.startswith("oauth"):
            rejected = credential.secret

            async def refresh():
                from tui_agent.auth.state import Credential

                fresh = await self.tokens.after_unauthorized(provider, rejected)
                return Credential("bearer", fresh.secret) if fresh is not None else None

        request = self.build_request(chain, messages, system=system, conversation_id=conversation_id)
        adapter = self.adapter(provider)
        self._streaming[provider.id] = self._streaming.get(provider.id, 0) + 1
        log.info("send: profile=%s provider=%s method=%s model=%s", chain.profile.nickname, provider.id, chain.method, request.model)
        try:
            # aclosing: when our caller stops early (Escape), the adapter's connection closes now, not at GC.
            async with contextlib.aclosing(adapter.stream(request, credential, refresh)) as events:
                async for event in events:
                    yield event
                    if isinstance(event, StreamError) and event.kind == "auth":
                        self._schedule_status(provider.id)
        finally:
            self._streaming[provider.id] -= 1

    # --- models -------------------------------------------------------------------------------------------

    def cached_models(self, provider_id: str) -> list[ModelInfo]:
        """Models discovered earlier this session (never triggers discovery)."""
        return self._models_cache.get(provider_id, [])

    def is_streaming(self, provider_id: str) -> bool:
        return self._streaming.get(provider_id, 0) > 0

    async def discover(self, provider_id: str, *, refresh: bool = False) -> list[ModelInfo]:
        """Models a provider serves, cached for the session; raises ProviderError when it cannot say."""
        if not refresh and provider_id in self._models_cache:
            return self._models_cache[provider_id]
        provider = self.config.providers[provider_id]
        if provider.local and self.is_streaming(provider_id):
            # llama.cpp-style servers cut a running stream when asked for their models.
            raise ProviderError(f"{provider.name} is answering right now; its model list is fetched when it is done")
        from tui_agent.auth.credentials import ready_credential

        credential, why = await ready_credential(
            provider, provider.default_method, store=self.store, env=self.env,
            tokens=self.tokens if provider.default_method.startswith("oauth") else None,
        )
        if credential is None:
            raise ProviderError(why)
        models = await self.adapter(provider).list_models(credential)
        self._models_cache[provider_id] = models
        return models

    async def list_models(self, provider_id: str | None = None, *, probe: bool = True) -> list[ModelRow]:
        """Profiles plus discovered models, each with whether it can serve now and why not."""
        if provider_id is not None and self.config.canonical_provider_id(provider_id) is None:
            from tui_agent.config.problems import closest_first

            choices = closest_first(provider_id, self.config.provider_choices())
            raise UsageError(f"unknown provider `{provider_id}`; valid choices: {', '.join(choices[:8])}")
        wanted = [self.config.canonical_provider_id(provider_id)] if provider_id else list(self.config.providers)
        statuses = dict(zip(wanted, await asyncio.gather(*(self.credential_status(p, probe=probe) for p in wanted))))
        rows: list[ModelRow] = []
        for nick, profile in sorted(self.config.profiles.items()):
            pid = self.config.canonical_provider_id(profile.provider)
            if pid not in statuses:
                continue
            try:
                chain = self.resolve(nick)
                status = statuses[pid] if chain.method == self.config.providers[pid].default_method else await self.credential_status(pid, chain.method, probe=probe)
                ok, reason = usable(status)
            except Exception as exc:
                ok, reason = False, str(exc)
            rows.append(ModelRow(pid, profile.model, nick, "profile", ok, reason, None))
        if probe:
            discoverable = [p for p in wanted if usable(statuses[p])[0]]
            results = await asyncio.gather(*(self.discover(p) for p in discoverable), return_exceptions=True)
            for pid, result in zip(discoverable, results):
                if isinstance(result, BaseException):
                    log.info("discovery failed for %s: %s", pid, result)
                    continue
                for info in result:
                    named = [i for i, r in enumerate(rows) if r.origin == "profile" and r.provider == pid and same_model(r.model, info.id)]
                    for i in named:  # a profile already names it: one row, with what discovery knows
                        rows[i] = dataclasses.replace(rows[i], loaded=info.loaded)
                    if named:
                        continue
                    rows.append(ModelRow(pid, info.id, None, "discovered", True, "", info.loaded))
        return rows


def same_model(named: str, listed: str) -> bool:
    """Whether a model id in a profile and one a server lists are the same model (Ollama's `:latest` is implied)."""
    return named == listed or named.removesuffix(":latest") == listed.removesuffix(":latest")


def usable(status: CredentialStatus) -> tuple[bool, str]:
    """Whether a provider in this state can serve a request now, and if not, why (one sentence)."""
    if status.state in (CredentialState.READY, CredentialState.EXPIRING, CredentialState.REFRESHING, CredentialState.UNKNOWN):
        return True, ""
    return False, status.detail or f"{status.provider}: {status.state.value}"


def describe(status: CredentialStatus) -> str:
    """A short human line for a status: symbol, state and detail."""
    return f"{STATE_SYMBOL[status.state]} {status.state.value}" + (f" — {status.detail}" if status.detail else "")


async def collect_text(events: AsyncIterator[Event]) -> tuple[str, Event | None]:
    """Drain a stream into its text and its terminal event (for tests and simple callers)."""
    parts: list[str] = []
    last: Event | None = None
    async for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, (Done, StreamError)):
            last = event
    return "".join(parts), last
