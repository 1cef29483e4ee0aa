"""RFC 8628 device flow: every polling branch, against a scripted loopback server, on a controllable clock."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.fakes.authserver import DROP, Reply, ScriptedServer
from tui_agent.auth.oauth import LoginCancelled
from tui_agent.auth.oauth.device import DEVICE_GRANT, DeviceFlow
from tui_agent.auth.oauth.discovery import OAuthEndpoints
from tui_agent.auth.oauth.pkce import s256_challenge
from tui_agent.errors import AuthError


class VirtualTime:
    """A clock that only moves when the flow sleeps; records every wait so tests can check the pacing."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


GRANTED = Reply.json({"access_token": "at-123", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-456"})
PENDING = Reply.error("authorization_pending")


def device_reply(**overrides) -> Reply:
    body = {
        "device_code": "dev-code-1",
        "user_code": "WDJB-MJHT",
        "verification_uri": "https://example.com/device",
        "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
        "expires_in": 1800,
        "interval": 5,
    }
    body.update(overrides)
    return Reply.json({k: v for k, v in body.items() if v is not None})


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5) as c:
        yield c


@pytest.fixture
def vt():
    return VirtualTime()


def make_flow(server, client, vt, *, methods=(), use_pkce=None, scopes=("openid", "offline_access")) -> DeviceFlow:
    endpoints = OAuthEndpoints(
        token_endpoint=f"{server.url}/token",
        device_authorization_endpoint=f"{server.url}/device",
        code_challenge_methods=tuple(methods),
    )
    return DeviceFlow(client, endpoints, client_id="cli-1", scopes=list(scopes), use_pkce=use_pkce, label="Work SSO", clock=vt.clock, sleep=vt.sleep)


async def run(flow):
    await flow.start()
    return await flow.poll_until_done()


async def test_start_sends_client_id_and_scope_and_returns_what_the_person_needs(server, client, vt):
    server.script("POST", "/device", device_reply())
    auth = await make_flow(server, client, vt).start()
    assert auth.user_code == "WDJB-MJHT"
    assert auth.verification_uri == "https://example.com/device"
    assert auth.verification_uri_complete == "https://example.com/device?user_code=WDJB-MJHT"
    assert (auth.expires_in, auth.interval) == (1800, 5)
    assert "dev-code-1" not in repr(auth)
    assert server.seen("/device")[0].form == {"client_id": "cli-1", "scope": "openid offline_access"}


async def test_pending_keeps_polling_at_the_interval_until_granted(server, client, vt):
    server.script("POST", "/device", device_reply(interval=7))
    server.script("POST", "/token", PENDING, PENDING, GRANTED)
    tokens = await run(make_flow(server, client, vt))
    assert tokens.access_token == "at-123" and tokens.refresh_token == "rt-456" and tokens.expires_in == 3600
    assert vt.sleeps == [7, 7, 7]
    polls = server.seen("/token")
    assert len(polls) == 3
    assert polls[0].form == {"grant_type": DEVICE_GRANT, "device_code": "dev-code-1", "client_id": "cli-1"}


async def test_missing_interval_means_five_seconds(server, client, vt):
    server.script("POST", "/device", device_reply(interval=None))
    server.script("POST", "/token", PENDING, GRANTED)
    await run(make_flow(server, client, vt))
    assert vt.sleeps == [5, 5]


async def test_slow_down_adds_five_seconds_to_every_later_poll(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", PENDING, Reply.error("slow_down"), PENDING, Reply.error("slow_down"), PENDING, GRANTED)
    await run(make_flow(server, client, vt))
    assert vt.sleeps == [5, 5, 10, 10, 15, 15]


async def test_slow_down_sent_with_http_429_is_still_slow_down(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", Reply.error("slow_down", status=429), GRANTED)
    await run(make_flow(server, client, vt))
    assert vt.sleeps == [5, 10]


@pytest.mark.parametrize("error", ["access_denied", "authorization_declined"])
async def test_a_declined_sign_in_ends_with_a_sentence(server, client, vt, error):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", PENDING, Reply.error(error))
    with pytest.raises(AuthError) as info:
        await run(make_flow(server, client, vt))
    assert str(info.value) == "The sign-in to Work SSO was declined at the verification page; run login again to retry."
    assert len(server.seen("/token")) == 2


async def test_expired_token_from_the_server_ends_the_flow(server, client, vt):
    server.script("POST", "/device", device_reply(expires_in=600))
    server.script("POST", "/token", PENDING, Reply.error("expired_token"))
    with pytest.raises(AuthError, match=r"device code for Work SSO expired .* about 10 min\); run login again"):
        await run(make_flow(server, client, vt))


async def test_expires_in_running_out_stops_polling_without_another_request(server, client, vt):
    server.script("POST", "/device", device_reply(expires_in=12, interval=5))
    server.script("POST", "/token", PENDING)
    with pytest.raises(AuthError, match="expired before the sign-in was finished"):
        await run(make_flow(server, client, vt))
    assert len(server.seen("/token")) == 2  # at t=5 and t=10; the code dies at t=12, so no third poll
    assert vt.sleeps == [5, 5, 2] and vt.now == 12  # stopped waiting at the expiry, not at the next interval


async def test_a_huge_interval_never_makes_the_flow_wait_past_the_expiry(server, client, vt):
    server.script("POST", "/device", device_reply(expires_in=60, interval=86_400))
    with pytest.raises(AuthError, match=r"device code for Work SSO expired before the sign-in was finished \(it was valid for 60 s\)"):
        await run(make_flow(server, client, vt))
    assert vt.sleeps == [60] and server.seen("/token") == []


async def test_backoff_after_network_trouble_never_waits_past_the_expiry(server, client, vt):
    server.script("POST", "/device", device_reply(expires_in=100, interval=40))
    server.script("POST", "/token", Reply.json({"error": "temporarily_unavailable"}, status=503))
    with pytest.raises(AuthError, match="expired before the sign-in was finished"):
        await run(make_flow(server, client, vt))
    assert vt.sleeps == [40, 60] and vt.now == 100  # the backoff of 80 s is cut to the 60 s left


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("user_code", "WDJB\x1b]52;c;QQ==\x07-MJHT", "user code with control characters"),
        ("user_code", "WDJB\u202e-MJHT", "user code with control characters"),
        ("verification_uri", "https://example.com/device\x1b[2J", "not a plain http(s) URL"),
        ("verification_uri", "https://login.example.com@evil.test/device", "not a plain http(s) URL"),
        ("verification_uri", "javascript:alert(1)", "not a plain http(s) URL"),
    ],
)
async def test_a_hostile_user_code_or_verification_address_is_refused_and_never_echoed_raw(server, client, vt, field, value, says):
    server.script("POST", "/device", device_reply(**{field: value}))
    with pytest.raises(AuthError, match=re.escape(says)) as info:
        await make_flow(server, client, vt).start()
    text = str(info.value)
    assert not any(c in text for c in "\x1b\x07\u202e") and "login.example.com@" not in text


async def test_a_hostile_complete_uri_is_dropped_and_the_message_sanitised(server, client, vt):
    server.script("POST", "/device", device_reply(verification_uri_complete="https://example.com/d\x1b]0;x\x07", message="Go \x1b[2Jthere"))
    auth = await make_flow(server, client, vt).start()
    assert auth.verification_uri_complete is None
    assert auth.message == "Go there"


async def test_bad_verification_code_is_fatal(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", Reply.error("bad_verification_code"))
    with pytest.raises(AuthError, match="did not recognise the device code; run login again"):
        await run(make_flow(server, client, vt))
    assert len(server.seen("/token")) == 1


async def test_an_unknown_error_is_fatal_and_quotes_the_server(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", Reply.error("invalid_client", description="Client authentication failed"))
    with pytest.raises(AuthError) as info:
        await run(make_flow(server, client, vt))
    text = str(info.value)
    assert "invalid_client" in text and "Client authentication failed" in text and "oauth.client_id" in text


async def test_entra_public_client_error_says_how_to_fix_the_app_registration(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", Reply.error("invalid_client", 401, "AADSTS7000218: The request body must contain 'client_assertion' or 'client_secret'."))
    with pytest.raises(AuthError, match="Allow public client flows to Yes"):
        await run(make_flow(server, client, vt))


async def test_a_network_error_mid_poll_backs_off_and_continues(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", PENDING, DROP, DROP, PENDING, GRANTED)
    tokens = await run(make_flow(server, client, vt))
    assert tokens.access_token == "at-123"
    # normal, then doubled, then doubled again, then back to the interval once the server answers
    assert vt.sleeps == [5, 5, 10, 20, 5]


async def test_an_html_error_page_from_the_token_endpoint_is_retried_when_it_is_a_server_error(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", PENDING, Reply.html(502), GRANTED)
    tokens = await run(make_flow(server, client, vt))
    assert tokens.access_token == "at-123"
    assert vt.sleeps == [5, 5, 10]


async def test_an_html_page_with_a_client_error_status_ends_with_status_and_url(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", Reply.html(404, "<html><body>Not Found</body></html>"))
    with pytest.raises(AuthError) as info:
        await run(make_flow(server, client, vt))
    assert str(info.value) == (
        f"The token endpoint {server.url}/token answered HTTP 404 with an HTML page instead of JSON; "
        "check the URL and any proxy in between."
    )


async def test_an_html_page_from_the_device_endpoint_is_one_sentence(server, client, vt):
    server.script("POST", "/device", Reply.html(200, "<!doctype html><html>Sign in to continue</html>"))
    with pytest.raises(AuthError, match=r"device authorization endpoint .*/device answered HTTP 200 with an HTML page"):
        await make_flow(server, client, vt).start()


async def test_a_device_response_without_the_required_fields_is_refused(server, client, vt):
    server.script("POST", "/device", Reply.json({"device_code": "x"}))
    with pytest.raises(AuthError, match="does not look like an RFC 8628 endpoint"):
        await make_flow(server, client, vt).start()


async def test_cancel_stops_polling_with_login_cancelled(server, client):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", PENDING)
    never = asyncio.Event()
    polls = []

    async def blocked_sleep(seconds):
        polls.append(seconds)
        await never.wait()  # a real interval that never passes on its own

    endpoints = OAuthEndpoints(token_endpoint=f"{server.url}/token", device_authorization_endpoint=f"{server.url}/device")
    flow = DeviceFlow(client, endpoints, client_id="c", label="Work SSO", clock=lambda: 0.0, sleep=blocked_sleep)
    await flow.start()
    task = asyncio.create_task(flow.poll_until_done())
    while not polls:
        await asyncio.sleep(0)
    flow.cancel()
    with pytest.raises(LoginCancelled, match="Login to Work SSO was cancelled"):
        await task
    assert server.seen("/token") == []


async def test_task_cancellation_propagates(server, client):
    server.script("POST", "/device", device_reply())
    started = asyncio.Event()

    async def blocked_sleep(seconds):
        started.set()
        await asyncio.Event().wait()

    endpoints = OAuthEndpoints(token_endpoint=f"{server.url}/token", device_authorization_endpoint=f"{server.url}/device")
    flow = DeviceFlow(client, endpoints, client_id="c", clock=lambda: 0.0, sleep=blocked_sleep)
    await flow.start()
    task = asyncio.create_task(flow.poll_until_done())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_pkce_is_added_when_the_server_advertises_s256(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", GRANTED)
    flow = make_flow(server, client, vt, methods=("plain", "S256"))
    await run(flow)
    start = server.seen("/device")[0].form
    poll = server.seen("/token")[0].form
    assert start["code_challenge_method"] == "S256"
    assert start["code_challenge"] == s256_challenge(poll["code_verifier"])


async def test_pkce_is_added_when_the_config_asks_even_if_not_advertised(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", GRANTED)
    await run(make_flow(server, client, vt, use_pkce=True))
    assert "code_challenge" in server.seen("/device")[0].form
    assert "code_verifier" in server.seen("/token")[0].form


async def test_no_pkce_when_neither_server_nor_config_asks(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", GRANTED)
    await run(make_flow(server, client, vt))
    assert "code_challenge" not in server.seen("/device")[0].form
    assert "code_verifier" not in server.seen("/token")[0].form


async def test_on_tick_reports_a_countdown_and_what_the_server_said(server, client, vt):
    server.script("POST", "/device", device_reply(expires_in=900))
    server.script("POST", "/token", PENDING, Reply.error("slow_down"), GRANTED)
    ticks = []
    flow = make_flow(server, client, vt)
    await flow.start()
    await flow.poll_until_done(on_tick=ticks.append)
    assert [(t.seconds_left, t.next_poll_in, t.last) for t in ticks] == [
        (900, 5, "started"),
        (895, 5, "authorization_pending"),
        (890, 10, "slow_down"),
    ]


async def test_poll_before_start_is_a_programming_error(server, client, vt):
    with pytest.raises(RuntimeError):
        await make_flow(server, client, vt).poll_until_done()


async def test_a_flow_without_a_device_endpoint_says_what_to_configure(client):
    with pytest.raises(AuthError, match="set oauth.device_endpoint"):
        DeviceFlow(client, OAuthEndpoints(token_endpoint="https://x/t"), client_id="c", label="Work SSO")


async def test_a_refused_device_authorization_request_quotes_the_server_and_hints_the_fix(server, client, vt):
    server.script("POST", "/device", Reply.error("invalid_scope", description="Scope 'chat' is not allowed"))
    with pytest.raises(AuthError) as info:
        await make_flow(server, client, vt).start()
    text = str(info.value)
    assert text.startswith(f"The device authorization endpoint {server.url}/device refused the request with invalid_scope")
    assert "Scope 'chat' is not allowed" in text and text.endswith("check oauth.scopes.")


async def test_an_unreachable_device_endpoint_is_one_sentence(client, vt):
    with ScriptedServer() as gone:
        url = gone.url
    endpoints = OAuthEndpoints(token_endpoint=f"{url}/token", device_authorization_endpoint=f"{url}/device")
    flow = DeviceFlow(client, endpoints, client_id="c", clock=vt.clock, sleep=vt.sleep)
    with pytest.raises(AuthError, match=r"Could not reach the device authorization endpoint .*/device \(ConnectError\)"):
        await flow.start()


async def test_server_text_with_terminal_escapes_is_never_printed_raw(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", Reply.error("invalid_grant\x1b[2J", description="\x1b]0;pwned\x07bad\ncode"))
    with pytest.raises(AuthError) as info:
        await run(make_flow(server, client, vt))
    text = str(info.value)
    assert "\x1b" not in text and "\x07" not in text and "\n" not in text
    assert "invalid_grant" in text and "bad code" in text


async def test_a_token_that_is_not_a_bearer_token_is_refused(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", Reply.json({"access_token": "at", "token_type": "DPoP", "expires_in": 60}))
    with pytest.raises(AuthError, match="issued a 'DPoP' token; tui-agent only sends bearer tokens"):
        await run(make_flow(server, client, vt))


async def test_a_json_server_error_or_rate_limit_is_retried_with_backoff(server, client, vt):
    server.script("POST", "/device", device_reply())
    server.script("POST", "/token", Reply.error("temporarily_unavailable", status=503), Reply.error("rate_limited", status=429), GRANTED)
    await run(make_flow(server, client, vt))
    assert vt.sleeps == [5, 10, 20]
