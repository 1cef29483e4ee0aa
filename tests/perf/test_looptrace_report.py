"""bench/looptrace_report.py reads an `echo_pty.py --json` result beside a bench/looptrace log: where each key waited,
what kept the loop busy, and the timeline of the slowest keys (a synthetic run: no app, no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_report_splits_each_wait_and_shows_what_ran_around_the_slowest_key(tmp_path):
    keys = [  # written at 100.0 s and 100.2 s; echoed after 30 and 150 ms
        {"char": "a", "phase": "stream", "at": 0.1, "latency": 0.030, "written": 100.0},
        {"char": "b", "phase": "stream", "at": 0.3, "latency": 0.150, "written": 100.2},
        {"char": "c", "phase": "after", "at": 0.5, "latency": 0.010, "written": 100.4},
    ]
    (tmp_path / "echo.json").write_text(json.dumps({"results": {"paced": [{"keys": keys}]}}))
    (tmp_path / "trace.111").write_text("GC 99.0000 1.0 gen0 collected=0\n")  # another process's small log
    (tmp_path / "trace.222").write_text("\n".join([
        "KEY 99.9000 *", "KEY 99.9100 *",  # "go", typed before the timed keys (characters are never logged)
        "KEY 100.0100 *", "FRAME 100.0250 1.0 ChopsUpdate",
        "LAYOUT 100.1900 80.0 widgets=120", "CB 100.1900 80.5 task:Timer._run_timer",
        "KEY 100.2650 ctrl+u",  # a key that types nothing is not one of the timed ones
        "KEY 100.2700 *", "FRAME 100.3450 1.2 ChopsUpdate",
        "KEY 100.4020 *",
    ]) + "\n")
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "looptrace_report.py"), str(tmp_path / "echo.json"), "paced",
         str(tmp_path / "trace"), "--over-ms", "100"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.startswith("2 keys while streaming")  # the key typed after the answer is not counted
    assert "handled by the app: p50 70, p95 70 ms" in out  # b: 100.2 → 100.27 (a: 10 ms, the lower half)
    assert "1 layouts, 0.1 s, mean 80 ms" in out
    assert "key 'b': 150 ms (handled after 70)" in out
    assert "LAYOUT 80.0 widgets=120" in out and "key 'a'" not in out  # only keys over --over-ms get a timeline
