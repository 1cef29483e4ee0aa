"""Benchmark: resident memory of the chat app after a 94 KB streamed answer and after opening a 2,000-message
conversation, against a bare Textual app (header, static line, footer), each in a fresh headless process.

"answer" arrives at full speed (all of it before the first write: drawn in one append), "answer-paced" at 500 chunks
of 20 characters a second (the 0.002 s gap of bench/streaming.py), as a fast model streams: its old blocks are folded
away as it goes (docs/answer-folding.md). Each case runs in its own interpreter so nothing is shared; RSS is read
from /proc/self/status (VmRSS now, VmHWM the peak) after the work and a screen refresh. The answer and the
conversation are the ones of bench/streaming.py and bench/long_history.py. A reopened conversation draws its latest
messages before the rest of its branch is read: "history" is measured at that first paint, "history-whole" once the
rest is read too (what the app holds from then on); "history-listed" and "history-listed-whole" the same on a model
the shipped table lists (below).

The chat app runs with the collector as `tui-agent` sets it up (off for start-up, then its pacer, ui/gc_pacing.py);
until the ninth pass this bench left CPython's default collector on, which no user runs, and missed what the pacer
kept then: 88 MB where it said 76.5 at 500 chunks/s (docs/benchmarks.md, "ninth pass").

"libraries" is the floor under all of these: the bare app plus what the libraries hold (Textual's Markdown and
TextArea, httpx with its TLS context, SQLite) once they have streamed, saved and shown a 2 KB answer, with no code of
tui-agent's (`libraries_app`); "libraries-answer" the same with the 94 KB answer. Like the bare app, they run
under CPython's own collector. "answer-settled" is the 94 KB answer 3 s after its end, once the app has had the
pause in which its collector's deep pass runs and the C library's free memory is handed back (ui/allocator.py).

Run from the repository root:  .venv/bin/python bench/memory.py [--runs 3]
Targets (issue 23): after the 94 KB answer ≤ 2× the bare app; after opening 2,000 messages ≤ 1.5×. Not a test:
it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys

from _common import (LOOPBACK, ROOT, SIZE, answer_text, bench_env, chunks_of, compile_tree, loopback_answer, machine, make_app,
                     median, peak_rss_mb, rss_mb, started, table, temp_home)

CASES = {
    "bare": "bare Textual app (header, static, footer)",
    "libraries": "bare app + the libraries' share (see libraries_app)",
    "libraries-answer": "the same with the 94 KB answer (Textual's Markdown)",
    "empty": "chat screen, empty",
    "answer": "chat after the 94 KB streamed answer",
    "answer-settled": "the same, 3 s later (the app's pause)",
    "answer-paced": "the same answer at 500 chunks/s",
    "answer-short": "chat after a 2 KB answer (the same kinds of block)",
    "history": "chat after open_conversation of 2,000 messages",
    "history-10": "chat after open_conversation of 10 messages",
    "history-whole": "the same, once the rest of the branch is read",
    "history-listed": "2,000 messages on a model the shipped table prices",
    "history-listed-whole": "the same, once the rest of the branch is read",
    "session": "chat after ChatSession.open of 2,000 (10 mounted)",
}
BASELINES = ("bare", "libraries", "libraries-answer")  # no code of tui-agent's: CPython's collector, as it comes


async def _child(case: str) -> dict:
    if case not in BASELINES:
        # The collector as `tui-agent` sets it up (cli._run_tui): off for start-up, then the app's pacer from its first
        # frame (ui/gc_pacing.py), whose recent passes freeze what survives them. The baselines keep CPython's own:
        # they have no pacer, and with collection off their garbage would wait for the measurement's collect.
        gc.disable()
    if case == "bare":
        from _bare_app import BareApp

        async with BareApp().run_test(size=SIZE) as pilot:
            await pilot.pause()
            gc.collect()
            return {"rss": rss_mb(), "peak": peak_rss_mb()}
    if case.startswith("libraries"):
        return await libraries_app(answer_text() if case == "libraries-answer" else short_answer())
    if case.startswith("answer"):
        from streaming import stream_into_chat

        text = short_answer() if case == "answer-short" else answer_text()
        result = await stream_into_chat(text, 0.002 if case == "answer-paced" else 0.0, check=False,
                                        settle=SETTLE if case == "answer-settled" else 0.0)
        return {"rss": result["rss_mb"], "peak": peak_rss_mb()}
    if case == "empty":
        app = make_app(temp_home())
        async with app.run_test(size=SIZE) as pilot:
            await started(app, pilot)
            gc.collect()
            return {"rss": rss_mb(), "peak": peak_rss_mb()}
    from long_history import build_history, open_in_chat

    from tui_agent.config.paths import Paths

    home = temp_home()
    listed = case.startswith("history-listed")
    model = LISTED if listed else LOOPBACK
    make_app(home, model=model)  # writes the config; the history goes where the app's service looks for it
    size = 10 if case == "history-10" else 2000
    ids, _ = build_history(Paths.resolve(env=bench_env(home)).history_db, (size,))
    if listed:
        log_in(home, LISTED[0])
    via = "session" if case == "session" else "screen-whole" if case.endswith("-whole") else "screen"
    result = await open_in_chat(home, ids[size], 10, via=via, model=model)
    return {"rss": result["rss_mb"], "peak": peak_rss_mb()}


# "history-listed": the built-in openai provider (moved to the closed port) on a model whose window and prices the
# shipped table gives, so the app asks the provider nothing at start (AgentService.model_facts) and loads no HTTP
# code before a message is sent, as for a built-in anthropic profile. The loopback profile of the other cases is
# asked for its model list at start, which loads httpx (≈ 7 MB with OpenSSL's context).
LISTED = ("openai", "gpt-4o")


def log_in(home, provider: str) -> None:
    """Save a key for `provider` as a user does, `tui-agent login PROVIDER --no-check` (in the file store; nothing is
    sent), in a child process: without a key the app would not ask the provider anything at start either."""
    subprocess.run([sys.executable, "-m", "tui_agent", "login", provider, "--no-check"], input="sk-bench-0123456789abcdefKLMN\n",
                   env=bench_env(home), cwd=ROOT, check=True, capture_output=True, text=True)


SETTLE = 3.0  # seconds after the end of "answer-settled": more than the pacer's pause (IDLE_AFTER, 2 s) and a tick


async def libraries_app(text: str) -> dict:
    """What the libraries a chat client of this kind is built on hold once it has answered, with none of tui-agent's
    own code: the bare app with Textual's TextArea (a prompt) and Markdown widget, showing the answer (`text`) that an
    httpx client (its TLS context made with it, as any client's is) has just streamed from the loopback server,
    saved in a SQLite database. With the 2 KB answer, the floor under every chat figure of this table; with the
    94 KB one, what Textual's own Markdown widget holds for it (all its blocks, as nothing folds them)."""
    import sqlite3
    import tempfile
    from pathlib import Path

    # httpx's package imports its command-line client (click, Pygments' lexers) whenever click is installed, as
    # it is in the test environment (import-linter needs it) and not in a user's install. tui-agent keeps it out
    # (tui_agent/__init__.py); so does the floor, which would otherwise hold 1.9 MB that neither needs.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    import httpx
    from textual.widgets import Markdown, TextArea

    from _bare_app import BareApp

    class LibrariesApp(BareApp):
        def compose(self):
            yield from super().compose()
            yield Markdown(id="answer")
            yield TextArea()

    with loopback_answer(chunks_of(text)) as base_url, tempfile.TemporaryDirectory() as folder:
        async with httpx.AsyncClient() as client:
            request = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "go"}]}
            async with client.stream("POST", f"{base_url}/chat/completions", json=request) as response:
                events = [json.loads(line[6:]) async for line in response.aiter_lines()
                          if line.startswith("data: ") and line != "data: [DONE]"]
            answer = "".join(event["choices"][0]["delta"].get("content") or "" for event in events if event["choices"])
            database = sqlite3.connect(Path(folder) / "history.db")
            database.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, content TEXT NOT NULL)")
            database.execute("INSERT INTO messages (content) VALUES (?)", (answer,))
            database.commit()
            app = LibrariesApp()
            async with app.run_test(size=SIZE) as pilot:
                await app.query_one("#answer", Markdown).update(answer)
                await pilot.pause()
                assert answer == text and app.query("MarkdownFence"), "the answer did not arrive whole"
                gc.collect()
                result = {"rss": rss_mb(), "peak": peak_rss_mb()}
            database.close()
            return result


