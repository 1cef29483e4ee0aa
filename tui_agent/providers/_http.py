"""What every HTTP wire adapter shares: headers, timeouts, retries before the first token, and failures
turned into one sentence (what failed, where, what to do), identical across Anthropic, OpenAI-style and Ollama."""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import random
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from tui_agent.errors import AuthError, ProviderError, TuiAgentError, Unreachable
from tui_agent.core.events import Done, ErrorKind, Event, StreamFailed
from tui_agent.providers.lines import StreamTooLarge
from tui_agent.redact import mask
from tui_agent.sanitize import sanitize_line

if TYPE_CHECKING:
    from tui_agent.core.credentials import Credential
    from tui_agent.config.schema import ProviderConfig
    from tui_agent.core.chat import ChatRequest, RefreshCredential

# Where an API key goes when the provider does not say (provider.api_key_header overrides, e.g. Azure's `api-key`).
DEFAULT_KEY_HEADER = {
    "anthropic-messages": "x-api-key",
    "openai-chat": "authorization",
    "ollama": "authorization",
}

_ERROR_BODY_CAP = 64 * 1024  # an error page is never worth more than this
_DISCOVERY_READ_TIMEOUT = 20.0  # model lists are small; never let one hang the picker for minutes
_NO_RETRY_CODES = ("insufficient_quota", "enforced_spend_limit_reached")  # 429s that waiting will not fix


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before retrying a request that failed before its first token.

    Mirrors the Anthropic SDK: 2 retries, `retry-after(-ms)` honoured when 0 < value ≤ 60 s, otherwise
    0.5 s doubling up to 8 s with jitter. `sleep` is injectable so tests never wait.
    """

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        if retry_after is not None and 0 < retry_after <= 60:
            return retry_after
        return min(self.base_delay * 2 ** (retry - 1), self.max_delay) * (1 - 0.25 * self.jitter())


# ---------------------------------------------------------------------------------------------- headers


def auth_headers(provider: "ProviderConfig", credential: "Credential") -> dict[str, str]:
    """The header that carries the credential: a key in the wire kind's (or provider's) header, a token as Bearer."""
    if credential.kind == "none" or not credential.secret:
        return {}
    if credential.kind == "bearer":
        return {"Authorization": f"Bearer {credential.secret}"}
    header = provider.api_key_header or DEFAULT_KEY_HEADER.get(provider.kind, "authorization")
    if header.lower() == "authorization":
        return {"Authorization": f"Bearer {credential.secret}"}
    return {header: credential.secret}


def request_headers(provider: "ProviderConfig", credential: "Credential", wire: dict[str, str]) -> dict[str, str]:
    """Wire-kind headers, then the provider's own `headers`, then the credential (which nothing may override)."""
    return {**wire, **provider.headers, **auth_headers(provider, credential)}


# ---------------------------------------------------------------------------------------------- time limits

REMOTE_HEADERS_LIMIT = 60.0  # a remote API starts a streamed answer within seconds; a minute is generous
LOCAL_HEADERS_LIMIT = 300.0  # a local server may first load the model from disk
IDLE_LIMIT = 120.0  # silence in the middle of an answer (APIs send keep-alives; a long pause means trouble)


def is_local(provider: "ProviderConfig") -> bool:
    """A server on this machine: a catalog entry marked local (Ollama, LM Studio) or any loopback base URL
    (llama.cpp, vLLM, a local gateway)."""
    if provider.local:
        return True
    host = (urlsplit(provider.base_url).hostname or "") if provider.base_url else ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def headers_limit(provider: "ProviderConfig") -> float:
    """Seconds from sending the request until the response headers must have arrived."""
    timeouts = provider.timeouts
    if timeouts.headers is not None:
        return timeouts.headers
    if timeouts.read is not None:
        return timeouts.read
    return LOCAL_HEADERS_LIMIT if is_local(provider) else REMOTE_HEADERS_LIMIT


def idle_limit(provider: "ProviderConfig") -> float:
    """The longest silence allowed in the middle of a streaming answer."""
    timeouts = provider.timeouts
    if timeouts.idle is not None:
        return timeouts.idle
    return timeouts.read if timeouts.read is not None else IDLE_LIMIT


def stream_timeout(provider: "ProviderConfig") -> httpx.Timeout:
    """httpx limits only the connect: the wait for headers and the idle limit are timed by `stream_events`."""
    return httpx.Timeout(None, connect=provider.timeouts.connect)


def discovery_timeout(provider: "ProviderConfig") -> httpx.Timeout:
    return httpx.Timeout(min(headers_limit(provider), _DISCOVERY_READ_TIMEOUT), connect=provider.timeouts.connect)


