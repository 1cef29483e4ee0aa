"""The headless commands behind `tui-agent status|models|explain|ask|login|logout|config|import`.

Each returns its exit code; errors are raised as TuiAgentError and printed by cli.main as one sentence.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from tui_agent.core.credentials import state_label, state_line
from tui_agent.errors import AuthError, ConfigError, ProviderError, Unreachable, UsageError
from tui_agent.sanitize import StreamSanitizer, sanitize, sanitize_line

if TYPE_CHECKING:
    from tui_agent.service.agent import AgentService


def _out(text: str = "") -> None:
    # Names, details and reasons in these tables come from servers and files: nothing raw reaches the terminal.
    sys.stdout.write(sanitize(text) + "\n")


def _table(rows: list[list[str]], headers: list[str]) -> str:
    rows = [[sanitize_line(str(c)) for c in row] for row in rows]  # one line per row, widths of what is shown
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
            [st.provider, st.auth_method, state_label(st.state), st.source, st.identity or "-",
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


async def explain(service: "AgentService", nick: str, *, verbose: bool = False) -> int:
    from tui_agent.core.chain import format_steps

    steps, _status = await service.explain(nick)
    for line in format_steps(steps):
        _out(line)
    if verbose:
        for pid, url, proxy in service.proxies([service.resolve(nick).provider.id]):
            _out(f"proxy: requests to {url} go through the proxy {proxy} {PROXY_SOURCES}")
    return 0


# --- ask ------------------------------------------------------------------------------------------------------


def _read_stdin_text(what: str) -> str:
    """All of stdin as UTF-8 text; undecodable bytes are a usage error naming where they are."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # replaced by a text-only stream (tests, embedding): already decoded
        return sys.stdin.read()
    data = stream.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} on stdin is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


async def ask(service: "AgentService", nick: str | None, system: str | None, prompt: str, *, raw: bool = False, verbose: bool = False) -> int:
    """Stream one answer to stdout: sanitised for the terminal, or (`raw`) exactly as the model sent it."""
    from tui_agent.core.chat import ChatMessage
    from tui_agent.core.events import Done, StreamFailed, TextDelta
    from tui_agent.service.agent import NO_TEXT

    nick = nick or service.default_profile()
    if not nick:
        raise UsageError("no model chosen: pass `-m NICK`, or set default_profile in config.toml (run `tui-agent models` to see the profiles)")
    chain = service.resolve(nick)
    if verbose:  # the same steps as `explain`, before anything is sent
        from tui_agent.core.chain import format_steps

        steps, _status = await service.explain(nick, probe=False)
        for line in format_steps(steps):
            print(sanitize(line), file=sys.stderr)
    if prompt == "-":
        prompt = _read_stdin_text("the prompt")
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    from tui_agent.service.settings import not_applied

    if unapplied := not_applied(chain):  # never silently: say which profile parameters this provider drops
        sys.stderr.write(f"tui-agent: {sanitize_line(unapplied)}\n")
    wrote_any = False
    ended_with_newline = True
    sanitizer = None if raw else StreamSanitizer()

    def write(text: str) -> None:
        nonlocal wrote_any, ended_with_newline
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            wrote_any = True
            ended_with_newline = text.endswith("\n")

    async for event in service.send(chain, [ChatMessage("user", prompt)], system=system):
        if isinstance(event, TextDelta) and event.text:
            write(sanitizer.feed(event.text) if sanitizer else event.text)
        elif isinstance(event, (StreamFailed, Done)) and sanitizer:
            write(sanitizer.flush())
        if isinstance(event, StreamFailed):
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


def _sentence(exc: BaseException) -> str:
    """An error's sentence inside another one: without its full stop."""
    return str(exc).rstrip(".")


def _read_key(provider_id: str) -> str:
    if sys.stdin.isatty():
        import getpass

        key = getpass.getpass(f"API key for {provider_id} (input hidden): ")
    else:
        try:
            key = sys.stdin.readline()
        except UnicodeDecodeError:
            raise UsageError(f"the API key for {provider_id} on stdin is not UTF-8 text") from None
    key = key.strip()
    if not key:
        raise UsageError(f"no API key was given for {provider_id}")
    return key


