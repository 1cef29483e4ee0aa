"""The `claude-cli` wire kind: the user's own Claude Code CLI as a chat back-end (docs/auth.md §B).

Finds the binary, runs `claude -p --output-format stream-json` in an app-owned empty directory with tools, MCP servers
and project settings off, and maps its NDJSON lines onto the common event model. The CLI alone holds the credential.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.util
import json
import logging
import os
import re
import shutil
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Mapping

from tui_agent.core.chat import ChatMessage, ChatRequest, ModelInfo, RefreshCredential
from tui_agent.core.events import Done, ErrorKind, Event, StreamFailed, TextDelta, ThinkingDelta, Usage

if TYPE_CHECKING:
    import httpx

    from tui_agent.core.credentials import Credential
    from tui_agent.config.schema import ProviderConfig

log = logging.getLogger(__name__)

# Removed from the child's environment so a key exported for other tools cannot take over billing from the
# subscription (docs/auth.md §A.3 rule 6). CLAUDE_CODE_OAUTH_TOKEN is deliberately left alone: it is the headless login.
SCRUBBED_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")

INSTALL_HINT = (
    "install Claude Code (`npm install -g @anthropic-ai/claude-code`, the installer at https://claude.com/claude-code, "
    "or `pip install 'tui-agent[claude]'`), or point `cli_path` / TUI_AGENT_CLAUDE_PATH at the `claude` binary"
)
LOGIN_HINT = "run `tui-agent login claude-code`"

# The CLI's own model aliases; it resolves them to the newest model of each family.
MODEL_ALIASES: tuple[tuple[str, str], ...] = (
    ("sonnet", "Claude Sonnet (latest, via Claude Code)"),
    ("opus", "Claude Opus (latest, via Claude Code)"),
    ("haiku", "Claude Haiku (latest, via Claude Code)"),
)

# Without --system-prompt the CLI would use its coding-agent prompt; a chat needs a plain one.
DEFAULT_SYSTEM = "You are Claude, a helpful assistant, chatting with the user in a terminal chat client."

_LINE_LIMIT = 32 * 1024 * 1024  # one stdout line carries a whole assistant message
_STDERR_LINES = 20
_SECRETISH = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")


@dataclass(frozen=True)
class CliLocation:
    """Where the `claude` binary is and how it was found; `problem` is set when an explicit path is unusable."""

    path: Path
    found_by: str  # "cli_path", "TUI_AGENT_CLAUDE_PATH", "PATH", "~/.claude/local/claude", "~/.local/bin/claude", "claude-agent-sdk"
    problem: str = ""

    @property
    def usable(self) -> bool:
        return not self.problem


def find_claude_cli(provider: "ProviderConfig", env: Mapping[str, str] | None = None) -> CliLocation | None:
    """Find the CLI in the docs/interfaces.md order; an explicit path that does not work is reported, never skipped."""
    env = os.environ if env is None else env
    explicit = (
        ("cli_path", provider.cli_path, f"providers.{provider.id}.cli_path"),
        ("TUI_AGENT_CLAUDE_PATH", env.get("TUI_AGENT_CLAUDE_PATH"), "TUI_AGENT_CLAUDE_PATH"),
    )
    for found_by, value, where in explicit:
        if not value:
            continue
        path = _expand(value, env)
        if os.sep not in value and "/" not in value:  # a bare name: look it up on PATH
            hit = shutil.which(value, path=env.get("PATH"))
            path = Path(hit) if hit else path
        if _is_executable(path):
            return CliLocation(path, found_by)
        return CliLocation(path, found_by, problem=f"{where} is set to {value!r}, which is not an executable file; fix it or unset it")

    hit = shutil.which("claude", path=env.get("PATH"))
    if hit:
        return CliLocation(Path(hit), "PATH")
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    for relative in (".claude/local/claude", ".local/bin/claude"):
        candidate = home / relative
        if _is_executable(candidate):
            return CliLocation(candidate, f"~/{relative}")
    bundled = _bundled_cli()
    if bundled is not None:
        return CliLocation(bundled, "claude-agent-sdk")
    return None


def claude_child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every CLI child gets: the user's, minus ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN."""
    env = os.environ if env is None else env
    return {name: value for name, value in env.items() if name not in SCRUBBED_ENV}