class _Idle(httpx.ReadTimeout):
    """The body went silent for longer than `idle_limit` (a ReadTimeout, so error-body readers treat it as one)."""


class _IdleLimitedStream(httpx.AsyncByteStream):
    """A response body that raises _Idle when no bytes arrive for `limit` seconds (timed per read, so a long
    answer that keeps flowing never times out)."""

    def __init__(self, inner: httpx.AsyncByteStream, limit: float) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            try:
                async with asyncio.timeout(self._limit):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise _Idle(f"no data for {self._limit:g} s") from None
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _limit_source(provider: "ProviderConfig", key: str) -> str:
    """Where the limit in force comes from, for the sentence: the key to change."""
    return f"providers.{provider.id or 'NAME'}.timeouts.{key}"


def no_headers_error(provider: "ProviderConfig", url: str, limit: float) -> StreamFailed:
    """The server took the request but did not start answering in time; it is not sent again."""
    return StreamFailed(
        f"{_label(provider)} accepted the request but sent no answer within {limit:g} s at {url}; it was not sent "
        f"again — try later, or raise {_limit_source(provider, 'headers')} if the server needs longer",
        kind="network",
    )


def idle_error(provider: "ProviderConfig", url: str, limit: float) -> StreamFailed:
    """The answer stopped flowing in the middle; what arrived is kept."""
    return StreamFailed(
        f"{_label(provider)} sent nothing for {limit:g} s in the middle of the answer at {url}; what arrived is "
        f"kept — send again to retry, or raise {_limit_source(provider, 'idle')} if the model pauses longer",
        kind="network",
    )


# ---------------------------------------------------------------------------------------------- sentences


def _label(provider: "ProviderConfig") -> str:
    return provider.name or provider.host or "the provider"


def _login_hint(provider: "ProviderConfig") -> str:
    return f"run `tui-agent login {provider.id}`" if provider.id else "log in again"


def _clean(text: str, secret: str, limit: int = 300) -> str:
    """One line, bounded, terminal-safe, and never the secret itself (servers sometimes echo the key they refused)."""
    text = sanitize_line(" ".join(text.split()))
    if secret and len(secret) >= 4:
        text = text.replace(secret, mask(secret))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.rstrip(".")


