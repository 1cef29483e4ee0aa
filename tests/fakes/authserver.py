"""Loopback OAuth servers for tests: a real authlib authorization server, and a scripted one for edge cases.

`AuthlibServer` is built from authlib's own grants (RFC 8628 DeviceCodeGrant, RFC 6749 authorization code with
RFC 7636 CodeChallenge, refresh_token), so our client is checked against code this project did not write. It
also serves RFC 8414 / OIDC discovery documents and a tiny bearer-protected resource.

`ScriptedServer` answers each route with a queue of canned replies (or drops the connection), for the
branches a well-behaved server never takes: HTML error pages, garbage, network errors mid-poll.

Both run a stdlib ThreadingHTTPServer on 127.0.0.1 with an ephemeral port in a background thread, so they
serve while the test's event loop awaits the client. Use them as context managers.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

# --- a tiny threaded HTTP harness --------------------------------------------------------------------------------


@dataclass
class SeenRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    json: Any
    raw_body: bytes


Handler = Callable[[SeenRequest, Any], "tuple[int, Any, list[tuple[str, str]]] | None"]


class _HTTPHarness:
    """A ThreadingHTTPServer on 127.0.0.1:0 calling `self._dispatch(request, http_headers)`."""

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self.errors: list[Exception] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        harness = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                ctype = self.headers.get("Content-Type", "")
                form: dict[str, str] = {}
                payload: Any = None
                if "application/x-www-form-urlencoded" in ctype:
                    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
                elif "json" in ctype and body:
                    try:
                        payload = json.loads(body)
                    except ValueError:
                        payload = None
                seen = SeenRequest(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    form=form,
                    json=payload,
                    raw_body=body,
                )
                harness.requests.append(seen)
                try:
                    reply = harness._dispatch(seen, self)
                except Exception as exc:  # a bug in the fake must show up as a loud 500, not a hang
                    import traceback

                    harness.errors.append(exc)
                    reply = (500, "fake server error:\n" + traceback.format_exc(), [("Content-Type", "text/plain")])
                if reply is None:  # drop the connection without an answer: a network error for the client
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                status, out, headers = reply
                if isinstance(out, (dict, list)):
                    data = json.dumps(out).encode()
                    headers = [*headers, ("Content-Type", "application/json")]
                elif isinstance(out, str):
                    data = out.encode()
                else:
                    data = out or b""
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, request: SeenRequest, raw: BaseHTTPRequestHandler):  # pragma: no cover - overridden
        raise NotImplementedError


# --- scripted server ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A canned answer: status, body (dict/list → JSON, str/bytes as is) and content type."""

    status: int = 200
    body: Any = field(default_factory=dict)
    content_type: str | None = None

    @classmethod
    def json(cls, body: Any, status: int = 200) -> "Reply":
        return cls(status, body)

    @classmethod
    def error(cls, error: str, status: int = 400, description: str = "") -> "Reply":
        body = {"error": error}
        if description:
            body["error_description"] = description
        return cls(status, body)

    @classmethod
    def html(cls, status: int, text: str = "<!DOCTYPE html><html><body><h1>Bad Gateway</h1></body></html>") -> "Reply":
        return cls(status, text, "text/html; charset=utf-8")


DROP = object()  # close the connection without answering


class ScriptedServer(_HTTPHarness):
    """Each (method, path) answers from its own queue of replies; the last reply repeats once the queue runs dry."""

    def __init__(self) -> None:
        super().__init__()
        self._routes: dict[tuple[str, str], list[Any]] = {}
        self._lock = threading.Lock()

    def script(self, method: str, path: str, *replies: Any) -> None:
        """Queue replies (Reply objects or DROP) for a route."""
        with self._lock:
            self._routes[(method.upper(), path)] = list(replies)

    def seen(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]

    def _dispatch(self, request: SeenRequest, raw: BaseHTTPRequestHandler):
        with self._lock:
            queue = self._routes.get((request.method, request.path))
            if not queue:
                return 404, "<html><body>Not Found</body></html>", [("Content-Type", "text/html")]
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply is DROP:
            return None
        headers = [("Content-Type", reply.content_type)] if reply.content_type else []
        return reply.status, reply.body, headers


