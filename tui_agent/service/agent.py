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
from tui_agent.core.credentials import UNCHECKED, CredentialState, CredentialStatus
from tui_agent.config.load import Config, load_config
from tui_agent.config.paths import Paths
from tui_agent.errors import AuthError, ProviderError, UsageError
from tui_agent.core.chat import ChatMessage, ChatRequest, ModelInfo
from tui_agent.core.events import Done, Event, StreamFailed, TextDelta

if TYPE_CHECKING:
    import httpx

    from tui_agent.auth.store import SecretStore
    from tui_agent.auth.tokens import TokenManager
    from tui_agent.service.claims import ConversationClaims
    from tui_agent.config.model_facts import ModelFacts
    from tui_agent.config.schema import ProviderConfig
    from tui_agent.core.login import LoginPlan, LoginStep
    from tui_agent.core.chat import Adapter
    from tui_agent.service.chat_session import ChatSession
    from tui_agent.service.history import AsyncHistory

log = logging.getLogger("tui_agent.service")

StatusListener = Callable[[CredentialStatus], None]
# Builds the adapter for a provider on the shared client; None means "the wire kind's own" (providers.make_adapter).
AdapterFactory = Callable[["ProviderConfig", "httpx.AsyncClient"], "Adapter | None"]


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
        adapter_factory: AdapterFactory | None = None,
    ) -> None:
        """`adapter_factory` may supply a provider's adapter (tests script answers with it); None: the built-in ones."""
        self._adapter_factory = adapter_factory
        self._adapters: dict[str, "Adapter"] = {}
        self._models_cache: dict[str, list[ModelInfo]] = {}
        self._shown_context: dict[tuple[str, str], int] = {}  # (provider, model) -> Ollama /api/show's context length
        self._facts_unlisted: set[str] = set()  # providers whose model list could not be read for model facts
        self._config = config
        self.paths = paths
        self.env = os.environ if env is None else env
        self._store = store
        self._client = client
        self._tokens: "TokenManager | None" = None
        self._claims: "ConversationClaims | None" = None
        from tui_agent.service.provider_state import ProviderOutcomes

        self.outcomes = ProviderOutcomes()
        self._history: "AsyncHistory | None" = None
        self._statuses: dict[str, CredentialStatus] = {}
        self._listeners: list[StatusListener] = []
        self._streaming: dict[str, int] = {}  # provider id -> streams running (never discover on a busy local server)
        self._unchecked: set[str] = set()  # providers whose stored key was saved without a check and not used yet
        self._key_looked_up: set[str] = set()  # providers whose stored key's origin is known this session

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
                self._shown_context = {k: v for k, v in self._shown_context.items() if k[0] != pid}
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

    def history_notice(self) -> str | None:
        """What is wrong with the conversation history right now, as a sentence for a banner (None: nothing)."""
        if self._history is None:
            return None
        store = self._history.store
        if store.last_failure:
            return f"{store.last_failure.rstrip('.')}: conversations are not being saved until this is fixed."
        if store.set_aside is not None:
            return store.set_aside.sentence()
        return None

    @property
    def claims(self) -> "ConversationClaims":
        """Which conversations this process has open (one live writer per conversation)."""
        if self._claims is None:
            from tui_agent.service.claims import ConversationClaims

            self._claims = ConversationClaims(self.paths.state_dir / "open-conversations")
        return self._claims

    def chat_session(self, profile: str | None, *, persist: bool = True) -> "ChatSession":
        """A new chat session on `profile` (raises ResolutionError when it does not resolve)."""
        from tui_agent.service.chat_session import ChatSession

        return ChatSession(self, self.history if persist else None, profile)

    @property
    def tokens(self) -> "TokenManager":
        if self._tokens is None:
            from tui_agent.auth.tokens import TokenManager

            self._tokens = TokenManager(
                self.store, self._refresh_token, lock_dir=self.paths.data_dir,
                refusals_file=self.paths.state_dir / "refused-grants.json",
            )
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

            supplied = self._adapter_factory(provider, self.client) if self._adapter_factory is not None else None
            if supplied is not None:
                self._adapters[provider.id] = supplied
            elif provider.kind == "claude-cli":
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
        if self._claims is not None:
            self._claims.release_all()
        if self._history is not None:
            await self._history.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- the chain ----------------------------------------------------------------------------------------

    def resolve(self, nickname: str) -> Chain:
        return resolve(self.config, nickname)

    async def readiness(self, nickname: str) -> "Readiness":
        """Whether the chain of `nickname` can serve a request now, and if not why and what fixes it.

        Every way of switching model (/model, --model, the picker, reopening a conversation) asks this, so they
        all refuse the same chains for the same reason. Raises ResolutionError when a link is broken."""
        chain = self.resolve(nickname)
        status = await self.credential_status(chain.provider.id, chain.method)
        ok, reason = usable(status)
        return Readiness(chain, ok, reason, "" if ok else _fix_for(chain, status))

    def session_chain(self, provider_id: str, model: str) -> Chain:
        """The chain of a discovered model that has no profile yet (a session profile; raises ResolutionError)."""
        from dataclasses import replace

        from tui_agent.auth.resolve import session_profile

        profile = session_profile(self.config, provider_id, model)
        return resolve(replace(self.config, profiles={**self.config.profiles, profile.nickname: profile}), profile.nickname)

    # --- edits of config.toml (config/edit.py writes: validated, atomic, comments kept) ---------------------

    def set_default_profile(self, nickname: str) -> Config:
        """Write default_profile and take the result as the configuration in force; raises ConfigError."""
        from tui_agent.config.edit import set_default_profile

        set_default_profile(self.config.file, nickname)
        return self.reload_config()

    def add_profile(self, nickname: str, provider_id: str, model: str, *, make_default: bool = False) -> Config:
        """Write `[profiles.NICK]` (and default_profile when asked), then reload; raises ConfigError."""
        from tui_agent.config.edit import add_profile, set_default_profile

        add_profile(self.config.file, nickname, provider_id, model)
        if make_default:
            set_default_profile(self.config.file, nickname)
        return self.reload_config()

    def set_provider_field(self, provider_id: str, key: str, value) -> Config:
        """Write `providers.ID.KEY` (never a secret), then reload; raises ConfigError."""
        from tui_agent.config.edit import set_provider_field

        set_provider_field(self.config.file, provider_id, key, value)
        return self.reload_config()

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
        """The state of a provider's credential as every view shows it: checked now, with what the last requests
        showed laid over it (service/provider_state.py), and published to the subscribers."""
        provider = self.config.providers[provider_id]
        method = method or provider.default_method
        status = await self._checked_status(provider, method, probe=probe)
        status = self.outcomes.apply(
            status, fix=_refusal_fix(provider, status),
            probed_reachable=probe and provider.local and status.state is not CredentialState.UNREACHABLE,
        )
        if method == provider.default_method:
            self._publish(status)
        return status

    async def _checked_status(self, provider: "ProviderConfig", method: str, *, probe: bool) -> CredentialStatus:
        from tui_agent.auth.credentials import check_status

        provider_id = provider.id
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
        if status.detail == UNCHECKED:
            self._unchecked.add(provider_id)
        return status

    async def _record_outcome(self, chain: Chain, event: "Done | StreamFailed") -> None:
        """A request's outcome moves the provider's state for every view (see service/provider_state.py)."""
        pid = chain.provider.id
        if isinstance(event, Done):
            self.outcomes.succeeded(pid)
        elif event.kind == "auth" and event.status in (401, 403):
            self.outcomes.refused(pid, f"HTTP {event.status}", await self._checked_status(chain.provider, chain.method, probe=False))
        elif event.kind == "network":
            self.outcomes.unreachable(pid, event.message.split(";")[0].rstrip("."))
        elif event.kind in ("overloaded", "bad_response", "rate_limit", "interrupted"):
            self.outcomes.failed(pid, _failure_words(event))
        else:
            return
        if chain.method == chain.provider.default_method:
            await self.credential_status(pid, probe=False)  # publishes the new state


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

    # --- logging in and out (auth/login.py plans and drives; the front-ends render its steps) -------------

    def provider(self, name: str) -> "ProviderConfig":
        """The provider called `name` (an id or alias); raises UnknownProvider with the closest names."""
        return self.config.provider_named(name)

    def plan_login(self, name: str, method: str | None = None, *, paste_key: bool = False, interactive: bool = True) -> "LoginPlan":
        """Which login runs for a provider and method; raises the one located error when none can."""
        from tui_agent.auth.login import plan_login

        return plan_login(self.config, name, method, paste_key=paste_key, interactive=interactive)

    def login(self, plan: "LoginPlan", **driver_options) -> AsyncIterator["LoginStep"]:
        """Drive an OAuth plan as typed steps; the credential is stored before the Obtained step arrives.

        `driver_options` are auth.login.run_login's: pasted (a queue of pasted lines), clock, sleep,
        redirect_timeout, flow (a prepared flow, for tests).
        """
        from tui_agent.auth.login import run_login

        return run_login(plan, self.client, self.store, **driver_options)

    async def check_api_key(self, provider_id: str, key: str) -> None:
        """A cheap authenticated request (the models endpoint); raises AuthError when the key is refused."""
        from tui_agent.core.credentials import Credential

        try:
            await self.adapter(self.config.providers[provider_id]).list_models(Credential("api-key", key))
        except AuthError as exc:
            # The person is logging in right now: "run `tui-agent login X`" would send them where they are.
            raise AuthError(str(exc).replace(f"; run `tui-agent login {provider_id}`", "")) from None

    async def save_api_key(self, provider_id: str, key: str, *, checked: bool = True) -> str:
        """Store a key bound to the provider's host; one sentence saying where (the key masked).

        `checked=False` records a key saved without a check: its state is `unknown` ("saved without a check")
        until its first use decides (see _first_use).
        """
        from tui_agent.core.credentials import UNCHECKED, StoredCredential
        from tui_agent.auth.store import bound_host
        from tui_agent.redact import mask

        provider = self.config.providers[provider_id]
        credential = StoredCredential(kind="api-key", secret=key, host=bound_host(provider), obtained_by="entered" if checked else UNCHECKED)
        await self.store.put(provider.id, credential)
        self._key_looked_up.add(provider.id)
        self._unchecked.discard(provider.id)
        if checked:
            return f"Logged in to {provider.name} with key {mask(key)} (stored in {self.store.description})."
        self._unchecked.add(provider.id)
        return (
            f"Saved the key {mask(key)} for {provider.name} without a check (stored in {self.store.description}); "
            "it shows as unknown until its first use."
        )

    async def _saved_unchecked(self, provider_id: str) -> bool:
        """Whether the provider's stored key was saved without a check and has not been used yet."""
        if provider_id not in self._key_looked_up:
            from tui_agent.core.credentials import UNCHECKED

            self._key_looked_up.add(provider_id)
            stored = await self.store.get(provider_id)
            if stored is not None and stored.obtained_by == UNCHECKED:
                self._unchecked.add(provider_id)
        return provider_id in self._unchecked

    async def _first_use(self, provider_id: str, secret: str, accepted: bool) -> None:
        """A key saved without a check was just used: record whether the server accepted it, and publish the state."""
        from dataclasses import replace

        from tui_agent.core.credentials import REFUSED_AT_FIRST_USE, UNCHECKED

        self._unchecked.discard(provider_id)
        stored = await self.store.get(provider_id)
        if stored is None or stored.obtained_by != UNCHECKED or stored.secret != secret:
            return
        await self.store.put(provider_id, replace(stored, obtained_by="entered" if accepted else REFUSED_AT_FIRST_USE))
        await self.credential_status(provider_id, probe=False)

    def browser_available(self, no_browser: bool = False) -> bool:
        """Whether a browser can be opened here (never with --no-browser or over SSH; on Linux only with a display)."""
        from tui_agent.auth.oauth.pkce_flow import browser_available

        return browser_available(no_browser, self.env)

    def claude_cli(self, provider_id: str):
        """Where the Claude Code CLI is for this provider (a CliLocation, whose `problem` may say why it cannot run), or None."""
        from tui_agent.auth import claude_cli

        return claude_cli.find_claude_cli(self.config.providers[provider_id], self.env)

    async def claude_login(self, provider_id: str, *, hand_over=contextlib.nullcontext, say: Callable[[str], None] | None = None) -> tuple[int, CredentialStatus]:
        """Run the official `claude auth login` with the terminal handed over; its exit code and the state after.

        `hand_over` gives the CLI the terminal (the TUI suspends itself); `say` prints a line while it has it.
        Raises AuthError when the CLI is not installed, ProviderError when it cannot be started.
        """
        from tui_agent.auth import claude_cli

        location = self.claude_cli(provider_id)
        if location is None:
            raise AuthError("the Claude Code CLI was not found; install it (https://claude.com/claude-code) or set providers.claude-code.cli_path")
        with hand_over():
            if say is not None:
                say("Running `claude auth login`; tui-agent comes back when it finishes.")
            code = await claude_cli.run_login(location, self.env)  # it also drops the cached CLI status
        return code, await self.credential_status(provider_id)

    async def logout(self, name: str, *, hand_over=contextlib.nullcontext) -> str:
        """Forget a provider's stored credential, or for Claude Code run `claude auth logout` (with the terminal
        handed over); one sentence back. Raises AuthError when the CLI is not installed, ProviderError when it fails."""
        provider = self.provider(name)
        if provider.default_method != "claude-cli":
            return await self.forget(provider.id)
        from tui_agent.auth import claude_cli

        location = self.claude_cli(provider.id)
        if location is None:
            raise AuthError("The Claude Code CLI was not found, so there is no login to remove.")
        with hand_over():
            code = await claude_cli.run_logout(location, self.env)
        await self.credential_status(provider.id)  # run_logout has dropped the cached CLI status
        if code != 0:
            raise AuthError(f"claude auth logout ended with status {code}; the Claude Code login may still be there.")
        return "Logged out of Claude Code (claude auth logout)."

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

    def build_request(
        self, chain: Chain, messages: list[ChatMessage], *, system: str | None = None, conversation_id: str | None = None,
        parameters: Mapping[str, object] | None = None,
    ) -> ChatRequest:
        """The request for `chain`'s model; `system` ("" for none) and `parameters` (a conversation's own values
        of temperature, top_p, max_tokens, reasoning) override the profile's."""
        profile = chain.profile
        own = parameters or {}
        return ChatRequest(
            model=profile.model, messages=list(messages), system=system if system is not None else profile.system,
            temperature=own.get("temperature", profile.temperature), top_p=own.get("top_p", profile.top_p),  # type: ignore[arg-type]
            max_tokens=own.get("max_tokens", profile.max_tokens), reasoning=own.get("reasoning", profile.reasoning),  # type: ignore[arg-type]
            conversation_id=conversation_id,
        )

    async def send(
        self,
        profile: str | Chain,
        messages: list[ChatMessage],
        *,
        system: str | None = None,
        conversation_id: str | None = None,
        parameters: Mapping[str, object] | None = None,
    ) -> AsyncIterator[Event]:
        """Stream one answer as events; always ends with one Done or StreamFailed. Never switches provider."""
        chain = self.resolve(profile) if isinstance(profile, str) else profile
        provider = chain.provider
        from tui_agent.auth.credentials import ready_credential

        credential, why = await ready_credential(
            provider, chain.method, store=self.store, env=self.env,
            tokens=self.tokens if chain.method.startswith("oauth") else None,
        )
        if credential is None:
            yield StreamFailed(message=why, kind="auth")
            return
        refresh = None
        if chain.method.startswith("oauth"):
            rejected = credential.secret

            async def refresh():
                from tui_agent.core.credentials import Credential

                fresh = await self.tokens.after_unauthorized(provider, rejected)
                return Credential("bearer", fresh.secret) if fresh is not None else None

        first_use = chain.method == "api-key" and await self._saved_unchecked(provider.id)
        request = self.build_request(chain, messages, system=system, conversation_id=conversation_id, parameters=parameters)
        adapter = self.adapter(provider)
        self._streaming[provider.id] = self._streaming.get(provider.id, 0) + 1
        log.info("send: profile=%s provider=%s method=%s model=%s", chain.profile.nickname, provider.id, chain.method, request.model)
        try:
            # aclosing: when our caller stops early (Escape), the adapter's connection closes now, not at GC.
            async with contextlib.aclosing(adapter.stream(request, credential, refresh)) as events:
                async for event in events:
                    if first_use and (isinstance(event, Done) or (isinstance(event, StreamFailed) and event.kind == "auth")):
                        first_use = False
                        await self._first_use(provider.id, credential.secret, accepted=isinstance(event, Done))
                    if isinstance(event, (Done, StreamFailed)):
                        try:
                            await self._record_outcome(chain, event)
                        except Exception:  # bookkeeping must never cost the user the answer
                            log.exception("recording the outcome of a request to %s failed", provider.id)
                    yield event
        finally:
            self._streaming[provider.id] -= 1

    # --- models -------------------------------------------------------------------------------------------

    def cached_models(self, provider_id: str) -> list[ModelInfo]:
        """Models discovered earlier this session (never triggers discovery)."""
        return self._models_cache.get(provider_id, [])

    def known_facts(self, chain: Chain) -> "ModelFacts":
        """What is known now of the chain's model (context window, prices), without asking the provider."""
        from tui_agent.config.model_facts import ModelFacts, table_facts

        info = next((m for m in self.cached_models(chain.provider.id) if m.id == chain.profile.model), None)
        table = table_facts(chain.provider.id, chain.profile.model) or ModelFacts()
        shown = self._shown_context.get((chain.provider.id, chain.profile.model))
        if info is None:
            return ModelFacts(shown or table.context_window, table.input_usd_per_mtok, table.output_usd_per_mtok)
        return ModelFacts(
            info.context_window or shown or table.context_window,
            info.input_usd_per_mtok if info.input_usd_per_mtok is not None else table.input_usd_per_mtok,
            info.output_usd_per_mtok if info.output_usd_per_mtok is not None else table.output_usd_per_mtok,
        )

    async def model_facts(self, chain: Chain) -> "ModelFacts":
        """The chain's model's context window and prices: from the provider's model list (OpenRouter, LM Studio),
        Ollama's `/api/show`, or the shipped table; what none of them says stays None. Each is asked once until
        it answers (the model list is the session's cached discovery). A model the shipped table gives a window and
        both prices is not asked about: nothing a model list says would change them (OpenAI's lists neither), and
        a start-up then makes no request, so loads no network code, until the first message is sent."""
        from tui_agent.config.model_facts import table_facts

        provider = chain.provider
        table = table_facts(provider.id, chain.profile.model)
        if table is not None and table.context_window is not None and table.priced:
            return self.known_facts(chain)
        if provider.kind in ("openai-chat", "ollama") and provider.id not in self._models_cache \
                and provider.id not in self._facts_unlisted:
            try:
                await self.discover(provider.id)
            except Exception as exc:  # unknown stays unknown: the panel says so
                # Not asked again before every answer: the picker's or the panel's refresh asks again.
                self._facts_unlisted.add(provider.id)
                log.info("model facts: discovery failed for %s: %s", provider.id, exc)
        facts = self.known_facts(chain)
        if facts.context_window is None and provider.kind == "ollama":
            await self._ollama_context(chain)
            facts = self.known_facts(chain)
        return facts

    async def _ollama_context(self, chain: Chain) -> None:
        from tui_agent.auth.credentials import ready_credential

        credential, _why = await ready_credential(chain.provider, chain.method, store=self.store, env=self.env)
        show = getattr(self.adapter(chain.provider), "context_length", None)
        if credential is None or show is None:
            return
        try:
            length = await show(chain.profile.model, credential)
        except Exception as exc:
            log.info("model facts: /api/show failed for %s: %s", chain.profile.model, exc)
            return
        if length:
            self._shown_context[(chain.provider.id, chain.profile.model)] = length

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
        first_use = provider.default_method == "api-key" and await self._saved_unchecked(provider_id)
        try:
            models = _displayable_models(provider_id, await self.adapter(provider).list_models(credential))
        except AuthError:
            if first_use:
                await self._first_use(provider_id, credential.secret, accepted=False)
            raise
        if first_use:
            await self._first_use(provider_id, credential.secret, accepted=True)
        self._models_cache[provider_id] = models
        self._facts_unlisted.discard(provider_id)
        return models

    async def list_models(self, provider_id: str | None = None, *, probe: bool = True) -> list[ModelRow]:
        """Profiles plus discovered models, each with whether it can serve now and why not."""
        if provider_id is not None:
            self.config.provider_named(provider_id)  # the one "unknown provider, did you mean" (UsageError)
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


