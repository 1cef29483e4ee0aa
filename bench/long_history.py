"""Benchmark: open a 2,000-message (~2 MB) stored conversation in the chat screen, against a 10-message one.

Both conversations live in the app's own SQLite history (HistoryStore, at the temp home's history path). Each
run starts a headless chat app (100×40), then times from "open conversation N" until its latest messages are
on screen (mounted, the answers' Markdown rendered, the screen laid out and painted). The main rows go through
the chat screen's own `open_conversation` (ChatSession.open, then its first page of messages mounted; older
ones load on scroll-up). The "tail mount" rows do it by hand, as a conversation widget could: read only the
tail with `AsyncHistory.messages_latest` and mount it as UserMessage / AssistantMessage widgets (answers
rendered with one `update()`, never streamed) — to show what the size of the first page costs.

The "branches" rows time a conversation tree (docs/conversation-trees.md): one prompt, two answers to it (a fork
at the root), and below each answer a branch that runs to 500 messages. "open" opens the conversation on branch A
until its latest messages are on screen; "switch" opens it on branch B, waits until that is all read and marked,
then times the sibling key (alt+←, `action_sibling_prev`) until branch A's latest messages are on screen.

Run from the repository root:  .venv/bin/python bench/long_history.py [--runs 7] [--only long|branches]
Targets: 2,000-message first paint ≤ 1.5× the 10-message one (issue 12), ≤ 1.05× (issue 23); switching to a
500-message branch ≤ 1.2× opening it (issue 23). Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import time

from _common import LOOPBACK, SIZE, machine, make_app, median, rss_mb, started, table, temp_home

from textual.widgets import Markdown

from tui_agent.service.history import AFTER_CURRENT, AsyncHistory, HistoryStore
from tui_agent.ui.widgets.message import AssistantMessage, UserMessage


def _answer(rng: random.Random, n: int) -> str:
    words = ("stream", "render", "widget", "layout", "token", "model", "answer", "screen", "python", "history")
    prose = " ".join(rng.choice(words) for _ in range(150))
    items = "\n".join(f"- item {i}: {' '.join(rng.choice(words) for _ in range(8))}" for i in range(4))
    code = "\n".join(f"x_{i} = f({rng.randint(0, 99)})" for i in range(8))
    return f"### Answer {n}\n\n{prose}.\n\n{items}\n\n```python\n{code}\n```\n\n{prose[:500]}.\n"


def build_history(path, sizes: tuple[int, ...]) -> tuple[dict[int, int], int]:
    """One conversation per size (alternating user/assistant turns); returns {size: id} and the bytes of text."""
    rng = random.Random(9)
    store = HistoryStore(path)
    store.open()
    ids, total = {}, 0
    for size in sizes:
        conv = store.create_conversation(f"{size} messages", profile="benchnick", provider="loopback", model="bench-1")
        for n in range(size):
            if n % 2 == 0:
                text = f"Question {n}: " + " ".join(rng.choice(("why", "how", "does", "the", "list", "render")) for _ in range(30))
                store.add_message(conv.id, "user", text)
            else:
                text = _answer(rng, n)
                store.add_message(conv.id, "assistant", text, profile="benchnick", provider="loopback", model="bench-1")
            if size > 100:
                total += len(text.encode())
        ids[size] = conv.id
    store.close()
    return ids, total


BRANCH_LENGTH = 500  # messages on each side of the fork, the root prompt included


def build_branches(path) -> dict[str, int]:
    """A conversation that forks at its root: the prompt, then two sibling answers each followed by a branch of
    BRANCH_LENGTH messages in all. Returns the conversation id and the first answer of each branch ("a", "b")."""
    rng = random.Random(16)
    store = HistoryStore(path)
    store.open()
    conv = store.create_conversation("two long branches", profile="benchnick", provider="loopback", model="bench-1")
    root = store.add_message(conv.id, "user", "Question 0: which way?")
    firsts = {}
    for side in ("a", "b"):
        for n in range(1, BRANCH_LENGTH):
            if n % 2 == 0:
                store.add_message(conv.id, "user", f"Question {n} on {side}: " + " ".join(rng.choice(("why", "how", "list")) for _ in range(30)))
            else:  # the first answer of a side hangs off the root, which makes the two sides siblings
                text = _answer(rng, n).replace("### Answer", f"### Answer {side}", 1)
                message = store.add_message(conv.id, "assistant", text, profile="benchnick", provider="loopback",
                                            model="bench-1", parent_id=root.id if n == 1 else AFTER_CURRENT)
                firsts.setdefault(side, message.id)
    store.close()
    return {"conversation": conv.id, **firsts}


def select_branch(path, conversation_id: int, first_id: int) -> list:
    """Make the branch below `first_id` the one a reopen shows (as a previous switch would have); returns it."""
    store = HistoryStore(path)
    store.open()
    try:
        return store.select(conversation_id, first_id)
    finally:
        store.close()


async def open_or_switch(home, tree: dict[str, int], via: str) -> dict:
    """Seconds until branch A's latest messages are on screen: opening the conversation on it ("open"), or
    switching to it with the sibling key from branch B, opened and fully read beforehand ("switch")."""
    from tui_agent.config.paths import Paths
    from _common import bench_env

    path = Paths.resolve(env=bench_env(home)).history_db
    wanted = select_branch(path, tree["conversation"], tree["a"])[-1].content
    if via == "switch":
        select_branch(path, tree["conversation"], tree["b"])
    app = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        screen = app.screen
        if via == "switch":
            await screen.open_conversation(tree["conversation"])
            paint(app)
            await pilot.pause()
            await app.workers.wait_for_complete()  # branch B read whole and marked: the sibling key can act
            assert screen._marks, "branch B's sibling marks"
            await pilot.pause()
            gc.collect()  # as `started` does before the open: both timed cases start with no garbage
        with full_collections() as collected:
            start, cpu_start = time.perf_counter(), time.process_time()
            if via == "switch":
                await screen.action_sibling_prev()
            else:
                await screen.open_conversation(tree["conversation"])
            paint(app)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        shown = [w for w in screen.conversation.children if isinstance(w, (UserMessage, AssistantMessage))]
        last = shown[-1]
        assert isinstance(last, AssistantMessage) and last.query_one(".answer", Markdown).source == wanted, "branch A's last answer"
        result = {"seconds": elapsed, "rss_mb": rss_mb(), "dom": len(list(screen.walk_children())), "shown": len(shown),
                  "gc2": sum(collected), "cpu": cpu}
        await app.workers.wait_for_complete()  # whatever the switch left for after the paint ends inside the app
    return result


@contextlib.contextmanager
def full_collections():
    """The seconds each full (generation 2) garbage collection took while the block ran, in a list."""
    took: list[float] = []
    began = [0.0]

    def note(phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                began[0] = time.perf_counter()
            else:
                took.append(time.perf_counter() - began[0])

    gc.callbacks.append(note)
    try:
        yield took
    finally:
        gc.callbacks.remove(note)


async def branches(home, runs: int) -> None:
    from tui_agent.config.paths import Paths
    from _common import bench_env

    tree = build_branches(Paths.resolve(env=bench_env(home)).history_db)
    cases = [("open the conversation on branch A", "open"), ("switch from branch B to branch A (alt+←)", "switch")]
    for _name, via in cases:  # warm-up
        await open_or_switch(home, tree, via)
    results: dict[str, list[dict]] = {name: [] for name, _ in cases}
    for run in range(runs):
        for name, via in cases if run % 2 == 0 else cases[::-1]:
            results[name].append(await open_or_switch(home, tree, via))
    opened = median(r["seconds"] for r in results[cases[0][0]])
    opened_cpu = median(r["cpu"] for r in results[cases[0][0]])
    rows = [[name, median(r["seconds"] for r in rs) * 1000, rs[0]["shown"], rs[0]["dom"],
             median(r["seconds"] for r in rs) / opened, median(r["cpu"] for r in rs) * 1000,
             median(r["cpu"] for r in rs) / opened_cpu] for name, rs in results.items()]
    print(f"\nTwo branches of {BRANCH_LENGTH} messages forked at the root; median of {runs} interleaved runs "
          "(CPU: the process's CPU time in the same span, all threads — less moved by other load on the machine)\n")
    print(table(["→ branch A's latest messages on screen", "ms", "messages shown", "DOM nodes", "× open", "CPU ms",
                 "CPU × open"], rows))
    ratio = rows[1][1] / rows[0][1]
    for name, rs in results.items():
        full = [r["gc2"] for r in rs if r["gc2"]]
        print(f"{name}: a full garbage collection inside the timed part in {len(full)} of {runs} runs"
              + (f" ({', '.join(f'{t * 1000:.0f}' for t in full)} ms)" if full else ""))
    per_run = ", ".join(f"{s['seconds'] / o['seconds']:.2f}" for s, o in zip(results[cases[1][0]], results[cases[0][0]]))
    print(f"\nswitch / open = {ratio:.2f} (per run: {per_run}; target ≤ 1.2: {'met' if ratio <= 1.2 else 'NOT met'})")


async def _mount_tail(screen, messages) -> None:
    widgets, answers = [], []
    for message in messages:
        if message.role == "user":
            widgets.append(UserMessage(message.content))
        elif message.role == "assistant":
            answer = AssistantMessage()
            widgets.append(answer)
            answers.append((answer, message.content))
    await screen.conversation.mount_all(widgets)
    for answer, text in answers:
        answer.add_text(text)
        await answer.finish("complete")


async def open_in_chat(home, conversation_id: int, tail: int, *, via: str = "screen",
                       model: tuple[str, str] = LOOPBACK) -> dict:
    """Seconds from asking for the conversation to its latest messages on screen.

    via "screen": ChatScreen.open_conversation (the app's own path; `tail` is the screen's choice, ignored);
    "screen-whole": the same, until the rest of the branch (read after the first paint) is read and marked;
    "latest": AsyncHistory.messages_latest(tail) mounted as the conversation widget would;
    "session": ChatSession.open (every message read) and the latest `tail` mounted. `model`: the profile's
    (provider, model), as in _common.write_config."""
    app = make_app(home, model=model)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        screen = app.screen
        start, cpu_start = time.perf_counter(), time.process_time()
        if via in ("screen", "screen-whole"):
            await screen.open_conversation(conversation_id)
            if via == "screen-whole":  # also the rest of the branch, read after the first paint (marks, usage)
                paint(app)
                await pilot.pause()
                await app.workers.wait_for_complete()
        else:
            history = AsyncHistory(HistoryStore(app.paths.history_db))
            await history.open()
            if via == "session":
                from tui_agent.service.chat_session import ChatSession

                session = ChatSession(app.service, history, "benchnick")
                messages = (await session.open(conversation_id))[-tail:]
            else:
                messages = (await history.messages_latest(conversation_id, limit=tail)).messages
            await _mount_tail(screen, messages)
            screen.conversation.jump_to_bottom()
        paint(app)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        shown = [w for w in screen.conversation.children if isinstance(w, (UserMessage, AssistantMessage))]
        last = shown[-1]
        assert isinstance(last, AssistantMessage) and last.query_one(".answer", Markdown).source.startswith("### Answer")
        result = {"seconds": elapsed, "rss_mb": rss_mb(), "dom": len(list(screen.walk_children())), "shown": len(shown),
                  "cpu": cpu}
        if not via.startswith("screen"):
            await history.close()
    return result


def paint(app) -> None:
    """Lay out and paint whatever is pending now, as the screen's update timer would on its next tick."""
    app.screen._on_timer_update()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", choices=("long", "branches"), help="only the 2,000-message rows, or only the branch rows")
    args = parser.parse_args()
    home = temp_home()
    make_app(home)  # writes the config; the history goes where the app's service looks for it
    if args.only == "branches":
        await branches(home, args.runs)
        return
    from tui_agent.config.paths import Paths
    from _common import bench_env

    ids, size_bytes = build_history(Paths.resolve(env=bench_env(home)).history_db, (10, 2000))
    from tui_agent.ui.screens.chat import ChatScreen

    cases = []
    if hasattr(ChatScreen, "open_conversation"):
        cases += [("chat screen: 10 messages", ids[10], 0, "screen"), ("chat screen: 2,000 messages", ids[2000], 0, "screen")]
        cases += [("chat screen: 2,000 messages, until the whole branch is read", ids[2000], 0, "screen-whole")]
    cases += [
        ("tail mount: 10 messages, all 10", ids[10], 10, "latest"),
        ("tail mount: 2,000 messages, latest 10", ids[2000], 10, "latest"),
        ("tail mount: 2,000 messages, latest 40", ids[2000], 40, "latest"),
        ("ChatSession.open of 2,000, latest 10 mounted", ids[2000], 10, "session"),
    ]
    for name, cid, tail, via in cases:  # warm-up: imports, page cache, CSS
        await open_in_chat(home, cid, tail, via=via)
    results: dict[str, list[dict]] = {name: [] for name, *_ in cases}
    for run in range(args.runs):  # interleaved, alternately forwards and backwards, so noise hits all alike
        for name, cid, tail, via in cases if run % 2 == 0 else cases[::-1]:
            results[name].append(await open_in_chat(home, cid, tail, via=via))
    rows = []
    for name, runs in results.items():
        seconds = median(r["seconds"] for r in runs)
        small = "chat screen: 10 messages" if name.startswith("chat screen") else "tail mount: 10 messages, all 10"
        rows.append([name, seconds * 1000, runs[0]["shown"], runs[0]["dom"], seconds / median(r["seconds"] for r in results[small])])
    print(f"{machine()}; the 2,000-message conversation holds {size_bytes / 1e6:.2f} MB of text; headless "
          f"{SIZE[0]}×{SIZE[1]}; median of {args.runs} interleaved runs\n")
    print(table(["open → latest messages on screen", "ms", "messages shown", "DOM nodes", "× its 10-message row"], rows))
    big, small = cases[1][0], cases[0][0]
    ratio = median(r["seconds"] for r in results[big]) / median(r["seconds"] for r in results[small])
    per_run = ", ".join(f"{b['seconds'] / s['seconds']:.2f}" for b, s in zip(results[big], results[small]))
    cpu = median(r["cpu"] for r in results[big]) / median(r["cpu"] for r in results[small])
    print(f"\n{big} / {small} = {ratio:.2f} (per run: {per_run}; target ≤ 1.05: {'met' if ratio <= 1.05 else 'NOT met'}); "
          f"in the process's CPU time (all threads): {cpu:.2f}")
    if args.only is None:
        await branches(home, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
