"""The memory benchmark's cases measure what they say: `bench/memory.py`'s "libraries" case, run as the bench runs it
(a fresh interpreter), streams the 2 KB answer from the loopback server through httpx, saves it in SQLite and shows
it in Textual's Markdown widget (the case checks the answer arrived whole and its code fence is on screen), with
none of tui-agent's code loaded. Nothing is compared with a bound: memory figures belong in bench/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import asyncio, json, sys
sys.path.insert(0, "bench")
import memory
result = asyncio.run(memory._child("libraries"))
print(json.dumps({**result, "ours": sorted(name for name in sys.modules if name.startswith("tui_agent")),
                  "cli": [name for name in ("click", "httpx._main") if sys.modules.get(name) is not None]}))
"""

_LISTED_PROBE = """
import asyncio, json, sys
sys.path.insert(0, "bench")
import memory
from tui_agent.config.model_facts import table_facts
logged_in, log_in = [], memory.log_in
memory.log_in = lambda home, provider: (log_in(home, provider), logged_in.append(provider))  # raises if it fails
result = asyncio.run(memory._child("history-listed"))
print(json.dumps({**result, "http": sys.modules.get("httpx") is not None, "listed": table_facts(*memory.LISTED) is not None,
                  "logged_in": logged_in}))
"""


def test_the_libraries_floor_shows_a_streamed_answer_without_loading_tui_agent():
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["ours"] == []  # the floor holds the libraries alone
    assert result["cli"] == []  # nor httpx's command-line client, which tui-agent keeps out too
    assert result["rss"] > 0 and result["peak"] >= result["rss"] - 1


def test_the_listed_model_case_opens_the_conversation_with_a_saved_key_and_no_http_code():
    """"history-listed" measures a start that asks the provider nothing because the model is in the shipped table,
    not because no key was saved (without one, nothing would be asked either): the case logs in first."""
    probe = subprocess.run([sys.executable, "-c", _LISTED_PROBE], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert probe.returncode == 0, probe.stderr[-2000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["logged_in"] == ["openai"] and result["listed"] and not result["http"]