async def login(service: "AgentService", provider_id: str, method: str | None, no_browser: bool, *, no_check: bool = False) -> int:
    # --no-check is about a key: it asks for one even where the default is a browser flow (OpenRouter).
    plan = service.plan_login(provider_id, method, paste_key=no_check and method is None, interactive=sys.stdin.isatty())
    if no_check and plan.flow != "api-key":
        raise UsageError(f"--no-check is for API keys; `{plan.method}` on {plan.provider.id} is not an API-key login")
    if plan.flow == "none":
        _out(f"{plan.provider.id} needs no login (auth method `none`).")
        return 0
    if plan.flow == "claude-cli":
        code, st = await service.claude_login(plan.provider.id)
        _out(f"{plan.provider.id}: {state_line(st)}")
        return 0 if code == 0 and st.state.value == "ready" else 1
    if plan.flow == "api-key":
        key = _read_key(plan.provider.id)
        if no_check:
            _out(await service.save_api_key(plan.provider.id, key, checked=False))
            return 0
        try:
            await service.check_api_key(plan.provider.id, key)
        except AuthError as exc:
            raise AuthError(f"{plan.provider.id} refused the key ({_sentence(exc)}); it was not stored") from None
        except Unreachable as exc:
            raise Unreachable(
                f"could not check the key with {plan.provider.id} ({_sentence(exc)}); it was not stored "
                "(add --no-check to store it without a check)"
            ) from None
        except ProviderError as exc:
            raise ProviderError(f"could not check the key with {plan.provider.id} ({_sentence(exc)}); it was not stored") from None
        _out(await service.save_api_key(plan.provider.id, key))
        return 0
    import asyncio

    from tui_agent.terminal_login import render_in_terminal

    pasted: asyncio.Queue[str] = asyncio.Queue()
    # render_in_terminal says who is logged in and until when (on stderr, beside its prompts), or raises.
    await render_in_terminal(
        plan, service.login(plan, pasted=pasted), pasted,
        can_open=service.browser_available(no_browser), stderr=sys.stderr, stdin=sys.stdin,
    )
    return 0


async def logout(service: "AgentService", provider_id: str) -> int:
    _out(await service.logout(provider_id))
    return 0


# --- config ---------------------------------------------------------------------------------------------------


def config_check(config_flag: str | None) -> int:
    from tui_agent.service.startup import check_config_file

    paths, config, problems = check_config_file(config_flag)
    if problems:
        for problem in problems:
            _out(problem.sentence())
        count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
        print(f"tui-agent: {count} in {paths.config_file}", file=sys.stderr)
        return 2
    assert config is not None
    from tui_agent.service.history import check_database

    damaged = check_database(paths.history_db)
    if damaged:  # a warning: the configuration itself is fine, so the exit code stays 0
        print(f"tui-agent: warning: {damaged}", file=sys.stderr)
    if not config.file_exists:
        _out(f"No config file at {paths.config_file}; the built-in catalog is valid ({len(config.providers)} providers, no profiles).")
    else:
        _out(f"{paths.config_file}: OK ({len(config.profiles)} profiles, {len(config.providers)} providers).")
    return 0


def config_path(config_flag: str | None) -> int:
    from tui_agent.service.startup import check_config_file, secret_store_description

    paths, _config, problems = check_config_file(config_flag)
    exists = "" if paths.config_file.is_file() else " (not created yet)"
    rows = [
        ["config", f"{paths.config_file}{exists}"],
        ["data", str(paths.data_dir)],
        ["history", str(paths.history_db)],
        ["state", str(paths.state_dir)],
        ["log", str(paths.log_file)],
        ["secrets", secret_store_description(paths)],
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        _out(f"{name.ljust(width)}  {value}")
    if problems:
        raise ConfigError(problems)
    return 0


# --- import ---------------------------------------------------------------------------------------------------

def import_qwen(config_flag: str | None, file: str | None, force: bool) -> int:
    from tui_agent.service.imports import import_qwen_profiles

    report = import_qwen_profiles(config_flag, file, force)
    for line in report.imported:
        _out(f"imported {line}")
    for line in report.skipped:
        _out(f"skipped {line}")
    for line in report.failed:
        print(f"tui-agent: cannot import {sanitize(line)}", file=sys.stderr)  # nicknames come from the file
    _out(f"{len(report.imported)} imported, {len(report.skipped)} skipped, {len(report.failed)} not importable → {report.config_file}")
    return 0