@dataclass(frozen=True)
class Readiness:
    """A resolved chain and whether it can serve now: `reason` says why not, `fix` what to do in the TUI."""

    chain: Chain
    ok: bool
    reason: str = ""
    fix: str = ""


def _fix_for(chain: Chain, status: CredentialStatus) -> str:
    provider = chain.provider
    if status.state is CredentialState.UNREACHABLE:
        return f"start {provider.name}, or set providers.{provider.id}.base_url"
    if chain.method == "none":
        return f"check providers.{provider.id} in config.toml"
    return f"type /login {provider.id}"


def _refusal_fix(provider: "ProviderConfig", status: CredentialStatus) -> str:
    if status.source.startswith("env:"):
        return f"set a valid {status.source[4:]} and restart"
    return f"run `tui-agent login {provider.id}`"  # the TUI shows it as /login ID


def _failure_words(event: StreamFailed) -> str:
    """A few words for the row's second line: "HTTP 502 (an HTML page)", "HTTP 429 (rate limited, retry in 20 s)"."""
    if event.kind == "interrupted":
        return "the answer was cut off mid-stream"
    code = f"HTTP {event.status}" if event.status else "the server"
    if event.kind == "bad_response":
        return f"{code} (not the JSON expected: an HTML page or garbage)"
    if event.kind == "rate_limit":
        wait = f", retry in {event.retry_after:g} s" if event.retry_after else ""
        return f"{code} (rate limited{wait})"
    return f"{code} (server error)"


