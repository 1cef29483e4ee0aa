"""Benchmark: what the screen's layouts and the garbage collector cost while the 94 KB answer streams and keys come.

One headless chat app per run (a fresh process each) streams the answer of bench/streaming.py at full speed while
a key is typed every 250 ms (its echo probe), with the collector set up as `tui-agent` sets it up: paused for
start-up, then the app's pacer (ui/gc_pacing.py) from the first frame. Reported: the screen's layouts (count, total
and mean time in `Screen._refresh_layout`), the collections of each generation and their time (from
`gc.callbacks`; generation 2 are the pacer's own full passes, run between frames), and how much collection time
fell inside layouts, where a key typed then waits for it too.

A key waits for whatever the event loop is running when it arrives; at full speed that is mostly layouts, so their
length is what the echo bench (bench/echo_pty.py) sees. This bench explains its figures; it is not a timed test.

Run from the repository root:  .venv/bin/python bench/layout_gc.py [--runs 3]
(another tree: copy `bench/` and `tests/` beside its `tui_agent/` and run it from there, as for the others).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time

from _common import ROOT, SIZE, answer_text, machine, median, table


async def _child() -> dict:
    from textual.screen import Screen

    import streaming

    layouts: list[float] = []
    inside = {"on": False, "gc": 0.0}
    collections = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
    started = [0.0]

    def on_collection(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = time.perf_counter() - started[0]
        collections[info["generation"]][0] += 1
        collections[info["generation"]][1] += took
        if inside["on"]:
            inside["gc"] += took

    refresh_layout = Screen._refresh_layout

    def timed_layout(self, *args, **kwargs):
        inside["on"] = True
        start = time.perf_counter()
        try:
            return refresh_layout(self, *args, **kwargs)
        finally:
            inside["on"] = False
            layouts.append(time.perf_counter() - start)

    Screen._refresh_layout = timed_layout
    gc.callbacks.append(on_collection)
    gc.disable()  # as `tui-agent` does for start-up: the app freezes start-up's objects and paces collections
    result = await streaming.stream_into_chat(answer_text(), 0.0, echo=True, check=False)
    gc.callbacks.remove(on_collection)
    return {"layouts": layouts, "gc_in_layouts": inside["gc"],
            "collections": {gen: count for gen, (count, _) in collections.items()},
            "collection_s": {gen: took for gen, (_, took) in collections.items()}, "keys": len(result["echo"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child())))
        return
    runs = []
    for _ in range(args.runs):
        proc = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, cwd=ROOT,
                              timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"the run failed:\n{proc.stderr[-2000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    def each(value) -> str:
        return ", ".join(f"{value(r):.0f}" for r in runs)

    rows = [
        ["layouts", median(len(r["layouts"]) for r in runs), each(lambda r: len(r["layouts"]))],
        ["layouts, total ms", median(sum(r["layouts"]) * 1000 for r in runs), each(lambda r: sum(r["layouts"]) * 1000)],
        ["layout, mean ms", median(sum(r["layouts"]) / len(r["layouts"]) * 1000 for r in runs),
         each(lambda r: sum(r["layouts"]) / len(r["layouts"]) * 1000)],
        ["collection inside layouts, ms", median(r["gc_in_layouts"] * 1000 for r in runs),
         each(lambda r: r["gc_in_layouts"] * 1000)],
    ]
    for gen in ("0", "1", "2"):
        rows.append([f"generation {gen} collections", median(r["collections"][gen] for r in runs),
                     each(lambda r: r["collections"][gen])])
        rows.append([f"… their time, ms", median(r["collection_s"][gen] * 1000 for r in runs),
                     each(lambda r: r["collection_s"][gen] * 1000)])
    print(f"{machine()}; headless {SIZE[0]}×{SIZE[1]}; the 94 KB answer at full speed, a key every 250 ms; "
          f"median of {args.runs} runs (one process each)\n")
    print(table(["while the answer streams", "median", "each run"], rows))


if __name__ == "__main__":
    main()
