"""A loopback Anthropic Messages API: `/v1/messages` SSE and paginated `/v1/models`, recording what it receives."""

from __future__ import annotations

from typing import Sequence

from ._server import FakeServer, RecordedRequest, Reply, sse_bytes


class FakeAnthropic(FakeServer):
    """`with FakeAnthropic() as fake:` → `fake.base_url` (no /v1, like the real base), `fake.script(fake.answer(...))`.

    Set `api_key` to demand that key (as `x-api-key` or `Authorization: Bearer`); other requests get a real 401 body.
    """

    chat_path = "/v1/messages"

    def __init__(
        self,
        api_key: str | None = None,
        models: Sequence[str] = ("claude-test-1", "claude-test-2"),
        page_size: int = 1000,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = list(models)
        self.page_size = page_size  # the most models one /v1/models page holds, whatever `limit` asks

    # -- reply builders --------------------------------------------------------------------------------------

    @staticmethod
    def answer(
        *texts: str,
        thinking: Sequence[str] = (),
        stop_reason: str = "end_turn",
        input_tokens: int = 11,
        output_tokens: int | None = None,
        ping: bool = True,
        error: tuple[str, str] | None = None,
        complete: bool = True,
        cut: bool = False,
        cut_after: int | None = None,
        delay: float = 0.0,
        pause_after: int | None = None,
        newline: str = "\n",
        model: str = "claude-test-1",
    ) -> Reply:
        """A streamed answer, one SSE event per chunk, exactly as the API frames it (docs/protocols.md §1.4).

        `error=(type, message)` sends an in-band `event: error` after the texts; `complete=False` leaves out
        `message_stop`; `cut_after=N` sends N chunks, then drops the connection mid-body (`cut=True`: after all chunks); `pause_after=N` holds after N events.
        """
        out = output_tokens if output_tokens is not None else max(1, len(texts) + len(thinking))
        events = [
            sse_bytes({"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "content": [], "model": model,
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 0, "output_tokens": 1}}}, "message_start", newline),
        ]
        index = 0
        if thinking:
            events.append(sse_bytes({"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
                                    "content_block_start", newline))
            for piece in thinking:
                events.append(sse_bytes({"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "thinking_delta", "thinking": piece}},
                                        "content_block_delta", newline))
            events.append(sse_bytes({"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}},
                                    "content_block_delta", newline))
            events.append(sse_bytes({"type": "content_block_stop", "index": 0}, "content_block_stop", newline))
            index = 1
        events.append(sse_bytes({"type": "content_block_start", "index": index,
                                 "content_block": {"type": "text", "text": ""}}, "content_block_start", newline))
        if ping:
            events.append(sse_bytes({"type": "ping"}, "ping", newline))
        for piece in texts:
            events.append(sse_bytes({"type": "content_block_delta", "index": index,
                                     "delta": {"type": "text_delta", "text": piece}}, "content_block_delta", newline))
        if error is not None:
            events.append(sse_bytes({"type": "error", "error": {"type": error[0], "message": error[1]}}, "error", newline))
        else:
            events.append(sse_bytes({"type": "content_block_stop", "index": index}, "content_block_stop", newline))
            events.append(sse_bytes({"type": "message_delta",
                                     "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                     "usage": {"output_tokens": out}}, "message_delta", newline))
            if complete:
                events.append(sse_bytes({"type": "message_stop"}, "message_stop", newline))
        if cut_after is not None:
            events = events[:cut_after]
        return Reply.stream(events, "text/event-stream; charset=utf-8", delay=delay, pause_after=pause_after, cut=cut or cut_after is not None)

    @staticmethod
    def error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> Reply:
        """A non-2xx reply with the API's error body (docs/protocols.md §1.6)."""
        return Reply.json({"type": "error", "error": {"type": type_, "message": message}, "request_id": "req_fake"},
                          status=status, headers={"request-id": "req_fake", **(headers or {})})

    # -- routing -------------------------------------------------------------------------------------------

    def _authorised(self, request: RecordedRequest) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("x-api-key") == self.api_key or \
            request.headers.get("authorization") == f"Bearer {self.api_key}"

    def route(self, request: RecordedRequest) -> Reply:
        if not self._authorised(request):
            return self.error(401, "authentication_error", "invalid x-api-key")
        if request.method == "POST" and request.path == self.chat_path:
            return self.answer("Hello", " from", " the fake.")
        if request.method == "GET" and request.path == "/v1/models":
            return self._models_page(request)
        return self.error(404, "not_found_error", f"Not found: {request.path}")

    def _models_page(self, request: RecordedRequest) -> Reply:
        limit = min(int(request.query.get("limit", "20")), self.page_size)
        start = 0
        if "after_id" in request.query and request.query["after_id"] in self.models:
            start = self.models.index(request.query["after_id"]) + 1
        page = self.models[start:start + limit]
        data = [{"type": "model", "id": m, "display_name": m.replace("-", " ").title(),
                 "created_at": "2026-01-01T00:00:00Z", "max_input_tokens": 200000, "max_tokens": 64000,
                 "capabilities": {"thinking": {"supported": True}}} for m in page]
        return Reply.json({"data": data, "has_more": start + limit < len(self.models),
                           "first_id": page[0] if page else None, "last_id": page[-1] if page else None})