def prepare_workdir(workdir: Path | None = None) -> Path:
    """Create (if needed) and return the app-owned empty directory the CLI runs in."""
    if workdir is None:
        from tui_agent.config.paths import Paths

        workdir = Paths.resolve().claude_workdir
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return workdir


def _expand(value: str, env: Mapping[str, str]) -> Path:
    if value.startswith("~") and env.get("HOME"):
        return Path(env["HOME"] + value[1:])
    return Path(value).expanduser()


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _bundled_cli() -> Path | None:
    # find_spec on a top-level name locates the package without importing it (and without its 400 MB of baggage).
    try:
        spec = importlib.util.find_spec("claude_agent_sdk")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    name = "claude.exe" if os.name == "nt" else "claude"
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "_bundled" / name
        if _is_executable(candidate):
            return candidate
    return None


_login_generation = 0  # bumped whenever the CLI's own login changes


def note_login_changed() -> None:
    """Record that the CLI's login changed (login, logout): CLI processes kept between turns are not reused."""
    global _login_generation
    _login_generation += 1


def scrub(text: str) -> str:
    """Mask anything that looks like an Anthropic key or token before text reaches a message or a log."""
    return _SECRETISH.sub(lambda m: m.group(0)[:10] + "…", text)


# --- one conversation's CLI session ------------------------------------------------------------------------


@dataclass
class _Process:
    """A running CLI and its stderr tail; a kept one waits on stdin (stream-json input) for the next turn."""

    proc: asyncio.subprocess.Process
    stderr_tail: collections.deque[str]
    stderr_task: asyncio.Task
    model: str
    system: str
    env_key: int  # which environment it was started with: a new token means a new process
    login: int  # the login generation it was started in (see note_login_changed)

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None


@dataclass
class _Session:
    """A CLI session and exactly the messages it has seen; valid only while tui-agent's history still matches."""

    session_id: str
    seen: tuple[ChatMessage, ...]
    process: _Process | None = None  # kept alive between turns: the next turn skips the CLI's start-up
    idle: asyncio.TimerHandle | None = None


@dataclass
class _Plan:
    session_id: str
    resume: bool  # start a new process with --resume (else --session-id, unless `process` is reused)
    prompt: str
    persist: bool
    process: _Process | None = None


IMAGES_REFUSED = (
    "The Claude Code CLI back-end takes text only, so images cannot be sent through it; "
    "remove the image or switch to an API profile (anthropic, openai, ollama)."
)


def _transcript(history: list[ChatMessage], latest: str) -> str:
    """Earlier turns for a fresh CLI session, when the CLI's own session cannot be trusted to hold them."""
    parts = [
        "This conversation began before this session. The earlier turns, oldest first:",
        "<conversation_history>",
    ]
    for message in history:
        parts.append(f"<{message.role}>\n{message.content}\n</{message.role}>")
    parts += ["</conversation_history>", "", "Reply, as the assistant, to the user's new message:", "", latest]
    return "\n".join(parts)


# --- mapping stream-json lines onto events -----------------------------------------------------------------


