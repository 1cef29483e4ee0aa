"""The memory benchmark's floor measures what it says: `bench/memory.py`'s "libraries" case, run as the bench runs it
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
print(json.dumps({**result, "ours": sorted(name for name in sys.modules if name.startswith("tui_agent"))}))
"""


def test_the_libraries_floor_shows_a_streamed_answer_without_loading_tui_agent():
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["ours"] == []  # the floor holds the libraries alone
    assert result["rss"] > 0 and result["peak"] >= result["rss"] - 1
