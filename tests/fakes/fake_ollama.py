"""A loopback Ollama: native `/api/chat` NDJSON, `/api/tags`, `/api/ps`, `/api/show` and `/api/version`."""

from __future__ import annotations

from typing import Sequence

from ._server import FakeServer, RecordedRequest, Reply, ndjson_bytes

_CREATED = "2026-11-27T20:00:00.000000Z"


class FakeOllama(FakeServer):
    """`with FakeOllama() as fake:` → `fake.base_url` (the host root, like OLLAMA_HOST), `fake.script(fake.answer(...))`."""

    chat_path = "/api/chat"

    def __init__(
        self, models: Sequence[str] = ("llama3.2:latest", "qwen3:8b"), loaded: Sequence[str] = (),
        context_length: int = 131072,
    ) -> None:
        super().__init__()
        self.models = list(models)
        self.loaded = set(loaded)
        self.context_length = context_length  # what /api/show reports as `model_info["llama.context_length"]`

    # -- reply builders --------------------------------------------------------------------------------------

    @staticmethod
    def answer(
        *texts: str,
        thinking: Sequence[str] = (),
        done_reason: str = "stop",
        counts: tuple[int, int] = (26, 282),
        error: str | None = None,
        complete: bool = True,
        cut: bool = False,
        cut_after: int | None = None,
        delay: float = 0.0,
        pause_after: int | None = None,
        model: str = "llama3.2:latest",
    ) -> Reply:
        """A streamed answer, one NDJSON line per chunk (docs/protocols.md §3.2).

        `error` adds `{"error": …}` after the texts (a mid-stream failure under HTTP 200); `complete=False` leaves
        out the `done: true` line; `cut_after=N` sends N chunks, then drops the connection mid-body (`cut=True`: after all chunks).
        """
        def line(message: dict, **extra) -> bytes:
            return ndjson_bytes({"model": model, "created_at": _CREATED,
                                 "message": {"role": "assistant", **message}, **extra})

        lines = [line({"content": "", "thinking": piece}, done=False) for piece in thinking]
        lines += [line({"content": piece}, done=False) for piece in texts]
        if error is not None:
            lines.append(ndjson_bytes({"error": error}))
        elif complete:
            lines.append(line({"content": ""}, done=True, done_reason=done_reason, total_duration=4883583458,
                              load_duration=1334875, prompt_eval_count=counts[0], prompt_eval_duration=342546000,
                              eval_count=counts[1], eval_duration=4535599000))
        if cut_after is not None:
            lines = lines[:cut_after]
        return Reply.stream(lines, "application/x-ndjson", delay=delay, pause_after=pause_after, cut=cut or cut_after is not None)

    @staticmethod
    def error(status: int, message: str) -> Reply:
        """A non-2xx reply with Ollama's plain-string error body (docs/protocols.md §3.4)."""
        return Reply.json({"error": message}, status=status)

    # -- routing -------------------------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and request.path == self.chat_path:
            model = (request.json or {}).get("model", "")
            if model and model not in self.models:
                return self.error(404, f"model '{model}' not found")
            return self.answer("Hello", " from", " the fake.", model=model or "llama3.2:latest")
        details = {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                   "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}
        if request.method == "GET" and request.path == "/api/tags":
            return Reply.json({"models": [{"name": m, "model": m, "modified_at": _CREATED, "size": 2019393189,
                                           "digest": "a80c4f17", "details": details} for m in self.models]})
        if request.method == "GET" and request.path == "/api/ps":
            return Reply.json({"models": [{"name": m, "model": m, "size": 5137025024, "digest": "2ae6f6dd",
                                           "details": details, "expires_at": _CREATED, "size_vram": 5137025024,
                                           "context_length": 8192} for m in self.models if m in self.loaded]})
        if request.method == "POST" and request.path == "/api/show":
            model = (request.json or {}).get("model", "")
            if model not in self.models:
                return self.error(404, f"model '{model}' not found")
            return Reply.json({"modelfile": "", "parameters": "", "template": "", "details": details,
                               "model_info": {"general.architecture": "llama", "general.parameter_count": 3212749888,
                                              "llama.context_length": self.context_length,
                                              "llama.embedding_length": 3072},
                               "capabilities": ["completion"], "modified_at": _CREATED})
        if request.method == "GET" and request.path == "/api/version":
            return Reply.json({"version": "0.33.0"})
        return Reply.text("404 page not found", status=404)
