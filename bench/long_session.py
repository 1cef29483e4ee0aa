"""Benchmark: several long answers in one conversation: does the fifth cost what the first did?

One headless chat app (100×40) sends the same prompt N times (default 4) to a loopback OpenAI-compatible server
that streams the 94 KB answer of bench/streaming.py each time (20-character chunks, at full speed or `--delay`
seconds apart). Each turn is timed from Enter until the answer's worker has ended and the screen is painted; the
user then pauses 1 s, as a reader would. At the end: resident memory (VmRSS), and the widgets in the screen.

Every answer's Markdown is one widget per block (≈ 1,300 widgets for this answer). An answer whose old blocks stay
in the screen makes every later layout arrange them again, so each later answer costs more; folding them away
(docs/answer-folding.md) keeps the cost of a turn flat.

Run from the repository root:  .venv/bin/python bench/long_session.py [--turns 4] [--runs 2] [--delay 0]
To compare with another tree, copy `bench/` and `tests/` beside that tree's `tui_agent/` and run it from there
(`bench/_common.py` puts the directory above `bench/` first on the import path). Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time

from _common import ROOT, SIZE, answer_text, chunks_of, loopback_answer, machine, make_app, median, rss_mb, started, \
    table, temp_home
from streaming import paint


async def _session(turns: int, delay: float) -> dict:
    from tui_agent.ui.widgets.message import AssistantMessage

    gc.disable()  # the collector as `tui-agent` sets it up: off for start-up, then the app's pacer (ui/gc_pacing.py)

    with loopback_answer(chunks_of(answer_text()), delay, repeat=turns) as base_url:
        app = make_app(temp_home(), base_url)
        async with app.run_test(size=SIZE) as pilot:
            await started(app, pilot)
            screen = app.screen
            times = []
            for _ in range(turns):
                screen.prompt.insert("go")
                previous = screen._worker
                start = time.perf_counter()
                await pilot.press("enter")
                while screen._worker is None or screen._worker is previous:  # this turn's worker
                    await asyncio.sleep(0.002)
                while not screen._worker.is_finished:
                    await asyncio.sleep(0.002)
                paint(app)
                times.append(time.perf_counter() - start)
                await asyncio.sleep(1.0)  # the reader pauses
                await pilot.pause()
            answers = [w for w in screen.conversation.children if isinstance(w, AssistantMessage)]
            assert len(answers) == turns and all(len(a.text) == len(answer_text()) for a in answers)
            gc.collect()
            return {"times": times, "rss": rss_mb(), "widgets": sum(1 for _ in screen.walk_children())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between chunks (0: full speed)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_session(args.turns, args.delay))))
        return
    runs = []
    for _ in range(args.runs):  # a fresh process per run: nothing shared
        proc = subprocess.run([sys.executable, __file__, "--child", "--turns", str(args.turns), "--delay", str(args.delay)],
                              capture_output=True, text=True, cwd=ROOT, timeout=1200)
        if proc.returncode != 0:
            raise RuntimeError(f"the session failed:\n{proc.stderr[-2000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    rows = [[f"answer {n + 1}", median(r["times"][n] for r in runs) * 1000,
             median(r["times"][n] / r["times"][0] for r in runs)] for n in range(args.turns)]
    print(f"{machine()}; headless {SIZE[0]}×{SIZE[1]}; {args.turns} answers of {len(answer_text()):,} chars, "
          f"chunk gap {args.delay} s; median of {args.runs} runs (one process each)\n")
    print(table(["turn", "Enter → answer drawn, ms", "× answer 1"], rows))
    print(f"\nat the end: RSS {median(r['rss'] for r in runs):.1f} MB, "
          f"{median(r['widgets'] for r in runs):.0f} widgets in the screen")


if __name__ == "__main__":
    main()