@dataclass
class _Mapper:
    """Turns the CLI's stream-json objects into events; keeps what the terminal event and the session need."""

    session_id: str | None = None
    api_key_source: str | None = None
    model: str | None = None
    result: dict[str, Any] | None = None
    assistant_error: str | None = None
    text: list[str] = field(default_factory=list)
    _deltas_in_message: bool = False

    def feed(self, obj: dict[str, Any]) -> list[Event]:
        kind = obj.get("type")
        if kind == "system" and obj.get("subtype") == "init":
            self.session_id = obj.get("session_id") or self.session_id
            self.api_key_source = obj.get("apiKeySource")
            self.model = obj.get("model")
        elif kind == "stream_event" and obj.get("parent_tool_use_id") is None:
            return self._stream_event(obj.get("event") or {})
        elif kind == "assistant" and obj.get("parent_tool_use_id") is None:
            return self._assistant(obj)
        elif kind == "conversation_reset" and obj.get("new_conversation_id"):
            self.session_id = obj["new_conversation_id"]
        elif kind == "result":
            self.result = obj
            self.session_id = obj.get("session_id") or self.session_id
        return []  # unknown and uninteresting lines are skipped, as the official parser does

    def _stream_event(self, event: dict[str, Any]) -> list[Event]:
        etype = event.get("type")
        if etype == "message_start":
            self._deltas_in_message = False
        elif etype == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                self._deltas_in_message = True
                self.text.append(delta["text"])
                return [TextDelta(delta["text"])]
            if delta.get("type") == "thinking_delta" and delta.get("thinking"):
                self._deltas_in_message = True
                return [ThinkingDelta(delta["thinking"])]
        return []

    def _assistant(self, obj: dict[str, Any]) -> list[Event]:
        if obj.get("error"):
            # A synthetic message carrying the error text: the result line reports it; never show it as the answer.
            self.assistant_error = str(obj["error"])
            return []
        if self._deltas_in_message:
            return []
        # No deltas came for this message (an older CLI, or partial messages off): take its whole blocks.
        events: list[Event] = []
        for block in (obj.get("message") or {}).get("content") or []:
            if block.get("type") == "text" and block.get("text"):
                self.text.append(block["text"])
                events.append(TextDelta(block["text"]))
            elif block.get("type") == "thinking" and block.get("thinking"):
                events.append(ThinkingDelta(block["thinking"]))
        return events

    def usage(self) -> Usage | None:
        if self.result is None:
            return None
        usage = self.result.get("usage") or {}
        inputs = [usage.get(k) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")]
        known = [n for n in inputs if isinstance(n, int)]
        cost = self.result.get("total_cost_usd")
        return Usage(
            input_tokens=sum(known) if known else None,
            output_tokens=usage.get("output_tokens") if isinstance(usage.get("output_tokens"), int) else None,
            cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        )

    def error_text(self) -> str:
        """The CLI's own words for a failed turn, in the SDK's priority: errors[], result, subtype, HTTP status."""
        result = self.result or {}
        errors = [str(e) for e in result.get("errors") or [] if e and not str(e).startswith("[ede_diagnostic]")]
        if errors:
            return "; ".join(errors)
        if isinstance(result.get("result"), str) and result["result"].strip():
            return result["result"].strip()
        if result.get("subtype") and result.get("subtype") != "success":
            return str(result["subtype"])
        if result.get("api_error_status"):
            return f"HTTP {result['api_error_status']}"
        return "an unspecified error"

    def error_kind(self, text: str) -> tuple[ErrorKind, int | None]:
        result = self.result or {}
        status = result.get("api_error_status") if isinstance(result.get("api_error_status"), int) else None
        if "Not logged in" in text or self.assistant_error == "authentication_failed" or status in (401, 403):
            return "auth", status
        if status == 429 or self.assistant_error == "rate_limit":
            return "rate_limit", status
        if (status is not None and status >= 500) or self.assistant_error == "server_error":
            return "overloaded", status
        if status in (400, 404, 413, 422) or self.assistant_error == "invalid_request":
            return "bad_request", status
        if result.get("terminal_reason") in ("aborted_streaming", "aborted_tools"):
            return "stopped", status
        return "provider", status


def _failure(mapper: _Mapper) -> StreamFailed:
    text = scrub(mapper.error_text())
    kind, status = mapper.error_kind(text)
    if "Not logged in" in text:
        return StreamFailed(f"Claude Code is not logged in (it said: {text}); {LOGIN_HINT}.", kind="auth", status=status)
    if kind == "auth":
        return StreamFailed(
            f"Claude Code's credential was refused (it said: {text}); {LOGIN_HINT}.", kind="auth", status=status
        )
    return StreamFailed(f"Claude Code reported an error: {text.rstrip('.')}.", kind=kind, status=status)


# --- the adapter -------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    terminal: Done | StreamFailed | None = None
    mapper: _Mapper = field(default_factory=_Mapper)
    started: bool = False  # the CLI printed at least one stream-json line for this turn
    process: _Process | None = None


class ClaudeCliAdapter:
    """Streams answers from the user's Claude Code CLI; tui-agent's history stays the source of truth.

    The CLI process of the most recent conversation is kept between turns (stream-json input): its next turn
    then starts answering without the CLI's start-up (about 0.8 s measured). Others are resumed with --resume.
    """

    def __init__(
        self,
        provider: "ProviderConfig",
        client: "httpx.AsyncClient",
        workdir: Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        sigterm_after: float = 2.0,
        sigkill_after: float = 5.0,
        exit_grace: float = 5.0,
        keep_alive: int = 1,
        idle_timeout: float = 600.0,
    ) -> None:
        self._provider = provider
        self._client = client  # unused: the CLI does its own HTTP; kept for the Adapter protocol
        self._workdir = workdir
        self._env = env  # None: the process environment at the time of each call
        self._sigterm_after = sigterm_after  # seconds after SIGINT
        self._sigkill_after = sigkill_after  # seconds after SIGINT
        self._exit_grace = exit_grace  # how long the CLI may take to exit once its work is done
        self._keep_alive = keep_alive  # conversations that keep a CLI process between turns (0: one per turn)
        self._idle_timeout = idle_timeout  # a kept process (≈190 MB) is stopped after this long unused
        self._sessions: dict[str, _Session] = {}  # in least-recently-used order
        self._stoppers: set[asyncio.Future] = set()
        self.last_api_key_source: str | None = None  # `apiKeySource` from the last init line ("none" = login/token)
        self.last_model: str | None = None  # the model the CLI resolved the alias to
        self.last_session_id: str | None = None

    async def list_models(self, credential: "Credential") -> list[ModelInfo]:
        """The CLI's model aliases; it has no model listing of its own."""
        return [ModelInfo(provider=self._provider.id, id=alias, display_name=name) for alias, name in MODEL_ALIASES]

    async def aclose(self) -> None:
        """Stop every CLI process kept between turns (sessions stay resumable)."""
        for session in self._sessions.values():
            self._release(session)
        if self._stoppers:
            await asyncio.gather(*list(self._stoppers), return_exceptions=True)

    async def stream(
        self, request: ChatRequest, credential: "Credential", refresh: RefreshCredential | None = None
    ) -> AsyncIterator[Event]:
        """Yield events for one answer; always ends with exactly one Done or StreamFailed (unless cancelled)."""
        env = os.environ if self._env is None else self._env
        location = find_claude_cli(self._provider, env)
        if location is None:
            yield StreamFailed(f"The Claude Code CLI was not found; {INSTALL_HINT}.", kind="provider")
            return
        if location.problem:
            yield StreamFailed(f"The Claude Code CLI cannot be used: {location.problem}.", kind="provider")
            return
        if any(message.images for message in request.messages):
            yield StreamFailed(IMAGES_REFUSED, kind="bad_request")
            return
        if not request.messages or request.messages[-1].role != "user":
            yield StreamFailed("Nothing to send to Claude Code: the conversation does not end with a user message.", kind="bad_request")
            return
        try:
            workdir = prepare_workdir(self._workdir)
        except OSError as exc:
            yield StreamFailed(f"Could not create Claude Code's working directory ({exc.strerror}); check the state directory.")
            return

        system = request.system or DEFAULT_SYSTEM
        child_env = claude_child_env(env)
        plan = self._plan(request, system, _env_key(child_env))
        while True:
            outcome = _Outcome()
            # aclosing: when our consumer stops early, the CLI is stopped before aclose() returns, not at GC time.
            async with contextlib.aclosing(self._turn(location.path, plan, request, system, workdir, child_env, outcome)) as run:
                async for event in run:
                    yield event
            retry = self._retry(plan, outcome, request)
            if retry is None:
                break
            plan = retry

        assert outcome.terminal is not None
        process = outcome.process
        conversation = request.conversation_id
        if isinstance(outcome.terminal, Done) and conversation and plan.persist:
            answer = ChatMessage("assistant", "".join(outcome.mapper.text))
            session_id = outcome.mapper.session_id or plan.session_id
            kept = process if process is not None and process.alive and self._keep_alive > 0 else None
            self._store(conversation, _Session(session_id, tuple(request.messages) + (answer,), kept))
        elif process is not None and process.alive:
            self._close_soon(process)
        yield outcome.terminal

    # -- planning -------------------------------------------------------------------------------------------

    def _plan(self, request: ChatRequest, system: str, env_key: int) -> _Plan:
        history, latest = request.messages[:-1], request.messages[-1].content
        # Popped, not read: a turn that fails or is cancelled leaves the conversation without a trusted session.
        session = self._sessions.pop(request.conversation_id, None) if request.conversation_id else None
        if session is None:
            return self._fresh_plan(request)
        if session.idle is not None:
            session.idle.cancel()
        process = session.process
        if session.seen != tuple(history):
            if process is not None:
                self._close_soon(process)
            return self._fresh_plan(request)
        wanted = (request.model, system, env_key, _login_generation)
        same = process is not None and (process.model, process.system, process.env_key, process.login) == wanted
        if process is not None and not (process.alive and same):
            # Another model, system prompt, environment or login (or a dead process): resume in a new process.
            self._close_soon(process)
            process = None
        return _Plan(session.session_id, resume=process is None, prompt=latest, persist=True, process=process)

    def _fresh_plan(self, request: ChatRequest) -> _Plan:
        history, latest = request.messages[:-1], request.messages[-1].content
        prompt = _transcript(list(history), latest) if history else latest
        return _Plan(str(uuid.uuid4()), resume=False, prompt=prompt, persist=request.conversation_id is not None)

    def _retry(self, plan: _Plan, outcome: _Outcome, request: ChatRequest) -> _Plan | None:
        if plan.process is not None and not outcome.started and isinstance(outcome.terminal, StreamFailed):
            # The kept process had gone away between turns; the session itself is fine.
            log.info("claude-cli: kept process for session %s was gone; resuming in a new one", plan.session_id)
            return _Plan(plan.session_id, resume=True, prompt=plan.prompt, persist=plan.persist)
        if plan.resume and not outcome.mapper.text and _session_is_gone(outcome):
            # The CLI lost the session (another config dir, cleaned up): replay the history into a new one.
            log.info("claude-cli: session %s not found; starting a new one with the transcript", plan.session_id)
            return self._fresh_plan(request)
        return None

    def _args(self, plan: _Plan, request: ChatRequest, system: str) -> list[str]:
        args = [
            "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
            # User turns go as JSON lines on stdin: no ARG_MAX limit, no prompt read as a flag, and the
            # process can stay for the next turn.
            "--input-format", "stream-json",
            f"--model={request.model}",
            f"--system-prompt={system}",
            # A chat back-end, not an agent: no tools, no MCP servers, no project/local settings (docs/auth.md §B.5).
            "--tools", "",
            "--strict-mcp-config",
            "--setting-sources", "user",
            "--disable-slash-commands",
        ]
        if plan.resume:
            args.append(f"--resume={plan.session_id}")
        else:
            args.append(f"--session-id={plan.session_id}")
            if not plan.persist:
                args.append("--no-session-persistence")
        return args

    # -- one turn -------------------------------------------------------------------------------------------

    async def _turn(
        self, path: Path, plan: _Plan, request: ChatRequest, system: str, workdir: Path, env: dict[str, str],
        outcome: _Outcome,
    ) -> AsyncIterator[Event]:
        """One turn in a new or kept process; yields deltas and usage, leaves the terminal event in `outcome`."""
        keep = self._keep_alive > 0 and plan.persist
        process = plan.process or await self._spawn(path, plan, request, system, workdir, env, outcome)
        if process is None:
            return
        outcome.process = process
        mapper = outcome.mapper
        proc = process.proc
        process.stderr_tail.clear()
        finished = False
        try:
            await _send_turn(proc, plan.prompt, last=not keep)
            assert proc.stdout is not None
            while mapper.result is None:
                try:
                    raw = await proc.stdout.readline()
                except ValueError:  # a line beyond _LINE_LIMIT: not something the CLI sends
                    log.warning("claude-cli: an over-long stdout line was dropped")
                    continue
                if not raw:
                    break
                obj = _parse_line(raw)
                if obj is None:
                    continue
                outcome.started = True
                events = mapper.feed(obj)
                if mapper.api_key_source is not None:
                    self.last_api_key_source = mapper.api_key_source
                if mapper.model:
                    self.last_model = mapper.model
                for event in events:
                    yield event
            if mapper.result is None or mapper.result.get("is_error") or not keep:
                returncode = await self._wait_exit(process)  # the process ends with this turn
            else:
                returncode = 0  # kept for the next turn
            self.last_session_id = mapper.session_id
            if mapper.result is not None and not mapper.result.get("is_error"):
                usage = mapper.usage()
                if usage is not None:
                    yield usage
            outcome.terminal = _terminal(mapper, returncode, list(process.stderr_tail), path)
            finished = True
        finally:
            if not finished and process.alive:
                # Cancelled or closed mid-turn. Shielded so a second cancel cannot leave the CLI running.
                stopper = self._track(self._stop(proc))
                try:
                    await asyncio.shield(stopper)
                except asyncio.CancelledError:
                    pass
            if not process.alive and not process.stderr_task.done():
                process.stderr_task.cancel()

    async def _spawn(
        self, path: Path, plan: _Plan, request: ChatRequest, system: str, workdir: Path, env: dict[str, str],
        outcome: _Outcome,
    ) -> _Process | None:
        try:
            proc = await asyncio.create_subprocess_exec(
                str(path), *self._args(plan, request, system),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                cwd=str(workdir), env=env, limit=_LINE_LIMIT,
                start_new_session=os.name != "nt",  # its own process group: a cancel reaches the CLI's children too
            )
        except OSError as exc:
            outcome.terminal = StreamFailed(
                f"Could not start the Claude Code CLI at {path} ({exc.strerror or exc}); {INSTALL_HINT}.", kind="provider"
            )
            return None
        log.info("claude-cli: started pid %s (%s %s)", proc.pid, "resume" if plan.resume else "session", plan.session_id)
        tail: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        return _Process(proc, tail, asyncio.ensure_future(_collect(proc.stderr, tail)), request.model, system, _env_key(env), _login_generation)

    # -- process lifetime -----------------------------------------------------------------------------------

    async def _wait_exit(self, process: _Process) -> int:
        """Let the CLI finish (stdin closed); stop it if it lingers. Returns its exit status."""
        proc = process.proc
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), self._exit_grace)
        except asyncio.TimeoutError:
            log.warning("claude-cli: pid %s did not exit; stopping it", proc.pid)
            await self._stop(proc)
        await _finish(process.stderr_task)
        return proc.returncode if proc.returncode is not None else -1

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        """SIGINT to the process group, SIGTERM after `sigterm_after`, SIGKILL after `sigkill_after` (from SIGINT)."""
        ladder = (
            (signal.SIGINT, self._sigterm_after),
            (signal.SIGTERM, max(0.0, self._sigkill_after - self._sigterm_after)),
            (getattr(signal, "SIGKILL", signal.SIGTERM), None),
        )
        for sig, wait in ladder:
            if proc.returncode is not None:
                return
            log.info("claude-cli: sending %s to pid %s", sig.name, proc.pid)
            _signal_group(proc, sig)
            try:
                await asyncio.wait_for(proc.wait(), wait)
                return
            except asyncio.TimeoutError:
                continue

    def _track(self, coro) -> asyncio.Future:
        future = asyncio.ensure_future(coro)
        self._stoppers.add(future)
        future.add_done_callback(self._stoppers.discard)
        return future

    def _close_soon(self, process: _Process) -> None:
        """End a kept process in the background: EOF on stdin, then the signal ladder if it lingers."""
        if process.alive:
            self._track(self._wait_exit(process))

    def _store(self, conversation: str, session: _Session) -> None:
        self._sessions[conversation] = session
        if session.process is not None:
            loop = asyncio.get_running_loop()
            session.idle = loop.call_later(self._idle_timeout, self._expire, conversation, session)
        kept = [s for s in self._sessions.values() if s.process is not None]
        for old in kept[: max(0, len(kept) - self._keep_alive)]:  # least recently used first
            self._release(old)

    def _release(self, session: _Session) -> None:
        if session.idle is not None:
            session.idle.cancel()
            session.idle = None
        if session.process is not None:
            self._close_soon(session.process)
            session.process = None  # the session stays valid: its next turn resumes it

    def _expire(self, conversation: str, session: _Session) -> None:
        if self._sessions.get(conversation) is session:
            self._release(session)


