"""Benchmark: a ~94 KB Markdown answer streamed in 20-character chunks into the chat screen, against a one-shot
`Markdown.update()` of the same text in the same run.

The answer (prose, lists, a table, a 300-line code fence in the middle) comes from the loopback FakeOpenAI
over the real OpenAI-chat adapter and service, at full speed and at 500 chunks/s (a 2 ms gap per chunk on the
server, which runs in its own process so it does not share the app's GIL). Both sides run headless
(`App.run_test`, 100×40). "Final on screen" means: the answer's worker has finished its final render and the
screen has been laid out and painted after that (the same paint ends the one-shot timing). While the 500 chunks/s stream
runs, a key is sent the way the terminal driver sends it every 250 ms and the time until the prompt's
TextArea holds it is the echo latency. That stops the clock when the key is in the prompt, not when it is
painted: keys also wait for the next frame, which a busy loop delays, so this probe under-reports what users
feel; bench/echo_pty.py times the real app black-box on a pty. After each stream the answer's blocks are
compared, rendered line by line, with a one-shot render of the same text mounted in the same conversation (it must be identical).

Run from the repository root:  .venv/bin/python bench/streaming.py [--runs 3] [--size 94000]
Targets (issue 12): full speed ≤ 3× one-shot; at 500 chunks/s final ≤ 0.5 s after the last chunk; echo < 100 ms.
Issue 23 adds the echo with nothing streaming as a baseline (the same probe on a settled screen) and the echo
while the answer comes at full speed (a run of its own: typing delays the writes); the echo target is then p95
< 50 ms and ≤ 4× the idle p95, max < 150 ms, at both speeds.
Not a test: it prints a table and never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from _common import (SIZE, answer_text, chunks_of, loopback_answer, machine, make_app, median, percentiles, rss_mb, started,
                     table, temp_home)

from textual import events
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Markdown

from tui_agent.ui.widgets.message import AssistantMessage


def rendered_lines(markdown: Markdown) -> list[str]:
    """What `markdown` puts on screen: every leaf widget under it, rendered at its laid-out size, line by line,
    each line as its text and the style of every segment (so a colour or bold difference counts too)."""
    lines: list[str] = []
    for widget in markdown.walk_children(with_self=False):
        if widget.children or not widget.display:
            continue
        width, height = widget.size
        lines.append(f"<{width}×{height} at {widget.region.x - markdown.region.x},{widget.region.y - markdown.region.y}>")
        for strip in widget.render_lines(Region(0, 0, width, height)):
            lines.append(strip.text.rstrip() + "  " + " ".join(str(seg.style) for seg in strip if seg.text.strip()))
    return lines


def paint(app: App) -> None:
    """Lay out and paint whatever is pending now, as the screen's update timer would on its next tick.

    (Not `pilot.pause()`: that also waits until the process has been idle for a while, up to a second.)"""
    app.screen._on_timer_update()


class _OneShot(App[None]):
    """The baseline: one Markdown in a scroll view, filled by a single update()."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown()


async def one_shot(text: str) -> float:
    app = _OneShot()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        markdown = app.query_one(Markdown)
        start = time.perf_counter()
        await markdown.update(text)
        paint(app)
        return time.perf_counter() - start


class _Arrivals:
    """Records when the chat screen receives the first and last text delta (wraps AssistantMessage.add_text)."""

    def __init__(self) -> None:
        self.first = self.last = 0.0
        self.count = 0
        original = AssistantMessage.add_text
        arrivals = self

        def add_text(message: AssistantMessage, text: str) -> None:
            now = time.perf_counter()
            if not arrivals.count:
                arrivals.first = now
            arrivals.last = now
            arrivals.count += 1
            original(message, text)

        AssistantMessage.add_text = add_text  # type: ignore[method-assign]
        self._original = original

    def close(self) -> None:
        AssistantMessage.add_text = self._original  # type: ignore[method-assign]


async def _echo_probe(app, until: asyncio.Event, latencies: list[float]) -> None:
    """Every 250 ms, send 'x' as the terminal driver would and time until the prompt's text holds it."""
    prompt = app.screen.prompt
    while not until.is_set():
        await asyncio.sleep(0.25)
        if until.is_set():
            return
        before = prompt.text.count("x")
        key = events.Key("x", "x")
        key.set_sender(app)
        start = time.perf_counter()
        app._driver.send_message(key)
        while prompt.text.count("x") == before:
            await asyncio.sleep(0.001)
        latencies.append(time.perf_counter() - start)


