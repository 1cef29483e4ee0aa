"""The openai-chat wire kind: `/chat/completions` SSE and model discovery for OpenAI, OpenRouter, Azure OpenAI v1,
LM Studio, llama.cpp, vLLM and other compatibles (docs/protocols.md §2, §4, §5)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, AsyncIterator
from urllib.parse import urlsplit

import httpx

from tui_agent.errors import ProviderError
from tui_agent.providers import _http
from tui_agent.core.chat import ChatMessage, ChatRequest, ModelInfo
from tui_agent.core.events import Done, Event, StreamFailed, TextDelta, ThinkingDelta, Usage
from tui_agent.providers.sse import aiter_sse

if TYPE_CHECKING:
    from tui_agent.core.credentials import Credential
    from tui_agent.config.schema import ProviderConfig

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_MAX_MODEL_PAGES = 20
# OpenAI deprecated `max_tokens` for `max_completion_tokens` (o-series models reject the old name); every
# compatible server documents `max_tokens`. Hosts listed here get the new name.
_NEW_MAX_TOKENS_HOSTS = ("api.openai.com", ".openai.azure.com")


def _without_stream_options(status: int, text: str, body: dict) -> dict | None:
    """Some servers reject `stream_options` with a 400: send the request once more without it."""
    if status == 400 and "stream_options" in text and "stream_options" in body:
        return {k: v for k, v in body.items() if k != "stream_options"}
    return None


class OpenAIChatAdapter(_http.HttpAdapter):
    """Speaks OpenAI Chat Completions and the servers that copy it."""

    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    CHAT_PATH = "/chat/completions"
    RESHAPE = staticmethod(_without_stream_options)

    def _body(self, request: ChatRequest) -> dict:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": _content(m)} for m in request.messages]
        body: dict = {
            "model": request.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.max_tokens is not None:
            host = urlsplit(self._base).hostname or ""
            new_name = any(host == h or (h.startswith(".") and host.endswith(h)) for h in _NEW_MAX_TOKENS_HOSTS)
            body["max_completion_tokens" if new_name else "max_tokens"] = request.max_tokens
        if request.reasoning is not None:
            # "off" is OpenAI's "none"; OpenRouter takes its own object (README: "Reasoning effort").
            effort = "none" if request.reasoning == "off" else request.reasoning
            if self.provider.id == "openrouter" or (urlsplit(self._base).hostname or "").endswith("openrouter.ai"):
                body["reasoning"] = {"effort": effort}
            else:
                body["reasoning_effort"] = effort
        return body

    async def _parse(self, response: httpx.Response, url: str) -> AsyncIterator[Event]:
        name = self.provider.name or "The server"
        finish_reason: str | None = None
        seen_any = False
        loads = json.loads
        async for sse in aiter_sse(response.aiter_bytes()):
            data = sse.data
            seen_any = True
            if data.startswith("[DONE]"):
                break
            try:
                chunk = loads(data)
            except ValueError:
                yield StreamFailed(f"{name} sent a chunk that is not JSON at {url}; the answer was abandoned", kind="bad_response")
                return
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error") or chunk.get("object") == "error":
                yield _in_band_error(name, chunk)
                return
            choices = chunk.get("choices")
            if choices:
                choice = choices[0]
                delta = choice.get("delta")
                if delta:
                    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                    if reasoning and isinstance(reasoning, str):
                        yield ThinkingDelta(reasoning)
                    content = delta.get("content")
                    if content:
                        yield TextDelta(content)
                if choice.get("finish_reason"):
                    finish_reason = choice["finish_reason"]
            usage = chunk.get("usage")
            if usage:
                cost = usage.get("cost")  # OpenRouter reports the price of the call here
                yield Usage(
                    input_tokens=usage.get("prompt_tokens"),
                    output_tokens=usage.get("completion_tokens"),
                    cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
                )
        if finish_reason is not None:
            yield Done(stop_reason=finish_reason)
        elif not seen_any:
            # llama-cpp-python answers 200 with an empty body when the prompt overflows its context (§5.1).
            yield StreamFailed(
                f"{name} accepted the request but sent nothing back at {url}; the conversation may be longer than "
                "the model's context window",
                kind="provider",
            )
        else:
            # `[DONE]` or EOF without any finish_reason: the server cut the answer short (§5.1, §6 rule 9).
            yield StreamFailed(
                f"{name} stopped before the end of the answer (no finish_reason) at {url}; what arrived is kept",
                kind="interrupted",
            )

    async def list_models(self, credential: "Credential") -> list[ModelInfo]:
        """The models the server lists; local servers are asked for load state first (LM Studio REST v1, v0)."""
        if self.provider.local:
            root = self._base[: -len("/v1")] if self._base.endswith("/v1") else self._base
            v1 = await _http.get_json(self.client, self.provider, f"{root}/api/v1/models", credential, missing_ok=True)
            if isinstance(v1, dict) and isinstance(v1.get("models"), list):
                return _lmstudio_v1(self.provider.id, v1["models"])
            v0 = await _http.get_json(self.client, self.provider, f"{root}/api/v0/models", credential, missing_ok=True)
            if isinstance(v0, dict) and isinstance(v0.get("data"), list):
                return _lmstudio_v0(self.provider.id, v0["data"])
        return await self._openai_models(credential)

    async def _openai_models(self, credential: "Credential") -> list[ModelInfo]:
        models: list[ModelInfo] = []
        params: dict | None = None
        for _ in range(_MAX_MODEL_PAGES):
            page = await _http.get_json(self.client, self.provider, f"{self._base}/models", credential, params=params)
            data = page.get("data") if isinstance(page, dict) else page if isinstance(page, list) else None
            if not isinstance(data, list):
                raise _unexpected(self.provider, f"{self._base}/models")
            for item in data:
                if isinstance(item, dict) and item.get("id"):
                    models.append(_listed_model(self.provider.id, item))
            # OpenAI's list is one page; some compatibles paginate with has_more/last_id like Anthropic.
            if not (isinstance(page, dict) and page.get("has_more") and page.get("last_id")):
                break
            params = {"after": page["last_id"]}
        return models


def _in_band_error(name: str, chunk: dict) -> StreamFailed:
    error = chunk.get("error")
    if isinstance(error, dict):
        message = error.get("message") or ""
        code = error.get("code") or error.get("type")
    else:
        message = error if isinstance(error, str) else chunk.get("message") or ""
        code = None
    message = " ".join(str(message or "no details").split()).rstrip(".")
    kind = "provider"
    if code in (429, "rate_limit_exceeded", "rate_limit_error"):
        kind = "rate_limit"
    elif code in (401, 403, "invalid_api_key"):
        kind = "auth"
    elif code in (502, 503, "server_error", "overloaded_error") or (isinstance(code, int) and code >= 500):
        kind = "overloaded"
    what = f"{code}: {message}" if code not in (None, "") else message
    return StreamFailed(f"{name} stopped the answer with an error ({what}); what arrived is kept", kind=kind)  # type: ignore[arg-type]


def _unexpected(provider: "ProviderConfig", url: str) -> Exception:
    return ProviderError(
        f"{provider.name or 'The server'} answered {url} without a model list; check providers.{provider.id}.base_url."
    )


def _listed_model(provider_id: str, item: dict) -> ModelInfo:
    """One `/models` entry; OpenRouter's also carry `context_length` and `pricing` (strings, USD per token)."""
    context = item.get("context_length")
    pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
    return ModelInfo(
        provider=provider_id, id=str(item["id"]), display_name=str(item["id"]),
        context_window=context if isinstance(context, int) and context > 0 else None,
        input_usd_per_mtok=_per_million(pricing.get("prompt")),
        output_usd_per_mtok=_per_million(pricing.get("completion")),
    )


