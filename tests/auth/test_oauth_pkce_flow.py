"""Authorization code + PKCE: the authorize URL, the paste fallback, OpenRouter's key exchange, when to open a browser."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.authserver import Reply, ScriptedServer, authorize_url_params
from tui_agent.auth.oauth.discovery import OAuthEndpoints
from tui_agent.auth.oauth.pkce import s256_challenge
from tui_agent.auth.oauth.pkce_flow import KeyResult, PkceFlow, browser_available
from tui_agent.errors import AuthError


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5) as c:
        yield c


def generic(server_url: str, **extra) -> OAuthEndpoints:
    return OAuthEndpoints(authorization_endpoint=f"{server_url}/authorize", token_endpoint=f"{server_url}/token", **extra)


def openrouter(server_url: str) -> OAuthEndpoints:
    return OAuthEndpoints(authorization_endpoint=f"{server_url}/auth", keys_endpoint=f"{server_url}/api/v1/auth/keys")


async def test_authorize_url_carries_client_redirect_state_and_s256_challenge(client, server):
    flow = PkceFlow(client, generic(server.url), client_id="cli-1", scopes=["openid", "chat"])
    try:
        url = await flow.begin()
        params = authorize_url_params(url)
        assert url.startswith(f"{server.url}/authorize?")
        assert params["response_type"] == "code"
        assert params["client_id"] == "cli-1"
        assert params["redirect_uri"] == flow.listener.redirect_uri
        assert params["redirect_uri"].startswith("http://127.0.0.1:")
        assert params["scope"] == "openid chat"
        assert params["state"] == flow.state
        assert params["code_challenge_method"] == "S256"
        assert len(params["code_challenge"]) == 43
        assert "code_verifier" not in params
    finally:
        await flow.close()


async def test_the_code_is_exchanged_with_the_verifier_and_the_same_redirect_uri(client, server):
    server.script("POST", "/token", Reply.json({"access_token": "at", "token_type": "Bearer", "expires_in": 60}))
    flow = PkceFlow(client, generic(server.url), client_id="cli-1")
    url = await flow.begin()
    redirect = flow.listener.redirect_uri
    tokens = await flow.exchange("the-code")
    form = server.seen("/token")[0].form
    assert tokens.access_token == "at"
    assert form["grant_type"] == "authorization_code" and form["code"] == "the-code"
    assert form["redirect_uri"] == redirect and form["client_id"] == "cli-1"
    assert s256_challenge(form["code_verifier"]) == authorize_url_params(url)["code_challenge"]


async def test_a_refused_code_exchange_is_one_sentence(client, server):
    server.script("POST", "/token", Reply.error("invalid_grant", description="Code challenge failed."))
    flow = PkceFlow(client, generic(server.url), client_id="cli-1")
    await flow.begin()
    with pytest.raises(AuthError, match=r"refused the request with invalid_grant \(Code challenge failed\.\); run login again"):
        await flow.exchange("code")


async def test_pasted_full_redirect_url_is_accepted_when_state_matches(client, server):
    flow = PkceFlow(client, generic(server.url), client_id="cli-1")
    await flow.begin()
    try:
        pasted = f"  {flow.listener.redirect_uri}?code=pasted-code&state={flow.state}\n"
        assert flow.accept_pasted(pasted) == "pasted-code"
    finally:
        await flow.close()


async def test_pasted_redirect_url_with_another_state_is_rejected(client, server):
    flow = PkceFlow(client, generic(server.url), client_id="cli-1")
    await flow.begin()
    try:
        with pytest.raises(AuthError, match="does not match this login attempt"):
            flow.accept_pasted(f"{flow.listener.redirect_uri}?code=c&state=someone-else")
    finally:
        await flow.close()


async def test_a_bare_pasted_code_is_accepted(client, server):
    flow = PkceFlow(client, generic(server.url), client_id="cli-1")
    await flow.begin()
    try:
        assert flow.accept_pasted("4/0AbCdEf-123_xyz") == "4/0AbCdEf-123_xyz"
        with pytest.raises(AuthError, match="neither a redirect address nor a code"):
            flow.accept_pasted("this is a sentence")
        with pytest.raises(AuthError, match="Nothing was pasted"):
            flow.accept_pasted("   ")
    finally:
        await flow.close()


async def test_a_pasted_error_redirect_says_the_sign_in_was_declined(client, server):
    flow = PkceFlow(client, generic(server.url), client_id="cli-1", label="Work SSO")
    await flow.begin()
    try:
        with pytest.raises(AuthError, match="sign-in to Work SSO was declined in the browser"):
            flow.accept_pasted(f"{flow.listener.redirect_uri}?error=access_denied&state={flow.state}")
    finally:
        await flow.close()


async def test_a_server_that_offers_pkce_but_not_s256_is_refused(client, server):
    with pytest.raises(AuthError, match="not S256"):
        PkceFlow(client, generic(server.url, code_challenge_methods=("plain",)), client_id="c")


async def test_generic_browser_login_needs_a_client_id(client, server):
    with pytest.raises(AuthError, match="set oauth.client_id"):
        PkceFlow(client, generic(server.url), client_id=None)


async def test_openrouter_url_has_callback_url_and_challenge_and_no_client_id_or_state(client, server):
    flow = PkceFlow(client, openrouter(server.url), client_id=None)
    try:
        params = authorize_url_params(await flow.begin())
        assert set(params) == {"callback_url", "code_challenge", "code_challenge_method"}
        assert params["callback_url"] == flow.listener.redirect_uri
        assert params["code_challenge_method"] == "S256"
    finally:
        await flow.close()


async def test_openrouter_code_is_exchanged_for_an_api_key_as_json(client, server):
    server.script("POST", "/api/v1/auth/keys", Reply.json({"key": "sk-or-v1-abcdef0123456789", "user_id": "user_42"}))
    flow = PkceFlow(client, openrouter(server.url), client_id=None)
    url = await flow.begin()
    result = await flow.exchange("auth_code_abc")
    assert isinstance(result, KeyResult)
    assert result.key == "sk-or-v1-abcdef0123456789" and result.user_id == "user_42"
    assert "sk-or" not in repr(result)
    sent = server.seen("/api/v1/auth/keys")[0]
    assert sent.headers["content-type"].startswith("application/json")
    assert set(sent.json) == {"code", "code_verifier", "code_challenge_method"}
    assert sent.json["code"] == "auth_code_abc" and sent.json["code_challenge_method"] == "S256"
    assert s256_challenge(sent.json["code_verifier"]) == authorize_url_params(url)["code_challenge"]


@pytest.mark.parametrize("status", [400, 403])
async def test_openrouter_refusing_the_code_says_start_again(client, server, status):
    server.script("POST", "/api/v1/auth/keys", Reply.json({"error": {"message": "Invalid code or code_verifier", "code": status}}, status))
    flow = PkceFlow(client, openrouter(server.url), client_id=None, label="OpenRouter")
    await flow.begin()
    with pytest.raises(AuthError, match=rf"OpenRouter rejected the sign-in code .* HTTP {status} \(Invalid code or code_verifier\); run login again"):
        await flow.exchange("stale")


async def test_openrouter_html_answer_is_named(client, server):
    server.script("POST", "/api/v1/auth/keys", Reply.html(502))
    flow = PkceFlow(client, openrouter(server.url), client_id=None)
    await flow.begin()
    with pytest.raises(AuthError, match="answered HTTP 502 with an HTML page"):
        await flow.exchange("c")


@pytest.mark.parametrize(
    ("no_browser", "env", "platform", "expected"),
    [
        (False, {"DISPLAY": ":0"}, "linux", True),
        (False, {"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        (False, {"BROWSER": "firefox"}, "linux", True),
        (False, {}, "linux", False),
        (False, {"DISPLAY": ":0", "SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "linux", False),
        (False, {"SSH_TTY": "/dev/pts/1"}, "darwin", False),
        (False, {}, "darwin", True),
        (False, {}, "win32", True),
        (True, {"DISPLAY": ":0"}, "linux", False),
        (True, {}, "darwin", False),
    ],
)
def test_when_a_browser_is_opened(no_browser, env, platform, expected):
    assert browser_available(no_browser, env, platform) is expected
