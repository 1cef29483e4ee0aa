"""End-to-end logins from the terminal driver against authlib's authorization server on loopback.

The server is made of authlib's RFC 8628 DeviceCodeGrant, RFC 6749 authorization code grant with RFC 7636
CodeChallenge, and its refresh_token grant: code this project did not write. Each test logs in, stores the
token in an in-memory stand-in of the secret store, uses it on a bearer-protected resource, and refreshes it.
"""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.fakes.authserver import AuthlibServer, FakeClock, Reply, ScriptedServer, authorize_url_params
from tui_agent.auth.oauth.discovery import clear_discovery_cache, resolve_endpoints
from tui_agent.auth.oauth.pkce import s256_challenge
from tui_agent.auth.oauth.pkce_flow import PkceFlow
from tests.login_in_terminal import login_in_terminal
from tui_agent.core.credentials import StoredCredential
from tui_agent.config.schema import OAuthSettings, ProviderConfig
from tui_agent.errors import AuthError, ConfigError

SCOPES = ["openid", "email", "offline_access", "chat"]


class MemoryStore:
    """A stand-in for tui_agent.auth.store's SecretStore (same async get/put/delete)."""

    def __init__(self) -> None:
        self.items: dict[str, StoredCredential] = {}

    async def get(self, provider_id: str) -> StoredCredential | None:
        return self.items.get(provider_id)

    async def put(self, provider_id: str, cred: StoredCredential) -> None:
        self.items[provider_id] = cred

    async def delete(self, provider_id: str) -> bool:
        return self.items.pop(provider_id, None) is not None


