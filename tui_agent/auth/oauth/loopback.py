"""RFC 8252 loopback redirect listener: 127.0.0.1, an ephemeral port, an unguessable path, one request, then closed."""

from __future__ import annotations

import asyncio
import html
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from tui_agent.errors import AuthError

_MAX_HEAD = 16 * 1024


@dataclass(frozen=True)
class RedirectResult:
    """What came back on the redirect: a code, or an error the authorization server reported."""

    code: str | None = field(default=None, repr=False)
    state: str | None = field(default=None, repr=False)
    error: str | None = None
    error_description: str = ""


def redirect_result(query: str) -> RedirectResult:
    """The redirect parameters in a URL query string (first value of each)."""
    values = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    return RedirectResult(
        code=values.get("code") or None,
        state=values.get("state"),
        error=values.get("error") or None,
        error_description=values.get("error_description", ""),
    )


_DONE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>tui-agent</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body></html>"""


class LoopbackListener:
    """Waits for the browser to come back with `?code=...&state=...`.

    Only the unguessable callback path counts; anything else (a favicon, a port scan) gets 404 and the
    listener keeps waiting. The first request on the right path ends it, whatever it carried.
    """

    def __init__(self, *, expected_state: str | None = None, host: str = "127.0.0.1", path: str | None = None) -> None:
        self._expected_state = expected_state
        self._host = host
        self.path = path or f"/callback/{secrets.token_urlsafe(16)}"
        self._server: asyncio.base_events.Server | None = None
        self._result: asyncio.Future[RedirectResult] | None = None
        self.port = 0

    @property
    def redirect_uri(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}{self.path}"

    async def start(self) -> "LoopbackListener":
        loop = asyncio.get_running_loop()
        self._result = loop.create_future()
        try:
            self._server = await asyncio.start_server(self._handle, self._host, 0)
        except OSError:
            if self._host != "127.0.0.1":
                raise
            # RFC 8252 §7.3: do not assume IPv4; fall back to the IPv6 loopback.
            self._host = "::1"
            self._server = await asyncio.start_server(self._handle, self._host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aenter__(self) -> "LoopbackListener":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait(self, timeout: float | None = None) -> RedirectResult:
        """The redirect's parameters once it arrives; raises AuthError on a `state` mismatch."""
        assert self._result is not None, "start() first"
        try:
            result = await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except asyncio.TimeoutError:
            raise AuthError(
                f"No browser came back to {self.redirect_uri.split('/callback')[0]}/… within {int(timeout or 0)} s; run login again, or paste the redirect URL."
            ) from None
        finally:
            await self.close()
        return result

    @property
    def done(self) -> bool:
        return self._result is not None and self._result.done()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            server, self._server = self._server, None
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
                return
            if len(head) > _MAX_HEAD:
                await _respond(writer, 431, "Request too large", "")
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split(" ")
            if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
                await _respond(writer, 405, "Not allowed", "This address only accepts the sign-in redirect.")
                return
            target = urlsplit(parts[1])
            if target.path != self.path:
                await _respond(writer, 404, "Not found", "")
                return
            assert self._result is not None
            if self._result.done():
                # One redirect per login: a replay (or a second tab) gets nothing.
                await _respond(writer, 410, "Already used", "This sign-in link was already used; close this tab.")
                return
            result = redirect_result(target.query)
            if result.code is None and result.error is None:
                await _respond(writer, 400, "Nothing to do", "This address expects the sign-in redirect with a code.")
                return
            if not state_matches(self._expected_state, result.state):
                await _respond(writer, 400, "Sign-in rejected", "The sign-in response does not belong to this login attempt. Start the login again from tui-agent.")
                self._result.set_exception(state_mismatch_error())
            elif result.error:
                await _respond(writer, 200, "Sign-in not completed", f"The sign-in page reported: {result.error}. You can close this tab.")
                self._result.set_result(result)
            else:
                await _respond(writer, 200, "Signed in", "You can close this tab and return to tui-agent.")
                self._result.set_result(result)
            # Close right after the one valid request: later requests find no listener at all.
            if self._server is not None:
                self._server.close()
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the peer may already be gone
                pass


def state_matches(expected: str | None, got: str | None) -> bool:
    """`state` is checked when the server sends it back, and required when we sent one (RFC 6749 §4.1.2)."""
    if expected is None:
        return True
    if got is None:
        return False
    return secrets.compare_digest(expected.encode(), got.encode())


def state_mismatch_error() -> AuthError:
    return AuthError(
        "The sign-in redirect carried a `state` that does not match this login attempt (a stale tab or a forged link); run login again."
    )


async def _respond(writer: asyncio.StreamWriter, status: int, title: str, text: str) -> None:
    body = _DONE_PAGE.format(title=html.escape(title), text=html.escape(text)).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {title}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    try:
        writer.write(head + body)
        await writer.drain()
    except ConnectionError:
        pass