def _error_detail(body: str) -> tuple[str, str]:
    """(message, type-or-code) from any of the error shapes seen in the wild (docs/protocols.md §2.5, §3.4, §5.1)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return body.strip(), ""
    if isinstance(obj, str):
        return obj, ""
    if not isinstance(obj, dict):
        return body.strip(), ""
    err = obj.get("error")
    if isinstance(err, dict):
        message = err.get("message") or ""
        code = err.get("type") or err.get("code") or ""
        return str(message), str(code) if code is not None else ""
    if isinstance(err, str):
        return err, ""
    detail = obj.get("detail")
    if isinstance(detail, str):
        return detail, ""
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail), ""
    if isinstance(obj.get("message"), str):
        return obj["message"], str(obj.get("type") or obj.get("code") or "")
    return body.strip(), ""


def _looks_like_html(content_type: str, body: str) -> bool:
    if "html" in content_type.lower():
        return True
    head = body.lstrip()[:15].lower()
    return head.startswith("<!doctype") or head.startswith("<html")


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from `retry-after-ms`, or `retry-after` as seconds or an HTTP date; None when absent or unreadable."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def describe_status(
    provider: "ProviderConfig", url: str, status: int, headers: httpx.Headers, body: str, secret: str = ""
) -> StreamFailed:
    """Turn a non-2xx (or HTML) answer into one sentence with the right kind, status and retry-after."""
    name = _label(provider)
    where = _clean(url, secret)
    content_type = headers.get("content-type", "")
    if 300 <= status < 400:
        location = headers.get("location", "")
        target = _clean(urlsplit(location).netloc.rpartition("@")[2] or location, secret, 120) or "another address"
        return StreamFailed(
            f"{name} redirected {where} to {target} (HTTP {status}); tui-agent never follows a redirect with a "
            f"credential, so check providers.{provider.id}.base_url",
            kind="provider",
            status=status,
        )
    if _looks_like_html(content_type, body):
        return StreamFailed(
            f"{name} answered HTTP {status} with an HTML page where JSON was expected, at {where}; the server or a "
            "proxy in front of it is failing, or the base URL points at a web page",
            kind="bad_response",
            status=status,
            retry_after=parse_retry_after(headers),
        )
    message, code = _error_detail(body)
    message = _clean(message, secret)
    code = _clean(code, secret, 60)
    detail = f"{code}: {message}" if code and message and code not in message else (message or code)
    what = f"HTTP {status}" + (f" ({detail})" if detail else "")
    retry_after = parse_retry_after(headers)
    kind: ErrorKind
    if status in (401, 403):
        verb = "refused the credential" if status == 401 else "denied access"
        return StreamFailed(f"{name} {verb} with {what} at {where}; {_login_hint(provider)}", kind="auth", status=status)
    if status == 429:
        if any(c in body for c in _NO_RETRY_CODES):
            sentence = f"{name} refused the request with {what}: the account's quota or spend limit is used up; check its billing"
        elif retry_after is not None:
            sentence = f"{name} is rate limiting requests ({what}); try again in {retry_after:g} s"
        else:
            sentence = f"{name} is rate limiting requests ({what}); try again in a little while"
        return StreamFailed(sentence, kind="rate_limit", status=status, retry_after=retry_after)
    if status >= 500:
        kind = "overloaded"
        sentence = f"{name} is overloaded or failing ({what}) at {where}; try again in a moment"
    elif status in (400, 404, 409, 413, 422):
        kind = "bad_request"
        sentence = (
            f"{name} rejected the request with {what} at {where}; check the model name, the profile's parameters "
            f"and providers.{provider.id}.base_url"
        )
    else:
        kind = "provider"
        sentence = f"{name} failed the request with {what} at {where}"
    return StreamFailed(sentence, kind=kind, status=status, retry_after=retry_after)


def describe_transport(
    provider: "ProviderConfig", url: str, exc: Exception, *, during_stream: bool = False, read_limit: float | None = None
) -> StreamFailed:
    """A connection-level failure (refused, DNS, TLS, timeout, cut) as one sentence naming the URL.

    `read_limit` is the read timeout that was in force, so a timeout names the limit actually hit."""
    name = _label(provider)
    if isinstance(exc, httpx.ConnectTimeout):
        return StreamFailed(
            f"Could not connect to {name} at {url} within {provider.timeouts.connect:g} s; check the network and "
            f"providers.{provider.id}.base_url",
            kind="network",
        )
    if isinstance(exc, httpx.TimeoutException):
        limit = headers_limit(provider) if read_limit is None else read_limit
        return StreamFailed(
            f"{name} sent nothing for {limit:g} s at {url}; it was abandoned, try again "
            f"(the limit is {_limit_source(provider, 'headers')})",
            kind="network",
        )
    if during_stream:
        return StreamFailed(
            f"{name} closed the connection in the middle of the answer at {url}; what arrived is kept, send again to retry",
            kind="interrupted",
        )
    reason = _transport_reason(exc)
    hint = "is the server running?" if provider.local else "check the network and the base URL"
    return StreamFailed(
        f"Could not connect to {name} at {url} ({reason}); {hint} (providers.{provider.id}.base_url)",
        kind="network",
    )


# Behind a TLS-inspecting company proxy or a gateway with a private CA, the fix is the CA bundle, not the URL.
_CERT_PROBLEM = "TLS certificate not trusted; if a company proxy or CA signs it, set SSL_CERT_FILE to its CA bundle"


def _transport_reason(exc: Exception) -> str:
    # httpx wraps the OS error ("All connection attempts failed"); the useful reason is down the chain.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        if isinstance(cause, ssl.SSLError):
            return _CERT_PROBLEM if "certificate" in str(cause).lower() else "TLS handshake failed"
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text or "name resolution" in text:
        return "host name not found"
    if "certificate" in text or "ssl" in text:
        return _CERT_PROBLEM
    return _clean(str(exc), "", 120) or type(exc).__name__


def should_retry(status: int, headers: httpx.Headers, body: str) -> bool:
    """The Anthropic SDK's rule: obey `x-should-retry`, else retry 408/409/429/≥500 — but never a spent quota."""
    hint = headers.get("x-should-retry", "").lower()
    if hint == "true":
        return True
    if hint == "false":
        return False
    if status == 429 and any(c in body for c in _NO_RETRY_CODES):
        return False
    return status in (408, 409, 429) or status >= 500


async def _read_and_close(response: httpx.Response) -> str:
    """The start of an error body (what a person needs to read), then the connection is released."""
    try:
        return await _read_capped(response)
    except httpx.TransportError:
        return ""
    finally:
        await response.aclose()


async def _read_capped(response: httpx.Response) -> str:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= _ERROR_BODY_CAP:
            break
    return bytes(data[:_ERROR_BODY_CAP]).decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------- streaming

