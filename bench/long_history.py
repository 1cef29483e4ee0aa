"""Benchmark: open a 2,000-message (~2 MB) stored conversation in the chat screen, against a 10-message one.

Both conversations live in one SQLite history (HistoryStore, the app's own schema). Each run starts a headless
chat app (100×40), then times from "open conversation N" until its latest messages are on screen (mounted,
the answers' Markdown rendered, a screen refresh run). Until the chat screen opens stored conversations itself,
the opening is done here the way its conversation widget is meant to: read the tail with
`AsyncHistory.messages_latest` and mount it as UserMessage / AssistantMessage widgets (answers rendered with
one `update()`, never streamed); older messages would load on scroll. Rows show the first paint with a
screenful (10 messages) and with the store's default page (50), and opening through `ChatSession.open`
(which reads every message to rebuild the request context) before painting the same tail.

Run from the repository root:  .venv/bin/python bench/long_history.py [--runs 7]
Target (issue 12): 2,000-message first paint ≤ 1.5× the 10-message one. Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from _common import SIZE, machine, make_app, median, rss_mb, table, temp_home

from textual.widgets import Markdown

from tui_agent.service.history import AsyncHistory, HistoryStore
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
        await answer.finish("done")


async def open_in_chat(path, conversation_id: int, tail: int, *, via_session: bool = False) -> dict:
    """Seconds from asking for the conversation to its latest `tail` messages on screen."""
    app = make_app(temp_home())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        start = time.perf_counter()
        history = AsyncHistory(HistoryStore(path))
        await history.open()
        if via_session:
            from tui_agent.service.conversation import ChatSession

            session = ChatSession(app.service, history, "benchnick")
            stored = await session.open(conversation_id)
            messages = stored[-tail:]
        else:
            messages = (await history.messages_latest(conversation_id, limit=tail)).messages
        await _mount_tail(screen, messages)
        screen.conversation.jump_to_bottom()
        await pilot.pause()
        elapsed = time.perf_counter() - start
        shown = [w for w in screen.conversation.children if isinstance(w, (UserMessage, AssistantMessage))]
        last = shown[-1]
        assert isinstance(last, AssistantMessage) and last.query_one(".answer", Markdown).source == messages[-1].content
        result = {"seconds": elapsed, "rss_mb": rss_mb(), "dom": len(list(screen.walk_children())), "shown": len(shown)}
        await history.close()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    path = temp_home() / "history.sqlite3"
    ids, size_bytes = build_history(path, (10, 2000))
    cases = [
        ("10 messages, all 10", ids[10], 10, False),
        ("2,000 messages, latest 10 (a screenful)", ids[2000], 10, False),
        ("2,000 messages, latest 50 (the default page)", ids[2000], 50, False),
        ("2,000 messages via ChatSession.open, latest 10", ids[2000], 10, True),
    ]
    for name, cid, tail, via in cases:  # warm-up: imports, page cache, CSS
        await open_in_chat(path, cid, tail, via_session=via)
    results: dict[str, list[dict]] = {name: [] for name, *_ in cases}
    for _ in range(args.runs):  # interleaved so machine noise hits all alike
        for name, cid, tail, via in cases:
            results[name].append(await open_in_chat(path, cid, tail, via_session=via))
    base = median(r["seconds"] for r in results[cases[0][0]])
    rows = []
    for name, runs in results.items():
        seconds = median(r["seconds"] for r in runs)
        rows.append([name, seconds * 1000, runs[0]["shown"], runs[0]["dom"], seconds / base])
    print(f"{machine()}; the 2,000-message conversation holds {size_bytes / 1e6:.2f} MB of text; headless "
          f"{SIZE[0]}×{SIZE[1]}; median of {args.runs} interleaved runs\n")
    print(table(["open → latest messages on screen", "ms", "messages shown", "DOM nodes", "× 10 messages"], rows))
    ratio = median(r["seconds"] for r in results[cases[1][0]]) / base
    print(f"\n2,000/10 (first paint of a screenful) = {ratio:.2f} (target ≤ 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    asyncio.run(main())