def _env_key(env: Mapping[str, str]) -> int:
    # A hash kept in memory only: it tells environments apart without holding on to a token's value.
    return hash(tuple(sorted(env.items())))


def _session_is_gone(outcome: _Outcome) -> bool:
    text = (outcome.mapper.error_text() if outcome.mapper.result else "").lower()
    return isinstance(outcome.terminal, StreamFailed) and "no conversation found" in text


def _terminal(mapper: _Mapper, returncode: int, stderr_tail: list[str], path: Path) -> Done | StreamFailed:
    if mapper.result is not None:
        if mapper.result.get("is_error"):
            return _failure(mapper)  # the CLI exits non-zero on purpose after an error result: its words matter
        return Done(stop_reason=mapper.result.get("stop_reason"))
    last = scrub(stderr_tail[-1].strip()) if stderr_tail else ""
    if returncode != 0:
        said = f": {last}" if last else " without saying why"
        if "Not logged in" in last:
            return StreamFailed(f"Claude Code is not logged in ({last}); {LOGIN_HINT}.", kind="auth")
        return StreamFailed(f"The Claude Code CLI at {path} exited with status {returncode}{said}.", kind="provider")
    return StreamFailed(
        "The Claude Code CLI ended without finishing its answer" + (f" ({last})" if last else "") + "; try again.",
        kind="interrupted",
    )


