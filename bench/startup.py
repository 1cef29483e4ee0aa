"""Benchmark: process start to the chat screen's first frame, in a pseudo-terminal, against a bare Textual app.

Each run starts a fresh interpreter on a pty (100×40) and reads its output until the header text appears
(escape sequences stripped): `tui-agent` with a default profile (header shows the nickname), the same right
after config.toml was edited (the start-up cache removed before each run, so the config is validated),
`tui-agent` on first run (no default profile: the welcome), and the baseline `bench/_bare_app.py` (Header, a Static line, a
Footer) launched the same way. Runs are interleaved so machine noise hits all alike; medians are reported.

Run from the repository root:  .venv/bin/python bench/startup.py [--runs 7] [--shuffle] [--compare-tree DIR]
Target (issue 23; issue 12 had 1.5): chat / bare ≤ 1.2, first run too. Not a test: it prints a table and never fails.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import random
import re
import select
import struct
import subprocess
import sys
import termios
import time

from _common import NICK, ROOT, bench_env, machine, median, table, temp_home, write_config

_ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=$ ]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|[@-Z\\-_])")


def time_to_text(argv: list[str], env: dict[str, str], needle: str, timeout: float = 30.0, cwd=ROOT, before=None) -> float:
    """Seconds from starting `argv` on a new pty until `needle` is drawn; the process is killed afterwards.
    `before()`, when given, runs first (outside the timing)."""
    if before is not None:
        before()
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {**env, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True)
    os.close(slave)
    seen = b""
    want = needle.encode()
    try:
        while True:
            left = timeout - (time.perf_counter() - start)
            if left <= 0:
                raise RuntimeError(f"{argv[-1]} did not draw {needle!r} within {timeout:.0f} s; output: {seen[-400:]!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # the child exited (EIO on Linux)
                raise RuntimeError(f"{argv[-1]} exited before drawing {needle!r}; output: {seen[-400:]!r}") from None
            seen += data
            if want in _ESCAPES.sub(b"", seen):
                return time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shuffle", action="store_true", help="run the cases of each round in a random (seeded) order: "
                        "with a fixed order, a case always follows the same one (the validating start, say)")
    parser.add_argument("--compare-tree", metavar="DIR", help="also time `python -m tui_agent` run from another checkout "
                        "(e.g. `git archive OLD tui_agent | tar -x -C DIR`): before/after in one run")
    args = parser.parse_args()
    python = sys.executable
    home, first_home = temp_home(), temp_home()
    write_config(home)
    write_config(first_home, default=False)
    cases = [
        ("bare Textual app (header, static, footer)", [python, "bench/_bare_app.py"], bench_env(home), "benchbare"),
        ("tui-agent, default profile", [python, "-m", "tui_agent"], bench_env(home), NICK),
        ("tui-agent, first run (welcome)", [python, "-m", "tui_agent"], bench_env(first_home), "no model chosen"),
        ("python -c pass (interpreter alone)", [python, "-c", "import time; print('interp' 'reter'); time.sleep(5)"],
         bench_env(home), "interpreter"),
    ]
    cases = [(*case, ROOT, None) for case in cases]
    # The first start after config.toml was edited: no start-up cache, so the config is validated (pydantic).
    cold_cache = home / "state" / "config-cache.json"
    cases.insert(2, ("tui-agent, default profile, config just edited", [python, "-m", "tui_agent"], bench_env(home), NICK,
                     ROOT, lambda: cold_cache.unlink(missing_ok=True)))
    if args.compare_tree:
        # Its own home: a start-up cache is valid only for the code that wrote it, so in a shared home the two
        # trees would throw each other's away and both would be timed validating the config.
        compare_home, compare_first_home = temp_home(), temp_home()
        write_config(compare_home)
        write_config(compare_first_home, default=False)
        cases.append((f"tui-agent at {args.compare_tree}, default profile", [python, "-m", "tui_agent"],
                      bench_env(compare_home), NICK, args.compare_tree, None))
        cases.append((f"tui-agent at {args.compare_tree}, first run", [python, "-m", "tui_agent"], bench_env(compare_first_home),
                      "no model chosen", args.compare_tree, None))
    times: dict[str, list[float]] = {name: [] for name, *_ in cases}
    for name, argv, env, needle, cwd, before in cases:  # warm-up: page cache, .pyc files
        time_to_text(argv, env, needle, cwd=cwd, before=before)
    order = random.Random(7)
    for _ in range(args.runs):
        for name, argv, env, needle, cwd, before in (order.sample(cases, len(cases)) if args.shuffle else cases):
            times[name].append(time_to_text(argv, env, needle, cwd=cwd, before=before))
    base = median(times[cases[0][0]])
    rows = [[name, median(t) * 1000, min(t) * 1000, max(t) * 1000, median(t) / base] for name, t in times.items()]
    print(f"{machine()}; pty 100×40; median of {args.runs} interleaved runs{' (shuffled)' if args.shuffle else ''}\n")
    print(table(["process start → first frame", "median ms", "min ms", "max ms", "× bare"], rows))
    chat = median(times[cases[1][0]]) / base
    first = median(times[cases[3][0]]) / base
    verdict = "met" if max(chat, first) <= 1.2 else "NOT met"
    print(f"\nchat/bare = {chat:.2f}, first run/bare = {first:.2f} (issue 23 target ≤ 1.2: {verdict})")


if __name__ == "__main__":
    main()
