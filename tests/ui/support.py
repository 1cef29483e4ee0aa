"""Shared by the Pilot and snapshot tests: an isolated config, a scripted adapter behind the real service, waits."""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable, Sequence

from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.core.chat import ChatRequest
from tui_agent.core.events import Done, Event
from tui_agent.service.agent import AgentService
from tui_agent.ui.app import TuiAgentApp

SIZE = (100, 30)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released), so local-server probes fail at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_text(*, default: str | None = "fake", extra: str = "", ollama_url: str | None = None) -> str:
    """Profiles: `fake` on the scripted provider, `claude` on anthropic; local servers point at a closed port."""
    port = closed_port()
    ollama_url = ollama_url or f"http://127.0.0.1:{port}"
    head = f'default_profile = "{default}"\n' if default else ""
    return head + f"""
[profiles.fake]
provider = "scripted"
model = "scripted-1"

[profiles.claude]
provider = "anthropic"
model = "claude-test-1"

[providers.scripted]
display_name = "Scripted"
kind = "openai-chat"
base_url = "http://127.0.0.1:{port}/v1"
auth = ["none"]

[providers.ollama]
base_url = "{ollama_url}"

[providers.lmstudio]
base_url = "http://127.0.0.1:{port}/v1"
""" + extra


class Hold:
    """A pause point in a script: the stream waits here until `release()` (or until it is cancelled)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def release(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


Step = Event | Hold


class ScriptedAdapter:
    """Implements the Adapter protocol from scripts of events; records requests and whether a stream was cut."""

    def __init__(self, *scripts: Sequence[Step]) -> None:
        self.scripts: deque[Sequence[Step]] = deque(scripts)
        self.requests: list[ChatRequest] = []
        self.cancelled = 0  # streams the consumer stopped before their end

    def add(self, *scripts: Sequence[Step]) -> None:
        self.scripts.extend(scripts)

    async def stream(self, request: ChatRequest, credential, refresh=None) -> AsyncIterator[Event]:
        self.requests.append(request)
        script = self.scripts.popleft() if self.scripts else [Done("end_turn")]
        finished = False
        try:
            for step in script:
                if isinstance(step, Hold):
                    await step.wait()
                else:
                    yield step
            finished = True
        finally:
            if not finished:
                self.cancelled += 1

    async def list_models(self, credential):
        return []


def make_app(
    home: Path,
    *,
    scripts: Iterable[Sequence[Step]] = (),
    default: str | None = "fake",
    extra: str = "",
    env: dict[str, str] | None = None,
    model: str | None = None,
    ollama_url: str | None = None,
    probe: bool = False,
) -> tuple[TuiAgentApp, ScriptedAdapter]:
    """The real app over the real AgentService, whose `scripted` provider answers from `scripts`."""
    (home / "config.toml").write_text(config_text(default=default, extra=extra, ollama_url=ollama_url), encoding="utf-8")
    base_env = {
        "TUI_AGENT_HOME": str(home), "TUI_AGENT_KEYRING": "file", "HOME": str(home),
        "TUI_AGENT_CLAUDE_PATH": str(home / "no-claude"),  # an explicit path that does not exist: no real CLI is run
    }
    paths = Paths.resolve(env=base_env)
    config = load_config(paths.config_file)
    adapter = ScriptedAdapter(*scripts)
    service = AgentService(
        config, paths, env={**base_env, **(env or {})},
        adapter_factory=lambda provider, _client: adapter if provider.id == "scripted" else None,
    )
    # The side panel's periodic probes are off unless a test asks: pictures and waits stay deterministic.
    app = TuiAgentApp(config=config, paths=paths, model=model, service=service, status_probes=probe)
    return app, adapter


async def wait_until(pilot, predicate: Callable[[], bool], what: str = "the condition", tries: int = 500) -> None:
    """Let the app run until `predicate()` holds; fails naming `what` (a guard, not a timing assertion)."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def no_blink(app: TuiAgentApp) -> None:
    """Cursor blink runs on wall-clock time; snapshots and exact renders need it off."""
    from textual.widgets import TextArea

    for area in app.screen.query(TextArea):
        area.cursor_blink = False


def screen_lines(app: TuiAgentApp) -> list[str]:
    """The screen as the user sees it now, one string per terminal row (what a picture would show)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