ParseBody = Callable[[httpx.Response], AsyncIterator[Event]]
# Given a failed status and its body and the request body, return a changed body to try once more, or None.
Reshape = Callable[[int, str, dict], "dict | None"]


async def stream_events(
    *,
    client: httpx.AsyncClient,
    provider: "ProviderConfig",
    url: str,
    body: dict,
    credential: "Credential",
    refresh: "RefreshCredential | None",
    wire_headers: dict[str, str],
    parse: ParseBody,
    policy: RetryPolicy,
    reshape: Reshape | None = None,
    sse: bool = True,
) -> AsyncIterator[Event]:
    """POST `body` and yield the events `parse` reads from the 2xx response; always ends with one Done or StreamFailed.
    `sse` marks an event-stream wire: a 2xx JSON document in its place is reported instead of parsed.

    Failures before the response starts (connection errors, non-2xx) are retried per `policy`, except a
    timeout once the request was sent: the server may be working on it, so it is reported, not repeated.
    Once the response is accepted nothing is retried. The response headers must arrive within
    `headers_limit`, and the body may not go silent for longer than `idle_limit`. A 401 asks `refresh` for
    a new credential once. Closing this generator (or cancelling its task) closes the HTTP response at once.
    """
    retries = 0
    refreshed = False
    reshaped = False
    timeout = stream_timeout(provider)
    wait_headers = headers_limit(provider)
    idle = idle_limit(provider)
    while True:
        request = client.build_request(
            "POST", url, json=body, headers=request_headers(provider, credential, wire_headers), timeout=timeout
        )
        try:
            async with asyncio.timeout(wait_headers):
                response = await client.send(request, stream=True, follow_redirects=False)
        except TimeoutError:
            yield no_headers_error(provider, url, wait_headers)
            return
        except httpx.TransportError as exc:
            # A local server that refuses connections is simply not running: say so at once instead of retrying;
            # a read or write timeout means the request reached the server: repeating it blindly only multiplies
            # the wait (and may run it twice).
            reached_server = isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout))
            retryable = not reached_server and not (provider.local and isinstance(exc, httpx.ConnectError))
            if retryable and retries < policy.max_retries:
                retries += 1
                await policy.sleep(policy.delay(retries, None))
                continue
            yield describe_transport(provider, url, exc)
            return
        # Every read of the body from here on, an error page's included, is held to the idle limit.
        response.stream = _IdleLimitedStream(response.stream, idle)  # type: ignore[arg-type]

        if not 200 <= response.status_code < 300:
            text = await _read_and_close(response)
            status = response.status_code
            if status == 401 and refresh is not None and not refreshed:
                refreshed = True
                try:
                    fresh = await refresh()
                except TuiAgentError:
                    fresh = None
                if fresh is not None:
                    credential = fresh
                    continue
            if reshape is not None and not reshaped:
                changed = reshape(status, text, body)
                if changed is not None:
                    reshaped = True
                    body = changed
                    continue
            error = describe_status(provider, url, status, response.headers, text, credential.secret)
            if status == 401 and refreshed:
                error = StreamFailed(
                    error.message + " (a refreshed credential was refused too)", kind="auth", status=status
                )
            if retries < policy.max_retries and should_retry(status, response.headers, text):
                retries += 1
                await policy.sleep(policy.delay(retries, error.retry_after))
                continue
            yield error
            return

        if "html" in response.headers.get("content-type", "").lower():
            text = await _read_and_close(response)
            yield describe_status(provider, url, response.status_code, response.headers, text, credential.secret)
            return

        if sse and response.headers.get("content-type", "").lower().startswith("application/json"):
            # A gateway that answers a streaming request with one JSON document: usually an error under 200.
            text = await _read_and_close(response)
            yield _json_instead_of_stream(provider, url, text, credential.secret)
            return

        events = parse(response)
        ended = False
        try:
            async for event in events:
                yield event
                if isinstance(event, (Done, StreamFailed)):
                    ended = True
                    break
        except _Idle:
            ended = True
            yield idle_error(provider, url, idle)
        except httpx.TransportError as exc:
            ended = True
            yield describe_transport(provider, url, exc, during_stream=True)
        except StreamTooLarge as exc:
            ended = True
            yield StreamFailed(
                f"{_label(provider)} sent {exc} at {url}, past tui-agent's limit; reading stopped there and what "
                "arrived is kept",
                kind="bad_response",
            )
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            # A payload of an unexpected shape must end the answer with a sentence, not crash the caller.
            ended = True
            yield StreamFailed(
                f"{_label(provider)} sent data tui-agent could not read at {url} ({type(exc).__name__}); "
                "what arrived is kept",
                kind="bad_response",
            )
        finally:
            await events.aclose()  # type: ignore[attr-defined]
            await response.aclose()
        if not ended:
            yield StreamFailed(
                f"{_label(provider)} ended the answer without its end marker at {url}; what arrived is kept",
                kind="interrupted",
            )
        return