def _per_million(per_token: object) -> float | None:
    try:
        value = float(per_token)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value * 1_000_000 if value >= 0 else None  # OpenRouter marks variable-price routers with -1


def _lmstudio_v1(provider_id: str, items: list) -> list[ModelInfo]:
    models = []
    for item in items:
        if not isinstance(item, dict) or not item.get("key") or item.get("type") == "embedding":
            continue
        loaded = item.get("loaded_instances")
        # A loaded instance's own context length is the one in force; the maximum only applies when loading anew.
        in_use = ((loaded[0].get("config") or {}).get("context_length") if loaded and isinstance(loaded[0], dict) else None)
        context = in_use if isinstance(in_use, int) else item.get("max_context_length")
        models.append(
            ModelInfo(
                provider=provider_id,
                id=str(item["key"]),
                display_name=str(item.get("display_name") or item["key"]),
                context_window=context if isinstance(context, int) else None,
                loaded=bool(loaded) if isinstance(loaded, list) else None,
            )
        )
    return models


def _lmstudio_v0(provider_id: str, items: list) -> list[ModelInfo]:
    models = []
    for item in items:
        if not isinstance(item, dict) or not item.get("id") or item.get("type") in ("embeddings", "embedding"):
            continue
        state = item.get("state")
        context = item.get("loaded_context_length") or item.get("max_context_length")
        models.append(
            ModelInfo(
                provider=provider_id,
                id=str(item["id"]),
                display_name=str(item["id"]),
                context_window=context if isinstance(context, int) else None,
                loaded=(state == "loaded") if isinstance(state, str) else None,
            )
        )
    return models


def _content(message: ChatMessage) -> str | list[dict]:
    """A plain string, or content parts: the text, then each image as a data URL."""
    if not message.images:
        return message.content
    parts: list[dict] = [{"type": "text", "text": message.content}] if message.content else []
    parts += [{"type": "image_url", "image_url": {"url": image.data_url}} for image in message.images]
    return parts
