"""The headless commands behind `tui-agent status|models|explain|ask|login|logout|config|import`.

Each returns its exit code; errors are raised as TuiAgentError and printed by cli.main as one sentence.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tui_agent.auth.state import STATE_SYMBOL
from tui_agent.errors import AuthError, ConfigError, ProviderError, UsageError

if TYPE_CHECKING:
    from tui_agent.service.agent import AgentService


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


# --- status -------------------------------------------------------------------------------------------------


async def status(service: "AgentService", *, as_json: bool, probe: bool) -> int:
    statuses = await service.status_all(probe=probe)
    if as_json:
        out = []
        for st in statuses:
            provider = service.config.providers[st.provider]
            out.append(
                {
                    "provider": st.provider, "display_name": provider.name, "kind": provider.kind,
                    "auth_method": provider.default_method, "auth_methods": list(provider.auth),
                    "state": st.state.value, "source": st.source, "identity": st.identity,
                    "expires_at": st.expires_iso(), "detail": st.detail,
                }
            )
        _out(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    rows = []
    for st in statuses:
        rows.append(
            [st.provider, st.auth_method, f"{STATE_SYMBOL[st.state]} {st.state.value}", st.source, st.identity or "-",
             st.expires_iso() or "-", st.detail]
        )
    _out(_table(rows, ["provider", "method", "state", "source", "identity", "expires", "detail"]))
    proxied = service.proxies([st.provider for st in statuses])
    if proxied:
        _out("")
        for line in proxy_lines(proxied):
            _out(line)
        _out(PROXY_SOURCES)
    return 0


PROXY_SOURCES = "(proxies come from HTTPS_PROXY, HTTP_PROXY and ALL_PROXY; NO_PROXY lists the hosts reached directly)"


def proxy_lines(proxied: list[tuple[str, str, str]]) -> list[str]:
    return [f"{pid}: requests to {url} go through the proxy {proxy}" for pid, url, proxy in proxied]


# --- models ---------------------------------------------------------------------------------------------------


async def models(service: "AgentService", *, as_json: bool, provider: str | None) -> int:
    rows = await service.list_models(provider)
    if as_json:
        _out(json.dumps([r.to_json() for r in rows], indent=2, ensure_ascii=False))
        return 0
    if not rows:
        _out("No profiles and no discovered models. Define a profile in config.toml or start a local server.")
        return 0
    table = [
        [r.profile or "-", r.provider, r.model, r.origin, "yes" if r.available else "no",
         {True: "loaded", False: "not loaded", None: ""}[r.loaded], r.reason]
        for r in rows
    ]
    _out(_table(table, ["profile", "provider", "model", "origin", "available", "loaded", "reason"]))
    return 0


# --- explain --------------------------------------------------------------------------------------------------


def format_steps(steps) -> list[str]:
    """Steps in the interfaces.md layout: `N. link  found  origin`."""
    lines = []
    for n, step in enumerate(steps, 1):
        if step.link == "credential":
            lines.append(f"{n}. credential  {step.found}   {step.origin}")
        else:
            lines.append(f"{n}. {step.link.ljust(8)} {step.found.ljust(13)} {step.origin}")
    return lines


async def explain(service: "AgentService", nick: str, *, verbose: bool = False) -> int:
    steps, _status = await service.explain(nick)
    for line in format_steps(steps):
        _out(line)
    if verbose:
        for pid, url, proxy in service.proxies([service.resolve(nick).provider.id]):
            _out(f"proxy: requests to {url} go through the proxy {proxy} {PROXY_SOURCES}")
    return 0


# --- ask ------------------------------------------------------------------------------------------------------


async def ask(service: "AgentService", nick: str | None, system: str | None, prompt: str, *, verbose: bool = False) -> int:
    from tui_agent.providers.base import ChatMessage
    from tui_agent.providers.events import Done, StreamError, TextDelta
    from tui_agent.service.agent import NO_TEXT

    nick = nick or service.default_profile()
    if not nick:
        raise UsageError("no model chosen: pass `-m NICK`, or set default_profile in config.toml (run `tui-agent models` to see the profiles)")
    chain = service.resolve(nick)
    if verbose:  # the same steps as `explain`, before anything is sent
        steps, _status = await service.explain(nick, probe=False)
        for line in format_steps(steps):
            print(line, file=sys.stderr)
    if prompt == "-":
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    wrote_any = False
    ended_with_newline = True
    async for event in service.send(chain, [ChatMessage("user", prompt)], system=system):
        if isinstance(event, TextDelta) and event.text:
            sys.stdout.write(event.text)
            sys.stdout.flush()
            wrote_any = True
            ended_with_newline = event.text.endswith("\n")
        elif isinstance(event, StreamError):
            if wrote_any and not ended_with_newline:
                sys.stdout.write("\n")
                sys.stdout.flush()
            error_cls = AuthError if event.kind == "auth" else ProviderError
            raise error_cls(f"{chain.provider.id} ({chain.profile.nickname}): {event.message}")
        elif isinstance(event, Done):
            if wrote_any and not ended_with_newline:
                sys.stdout.write("\n")
            sys.stdout.flush()
    if not wrote_any:
        print(NO_TEXT, file=sys.stderr)
    return 0


# --- login / logout -------------------------------------------------------------------------------------------


def _provider_and_method(service: "AgentService", provider_id: str, method: str | None):
    from tui_agent.config.problems import closest_first

    pid = service.config.canonical_provider_id(provider_id)
    if pid is None:
        choices = closest_first(provider_id, service.config.provider_choices())
        raise UsageError(f"unknown provider `{provider_id}`; did you mean `{choices[0]}`? valid choices: {', '.join(choices[:8])}")
    provider = service.config.providers[pid]
    chosen = method or provider.default_method
    if chosen not in provider.auth:
        raise UsageError(f"provider `{pid}` does not allow auth method `{chosen}`; valid choices: {', '.join(provider.auth)}")
    from tui_agent.config.load import missing_settings

    missing = missing_settings(provider, chosen)
    if missing:
        keys = ", ".join(f"providers.{pid}.{k}" for k, _ in missing)
        raise ConfigError(f"{service.config.file}: {keys}: missing required field(s) for `{chosen}` on `{pid}`; {provider.setup_hint or 'set them in config.toml'}")
    return provider, chosen


async def validate_api_key(service: "AgentService", provider, key: str) -> None:
    """A cheap authenticated request (the models endpoint); raises AuthError when the key is refused."""
    from tui_agent.auth.state import Credential

    await service.adapter(provider).list_models(Credential("api-key", key))


async def store_api_key(service: "AgentService", provider, key: str, obtained_by: str = "entered"):
    from tui_agent.auth.state import StoredCredential
    from tui_agent.auth.store import bound_host

    cred = StoredCredential(kind="api-key", secret=key, host=bound_host(provider), obtained_by=obtained_by)
    await service.store.put(provider.id, cred)
    return cred


def _read_key(provider_id: str) -> str:
    if sys.stdin.isatty():
        import getpass

        key = getpass.getpass(f"API key for {provider_id} (input hidden): ")
    else:
        key = sys.stdin.readline()
    key = key.strip()
    if not key:
        raise UsageError(f"no API key was given for {provider_id}")
    return key


async def login(service: "AgentService", provider_id: str, method: str | None, no_browser: bool) -> int:
    from tui_agent.redact import mask

    provider, chosen = _provider_and_method(service, provider_id, method)
    if chosen == "none":
        _out(f"{provider.id} needs no login (auth method `none`).")
        return 0
    if chosen == "claude-cli":
        from tui_agent.auth import claude_cli

        location = claude_cli.find_claude_cli(provider, service.env)
        if location is None:
            raise AuthError("the Claude Code CLI was not found; install it (https://claude.com/claude-code) or set providers.claude-code.cli_path")
        code = await claude_cli.run_login(location, service.env)  # it also drops the cached CLI status
        st = await service.credential_status(provider.id)
        _out(f"{provider.id}: {STATE_SYMBOL[st.state]} {st.state.value} — {st.detail}")
        return 0 if code == 0 and st.state.value == "ready" else 1
    pkce_key = provider.id == "openrouter" and method is None and sys.stdin.isatty()
    if chosen == "api-key" and not pkce_key:
        key = _read_key(provider.id)
        try:
            await validate_api_key(service, provider, key)
        except AuthError as exc:
            raise AuthError(f"{provider.id} refused the key ({exc}); it was not stored") from None
        except ProviderError as exc:
            raise ProviderError(f"could not check the key with {provider.id} ({exc}); it was not stored") from None
        await store_api_key(service, provider, key)
        _out(f"Logged in to {provider.id} with key {mask(key)} (stored in {service.store.description}).")
        return 0
    from tui_agent.auth.oauth.terminal import login_in_terminal

    cred = await login_in_terminal(
        provider, "oauth-pkce" if pkce_key else chosen, service.client, service.store,
        no_browser=no_browser, stderr=sys.stderr, stdin=sys.stdin,
    )
    # login_in_terminal has already said who is logged in and until when (on stderr, beside its prompts).
    return 0 if cred is not None else 1


async def logout(service: "AgentService", provider_id: str) -> int:
    provider, chosen = _provider_and_method(service, provider_id, None)
    if chosen == "claude-cli":
        from tui_agent.auth import claude_cli

        location = claude_cli.find_claude_cli(provider, service.env)
        if location is None:
            raise AuthError("the Claude Code CLI was not found, so there is no login to remove")
        code = await claude_cli.run_logout(location, service.env)
        return 0 if code == 0 else 1
    _out(await service.forget(provider.id))
    return 0


# --- config ---------------------------------------------------------------------------------------------------


def config_check(config_flag: str | None) -> int:
    from tui_agent.config.load import check_config
    from tui_agent.config.paths import Paths

    paths = Paths.resolve(config_flag)
    config, problems = check_config(paths.config_file)
    if problems:
        for problem in problems:
            _out(problem.sentence())
        count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
        print(f"tui-agent: {count} in {paths.config_file}", file=sys.stderr)
        return 2
    assert config is not None
    if not config.file_exists:
        _out(f"No config file at {paths.config_file}; the built-in catalog is valid ({len(config.providers)} providers, no profiles).")
    else:
        _out(f"{paths.config_file}: OK ({len(config.profiles)} profiles, {len(config.providers)} providers).")
    return 0


def config_path(config_flag: str | None) -> int:
    from tui_agent.auth.store import open_store
    from tui_agent.config.load import check_config
    from tui_agent.config.paths import Paths

    paths = Paths.resolve(config_flag)
    store = open_store(paths)
    exists = "" if paths.config_file.is_file() else " (not created yet)"
    rows = [
        ["config", f"{paths.config_file}{exists}"],
        ["data", str(paths.data_dir)],
        ["history", str(paths.history_db)],
        ["state", str(paths.state_dir)],
        ["log", str(paths.log_file)],
        ["secrets", store.description],
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        _out(f"{name.ljust(width)}  {value}")
    _config, problems = check_config(paths.config_file)
    if problems:
        raise ConfigError(problems)
    return 0


# --- import ---------------------------------------------------------------------------------------------------

QWEN_DEFAULT = Path("~/.qwen/model-profiles.json")
# authType in the old client → what it means here (None: the provider's default method)
_QWEN_AUTH = {"oauth-personal": "claude-cli", "openai": None, "api-key": None, "USE_OPENAI": None, "anthropic": None}


def import_qwen(config_flag: str | None, file: str | None, force: bool) -> int:
    import tomlkit

    from tui_agent.config.load import check_config
    from tui_agent.config.paths import Paths
    from tui_agent.config.problems import closest_first

    paths = Paths.resolve(config_flag)
    source = Path(file).expanduser() if file else QWEN_DEFAULT.expanduser()
    try:
        entries = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file (pass the path: `tui-agent import qwen-profiles FILE`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{source}: not a readable JSON file ({exc})") from None
    if not isinstance(entries, list):
        raise UsageError(f"{source}: expected a JSON list of {{nickname, provider, authType}} objects")

    config, problems = check_config(paths.config_file)
    if config is None:  # a syntax error: never rewrite a file we cannot read
        raise ConfigError(problems)
    doc = tomlkit.parse(paths.config_file.read_text(encoding="utf-8")) if paths.config_file.is_file() else tomlkit.document()
    if "profiles" not in doc:
        doc["profiles"] = tomlkit.table(is_super_table=True)
    profiles_table = doc["profiles"]

    imported, skipped, failed = [], [], []
    for index, entry in enumerate(entries):
        where = f"{source.name}[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("nickname"), str) or not isinstance(entry.get("provider"), str):
            failed.append(f"{where}: needs string fields nickname and provider")
            continue
        nick, provider_name, auth_type = entry["nickname"], entry["provider"], entry.get("authType")
        pid = config.canonical_provider_id(provider_name)
        if pid is None:
            choices = closest_first(provider_name, config.provider_choices())
            failed.append(f"{where} `{nick}`: unknown provider `{provider_name}` (closest: {', '.join(choices[:3])})")
            continue
        provider = config.providers[pid]
        if auth_type is not None and auth_type not in _QWEN_AUTH:
            failed.append(f"{where} `{nick}`: unknown authType `{auth_type}` (known: {', '.join(_QWEN_AUTH)})")
            continue
        wanted = _QWEN_AUTH.get(auth_type) if auth_type else None
        if wanted is not None and wanted not in provider.auth:
            failed.append(f"{where} `{nick}`: authType `{auth_type}` needs auth method `{wanted}`, which `{pid}` does not allow ({', '.join(provider.auth)})")
            continue
        if not provider.default_model:
            failed.append(f"{where} `{nick}`: provider `{pid}` has no default model; add [profiles.{nick}] with a model by hand")
            continue
        if nick in profiles_table and not force:
            skipped.append(f"{nick}: a profile with this name exists (use --force to replace it)")
            continue
        table = tomlkit.table()
        table["provider"] = pid
        table["model"] = provider.default_model
        if wanted is not None and wanted != provider.default_method:
            table["auth"] = wanted
        profiles_table[nick] = table
        alias = f" (`{provider_name}` is now `{pid}`)" if provider_name != pid else ""
        imported.append(f"{nick} → {pid}, model {provider.default_model}{alias}")

    if imported:
        paths.config_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = paths.config_file.with_name(paths.config_file.name + ".tmp")
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
        os.replace(tmp, paths.config_file)
    for line in imported:
        _out(f"imported {line}")
    for line in skipped:
        _out(f"skipped {line}")
    for line in failed:
        print(f"tui-agent: cannot import {line}", file=sys.stderr)
    _out(f"{len(imported)} imported, {len(skipped)} skipped, {len(failed)} not importable → {paths.config_file}")
    return 0
