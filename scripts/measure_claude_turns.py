"""Measures how soon the second turn of a conversation starts answering through the claude-code adapter, with the
CLI process kept between turns (stream-json input) and with a new `--resume` process per turn.

Needs the real CLI (TUI_AGENT_REAL_CLAUDE or `claude` on PATH) and no account: a loopback fake Anthropic server
answers. Run: .venv/bin/python scripts/measure_claude_turns.py [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from tests.fakes import FakeAnthropic  # noqa: E402
from tui_agent.core.credentials import NO_CREDENTIAL  # noqa: E402
from tui_agent.config.schema import ProviderConfig  # noqa: E402
from tui_agent.core.chat import ChatMessage, ChatRequest  # noqa: E402
from tui_agent.providers.claude_cli import ClaudeCliAdapter  # noqa: E402
from tui_agent.core.events import TextDelta  # noqa: E402


async def first_delta_seconds(adapter: ClaudeCliAdapter, request: ChatRequest) -> float:
    start = time.perf_counter()
    first = None
    async for event in adapter.stream(request, NO_CREDENTIAL):
        if first is None and isinstance(event, TextDelta):
            first = time.perf_counter() - start
    assert first is not None, "no answer"
    return first


async def main(rounds: int) -> None:
    cli = os.environ.get("TUI_AGENT_REAL_CLAUDE") or shutil.which("claude")
    if not cli:
        sys.exit("no Claude Code CLI: set TUI_AGENT_REAL_CLAUDE")
    with FakeAnthropic() as fake, tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": os.environ["PATH"], "HOME": tmp, "CLAUDE_CONFIG_DIR": f"{tmp}/.claude",
               "ANTHROPIC_BASE_URL": fake.base_url, "CLAUDE_CODE_OAUTH_TOKEN": "dummy",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "NO_PROXY": "127.0.0.1"}
        provider = ProviderConfig(id="claude-code", kind="claude-cli", auth=["claude-cli"], cli_path=cli)
        async with httpx.AsyncClient() as client:
            for keep in (1, 0):
                firsts, seconds = [], []
                for n in range(rounds):
                    adapter = ClaudeCliAdapter(provider, client, Path(tmp) / "wd", env=env, keep_alive=keep)
                    conv = f"{keep}-{n}"
                    ask = lambda *t: ChatRequest(model="sonnet", conversation_id=conv,  # noqa: E731
                                                 messages=[ChatMessage(("user", "assistant")[i % 2], x) for i, x in enumerate(t)])
                    firsts.append(await first_delta_seconds(adapter, ask("Say hello")))
                    seconds.append(await first_delta_seconds(adapter, ask("Say hello", "Hello from the fake.", "Again")))
                    await adapter.aclose()
                label = "kept process " if keep else "--resume     "
                print(f"{label} first turn {statistics.median(firsts):.3f} s, second turn {statistics.median(seconds):.3f} s "
                      f"(median time to first text delta over {rounds} rounds)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