class PasteInput:
    """A stdin whose readline() blocks until the test pastes a line, like a person at a terminal."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._ready = threading.Condition()

    def paste(self, line: str) -> None:
        with self._ready:
            self._lines.append(line + "\n")
            self._ready.notify()

    def readline(self) -> str:
        with self._ready:
            while not self._lines:
                self._ready.wait()
            return self._lines.pop(0)

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _fresh_discovery_cache():
    clear_discovery_cache()
    yield
    clear_discovery_cache()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def server(clock):
    with AuthlibServer(clock=clock, scopes=SCOPES) as srv:
        yield srv


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


def gateway(server: AuthlibServer, method: str) -> ProviderConfig:
    return ProviderConfig(
        id="work-gateway", display_name="Work gateway", kind="openai-chat", base_url=f"{server.url}/v1", auth=[method],
        oauth=OAuthSettings(issuer=server.issuer, client_id=server.client_id, scopes=SCOPES),
    )


async def models_status(client: httpx.AsyncClient, server: AuthlibServer, token: str) -> int:
    response = await client.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def test_device_login_stores_a_working_token_that_refreshes(server, client, clock):
    opened: list[str] = []
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)
        if len(sleeps) == 2:  # the person finishes at the verification page the browser was sent to
            page = await client.get(opened[0] + "&approve=1")
            assert page.status_code == 200

    store, err = MemoryStore(), io.StringIO()
    provider = gateway(server, "oauth-device")
    cred = await login_in_terminal(
        provider, "oauth-device", client, store, no_browser=False, stderr=err, stdin=io.StringIO(),
        env={"DISPLAY": ":0"}, open_url=opened.append, clock=clock, sleep=sleep,
    )

    user_code = server.pending_user_codes[-1]
    out = err.getvalue()
    assert f"{server.url}/device" in out and user_code in out
    assert opened == [f"{server.url}/device?user_code={user_code}"]
    assert sleeps == [5, 5]  # the interval authlib's endpoint announced, never faster
    assert store.items["work-gateway"] == cred
    assert cred.kind == "oauth" and cred.obtained_by == "device flow"
    assert cred.identity == "ada@example.com"  # from the id_token, for display
    assert cred.host == f"http://127.0.0.1:{server.port}"
    assert cred.token_endpoint == f"{server.url}/token"
    assert cred.refresh_token and cred.scope == " ".join(SCOPES)
    assert timedelta(minutes=59) < cred.expires_at - datetime.now(timezone.utc) <= timedelta(hours=1)
    assert "Logged in to Work gateway as ada@example.com" in out
    assert cred.secret not in out and cred.refresh_token not in out

    assert await models_status(client, server, cred.secret) == 200

    # The access token expires; the stored refresh token gets a new one from authlib's refresh grant.
    from tui_agent.auth.tokens import refresh_token_grant

    server.expire_access_tokens()
    assert await models_status(client, server, cred.secret) == 401
    renewed = await refresh_token_grant(client, cred.token_endpoint, server.client_id, cred)
    assert renewed.secret != cred.secret
    assert await models_status(client, server, renewed.secret) == 200
    # authlib rotated the refresh token and revoked the old one
    assert renewed.refresh_token != cred.refresh_token
    reused = await client.post(cred.token_endpoint, data={
        "grant_type": "refresh_token", "refresh_token": cred.refresh_token, "client_id": server.client_id})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


async def test_device_login_declined_at_the_verification_page_stores_nothing(server, client, clock):
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        server.deny()

    store = MemoryStore()
    with pytest.raises(AuthError, match="was declined at the verification page"):
        await login_in_terminal(
            gateway(server, "oauth-device"), "oauth-device", client, store, no_browser=True,
            stderr=io.StringIO(), stdin=io.StringIO(), clock=clock, sleep=sleep,
        )
    assert store.items == {}


async def test_device_login_that_nobody_finishes_expires(client, clock):
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    with AuthlibServer(clock=clock, scopes=SCOPES, device_expires_in=60) as server:
        with pytest.raises(AuthError, match="expired before the sign-in was finished"):
            await login_in_terminal(
                gateway(server, "oauth-device"), "oauth-device", client, MemoryStore(), no_browser=True,
                stderr=io.StringIO(), stdin=io.StringIO(), clock=clock, sleep=sleep,
            )
        errors = [r for r in server.requests if r.path == "/token"]
    # polls at 5, 10, … 55 s were answered authorization_pending (never slow_down); at 60 s the code is dead
    assert len(errors) == 11


async def test_ctrl_c_while_waiting_cancels_cleanly_and_stores_nothing(server, client, clock):
    waiting = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()

    store, err = MemoryStore(), io.StringIO()
    task = asyncio.create_task(login_in_terminal(
        gateway(server, "oauth-device"), "oauth-device", client, store, no_browser=True,
        stderr=err, stdin=io.StringIO(), clock=clock, sleep=sleep,
    ))
    await waiting.wait()
    task.cancel()  # what asyncio.run does with the main task on Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.items == {}
    assert "cancelled; nothing was stored" in err.getvalue()


async def test_pkce_login_through_the_browser_and_loopback_redirect(server, client):
    visits: list[httpx.Response] = []
    tasks: list[asyncio.Task] = []

    def browser(url: str) -> None:
        async def visit() -> None:  # authlib signs the user in and 302s to our loopback listener
            visits.append(await client.get(url, follow_redirects=True))
        tasks.append(asyncio.get_running_loop().create_task(visit()))

    store, err = MemoryStore(), io.StringIO()
    cred = await login_in_terminal(
        gateway(server, "oauth-pkce"), "oauth-pkce", client, store, no_browser=False, stderr=err,
        stdin=io.StringIO(), env={"DISPLAY": ":0"}, open_url=browser,
    )
    await asyncio.gather(*tasks)
    assert visits[0].status_code == 200 and "close this tab" in visits[0].text
    assert cred.obtained_by == "PKCE" and cred.kind == "oauth" and cred.identity == "ada@example.com"
    assert store.items["work-gateway"] == cred
    assert await models_status(client, server, cred.secret) == 200
    authorize = next(r for r in server.requests if r.path == "/authorize")
    assert authorize.query["code_challenge_method"] == "S256"
    token = next(r for r in server.requests if r.path == "/token")
    assert s256_challenge(token.form["code_verifier"]) == authorize.query["code_challenge"]
    assert cred.secret not in err.getvalue()


async def test_pkce_login_without_a_browser_takes_the_pasted_redirect_address(server, client):
    stdin, err = PasteInput(), io.StringIO()
    store = MemoryStore()
    task = asyncio.create_task(login_in_terminal(
        gateway(server, "oauth-pkce"), "oauth-pkce", client, store, no_browser=True, stderr=err, stdin=stdin,
        env={"DISPLAY": ":0"}, open_url=lambda url: pytest.fail("no browser may be opened with --no-browser"),
    ))
    while "/authorize?" not in err.getvalue():
        await asyncio.sleep(0.01)
    url = next(word for word in err.getvalue().split() if "/authorize?" in word)
    # The person's browser is elsewhere (SSH): it lands on an unreachable 127.0.0.1 page and they copy the address.
    landing = await client.get(url, follow_redirects=False)
    assert landing.status_code == 302
    stdin.paste("not-a-url with spaces")  # a slip is reported and another paste is awaited
    stdin.paste(landing.headers["location"])
    cred = await task
    assert "neither a redirect address nor a code" in err.getvalue()
    assert cred.obtained_by == "PKCE"
    assert await models_status(client, server, cred.secret) == 200


async def test_pkce_login_denied_in_the_browser_is_one_sentence(server, client):
    server.deny_authorization = True
    tasks: list[asyncio.Task] = []

    def browser(url: str) -> None:
        tasks.append(asyncio.get_running_loop().create_task(client.get(url, follow_redirects=True)))

    store = MemoryStore()
    with pytest.raises(AuthError, match="sign-in to Work gateway was declined in the browser"):
        await login_in_terminal(
            gateway(server, "oauth-pkce"), "oauth-pkce", client, store, no_browser=False, stderr=io.StringIO(),
            stdin=io.StringIO(), env={"DISPLAY": ":0"}, open_url=browser,
        )
    await asyncio.gather(*tasks)
    assert store.items == {}


async def test_openrouter_style_login_stores_the_issued_key_as_an_api_key(client):
    with ScriptedServer() as keys:
        keys.script("POST", "/api/v1/auth/keys", Reply.json({"key": "sk-or-v1-0123456789abcdef0123", "user_id": "user_7"}))
        provider = ProviderConfig(
            id="openrouter", display_name="OpenRouter", kind="openai-chat", base_url=f"{keys.url}/api/v1", auth=["api-key"],
            oauth=OAuthSettings(authorization_endpoint=f"{keys.url}/auth", keys_endpoint=f"{keys.url}/api/v1/auth/keys", pkce=True),
        )
        tasks: list[asyncio.Task] = []
        seen_urls: list[str] = []

        def browser(url: str) -> None:  # OpenRouter's page sends the browser to callback_url?code=...
            seen_urls.append(url)
            callback = authorize_url_params(url)["callback_url"]
            tasks.append(asyncio.get_running_loop().create_task(client.get(callback, params={"code": "auth_code_abc123"})))

        store, err = MemoryStore(), io.StringIO()
        cred = await login_in_terminal(
            provider, "api-key", client, store, no_browser=False, stderr=err, stdin=io.StringIO(),
            env={"DISPLAY": ":0"}, open_url=browser,
        )
        await asyncio.gather(*tasks)
    assert cred.kind == "api-key" and cred.obtained_by == "PKCE" and cred.secret == "sk-or-v1-0123456789abcdef0123"
    assert cred.identity == "user_7" and cred.host == f"http://127.0.0.1:{keys.port}"
    assert store.items["openrouter"] == cred
    sent = keys.seen("/api/v1/auth/keys")[0].json
    assert sent["code"] == "auth_code_abc123"
    assert s256_challenge(sent["code_verifier"]) == authorize_url_params(seen_urls[0])["code_challenge"]
    assert cred.secret not in err.getvalue()


async def test_catalog_openrouter_preset_sends_the_browser_to_openrouter_auth(client):
    from tui_agent.config.load import load_config

    openrouter = load_config(Path("/nonexistent/config.toml")).providers["openrouter"]
    flow = PkceFlow(client, await resolve_endpoints(openrouter, client), client_id=None, label="OpenRouter")
    try:
        url = await flow.begin()
    finally:
        await flow.close()
    assert url.startswith("https://openrouter.ai/auth?callback_url=http%3A%2F%2F127.0.0.1%3A")
    assert authorize_url_params(url)["code_challenge_method"] == "S256"
    assert flow.key_exchange


@pytest.mark.parametrize(
    ("oauth", "key"),
    [
        ({"tenant": "contoso.onmicrosoft.com"}, "oauth.client_id"),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, "oauth.tenant"),
    ],
)
async def test_azure_without_tenant_or_client_id_names_the_key_and_how_to_register_an_app(client, oauth, key):
    provider = ProviderConfig(
        id="azure-openai", display_name="Azure OpenAI", kind="openai-chat", base_url="https://res.openai.azure.com/openai/v1",
        auth=["oauth-device", "api-key"], oauth=OAuthSettings(**{"scopes": ["https://cognitiveservices.azure.com/.default", "offline_access"], **oauth}),
    )
    with pytest.raises(ConfigError) as info:  # a precondition: checked when the login is planned
        await login_in_terminal(provider, "oauth-device", client, MemoryStore(), no_browser=True, stderr=io.StringIO(), stdin=io.StringIO())
    text = str(info.value)
    assert f"providers.azure-openai.{key}" in text
    assert "Allow public client flows to Yes" in text


async def test_a_provider_without_base_url_cannot_bind_a_token(client):
    provider = ProviderConfig(id="azure-openai", kind="openai-chat", auth=["oauth-device"], oauth=OAuthSettings(tenant="t", client_id="c"))
    with pytest.raises(ConfigError, match="providers.azure-openai.base_url missing"):
        await login_in_terminal(provider, "oauth-device", client, MemoryStore(), no_browser=True, stderr=io.StringIO(), stdin=io.StringIO())


async def test_a_non_oauth_method_is_refused(server, client):
    with pytest.raises(AuthError, match="is not an OAuth flow"):
        await login_in_terminal(gateway(server, "api-key"), "api-key", client, MemoryStore(), no_browser=True, stderr=io.StringIO(), stdin=io.StringIO())


async def test_ctrl_c_while_waiting_for_the_browser_closes_the_loopback_listener(server, client):
    opened: list[str] = []
    store, err = MemoryStore(), io.StringIO()
    task = asyncio.create_task(login_in_terminal(
        gateway(server, "oauth-pkce"), "oauth-pkce", client, store, no_browser=False, stderr=err,
        stdin=io.StringIO(), env={"DISPLAY": ":0"}, open_url=opened.append,
    ))
    while not opened:
        await asyncio.sleep(0.01)
    params = authorize_url_params(opened[0])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(httpx.ConnectError):
        await client.get(params["redirect_uri"], params={"code": "late", "state": params["state"]})
    assert store.items == {}
    assert "cancelled; nothing was stored" in err.getvalue()


async def test_a_device_login_token_drives_a_chat_and_is_refreshed_when_it_expires(server, client, clock):
    from tui_agent.core.credentials import Credential
    from tui_agent.auth.tokens import refresh_token_grant
    from tui_agent.core.chat import ChatMessage, ChatRequest
    from tui_agent.core.events import Done, TextDelta
    from tui_agent.providers.openai_chat import OpenAIChatAdapter

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        server.approve()

    store = MemoryStore()
    provider = gateway(server, "oauth-device")
    await login_in_terminal(provider, "oauth-device", client, store, no_browser=True, stderr=io.StringIO(),
                            stdin=io.StringIO(), clock=clock, sleep=sleep)
    server.expire_access_tokens()  # the hour has passed

    refreshed: list[str] = []

    async def refresh():
        cred = await store.get(provider.id)
        renewed = await refresh_token_grant(client, cred.token_endpoint, server.client_id, cred)
        await store.put(provider.id, renewed)
        refreshed.append(renewed.secret)
        return Credential(kind="bearer", secret=renewed.secret)

    stale = await store.get(provider.id)
    request = ChatRequest(model="fake-model", messages=[ChatMessage("user", "hi")])
    events = [e async for e in OpenAIChatAdapter(provider, client).stream(request, Credential("bearer", stale.secret), refresh)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Hello, ada@example.com."
    assert isinstance(events[-1], Done)
    assert len(refreshed) == 1 and (await store.get(provider.id)).secret == refreshed[0] != stale.secret
    chats = [r for r in server.requests if r.path == "/v1/chat/completions"]
    assert [c.headers["authorization"] for c in chats] == [f"Bearer {stale.secret}", f"Bearer {refreshed[0]}"]


async def test_device_instructions_from_the_server_are_printed_without_control_characters(client, clock):
    with ScriptedServer() as srv:
        srv.script("POST", "/device", Reply.json({
            "device_code": "d", "user_code": "AB\x1b[31mCD", "verification_uri": "https://example.com/\x1b]8;;evil\x07device",
            "expires_in": 60, "interval": 5,
        }))
        srv.script("POST", "/token", Reply.json({"access_token": "at-1", "token_type": "bearer", "expires_in": 60}))
        provider = ProviderConfig(id="gw", kind="openai-chat", base_url="https://llm.example.com/v1", auth=["oauth-device"],
                                  oauth=OAuthSettings(device_endpoint=f"{srv.url}/device", token_endpoint=f"{srv.url}/token", client_id="c"))

        async def sleep(seconds: float) -> None:
            clock.advance(seconds)

        err = io.StringIO()
        # A code that cannot be typed and an address hiding a hyperlink: refused in one sentence, nothing stored.
        with pytest.raises(AuthError, match="user code with control characters") as info:
            await login_in_terminal(provider, "oauth-device", client, MemoryStore(), no_browser=True, stderr=err,
                                    stdin=io.StringIO(), clock=clock, sleep=sleep)
    out = err.getvalue() + str(info.value)
    assert "\x1b" not in out and "\x07" not in out
    assert "(ABCD)" in out  # the colour sequence removed, the rest shown
    assert srv.seen("/token") == []


async def test_a_verification_uri_that_is_not_a_web_address_is_never_opened(client, clock):
    with ScriptedServer() as srv:
        srv.script("POST", "/device", Reply.json({
            "device_code": "d", "user_code": "ABCD-EFGH", "verification_uri": "file:///etc/passwd", "expires_in": 60, "interval": 5,
        }))
        srv.script("POST", "/token", Reply.json({"access_token": "at-1", "token_type": "Bearer"}))
        provider = ProviderConfig(id="gw", kind="openai-chat", base_url="https://llm.example.com/v1", auth=["oauth-device"],
                                  oauth=OAuthSettings(device_endpoint=f"{srv.url}/device", token_endpoint=f"{srv.url}/token", client_id="c"))
        opened: list[str] = []

        async def sleep(seconds: float) -> None:
            clock.advance(seconds)

        with pytest.raises(AuthError, match=r"not a plain http\(s\) URL \(file:///etc/passwd\); not opening"):
            await login_in_terminal(provider, "oauth-device", client, MemoryStore(), no_browser=False, stderr=io.StringIO(),
                                    stdin=io.StringIO(), env={"DISPLAY": ":0"}, open_url=opened.append, clock=clock, sleep=sleep)
    assert opened == []
