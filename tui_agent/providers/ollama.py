"""The ollama wire kind: native `/api/chat` NDJSON streaming, `/api/tags` + `/api/ps` discovery (docs/protocols.md §3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx

from tui_agent.errors import ProviderError
from tui_agent.providers import _http
from tui_agent.core.chat import ChatMessage, ChatRequest, ModelInfo
from tui_agent.core.events import Done, Event, StreamFailed, TextDelta, ThinkingDelta, Usage
from tui_agent.providers.ndjson import NDJSONError, aiter_ndjson

if TYPE_CHECKING:
    from tui_agent.core.credentials import Credential

DEFAULT_BASE_URL = "http://127.0.0.1:11434"


def _connectable(base: str) -> str:
    """Map a bind-all host (0.0.0.0, ::) to loopback, as Ollama's own client does (docs/protocols.md §3.1)."""
    parts = urlsplit(base)
    host = parts.hostname or ""
    if host in ("0.0.0.0", "::"):
        loop = "127.0.0.1" if host == "0.0.0.0" else "[::1]"
        netloc = f"{loop}:{parts.port}" if parts.port else loop
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return base


class OllamaAdapter(_http.HttpAdapter):
    """Speaks Ollama's native API."""

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    CHAT_PATH = "/api/chat"
    ACCEPT = "application/x-ndjson"
    SSE = False

    def _base_url(self, configured: str) -> str:
        return _connectable(configured)

    def _body(self, request: ChatRequest) -> dict:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [_message(m) for m in request.messages]
        body: dict = {"model": request.model, "messages": messages, "stream": True}
        if request.reasoning is not None:
            body["think"] = False if request.reasoning == "off" else request.reasoning
        options: dict = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.top_p is not None:
            options["top_p"] = request.top_p
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens  # Ollama's name for the output-token cap
        if options:
            body["options"] = options
        return body

    async def _parse(self, response: httpx.Response, url: str) -> AsyncIterator[Event]:
        name = self.provider.name or "Ollama"
        seen_any = False
        try:
            async for obj in aiter_ndjson(response.aiter_bytes()):
                seen_any = True
                if not isinstance(obj, dict):
                    continue
                error = obj.get("error")
                if error:
                    # A mid-stream failure is one more line under HTTP 200 (§3.4).
                    message = " ".join(str(error).split()).rstrip(".")
                    yield StreamFailed(f"{name} stopped the answer with an error ({message}); what arrived is kept")
                    return
                message = obj.get("message")
                if isinstance(message, dict):
                    if message.get("thinking"):
                        yield ThinkingDelta(message["thinking"])
                    if message.get("content"):
                        yield TextDelta(message["content"])
                if obj.get("done") is True:
                    if "prompt_eval_count" in obj or "eval_count" in obj:
                        yield Usage(input_tokens=obj.get("prompt_eval_count"), output_tokens=obj.get("eval_count"))
                    yield Done(stop_reason=obj.get("done_reason"))
                    return
        except NDJSONError as exc:
            yield StreamFailed(
                f"{name} sent a line that is not JSON at {url} ({exc.line[:60]!r}); the answer was abandoned",
                kind="bad_response",
            )
            return
        if not seen_any:
            yield StreamFailed(f"{name} accepted the request but sent nothing back at {url}; try again", kind="provider")
        else:
            yield StreamFailed(
                f"{name} stopped before the end of the answer (no done: true) at {url}; what arrived is kept",
                kind="interrupted",
            )

    async def list_models(self, credential: "Credential") -> list[ModelInfo]:
        """Installed models from `/api/tags`, marked loaded from `/api/ps` (unknown when that call fails)."""
        tags = await _http.get_json(self.client, self.provider, f"{self._base}/api/tags", credential)
        items = tags.get("models") if isinstance(tags, dict) else None
        if not isinstance(items, list):
            raise ProviderError(
                f"{self.provider.name or 'Ollama'} answered {self._base}/api/tags without a model list; "
                f"check providers.{self.provider.id}.base_url."
            )
        loaded: dict[str, dict] | None
        try:
            ps = await _http.get_json(self.client, self.provider, f"{self._base}/api/ps", credential)
            loaded = {
                str(m.get("name") or m.get("model")): m
                for m in (ps.get("models") or [] if isinstance(ps, dict) else [])
                if isinstance(m, dict)
            }
        except ProviderError:
            loaded = None  # the list still helps; whether a model is in memory is just unknown
        models = []
        for item in items:
            if not isinstance(item, dict):
                continue
            model_id = item.get("name") or item.get("model")
            if not model_id:
                continue
            running = loaded.get(model_id) if loaded is not None else None
            context = running.get("context_length") if running else None
            models.append(
                ModelInfo(
                    provider=self.provider.id,
                    id=str(model_id),
                    display_name=str(model_id),
                    context_window=context if isinstance(context, int) else None,
                    loaded=None if loaded is None else model_id in loaded,
                )
            )
        return models

    async def context_length(self, model: str, credential: "Credential") -> int | None:
        """The model's trained context length from `POST /api/show` (`model_info["<arch>.context_length"]`)."""
        shown = await _http.get_json(self.client, self.provider, f"{self._base}/api/show", credential, post={"model": model})
        info = shown.get("model_info") if isinstance(shown, dict) else None
        if not isinstance(info, dict):
            return None
        found = [v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int) and v > 0]
        return found[0] if found else None

def _message(message: ChatMessage) -> dict:
    """Ollama carries images beside the text, as a list of base64 strings on the message."""
    encoded: dict = {"role": message.role, "content": message.content}
    if message.images:
        encoded["images"] = [image.data for image in message.images]
    return encoded
