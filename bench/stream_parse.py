"""Benchmark: a ~1 MB OpenAI-style SSE answer served from loopback at full speed, read through OpenAIChatAdapter,
against a baseline in the same run that only splits the same bytes into lines and json.loads each data line.

Run from the repository root:  .venv/bin/python bench/stream_parse.py [--size-mb 1] [--runs 7]
Target (issue 3): adapter time / baseline time ≤ 2. Not a test: it prints a table and never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.fakes import FakeOpenAI, Reply  # noqa: E402
from tui_agent.core.credentials import NO_CREDENTIAL  # noqa: E402
from tui_agent.config.schema import ProviderConfig  # noqa: E402
from tui_agent.core.chat import ChatMessage, ChatRequest  # noqa: E402
from tui_agent.core.events import Done, StreamFailed  # noqa: E402
from tui_agent.providers.openai_chat import OpenAIChatAdapter  # noqa: E402
from tui_agent.providers.sse import SSEDecoder  # noqa: E402

_WORDS = ("the", " model", " streams", " tokens", " quickly", ",", " and", " Grüße", " 👋", " naïve", " ü", " data",
          " line\u2028sep", " über", ".", "\n", " code", " `x`", " 42", " résumé")


def recorded_body(size: int, seed: int = 7) -> bytes:
    """An answer framed exactly like openai-python's recorded fixture (protocols.md §2.2), about `size` bytes."""
    rng = random.Random(seed)
    head = {"id": "chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh", "object": "chat.completion.chunk", "created": 1727346171,
            "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_7568d46099"}

    def event(choices: list, **extra) -> bytes:
        return b"data: " + json.dumps({**head, "choices": choices, **extra}, ensure_ascii=False).encode() + b"\n\n"

    parts = [event([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None}, "logprobs": None,
                     "finish_reason": None}])]
    total = len(parts[0])
    while total < size:
        piece = "".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
        chunk = event([{"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}])
        parts.append(chunk)
        total += len(chunk)
    parts.append(event([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]))
    parts.append(event([], usage={"prompt_tokens": 79, "completion_tokens": len(parts), "total_tokens": 79 + len(parts)}))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def network_chunks(body: bytes, size: int = 16 * 1024) -> list[bytes]:
    return [body[i:i + size] for i in range(0, len(body), size)]


async def run_adapter(client: httpx.AsyncClient, fake: FakeOpenAI, body: bytes) -> tuple[float, int]:
    fake.script(Reply.stream(network_chunks(body), "text/event-stream"))
    adapter = OpenAIChatAdapter(ProviderConfig(id="bench", kind="openai-chat", base_url=fake.base_url, local=True), client)
    request = ChatRequest(model="gpt-4o", messages=[ChatMessage("user", "go")])
    count = 0
    start = time.perf_counter()
    async for event in adapter.stream(request, NO_CREDENTIAL):
        count += 1
        last = event
    elapsed = time.perf_counter() - start
    assert isinstance(last, Done), last if isinstance(last, StreamFailed) else type(last)
    return elapsed, count


async def run_baseline(client: httpx.AsyncClient, fake: FakeOpenAI, body: bytes) -> tuple[float, int]:
    """The same HTTP exchange; then only: split into lines, json.loads every data line."""
    fake.script(Reply.stream(network_chunks(body), "text/event-stream"))
    count = 0
    start = time.perf_counter()
    async with client.stream("POST", f"{fake.base_url}/chat/completions", json={"model": "gpt-4o"}) as response:
        tail = b""
        async for chunk in response.aiter_bytes():
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            for line in lines:
                if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                    json.loads(line[6:])
                    count += 1
    return time.perf_counter() - start, count


def in_memory(body: bytes) -> tuple[float, float]:
    """The parsing cost alone, without HTTP: (SSE decoder + json.loads, split + json.loads)."""
    chunks = network_chunks(body)
    start = time.perf_counter()
    decoder = SSEDecoder()
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            if not sse.data.startswith("[DONE]"):
                json.loads(sse.data)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    tail = b""
    for chunk in chunks:
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for line in lines:
            if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                json.loads(line[6:])
    return ours, time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    body = recorded_body(int(args.size_mb * 1024 * 1024))
    mb = len(body) / 1e6
    adapter_times, baseline_times, memory = [], [], []
    events = lines = 0
    with FakeOpenAI() as fake:
        async with httpx.AsyncClient(timeout=60) as client:
            await run_baseline(client, fake, body)  # warm up: connection pool, imports, caches
            await run_adapter(client, fake, body)
            for _ in range(args.runs):  # interleaved so machine noise hits both alike
                t, lines = await run_baseline(client, fake, body)
                baseline_times.append(t)
                t, events = await run_adapter(client, fake, body)
                adapter_times.append(t)
                memory.append(in_memory(body))
    base = statistics.median(baseline_times)
    ours = statistics.median(adapter_times)
    mem_ours = statistics.median(m[0] for m in memory)
    mem_base = statistics.median(m[1] for m in memory)
    rows = [
        ("baseline: loopback, split lines + json.loads", base, lines, 1.0),
        ("OpenAIChatAdapter.stream over loopback", ours, events, ours / base),
        ("in memory: split lines + json.loads", mem_base, lines, mem_base / base),
        ("in memory: SSEDecoder + json.loads", mem_ours, lines, mem_ours / base),
    ]
    print(f"body {mb:.2f} MB, {lines} data lines, median of {args.runs} runs\n")
    print(f"{'what':<46} {'ms':>8} {'events/s':>11} {'MB/s':>7} {'× baseline':>11}")
    for name, seconds, n, ratio in rows:
        print(f"{name:<46} {seconds * 1000:8.1f} {n / seconds:11,.0f} {mb / seconds:7.1f} {ratio:11.2f}")
    verdict = "met" if ours / base <= 2 else "NOT met"
    print(f"\nratio adapter/baseline = {ours / base:.2f} (target ≤ 2: {verdict})")


if __name__ == "__main__":
    asyncio.run(main())
