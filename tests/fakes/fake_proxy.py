"""A tiny forwarding HTTP proxy on 127.0.0.1 that records what it carried (for HTTP_PROXY / HTTPS_PROXY tests).

Plain-HTTP forwarding only, as a proxy does for an `http://` URL: the client sends the absolute URL in the request
line (`GET http://127.0.0.1:PORT/v1/models HTTP/1.1`); the proxy connects to that host, sends the request with
the path alone and `Connection: close`, and relays the answer byte for byte (streams included) until it ends.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit


class FakeProxy:
    """`with FakeProxy() as proxy:` then HTTP_PROXY=proxy.url; `proxy.carried` lists the absolute URLs forwarded."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self.carried: list[str] = []
        self.proxy_authorization: list[str] = []  # what clients sent in Proxy-Authorization, if anything
        self._thread = threading.Thread(target=self._serve, name="fake-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "FakeProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._carry, args=(client,), daemon=True).start()

    def _carry(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            parts = urlsplit(target)
            self.carried.append(target)
            headers = []
            length = 0
            for line in header_lines:
                name, _, value = line.partition(":")
                lowered = name.strip().lower()
                if lowered == "proxy-authorization":
                    self.proxy_authorization.append(value.strip())
                    continue
                if lowered in ("connection", "proxy-connection", "keep-alive"):
                    continue
                if lowered == "content-length":
                    length = int(value)
                headers.append(line)
            while len(rest) < length:
                chunk = client.recv(65536)
                if not chunk:
                    break
                rest += chunk
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            outgoing = "\r\n".join([f"{method} {path or '/'} {version}", *headers, "Connection: close", "", ""])
            with socket.create_connection((parts.hostname, parts.port or 80)) as upstream:
                upstream.sendall(outgoing.encode("latin-1") + rest)
                while True:
                    chunk = upstream.recv(65536)
                    if not chunk:
                        break
                    client.sendall(chunk)
