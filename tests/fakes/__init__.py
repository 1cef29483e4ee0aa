"""Loopback fakes of the remote model servers, speaking the real wire formats over real sockets.

    with FakeOpenAI() as fake:
        fake.script(fake.answer("Hel", "lo"), FakeOpenAI.error(429, "slow down", headers={"retry-after": "2"}))
        ... point a provider at fake.base_url ...
        fake.requests[-1].json, fake.requests[-1].headers
"""

from .fake_anthropic import FakeAnthropic
from .fake_ollama import FakeOllama
from .fake_openai import FakeOpenAI
from ._server import FakeServer, RecordedRequest, Reply, ndjson_bytes, sse_bytes

__all__ = ["FakeAnthropic", "FakeOllama", "FakeOpenAI", "FakeServer", "RecordedRequest", "Reply", "ndjson_bytes", "sse_bytes"]