def _displayable_models(provider_id: str, models: list[ModelInfo]) -> list[ModelInfo]:
    """A server's model list without names no person could read or type (control characters, bidi overrides):
    such a name is an attack on the terminal, not a model. The other labels are sanitised for display."""
    from dataclasses import replace

    from tui_agent.sanitize import sanitize_line

    kept = []
    for info in models:
        if not info.id.strip() or sanitize_line(info.id) != info.id:
            log.warning("ignoring a model from %s whose name has control characters: %r", provider_id, info.id)
            continue
        kept.append(replace(info, display_name=sanitize_line(info.display_name), capabilities=tuple(sanitize_line(c) for c in info.capabilities)))
    return kept
def same_model(named: str, listed: str) -> bool:
    """Whether a model id in a profile and one a server lists are the same model (Ollama's `:latest` is implied)."""
    return named == listed or named.removesuffix(":latest") == listed.removesuffix(":latest")



def usable(status: CredentialStatus) -> tuple[bool, str]:
    """Whether a provider in this state can serve a request now, and if not, why (one sentence)."""
    if status.state in (CredentialState.READY, CredentialState.EXPIRING, CredentialState.REFRESHING, CredentialState.UNKNOWN):
        return True, ""
    return False, status.detail or f"{status.provider}: {status.state.value}"



async def collect_text(events: AsyncIterator[Event]) -> tuple[str, Event | None]:
    """Drain a stream into its text and its terminal event (for tests and simple callers)."""
    parts: list[str] = []
    last: Event | None = None
    async for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, (Done, StreamFailed)):
            last = event
    return "".join(parts), last
