"""A FakeOpenAI in its own process: the benchmarked app must not share the GIL with the server it reads from.

Run by `_common.loopback_answer`: argv is a JSON file {"chunks": [...], "delay": s, "repeat": n}; prints the
base URL on stdout, serves until stdin closes.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import FakeOpenAI  # noqa: E402

spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
with FakeOpenAI() as fake:
    fake.script(*[FakeOpenAI.answer(*spec["chunks"], delay=spec["delay"]) for _ in range(spec["repeat"])])
    print(fake.base_url, flush=True)
    sys.stdin.read()