def short_answer() -> str:
    """About 2 KB cut from the 94 KB answer with a block of each kind it has: headings, prose, a list, a table and
    a 10-line Python fence (so what a first answer loads, the Markdown parser and the highlighter, is in both)."""
    text = answer_text()
    start = text.index("| name | value |")
    markdown_table = text[start:text.index("\n\n", start)]  # (not `table`, the printing helper imported above)
    fence = "\n".join(text[text.index("```python"):].splitlines()[:11]) + "\n```"
    return "\n\n".join([text[:text.index("\n\n", 1500)], fence, markdown_table]) + "\n"


# Issue 23's title: long chats and big answers cost what a short one does. These rows say how far, in one run.
LENGTH_RATIOS = (("answer", "answer-short", "94 KB answer ÷ 2 KB answer"),
                 ("history", "history-10", "2,000 messages ÷ 10 messages, opened"),
                 # A 10-message branch is read whole at its first paint; a 2,000-message one reads the rest after it.
                 ("history-whole", "history-10", "2,000 messages, branch read, ÷ 10 messages"))


def run_case(case: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", case], capture_output=True, text=True, cwd=ROOT, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"memory case {case!r} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated, of: " + ", ".join(CASES))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child))))
        return
    compile_tree()  # each case's process imports the app from bytecode, as an installed app does
    cases = ["bare", *(c for c in args.cases.split(",") if c != "bare")]  # the baseline is always measured
    results: dict[str, list[dict]] = {case: [] for case in cases}
    for _ in range(args.runs):
        for case in cases:
            results[case].append(run_case(case))
    base = median(r["rss"] for r in results["bare"])
    empty = median(r["rss"] for r in results["empty"]) if "empty" in results else float("nan")
    rows = []
    for case, runs in results.items():
        rss = median(r["rss"] for r in runs)
        rows.append([CASES[case], rss, median(r["peak"] for r in runs), rss - base, rss / base, rss - empty,
                     ", ".join(f"{r['rss']:.1f}" for r in runs)])
    print(f"{machine()}; headless {SIZE[0]}×{SIZE[1]}; one fresh process per case; median of {args.runs} runs\n")
    print(table(["resident memory", "RSS MB", "peak MB", "+ bare MB", "× bare", "+ empty chat MB", "each run"], rows))
    ratios = [[label, median(r["rss"] for r in results[long]) / median(r["rss"] for r in results[short])]
              for long, short, label in LENGTH_RATIOS if long in results and short in results]
    if ratios:
        print()
        print(table(["length (issue 23's title)", "RSS ÷ RSS"], ratios))


if __name__ == "__main__":
    main()