# --- the authlib authorization server ------------------------------------------------------------------------------


class FakeClock:
    """A clock shared by the client under test and the server, advanced only by the test's fake sleep."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _build_authlib_server(owner: "AuthlibServer"):
    # authlib is a test-only dependency: import it here, not at module import.
    from authlib.oauth2.rfc6749 import (
        AuthorizationServer,
        ClientMixin,
        OAuth2Payload,
        OAuth2Request,
        grants,
    )
    from authlib.oauth2.rfc6750 import BearerTokenGenerator
    from authlib.oauth2.rfc7636 import CodeChallenge
    from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant, DeviceCredentialDict

    class Payload(OAuth2Payload):
        def __init__(self, data: dict[str, list[str]]):
            self._datalist = defaultdict(list, data)
            self._data = {k: v[0] for k, v in data.items() if v}

        @property
        def data(self):
            return self._data

        @property
        def datalist(self):
            return self._datalist

    class Request(OAuth2Request):
        def __init__(self, seen: SeenRequest, url: str):
            super().__init__(seen.method, url, headers=_Caseless(seen.headers))
            merged: dict[str, list[str]] = defaultdict(list)
            for source in (seen.query, seen.form):
                for k, v in source.items():
                    merged[k].append(v)
            self.payload = Payload(merged)
            self._seen = seen

        @property
        def args(self):
            return self._seen.query

        @property
        def form(self):
            return self._seen.form

    class Client(ClientMixin):
        def __init__(self, client_id: str, grant_types: list[str], scopes: list[str]):
            self.client_id = client_id
            self.grant_types = grant_types
            self.scopes = scopes

        def get_client_id(self):
            return self.client_id

        def get_default_redirect_uri(self):
            return None

        def get_allowed_scope(self, scope):
            if not scope:
                return ""
            return " ".join(s for s in scope.split() if s in self.scopes)

        def check_redirect_uri(self, redirect_uri):
            # RFC 8252 §7.3: any port (and here any path) on the loopback IP literal.
            parts = urlsplit(redirect_uri)
            return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1")

        def check_client_secret(self, client_secret):
            return False

        def check_endpoint_auth_method(self, method, endpoint):
            return method == "none"  # a public client

        def check_response_type(self, response_type):
            return response_type == "code"

        def check_grant_type(self, grant_type):
            return grant_type in self.grant_types

    @dataclass
    class AuthCode:
        code: str
        client_id: str
        redirect_uri: str
        scope: str
        user: str
        code_challenge: str | None
        code_challenge_method: str | None

        def get_redirect_uri(self):
            return self.redirect_uri

        def get_scope(self):
            return self.scope

    @dataclass
    class Token:
        access_token: str
        refresh_token: str | None
        client_id: str
        scope: str
        user: str
        expires_at: float
        revoked: bool = False

        def check_client(self, client):
            return client.get_client_id() == self.client_id

        def get_scope(self):
            return self.scope

        def get_expires_in(self):
            return int(self.expires_at - owner.clock())

        def is_expired(self):
            return owner.clock() >= self.expires_at

        def is_revoked(self):
            return self.revoked

    class DeviceCredential(DeviceCredentialDict):
        def is_expired(self):
            return self["expires_at"] < owner.clock()

    class Server(AuthorizationServer):
        def query_client(self, client_id):
            return owner.clients.get(client_id)

        def save_token(self, token, request):
            scope = token.get("scope", "")
            if "openid" in scope.split() and request.user:
                token["id_token"] = owner.make_id_token(request.user, request.client.get_client_id())
            owner.tokens.append(
                Token(
                    access_token=token["access_token"],
                    refresh_token=token.get("refresh_token"),
                    client_id=request.client.get_client_id(),
                    scope=scope,
                    user=request.user,
                    expires_at=owner.clock() + token.get("expires_in", 3600),
                )
            )

        def create_oauth2_request(self, request):
            if isinstance(request, OAuth2Request):
                return request
            return Request(request, owner.url + request.path)

        def create_json_request(self, request):  # pragma: no cover - no JSON endpoints here
            raise NotImplementedError

        def handle_response(self, status, body, headers):
            return status, body, list(headers)

        def send_signal(self, name, *args, **kwargs):
            pass

    class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

        def save_authorization_code(self, code, request):
            owner.codes[code] = AuthCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope or "",
                user=request.user,
                code_challenge=request.payload.data.get("code_challenge"),
                code_challenge_method=request.payload.data.get("code_challenge_method"),
            )

        def query_authorization_code(self, code, client):
            item = owner.codes.get(code)
            if item and item.client_id == client.get_client_id():
                return item
            return None

        def delete_authorization_code(self, authorization_code):
            owner.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return authorization_code.user

    class RefreshTokenGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token):
            for token in owner.tokens:
                if token.refresh_token == refresh_token and not token.revoked:
                    return token
            return None

        def authenticate_user(self, refresh_token):
            return refresh_token.user

        def revoke_old_credential(self, refresh_token):
            refresh_token.revoked = True

    class DeviceGrant(DeviceCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

        def query_device_credential(self, device_code):
            data = owner.device_codes.get(device_code)
            return DeviceCredential(data) if data else None

        def query_user_grant(self, user_code):
            return owner.user_grants.get(user_code)

        def should_slow_down(self, credential):
            # RFC 8628 §3.5: polling faster than the interval earns slow_down (measured on the shared clock).
            data = owner.device_codes[credential["device_code"]]
            now = owner.clock()
            last = data.get("last_poll")
            data["last_poll"] = now
            return last is not None and now - last < data["interval"]

    class DeviceEndpoint(DeviceAuthorizationEndpoint):
        CLIENT_AUTH_METHODS = ["none"]
        INTERVAL = owner.interval
        EXPIRES_IN = owner.device_expires_in

        def get_verification_uri(self):
            return owner.url + "/device"

        def save_device_credential(self, client_id, scope, data):
            owner.device_codes[data["device_code"]] = {
                **data,
                "client_id": client_id,
                "scope": scope,
                "expires_at": owner.clock() + data["expires_in"],
            }
            owner.pending_user_codes.append(data["user_code"])

    def access_token(client, grant_type, user, scope):
        return "at-" + secrets.token_urlsafe(24)

    def refresh_token(client, grant_type, user, scope):
        return "rt-" + secrets.token_urlsafe(24)

    server = Server(scopes_supported=owner.scopes)
    server.register_token_generator("default", BearerTokenGenerator(access_token, refresh_token, owner.token_lifetime))
    server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(DeviceGrant)
    server.register_endpoint(DeviceEndpoint)
    owner.clients[owner.client_id] = Client(
        owner.client_id,
        ["authorization_code", "refresh_token", DeviceCodeGrant.GRANT_TYPE],
        owner.scopes,
    )
    return server


class _Caseless(dict):
    def get(self, key, default=None):  # authlib reads "Authorization" etc. with their canonical case
        return super().get(key.lower(), default)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(str(key).lower())


class AuthlibServer(_HTTPHarness):
    """An authorization server made of authlib's grants, on loopback.

    Routes: /.well-known/openid-configuration and /.well-known/oauth-authorization-server (which ones is
    chosen by `discovery`), /device_authorization, /device (the verification page), /authorize (signs the
    configured user in at once, or denies when `deny_authorization` is set), /token, and the bearer-protected
    /resource, /v1/models and /v1/chat/completions (an OpenAI-style SSE answer "Hello, USER.").

    Test API: `approve(user_code=None)` / `deny(user_code=None)` act as the person at the verification page
    (the latest code by default); `expire_access_tokens()` makes every issued access token expired;
    `token_is_valid(token)`; `clock` may be a FakeClock shared with the client.
    """

    def __init__(
        self,
        *,
        client_id: str = "tui-agent-test",
        user: str = "ada@example.com",
        scopes: list[str] | None = None,
        interval: int = 5,
        device_expires_in: int = 900,
        token_lifetime: int = 3600,
        discovery: tuple[str, ...] = ("openid-configuration", "oauth-authorization-server"),
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.user = user
        self.scopes = scopes or ["openid", "email", "offline_access", "chat"]
        self.interval = interval
        self.device_expires_in = device_expires_in
        self.token_lifetime = token_lifetime
        self.discovery = discovery
        self.clock = clock or time.time
        self.clients: dict[str, Any] = {}
        self.codes: dict[str, Any] = {}
        self.tokens: list[Any] = []
        self.device_codes: dict[str, dict] = {}
        self.user_grants: dict[str, tuple[str, bool]] = {}
        self.pending_user_codes: list[str] = []
        self.deny_authorization = False
        self._id_token_key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._server = _build_authlib_server(self)

    @property
    def issuer(self) -> str:
        return self.url

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "device_authorization_endpoint": f"{self.url}/device_authorization",
            "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": self.scopes,
        }

    def approve(self, user_code: str | None = None) -> None:
        self.user_grants[user_code or self.pending_user_codes[-1]] = (self.user, True)

    def deny(self, user_code: str | None = None) -> None:
        self.user_grants[user_code or self.pending_user_codes[-1]] = (self.user, False)

    def expire_access_tokens(self) -> None:
        for token in self.tokens:
            token.expires_at = self.clock() - 1

    def token_is_valid(self, access_token: str) -> bool:
        return any(t.access_token == access_token and not t.is_expired() and not t.revoked for t in self.tokens)

    def make_id_token(self, user: str, audience: str) -> str:
        from joserfc import jwt
        from joserfc.jwk import OctKey

        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user, "aud": audience, "email": user, "iat": now, "exp": now + 300}
        return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(self._id_token_key))

    def _dispatch(self, request: SeenRequest, raw: BaseHTTPRequestHandler):
        with self._lock:  # authlib's grants are not written for concurrent requests on shared dicts
            return self._route(request)

    def _route(self, request: SeenRequest):
        path = request.path
        if path.startswith("/.well-known/"):
            name = path.removeprefix("/.well-known/")
            if name in self.discovery:
                return 200, self.metadata(), []
            return 404, "<html><body>Not Found</body></html>", [("Content-Type", "text/html")]
        if path == "/device_authorization" and request.method == "POST":
            return self._server.create_endpoint_response("device_authorization", request)
        if path == "/token" and request.method == "POST":
            return self._server.create_token_response(request)
        if path == "/authorize":
            from authlib.oauth2.rfc6749 import OAuth2Error

            try:
                grant = self._server.get_consent_grant(request, end_user=self.user)
            except OAuth2Error as error:
                return self._server.handle_error_response(request, error)
            user = None if self.deny_authorization else self.user
            return self._server.create_authorization_response(request, grant_user=user, grant=grant)
        if path == "/device":
            code = request.query.get("user_code", "")
            if code and request.query.get("approve") == "1":
                self.approve(code)
                return 200, "<html><body>Device approved.</body></html>", [("Content-Type", "text/html")]
            return 200, "<html><body>Enter the code shown on your device.</body></html>", [("Content-Type", "text/html")]
        if path in ("/resource", "/v1/models", "/v1/chat/completions"):
            auth = request.headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else ""
            if not token or not self.token_is_valid(token):
                return 401, {"error": "invalid_token"}, [("WWW-Authenticate", 'Bearer error="invalid_token"')]
            user = next(t.user for t in self.tokens if t.access_token == token)
            if path == "/v1/chat/completions":
                return 200, _chat_stream(f"Hello, {user}."), [("Content-Type", "text/event-stream")]
            if path == "/v1/models":
                return 200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "fake"}]}, []
            return 200, {"user": user}, []
        return 404, "<html><body>Not Found</body></html>", [("Content-Type", "text/html")]


def _chat_stream(text: str) -> bytes:
    """An OpenAI Chat Completions SSE answer, so a real adapter can use a token issued here."""
    def event(delta: dict, finish: str | None = None) -> str:
        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n"

    words = text.split(" ")
    parts = [event({"role": "assistant", "content": ""})]
    parts += [event({"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
    parts += [event({}, "stop"), "data: [DONE]\n\n"]
    return "".join(parts).encode()


def authorize_url_params(url: str) -> dict[str, str]:
    """The query parameters of an authorization URL, for assertions."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


__all__ = ["AuthlibServer", "DROP", "FakeClock", "Reply", "ScriptedServer", "SeenRequest", "authorize_url_params"]