async def idle_echo(keys: int = 12) -> list[float]:
    """Key echo with nothing streaming (the same probe on a settled chat screen): the baseline echo is compared to."""
    latencies: list[float] = []
    app = make_app(temp_home())
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        stop = asyncio.Event()
        probe = asyncio.create_task(_echo_probe(app, stop, latencies))
        while len(latencies) < keys:
            await asyncio.sleep(0.05)
        stop.set()
        await probe
    return latencies


async def stream_into_chat(text: str, delay: float, *, echo: bool = False, check: bool = True,
                           settle: float = 0.0) -> dict:
    """Stream `text` (20-char chunks, `delay` s apart on the server) into the chat screen; times and checks it.
    `settle`: seconds the app is left alone after the end before its memory is read (`rss_mb`; `rss_at_end` is
    read at the end either way)."""
    chunks = chunks_of(text)
    arrivals = _Arrivals()
    latencies: list[float] = []
    result: dict = {}
    try:
        with loopback_answer(chunks, delay) as base_url:
            app = make_app(temp_home(), base_url)
            async with app.run_test(size=SIZE) as pilot:
                await started(app, pilot)
                screen = app.screen
                screen.prompt.insert("go")
                done = asyncio.Event()
                start = time.perf_counter()
                # The probe's first key comes 250 ms from now, long after the Enter is handled; started after the
                # press, it started late: `pilot.press` returns only once the app is idle, and at full speed that
                # was near the end of the answer, so no key was ever typed while it streamed.
                probe = asyncio.create_task(_echo_probe(app, done, latencies)) if echo else None
                await pilot.press("enter")
                answer = None
                while answer is None:  # the conversation's direct children: a query would walk every Markdown block
                    answer = next((w for w in screen.conversation.children if isinstance(w, AssistantMessage)), None)
                    await asyncio.sleep(0.002)
                # The answer's worker ends after the final render (the reconcile) has been awaited.
                while not (screen._worker is not None and screen._worker.is_finished):
                    await asyncio.sleep(0.002)
                assert answer.state == "complete", answer.state
                worker_done = time.perf_counter()
                done.set()
                paint(app)
                final = time.perf_counter()
                if probe is not None:
                    await probe
                rss_at_end = rss_mb()
                if settle:
                    await asyncio.sleep(settle)
                    paint(app)
                result = {
                    "total": final - start,
                    "after_last": final - arrivals.last,
                    "worker_after_last": worker_done - arrivals.last,
                    "arrival_span": arrivals.last - arrivals.first,
                    "chunks": arrivals.count,
                    "echo": latencies,
                    "rss_mb": rss_mb() if settle else rss_at_end,
                    "rss_at_end": rss_at_end,
                    "dom": len(list(screen.walk_children())),
                }
                if check:
                    result["same_as_one_shot"] = await _same_as_one_shot(pilot, screen, answer, text)
    finally:
        arrivals.close()
    return result


