"""The anthropic-messages wire kind: streams `/v1/messages` SSE and lists `/v1/models` (docs/protocols.md §1)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, AsyncIterator

import httpx

from tui_agent.providers import _http
from tui_agent.core.chat import ChatMessage, ChatRequest, ModelInfo
from tui_agent.core.events import Done, ErrorKind, Event, StreamFailed, TextDelta, ThinkingDelta, Usage
from tui_agent.providers.sse import aiter_sse

if TYPE_CHECKING:
    from tui_agent.core.credentials import Credential

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"  # pinned: 2026-10-21 rejects sampling parameters (docs/protocols.md §1.2)
DEFAULT_MAX_TOKENS = 8192  # the API requires max_tokens on every request
# Extended-thinking budgets per reasoning level. 1,024 is the API's documented minimum; the budget counts
# against max_tokens and must stay below it, so the request's max_tokens becomes budget + the answer's room.
THINKING_BUDGETS = {"low": 1024, "medium": 8000, "high": 16000}
_MAX_MODEL_PAGES = 20

# In-band `error` event types mapped to the same kinds the HTTP statuses would have produced (§1.6).
_ERROR_KINDS: dict[str, ErrorKind] = {
    "overloaded_error": "overloaded",
    "api_error": "overloaded",
    "timeout_error": "overloaded",
    "rate_limit_error": "rate_limit",
    "authentication_error": "auth",
    "permission_error": "auth",
    "invalid_request_error": "bad_request",
    "not_found_error": "bad_request",
    "request_too_large": "bad_request",
}


class AnthropicAdapter(_http.HttpAdapter):
    """Speaks the Anthropic Messages API (and Anthropic-compatible gateways)."""

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    CHAT_PATH = "/v1/messages"

    def _wire_headers(self) -> dict[str, str]:
        return {
            "anthropic-version": self.provider.anthropic_version or DEFAULT_VERSION,
            "accept": "text/event-stream",
        }

    def _body(self, request: ChatRequest) -> dict:
        body: dict = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "stream": True,
            "messages": [{"role": m.role, "content": _content(m)} for m in request.messages],
        }
        if request.reasoning == "off":
            body["thinking"] = {"type": "disabled"}
        elif request.reasoning in THINKING_BUDGETS:
            budget = THINKING_BUDGETS[request.reasoning]
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            body["max_tokens"] = budget + body["max_tokens"]
        if request.system:
            body["system"] = request.system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        return body

    async def _parse(self, response: httpx.Response, url: str) -> AsyncIterator[Event]:
        name = self.provider.name or "Anthropic"
        stop_reason: str | None = None
        input_tokens: int | None = None
        output_tokens: int | None = None
        seen_any = False
        async for sse in aiter_sse(response.aiter_bytes()):
            seen_any = True
            if sse.event == "ping":
                continue
            try:
                data = json.loads(sse.data) if sse.data else {}
            except ValueError:
                yield StreamFailed(
                    f"{name} sent an event that is not JSON at {url}; the answer was abandoned", kind="bad_response"
                )
                return
            kind = sse.event if sse.event != "message" else (data.get("type") if isinstance(data, dict) else None)
            if not isinstance(data, dict):
                continue
            if kind == "content_block_delta":
                delta = data.get("delta") or {}
                dtype = delta.get("type")
                if dtype == "text_delta" and delta.get("text"):
                    yield TextDelta(delta["text"])
                elif dtype == "thinking_delta" and delta.get("thinking"):
                    yield ThinkingDelta(delta["thinking"])
            elif kind == "message_start":
                usage = (data.get("message") or {}).get("usage") or {}
                input_tokens = _total_input(usage, input_tokens)
                output_tokens = usage.get("output_tokens", output_tokens)
                yield Usage(input_tokens=input_tokens, output_tokens=output_tokens)
            elif kind == "message_delta":
                stop_reason = (data.get("delta") or {}).get("stop_reason") or stop_reason
                usage = data.get("usage") or {}
                if usage:
                    # Cumulative counts: later values replace earlier ones, never add up (§1.5).
                    input_tokens = _total_input(usage, input_tokens)
                    output_tokens = usage.get("output_tokens", output_tokens)
                    yield Usage(input_tokens=input_tokens, output_tokens=output_tokens)
            elif kind == "message_stop":
                yield Done(stop_reason=stop_reason)
                return
            elif kind == "error":
                yield _in_band_error(name, data)
                return
            # content_block_start / content_block_stop / anything new: nothing to show
        if not seen_any:
            yield StreamFailed(
                f"{name} accepted the request but sent no events at {url}; try again", kind="provider"
            )
        else:
            yield StreamFailed(
                f"{name} stopped before the end of the answer (no message_stop) at {url}; what arrived is kept",
                kind="interrupted",
            )

    async def list_models(self, credential: "Credential") -> list[ModelInfo]:
        """Every model `GET /v1/models` lists, following `has_more` pages; raises ProviderError / AuthError."""
        models: list[ModelInfo] = []
        params: dict = {"limit": 1000}
        for _ in range(_MAX_MODEL_PAGES):
            page = await _http.get_json(
                self.client,
                self.provider,
                f"{self._base}/v1/models",
                credential,
                wire_headers={"anthropic-version": self.provider.anthropic_version or DEFAULT_VERSION},
                params=params,
            )
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                break
            for item in data:
                if isinstance(item, dict) and item.get("id"):
                    models.append(_model_info(self.provider.id, item))
            last = page.get("last_id")
            if not page.get("has_more") or not last:
                break
            params = {"limit": 1000, "after_id": last}
        return models


def _total_input(usage: dict, previous: int | None) -> int | None:
    """Input tokens as the person pays for them: plain + cache writes + cache reads (§1.5)."""
    if "input_tokens" not in usage:
        return previous
    return sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))


def _in_band_error(name: str, data: dict) -> StreamFailed:
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    etype = str(error.get("type") or "error")
    message = " ".join(str(error.get("message") or "no details").split()).rstrip(".")
    kind = _ERROR_KINDS.get(etype, "provider")
    advice = {
        "overloaded": "try again in a moment",
        "rate_limit": "try again in a little while",
        "auth": "log in again",
    }.get(kind, "what arrived is kept")
    return StreamFailed(f"{name} stopped the answer with an error ({etype}: {message}); {advice}", kind=kind)


def _model_info(provider_id: str, item: dict) -> ModelInfo:
    caps = item.get("capabilities") if isinstance(item.get("capabilities"), dict) else {}
    thinking = caps.get("thinking") if isinstance(caps, dict) else None
    capabilities = ("thinking",) if isinstance(thinking, dict) and thinking.get("supported") else ()
    return ModelInfo(
        provider=provider_id,
        id=str(item["id"]),
        display_name=str(item.get("display_name") or item["id"]),
        context_window=item.get("max_input_tokens") if isinstance(item.get("max_input_tokens"), int) else None,
        capabilities=capabilities,
    )


def _content(message: ChatMessage) -> str | list[dict]:
    """A plain string, or content blocks with the images first (as the Messages API docs advise)."""
    if not message.images:
        return message.content
    blocks: list[dict] = [
        {"type": "image", "source": {"type": "base64", "media_type": image.media_type, "data": image.data}}
        for image in message.images
    ]
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    return blocks
