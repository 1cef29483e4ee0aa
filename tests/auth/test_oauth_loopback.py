"""RFC 8252 loopback redirect listener: one valid request on an unguessable path, state checked, then closed."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tui_agent.auth.oauth.loopback import LoopbackListener
from tui_agent.errors import AuthError


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5) as c:
        yield c


async def test_listener_binds_loopback_on_an_ephemeral_port_with_an_unguessable_path():
    a = await LoopbackListener().start()
    b = await LoopbackListener().start()
    try:
        assert a.redirect_uri.startswith("http://127.0.0.1:")
        assert a.port > 0 and a.port != b.port
        assert a.path != b.path and len(a.path) > len("/callback/") + 16
    finally:
        await a.close()
        await b.close()


async def test_the_redirect_gives_back_the_code_and_a_close_this_tab_page(client):
    async with LoopbackListener(expected_state="s-1") as listener:
        response = await client.get(listener.redirect_uri, params={"code": "abc", "state": "s-1"})
        result = await listener.wait(5)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "close this tab" in response.text
    assert result.code == "abc" and result.error is None


async def test_a_wrong_path_is_refused_and_the_listener_keeps_waiting(client):
    async with LoopbackListener(expected_state="s-1") as listener:
        base = listener.redirect_uri.rsplit("/", 1)[0]
        wrong = await client.get(f"{base}/guess", params={"code": "evil", "state": "s-1"})
        favicon = await client.get(f"http://127.0.0.1:{listener.port}/favicon.ico")
        assert (wrong.status_code, favicon.status_code) == (404, 404)
        assert not listener.done
        await client.get(listener.redirect_uri, params={"code": "good", "state": "s-1"})
        result = await listener.wait(5)
    assert result.code == "good"


async def test_a_second_request_is_refused_after_the_first_valid_one(client):
    listener = await LoopbackListener().start()
    first = await client.get(listener.redirect_uri, params={"code": "one"})
    assert first.status_code == 200
    result = await listener.wait(5)
    assert result.code == "one"
    with pytest.raises(httpx.ConnectError):
        await client.get(listener.redirect_uri, params={"code": "two"})


async def test_a_second_request_racing_the_first_gets_nothing(client):
    # Two requests on connections opened before the listener closed: only the first counts.
    listener = await LoopbackListener().start()
    first, second = await asyncio.gather(
        client.get(listener.redirect_uri, params={"code": "one"}),
        client.get(listener.redirect_uri, params={"code": "two"}),
        return_exceptions=True,
    )
    result = await listener.wait(5)
    statuses = [r.status_code if isinstance(r, httpx.Response) else "refused" for r in (first, second)]
    assert statuses.count(200) == 1
    assert result.code in ("one", "two")
    assert set(statuses) - {200} <= {410, "refused"}


async def test_a_state_mismatch_is_rejected(client):
    async with LoopbackListener(expected_state="expected") as listener:
        response = await client.get(listener.redirect_uri, params={"code": "abc", "state": "forged"})
        assert response.status_code == 400
        with pytest.raises(AuthError, match="does not match this login attempt"):
            await listener.wait(5)


async def test_a_missing_state_is_rejected_when_one_was_sent(client):
    async with LoopbackListener(expected_state="expected") as listener:
        await client.get(listener.redirect_uri, params={"code": "abc"})
        with pytest.raises(AuthError, match="state"):
            await listener.wait(5)


async def test_without_an_expected_state_any_state_is_accepted(client):
    async with LoopbackListener() as listener:
        await client.get(listener.redirect_uri, params={"code": "abc"})
        assert (await listener.wait(5)).code == "abc"


async def test_an_error_redirect_is_reported_not_swallowed(client):
    async with LoopbackListener(expected_state="s") as listener:
        await client.get(listener.redirect_uri, params={"error": "access_denied", "error_description": "User said no", "state": "s"})
        result = await listener.wait(5)
    assert result.error == "access_denied" and result.error_description == "User said no" and result.code is None


async def test_a_request_without_code_or_error_does_not_end_the_wait(client):
    async with LoopbackListener() as listener:
        empty = await client.get(listener.redirect_uri)
        assert empty.status_code == 400
        assert not listener.done
        await client.get(listener.redirect_uri, params={"code": "abc"})
        assert (await listener.wait(5)).code == "abc"


async def test_post_is_not_accepted(client):
    async with LoopbackListener() as listener:
        response = await client.post(listener.redirect_uri, data={"code": "abc"})
        assert response.status_code == 405
        assert not listener.done


async def test_waiting_times_out_with_a_sentence():
    async with LoopbackListener() as listener:
        with pytest.raises(AuthError, match="No browser came back"):
            await listener.wait(0.01)
