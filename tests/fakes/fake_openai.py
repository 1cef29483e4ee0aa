"""A loopback OpenAI-compatible server: `/v1/chat/completions` SSE, `/v1/models`, and LM Studio's REST model lists."""

from __future__ import annotations

import time
from typing import Literal, Sequence

from ._server import FakeServer, RecordedRequest, Reply, sse_bytes


class FakeOpenAI(FakeServer):
    """`with FakeOpenAI() as fake:` → `fake.base_url` (ends in /v1, like the real base), `fake.script(fake.answer(...))`.

    `lmstudio="v1"` / `"v0"` also serves LM Studio's `/api/v1/models` / `/api/v0/models` (else they are 404, like
    llama.cpp); `loaded` names the models reported as in memory. `api_key` demands `Bearer KEY` (or `api-key: KEY`).
    """

    chat_path = "/v1/chat/completions"

    def __init__(
        self,
        api_key: str | None = None,
        models: Sequence[str] = ("gpt-test", "gpt-test-mini"),
        lmstudio: Literal["v1", "v0"] | None = None,
        loaded: Sequence[str] = (),
        openrouter: bool = False,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.openrouter = openrouter  # model entries carry OpenRouter's `context_length` and `pricing`
        self.models = list(models)
        self.lmstudio = lmstudio
        self.loaded = set(loaded)

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # -- reply builders --------------------------------------------------------------------------------------

    @staticmethod
    def chunk(delta: dict | None = None, finish_reason: str | None = None, model: str = "gpt-test", **extra) -> dict:
        """One `chat.completion.chunk` object (docs/protocols.md §2.2)."""
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model, "system_fingerprint": "fp_fake", "choices": choices, **extra}

    @classmethod
    def answer(
        cls,
        *texts: str,
        reasoning: Sequence[str] = (),
        reasoning_field: str = "reasoning_content",
        finish_reason: str | None = "stop",
        usage: tuple[int, int] | None = (9, 3),
        done: bool = True,
        error: dict | str | None = None,
        comments: bool = False,
        cut: bool = False,
        cut_after: int | None = None,
        delay: float = 0.0,
        pause_after: int | None = None,
        newline: str = "\n",
    ) -> Reply:
        """A streamed answer, one SSE event per chunk.

        `finish_reason=None` leaves out the finish chunk (a llama.cpp interrupt ends with `[DONE]` and no finish);
        `usage=None` sends no usage chunk (llama-cpp-python); `error` sends an in-band `{"error": …}` event after
        the texts; `comments` adds `: OPENROUTER PROCESSING` keep-alives; `done=False` omits `data: [DONE]`.
        """
        events = []
        if comments:
            events.append(f": OPENROUTER PROCESSING{newline}{newline}".encode())
        events.append(sse_bytes(cls.chunk({"role": "assistant", "content": "", "refusal": None}), None, newline))
        for piece in reasoning:
            events.append(sse_bytes(cls.chunk({reasoning_field: piece}), None, newline))
        for piece in texts:
            events.append(sse_bytes(cls.chunk({"content": piece}), None, newline))
            if comments:
                events.append(f": keep-alive{newline}{newline}".encode())
        if error is not None:
            events.append(sse_bytes({"error": error}, None, newline))
        else:
            if finish_reason is not None:
                events.append(sse_bytes(cls.chunk({}, finish_reason), None, newline))
            if usage is not None:
                events.append(sse_bytes(cls.chunk(None, usage={"prompt_tokens": usage[0], "completion_tokens": usage[1],
                                                              "total_tokens": usage[0] + usage[1]}), None, newline))
        if done:
            events.append(sse_bytes("[DONE]", None, newline))
        if cut_after is not None:
            events = events[:cut_after]
        return Reply.stream(events, "text/event-stream; charset=utf-8", delay=delay, pause_after=pause_after, cut=cut or cut_after is not None)

    @staticmethod
    def error(status: int, message: str, type_: str = "invalid_request_error", code: str | int | None = None,
              headers: dict[str, str] | None = None) -> Reply:
        """A non-2xx reply with OpenAI's error body (docs/protocols.md §2.5)."""
        return Reply.json({"error": {"message": message, "type": type_, "param": None, "code": code}},
                          status=status, headers=headers)

    # -- routing -------------------------------------------------------------------------------------------

    def _authorised(self, request: RecordedRequest) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("authorization") == f"Bearer {self.api_key}" or \
            request.headers.get("api-key") == self.api_key

    def route(self, request: RecordedRequest) -> Reply:
        if not self._authorised(request):
            return self.error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if request.method == "POST" and request.path == self.chat_path:
            return self.answer("Hello", " from", " the fake.")
        if request.method == "GET" and request.path == "/v1/models":
            if self.openrouter:  # OpenRouter's list: prices are strings, USD per token (openrouter.ai/docs/api-reference/list-available-models)
                return Reply.json({"data": [
                    {"id": m, "name": m, "created": 1715367049, "context_length": 128000,
                     "pricing": {"prompt": "0.000003", "completion": "0.000015", "request": "0", "image": "0"},
                     "top_provider": {"context_length": 128000, "max_completion_tokens": 16384}} for m in self.models]})
            return Reply.json({"object": "list", "data": [
                {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"} for m in self.models]})
        if request.method == "GET" and request.path == "/api/v1/models" and self.lmstudio == "v1":
            return Reply.json({"models": [
                {"type": "llm", "publisher": "fake", "key": m, "display_name": m.title(), "architecture": "llama",
                 "max_context_length": 32768, "format": "gguf",
                 "loaded_instances": [{"id": m, "config": {"context_length": 4096}}] if m in self.loaded else []}
                for m in self.models] + [{"type": "embedding", "key": "text-embedding-fake", "display_name": "Emb",
                                         "loaded_instances": []}]})
        if request.method == "GET" and request.path == "/api/v0/models" and self.lmstudio in ("v0", "v1"):
            return Reply.json({"object": "list", "data": [
                {"id": m, "object": "model", "type": "llm", "publisher": "fake", "arch": "llama",
                 "compatibility_type": "gguf", "quantization": "Q4_K_M",
                 "state": "loaded" if m in self.loaded else "not-loaded", "max_context_length": 32768}
                for m in self.models] + [{"id": "text-embedding-fake", "object": "model", "type": "embeddings",
                                         "state": "not-loaded"}]})
        return Reply.json({"detail": "Not Found"}, status=404)