def _parse_line(raw: bytes) -> dict[str, Any] | None:
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        log.warning("claude-cli: skipped a non-JSON stdout line: %s", scrub(text[:200]))
        return None
    return obj if isinstance(obj, dict) else None


async def _send_turn(proc: asyncio.subprocess.Process, prompt: str, *, last: bool) -> None:
    """Write one user turn as a stream-json line (the official SDK's shape); close stdin when it is the last."""
    assert proc.stdin is not None
    line = {"type": "user", "message": {"role": "user", "content": prompt}, "parent_tool_use_id": None, "session_id": "default"}
    try:
        proc.stdin.write((json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8"))
        await proc.stdin.drain()
        if last:
            proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the CLI has exited; its exit status and stderr tell why


async def _collect(stream: asyncio.StreamReader | None, tail: collections.deque[str]) -> None:
    if stream is None:
        return
    while True:
        try:
            raw = await stream.readline()
        except ValueError:
            continue
        if not raw:
            return
        line = raw.decode("utf-8", errors="replace").rstrip()
        if line:
            tail.append(line)
            log.debug("claude-cli stderr: %s", scrub(line))


async def _finish(task: asyncio.Task) -> None:
    try:
        await asyncio.wait_for(task, 1.0)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        pass


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    try:
        if os.name == "nt":  # no process groups to signal: best effort
            proc.terminate()
        else:
            os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
