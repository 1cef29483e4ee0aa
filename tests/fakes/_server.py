"""A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port, own thread and event loop) that the provider fakes build on.

It speaks real HTTP over real sockets — keep-alive, chunked streaming, slow or paused streams, cuts — so the
code under test (and the official client libraries) talk to it exactly as they would to a remote server.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

_HOLD_LIMIT = 30.0  # a paused stream never keeps a test (or a fake's thread) alive longer than this


@dataclass
class RecordedRequest:
    """One request as the fake received it; `headers` has lower-case names."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    # Set once the server is done with this exchange (reply fully sent, cut, or the client went away).
    finished: threading.Event = field(default_factory=threading.Event, repr=False)
    # Set when the client closed the connection before the reply was complete (e.g. it cancelled the answer).
    disconnected: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    """What the fake sends for one request. `chunks` streams with chunked encoding; otherwise `body` is sent whole."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: list[bytes] | None = None
    delay: float = 0.0  # seconds between chunks ("slow" streaming)
    pause_after: int | None = None  # send this many chunks, then wait for release() or the client to leave
    cut: bool = False  # after the chunks, drop the connection without ending the chunked body

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> "Reply":
        return cls(status=status, headers={"content-type": "application/json", **(headers or {})}, body=json.dumps(obj).encode())

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> "Reply":
        return cls(status=status, headers={"content-type": content_type}, body=text.encode())

    @classmethod
    def html(cls, status: int = 502) -> "Reply":
        page = f"<html><head><title>{status} Bad Gateway</title></head><body><center><h1>{status} Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
        return cls.text(page, status=status, content_type="text/html")

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> "Reply":
        return cls(status=status, headers={"location": location, "content-type": "text/plain"}, body=b"moved")

    @classmethod
    def stream(
        cls,
        chunks: list[bytes],
        content_type: str,
        *,
        delay: float = 0.0,
        pause_after: int | None = None,
        cut: bool = False,
        status: int = 200,
    ) -> "Reply":
        return cls(
            status=status,
            headers={"content-type": content_type, "cache-control": "no-cache"},
            chunks=list(chunks),
            delay=delay,
            pause_after=pause_after,
            cut=cut,
        )


_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 529: "Overloaded"}


class FakeServer:
    """Base of the provider fakes: start with `with Fake() as fake:` (or start()/stop()); usable from sync and async tests.

    Replies are taken from per-path queues filled by `script()`; an empty queue falls back to `route()`.
    """

    chat_path = "/"

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._queues: dict[str, deque[Reply]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._release: asyncio.Event | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> "FakeServer":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(10)
        return self

    async def _open(self) -> None:
        self._release = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self):
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    # -- the API tests use ---------------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT — the host root."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The base URL a provider config (or an official client) should use for this fake."""
        return self.root_url

    def script(self, *replies: Reply, path: str | None = None) -> None:
        """Queue replies for the chat endpoint (or for `path`); each request to it takes the next one."""
        self._queues.setdefault(path or self.chat_path, deque()).extend(replies)

    def release(self) -> None:
        """Let every stream paused by `pause_after` send the rest of its chunks."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._release_now)

    def _release_now(self) -> None:
        # One-shot: streams paused later wait for the next release().
        assert self._release is not None
        event, self._release = self._release, asyncio.Event()
        event.set()

    def route(self, request: RecordedRequest) -> Reply:  # pragma: no cover - overridden
        return Reply.json({"detail": "Not Found"}, status=404)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == self.chat_path]

    # -- the server ----------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        current: RecordedRequest | None = None
        try:
            while True:
                current = await self._read_request(reader)
                if current is None:
                    return
                self.requests.append(current)
                queue = self._queues.get(current.path)
                reply = queue.popleft() if queue else self.route(current)
                keep = await self._send(reply, current, reader, writer)
                current.finished.set()
                if not keep or current.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            if current is not None and not current.finished.is_set():
                current.disconnected.set()
        except asyncio.CancelledError:
            pass
        finally:
            if current is not None:
                current.finished.set()
            writer.close()
            self._tasks.discard(task)

    async def _read_request(self, reader: asyncio.StreamReader) -> RecordedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        parts = urlsplit(target)
        return RecordedRequest(method, parts.path, dict(parse_qsl(parts.query)), headers, body)

    async def _send(
        self, reply: Reply, request: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        status_line = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        headers = dict(reply.headers)
        if reply.chunks is None:
            headers["content-length"] = str(len(reply.body))
            writer.write((status_line + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
            writer.write(reply.body)
            await writer.drain()
            return True
        headers["transfer-encoding"] = "chunked"
        writer.write((status_line + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
        await writer.drain()
        for index, chunk in enumerate(reply.chunks):
            if reply.pause_after is not None and index == reply.pause_after:
                if not await self._hold(reader):
                    request.disconnected.set()
                    return False
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if chunk:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        if reply.pause_after is not None and reply.pause_after >= len(reply.chunks):
            if not await self._hold(reader):
                request.disconnected.set()
                return False
        if reply.cut:
            await writer.drain()
            return False  # closing now leaves the chunked body unfinished: the client sees a cut connection
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _hold(self, reader: asyncio.StreamReader) -> bool:
        """Wait for release() (True) or for the client to close the connection (False)."""
        assert self._release is not None
        released = asyncio.ensure_future(self._release.wait())
        gone = asyncio.ensure_future(reader.read(1))
        done, pending = await asyncio.wait({released, gone}, timeout=_HOLD_LIMIT, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if gone in done:
            return False
        return bool(done)


def sse_bytes(data: Any, event: str | None = None, newline: str = "\n") -> bytes:
    """One SSE event: optional `event:` line, one `data:` line (JSON unless a str), blank line."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    lines = ([f"event: {event}"] if event else []) + [f"data: {text}", "", ""]
    return newline.join(lines).encode()


def ndjson_bytes(obj: Any) -> bytes:
    """One NDJSON line encoded as Ollama's Go server does: UTF-8, but U+2028/U+2029 escaped (encoding/json always
    escapes those two); other characters, U+0085 included, are sent raw."""
    text = json.dumps(obj, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n").encode()