async def _same_as_one_shot(pilot, screen, streamed: AssistantMessage, text: str) -> bool:
    """Mount a second answer in the same conversation, render `text` into it in one update, compare line by line.

    The streamed answer keeps its folded blocks when it ends (message.py, FOLD_AFTER): the view is scrolled up first,
    as a reader would, and the blocks made again are awaited, so the comparison is of what that reader sees. Not
    following, the reference folds nothing."""
    async def all_blocks_shown(answer: AssistantMessage) -> None:
        await pilot.pause()
        while answer.folded or answer.unfolding:
            answer.unfold()
            await asyncio.sleep(0.05)

    screen.conversation.scroll_home(animate=False)
    await all_blocks_shown(streamed)
    reference = AssistantMessage()
    await screen.conversation.mount(reference)
    reference.add_text(text)
    await reference.finish("complete")
    await all_blocks_shown(reference)
    await pilot.pause()
    streamed_md = streamed.query_one(".answer", Markdown)
    reference_md = reference.query_one(".answer", Markdown)
    if streamed_md.source == reference_md.source == text:
        ours, theirs = rendered_lines(streamed_md), rendered_lines(reference_md)
        if ours == theirs:
            return True
        import difflib

        diff = list(difflib.unified_diff(theirs, ours, "one-shot", "streamed", n=1, lineterm=""))
        print("\n".join(diff[:40]), file=sys.stderr)
    return False


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=94_000)
    args = parser.parse_args()
    text = answer_text(args.size)
    chunks = len(chunks_of(text))
    await one_shot(text)  # warm-up: imports, CSS, caches
    shots, fast, paced, fast_echo, idle = [], [], [], [], []
    for _ in range(args.runs):  # interleaved so machine noise hits all alike
        shots.append(await one_shot(text))
        fast.append(await stream_into_chat(text, 0.0))
        paced.append(await stream_into_chat(text, 0.002, echo=True))
        # keys typed while the answer comes at full speed: a run of its own, as typing delays the writes
        fast_echo.append(await stream_into_chat(text, 0.0, echo=True, check=False))
        idle.extend(await idle_echo())
    base = median(shots)

    def med(runs: list[dict], key: str) -> float:
        return median(r[key] for r in runs)

    echoes = sorted(e for r in paced for e in r["echo"])
    rows = [
        ["one-shot Markdown.update() (baseline)", base * 1000, "", "", 1.0],
        ["chat, full speed: enter → final on screen", med(fast, "total") * 1000, med(fast, "arrival_span") * 1000,
         med(fast, "after_last") * 1000, med(fast, "total") / base],
        ["chat, 500 chunks/s: enter → final on screen", med(paced, "total") * 1000, med(paced, "arrival_span") * 1000,
         med(paced, "after_last") * 1000, med(paced, "total") / base],
    ]
    print(f"{machine()}; answer {len(text):,} chars in {chunks:,} chunks of 20; headless {SIZE[0]}×{SIZE[1]}; "
          f"median of {args.runs} interleaved runs\n")
    print(table(["what", "ms", "chunks arrive ms", "last chunk → final ms", "× one-shot"], rows))
    rate = chunks / med(paced, "arrival_span")
    print(f"\npaced stream: {rate:,.0f} chunks/s arrived at the screen")
    if echoes:
        p50, p95 = echoes[len(echoes) // 2], echoes[int(len(echoes) * 0.95)]
        print(f"key echo while streaming at 500 chunks/s: median {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
              f"max {echoes[-1] * 1000:.1f} ms over {len(echoes)} keys")
    else:
        p50 = p95 = float("nan")
    idle_p50, idle_p95, idle_max = percentiles(idle)
    print(f"key echo with nothing streaming (baseline): median {idle_p50 * 1000:.1f} ms, p95 {idle_p95 * 1000:.1f} ms, "
          f"max {idle_max * 1000:.1f} ms over {len(idle)} keys")
    full_echo = [e for r in fast_echo for e in r["echo"]]
    f50, f95, fmax = percentiles(full_echo)
    print(f"key echo while streaming at full speed: median {f50 * 1000:.1f} ms, p95 {f95 * 1000:.1f} ms, "
          f"max {fmax * 1000:.1f} ms over {len(full_echo)} keys")
    for what, values in (("500 chunks/s", echoes), ("full speed", full_echo)):
        _, e95, emax = percentiles(values)
        ok = e95 < 0.05 and e95 <= 4 * idle_p95 and emax < 0.15
        print(f"issue 23 echo target at {what} (p95 < 50 ms and ≤ 4× idle p95, max < 150 ms): p95 {e95 * 1000:.0f} ms "
              f"= {e95 / idle_p95:.1f}× idle, max {emax * 1000:.0f} ms: {'met' if ok else 'NOT met'}")
    same = all(r["same_as_one_shot"] for r in fast + paced)
    print(f"final render equals the one-shot render (source and rendered lines), every run: {same}")
    full_ratio = med(fast, "total") / base
    lag = med(paced, "after_last")
    print(f"\ntargets: full speed {full_ratio:.2f}× one-shot (≤ 3: {'met' if full_ratio <= 3 else 'NOT met'}); "
          f"500/s final {lag * 1000:.0f} ms after the last chunk (≤ 500: {'met' if lag <= 0.5 else 'NOT met'}); "
          f"echo p95 {p95 * 1000:.0f} ms (< 100: {'met' if p95 < 0.1 else 'NOT met'})")


if __name__ == "__main__":
    asyncio.run(main())