def _json_instead_of_stream(provider: "ProviderConfig", url: str, text: str, secret: str) -> StreamFailed:
    name = _label(provider)
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and (obj.get("error") or obj.get("detail") or obj.get("object") == "error"):
        message, code = _error_detail(text)
        detail = _clean(f"{code}: {message}" if code and code not in message else message, secret)
        return StreamFailed(f"{name} answered with an error instead of a stream ({detail}) at {url}", kind="provider")
    return StreamFailed(
        f"{name} answered {url} with one JSON document instead of a stream; the server may not support streaming",
        kind="bad_response",
    )


# ---------------------------------------------------------------------------------------------- discovery


async def get_json(
    client: httpx.AsyncClient,
    provider: "ProviderConfig",
    url: str,
    credential: "Credential",
    *,
    wire_headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    missing_ok: bool = False,
    post: dict[str, Any] | None = None,
) -> Any:
    """GET a JSON document for discovery; raise AuthError / ProviderError with one sentence on failure.

    With `missing_ok`, a 404 (or 405) returns None so the caller can fall through to another endpoint. With
    `post`, the document is asked for by POSTing that JSON body instead (Ollama's `/api/show`).
    """
    try:
        response = await client.request(
            "POST" if post is not None else "GET",
            url,
            params=params,
            json=post,
            headers=request_headers(provider, credential, wire_headers or {}),
            timeout=discovery_timeout(provider),
            follow_redirects=False,
        )
    except httpx.TransportError as exc:
        read_limit = min(headers_limit(provider), _DISCOVERY_READ_TIMEOUT)
        raise Unreachable(describe_transport(provider, url, exc, read_limit=read_limit).message + ".") from None
    text = response.text
    status = response.status_code
    if missing_ok and status in (404, 405):
        return None
    if not 200 <= status < 300 or "html" in response.headers.get("content-type", "").lower():
        error = describe_status(provider, url, status, response.headers, text, credential.secret)
        if error.kind == "auth":
            raise AuthError(error.message + ".")
        raise (Unreachable if status == 404 else ProviderError)(error.message + ".")
    try:
        return json.loads(text)
    except ValueError:
        raise ProviderError(
            f"{_label(provider)} answered {url} with something that is not JSON (HTTP {status}); "
            f"check providers.{provider.id}.base_url."
        ) from None


class HttpAdapter:
    """What every HTTP wire adapter shares: its provider, the shared client, a retry policy, and stream() itself.

    A subclass names its chat endpoint (CHAT_PATH), builds the body (_body), reads the answer (_parse), and may
    change the wire headers (_wire_headers), the retry after a refused field (RESHAPE) or the framing (SSE).
    """

    DEFAULT_BASE_URL = ""
    CHAT_PATH = ""
    ACCEPT = "text/event-stream"
    SSE = True  # an event-stream wire (False: NDJSON)
    RESHAPE: Reshape | None = None

    def __init__(self, provider: "ProviderConfig", client: httpx.AsyncClient) -> None:
        self.provider = provider
        self.client = client
        self.retry_policy = RetryPolicy()
        self._base = self._base_url((provider.base_url or self.DEFAULT_BASE_URL).rstrip("/"))

    def _base_url(self, configured: str) -> str:
        """The base URL requests go to, from the configured one."""
        return configured

    def _wire_headers(self) -> dict[str, str]:
        return {"accept": self.ACCEPT}

    def stream(
        self,
        request: "ChatRequest",
        credential: "Credential",
        refresh: "RefreshCredential | None" = None,
    ) -> AsyncIterator[Event]:
        """Yield the answer's events; ends with exactly one Done or StreamFailed."""
        url = f"{self._base}{self.CHAT_PATH}"
        return stream_events(
            client=self.client,
            provider=self.provider,
            url=url,
            body=self._body(request),
            credential=credential,
            refresh=refresh,
            wire_headers=self._wire_headers(),
            parse=lambda response: self._parse(response, url),
            policy=self.retry_policy,
            reshape=type(self).RESHAPE,
            sse=self.SSE,
        )

    def _body(self, request: "ChatRequest") -> dict:
        raise NotImplementedError

    def _parse(self, response: httpx.Response, url: str) -> AsyncIterator[Event]:
        raise NotImplementedError
