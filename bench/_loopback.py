"""A FakeOpenAI in its own process: the benchmarked app must not share the GIL with the server it reads from.

Run by `_common.loopback_answer`: argv is a JSON file {"chunks": [...], "delay": s, "repeat": n}; prints the
base URL on stdout, then "sent T" each time a streamed reply has been written whole (T: `time.perf_counter()`,
CLOCK_MONOTONIC on Linux, so comparable with the bench's own clock); serves until stdin closes.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import FakeOpenAI  # noqa: E402


class TimedOpenAI(FakeOpenAI):
    async def _send(self, reply, request, reader, writer) -> bool:
        whole = await super()._send(reply, request, reader, writer)
        if reply.chunks is not None:
            print(f"sent {time.perf_counter()!r}", flush=True)
        return whole


spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
with TimedOpenAI() as fake:
    fake.script(*[FakeOpenAI.answer(*spec["chunks"], delay=spec["delay"]) for _ in range(spec["repeat"])])
    print(fake.base_url, flush=True)
    sys.stdin.read()
