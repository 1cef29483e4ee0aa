"""Token lifecycle: the RFC 6749 §6 refresh grant, single-flight and cross-process refresh, and credential states."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import filelock
import httpx
import pytest

from tests.fakes.authserver import DROP, AuthlibServer, Reply, ScriptedServer
from tui_agent.core.credentials import CredentialState, StoredCredential
from tui_agent.auth.store import FileStore
from tui_agent.auth.tokens import GrantGone, RefreshFailed, TokenManager, refresh_token_grant
from tui_agent.config.paths import Paths
from tui_agent.config.schema import ProviderConfig

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2030, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PROVIDER = ProviderConfig(id="work", kind="openai-chat", base_url="https://llm.example.com/v1", auth=["oauth-device"])


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class CountingRefresher:
    """A refresher that hands out numbered tokens, or raises what the test asks for."""

    def __init__(self, clock: Clock, *, fail: Exception | None = None, lifetime: timedelta = timedelta(hours=1)) -> None:
        self.clock = clock
        self.fail = fail
        self.lifetime = lifetime
        self.calls: list[StoredCredential] = []
        self.during: list[tuple[CredentialState, str]] = []
        self.manager: TokenManager | None = None

    async def __call__(self, provider: ProviderConfig, cred: StoredCredential) -> StoredCredential:
        self.calls.append(cred)
        if self.manager is not None:
            self.during.append(self.manager.state_of(provider.id, cred))
        for _ in range(3):  # let every other waiting caller run while this refresh is in flight
            await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        n = len(self.calls)
        return replace(
            cred,
            secret=f"at-refreshed-{n:04d}-0123456789",
            refresh_token=f"rt-rotated-{n:04d}-0123456789",
            expires_at=self.clock() + self.lifetime,
        )


@pytest.fixture
def paths(isolated_home) -> Paths:
    return Paths.resolve(env={"TUI_AGENT_HOME": str(isolated_home)})


@pytest.fixture
def store(paths) -> FileStore:
    return FileStore(paths.credentials_file)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _oauth(expires_in: timedelta | None, *, refresh: bool = True, secret: str = "at-original-0123456789") -> StoredCredential:
    return StoredCredential(
        kind="oauth",
        secret=secret,
        refresh_token="rt-original-0123456789" if refresh else None,
        host="llm.example.com",
        expires_at=None if expires_in is None else T0 + expires_in,
        obtained_by="device flow",
        identity="ada@example.com",
        scope="openid offline_access",
    )


def _manager(store, paths, clock, refresher) -> TokenManager:
    manager = TokenManager(store, refresher, lock_dir=paths.data_dir, clock=clock)
    refresher.manager = manager
    return manager


# ------------------------------------------------------------------------------ the refresh grant itself


def _issue_token(server: AuthlibServer) -> dict:
    """Log in to the authlib server with the device flow, as a person would, and return its token response."""
    with httpx.Client() as client:
        device = client.post(f"{server.url}/device_authorization", data={"client_id": server.client_id, "scope": "openid offline_access chat"}).json()
        server.approve(device["user_code"])
        return client.post(
            f"{server.url}/token",
            data={"grant_type": DEVICE_GRANT, "device_code": device["device_code"], "client_id": server.client_id},
        ).json()


def _from_token_response(token: dict, expires_at: datetime) -> StoredCredential:
    return StoredCredential(
        kind="oauth", secret=token["access_token"], refresh_token=token["refresh_token"], host="llm.example.com",
        expires_at=expires_at, obtained_by="device flow", identity="ada@example.com", scope=token.get("scope"),
    )


async def test_refresh_grant_gets_a_new_token_from_a_real_authorization_server():
    with AuthlibServer() as server:
        old = _from_token_response(_issue_token(server), T0)
        async with httpx.AsyncClient() as client:
            new = await refresh_token_grant(client, f"{server.url}/token", server.client_id, old, clock=lambda: T0)
        sent = [r for r in server.requests if r.path == "/token"][-1]
        assert sent.form == {"grant_type": "refresh_token", "refresh_token": old.refresh_token, "client_id": server.client_id}
        assert server.token_is_valid(new.secret) and new.secret != old.secret
        assert new.refresh_token != old.refresh_token  # this server rotates refresh tokens
        assert new.expires_at == T0 + timedelta(seconds=3600)
        assert (new.host, new.identity, new.obtained_by, new.kind) == (old.host, old.identity, old.obtained_by, "oauth")


async def test_reusing_a_rotated_refresh_token_is_grant_gone():
    with AuthlibServer() as server:
        old = _from_token_response(_issue_token(server), T0)
        async with httpx.AsyncClient() as client:
            await refresh_token_grant(client, f"{server.url}/token", server.client_id, old)
            with pytest.raises(GrantGone) as err:
                await refresh_token_grant(client, f"{server.url}/token", server.client_id, old)
    assert "refused the refresh token (invalid_grant)" in str(err.value)
    assert old.refresh_token not in str(err.value)


async def test_refresh_grant_keeps_the_refresh_token_a_server_does_not_rotate():
    with ScriptedServer() as server:
        server.script("POST", "/token", Reply.json({"access_token": "at-new-0123456789abc", "token_type": "Bearer", "expires_in": "120"}))
        async with httpx.AsyncClient() as client:
            new = await refresh_token_grant(client, f"{server.url}/token", None, _oauth(timedelta(0)), scope="chat", clock=lambda: T0)
        sent = server.seen("/token")[0]
    assert sent.form == {"grant_type": "refresh_token", "refresh_token": "rt-original-0123456789", "scope": "chat"}
    assert new.secret == "at-new-0123456789abc"
    assert new.refresh_token == "rt-original-0123456789"
    assert new.scope == "openid offline_access"
    assert new.expires_at == T0 + timedelta(seconds=120)


@pytest.mark.parametrize(
    "reply,error",
    [
        (Reply.error("invalid_grant", description="refresh token rt-original-0123456789 revoked"), GrantGone),
        (Reply.error("invalid_client", status=401), GrantGone),
        (Reply.html(400), GrantGone),
        (Reply.html(503), RefreshFailed),
        (DROP, RefreshFailed),
        (Reply.json({"token_type": "Bearer"}), RefreshFailed),
        (Reply.json({"access_token": "at-mac-0123456789abc", "token_type": "mac"}), RefreshFailed),
    ],
    ids=["invalid_grant", "401", "html-400", "503", "dropped", "no-access-token", "not-bearer"],
)
async def test_refresh_grant_failures_are_typed_sentences_without_secrets(reply, error):
    with ScriptedServer() as server:
        server.script("POST", "/token", reply)
        async with httpx.AsyncClient() as client:
            with pytest.raises(error) as err:
                await refresh_token_grant(client, f"{server.url}/token", "tui-agent", _oauth(timedelta(0)))
    text = str(err.value)
    assert f"127.0.0.1:{server.port}" in text
    assert "rt-original-0123456789" not in text and "at-original-0123456789" not in text


# ----------------------------------------------------------------------------------- the manager


async def test_token_far_from_expiry_is_used_without_refreshing(store, paths, clock):
    await store.put("work", _oauth(timedelta(minutes=5)))
    refresher = CountingRefresher(clock)
    cred = await _manager(store, paths, clock, refresher).fresh(PROVIDER)
    assert cred.secret == "at-original-0123456789" and refresher.calls == []


async def test_token_within_sixty_seconds_of_expiry_is_refreshed_and_stored(store, paths, clock):
    await store.put("work", _oauth(timedelta(seconds=61)))
    refresher = CountingRefresher(clock)
    manager = _manager(store, paths, clock, refresher)
    assert (await manager.fresh(PROVIDER)).secret == "at-original-0123456789"
    clock.now = T0 + timedelta(seconds=2)  # now 59 s before expiry
    cred = await manager.fresh(PROVIDER)
    assert cred.secret == "at-refreshed-0001-0123456789"
    stored = await store.get("work")
    assert stored.secret == cred.secret and stored.refresh_token == "rt-rotated-0001-0123456789"
    assert manager.state_of("work", stored) == (CredentialState.READY, "")


async def test_api_key_is_handed_over_as_stored(store, paths, clock):
    key = StoredCredential(kind="api-key", secret="sk-test-0123456789abcdef", host="llm.example.com")
    await store.put("work", key)
    refresher = CountingRefresher(clock)
    manager = _manager(store, paths, clock, refresher)
    assert (await manager.fresh(PROVIDER)).secret == key.secret
    assert await manager.after_unauthorized(PROVIDER, key.secret) is None  # a refused key cannot be refreshed
    assert refresher.calls == []


async def test_hundred_concurrent_requests_cause_one_refresh(store, paths, clock):
    await store.put("work", _oauth(timedelta(seconds=-5)))
    refresher = CountingRefresher(clock)
    manager = _manager(store, paths, clock, refresher)
    results = await asyncio.gather(*(manager.fresh(PROVIDER) for _ in range(100)))
    assert len(refresher.calls) == 1
    assert {cred.secret for cred in results} == {"at-refreshed-0001-0123456789"}


async def test_hundred_concurrent_401s_cause_one_refresh(store, paths, clock):
    await store.put("work", _oauth(timedelta(minutes=30)))
    refresher = CountingRefresher(clock)
    manager = _manager(store, paths, clock, refresher)
    results = await asyncio.gather(*(manager.after_unauthorized(PROVIDER, "at-original-0123456789") for _ in range(100)))
    assert len(refresher.calls) == 1
    assert {cred.secret for cred in results} == {"at-refreshed-0001-0123456789"}


async def test_401_for_a_token_someone_already_replaced_does_not_refresh(store, paths, clock):
    await store.put("work", _oauth(timedelta(minutes=30), secret="at-replaced-0123456789"))
    refresher = CountingRefresher(clock)
    cred = await _manager(store, paths, clock, refresher).after_unauthorized(PROVIDER, "at-original-0123456789")
    assert cred.secret == "at-replaced-0123456789" and refresher.calls == []


async def test_401_on_a_freshly_refreshed_token_does_not_loop(store, paths, clock):
    await store.put("work", _oauth(timedelta(minutes=30)))
    refresher = CountingRefresher(clock)
    manager = _manager(store, paths, clock, refresher)
    new = await manager.after_unauthorized(PROVIDER, "at-original-0123456789")
    assert await manager.after_unauthorized(PROVIDER, new.secret) is None
    assert len(refresher.calls) == 1
    state, detail = manager.state_of("work", await store.get("work"))
    assert state is CredentialState.EXPIRED
    assert detail == "the provider refused a freshly refreshed token; run `tui-agent login work`"


async def test_refresh_refused_means_expired_no_retry_and_the_token_is_kept(store, paths, clock):
    await store.put("work", _oauth(timedelta(seconds=-5)))
    refresher = CountingRefresher(clock, fail=GrantGone("the token endpoint sso.example.com refused the refresh token (invalid_grant)"))
    manager = _manager(store, paths, clock, refresher)
    cred = await manager.fresh(PROVIDER)
    state, detail = manager.state_of("work", cred)
    assert state is CredentialState.EXPIRED
    assert detail == "the token endpoint sso.example.com refused the refresh token (invalid_grant); run `tui-agent login work`"
    # No loop, no other credential: later requests and 401s do not call the token endpoint again.
    await manager.fresh(PROVIDER)
    assert await manager.after_unauthorized(PROVIDER, "at-original-0123456789") is None
    assert len(refresher.calls) == 1
    assert (await store.get("work")).to_json() == _oauth(timedelta(seconds=-5)).to_json()
    # Logging in again stores a new token, and the state follows it.
    await store.put("work", _oauth(timedelta(hours=1), secret="at-after-login-0123456789"))
    assert manager.state_of("work", await store.get("work")) == (CredentialState.READY, "")


async def test_transient_refresh_failure_keeps_a_valid_token_and_retries_next_time(store, paths, clock):
    await store.put("work", _oauth(timedelta(seconds=30)))
    refresher = CountingRefresher(clock, fail=RefreshFailed("could not reach the token endpoint sso.example.com"))
    manager = _manager(store, paths, clock, refresher)
    cred = await manager.fresh(PROVIDER)
    assert cred.secret == "at-original-0123456789"
    state, detail = manager.state_of("work", cred)
    assert state is CredentialState.READY and "could not reach the token endpoint" in detail
    clock.now = T0 + timedelta(seconds=31)
    assert manager.state_of("work", cred)[0] is CredentialState.ERROR
    refresher.fail = None
    assert (await manager.fresh(PROVIDER)).secret == "at-refreshed-0002-0123456789"
    assert len(refresher.calls) == 2


async def test_refresher_that_drops_the_refresh_token_keeps_the_old_one(store, paths, clock):
    await store.put("work", _oauth(timedelta(0)))

    async def unrotating(provider, cred):
        return replace(cred, secret="at-new-0123456789abc", refresh_token=None, expires_at=clock() + timedelta(hours=1))

    await TokenManager(store, unrotating, lock_dir=paths.data_dir, clock=clock).fresh(PROVIDER)
    assert (await store.get("work")).refresh_token == "rt-original-0123456789"


@pytest.mark.parametrize(
    "left,refresh,state",
    [
        (timedelta(minutes=-5), True, CredentialState.READY),  # refreshes itself on next use
        (timedelta(minutes=-1), False, CredentialState.EXPIRED),
        (timedelta(minutes=5), False, CredentialState.EXPIRING),
        (timedelta(minutes=11), False, CredentialState.READY),
        (timedelta(minutes=5), True, CredentialState.READY),
        (None, False, CredentialState.READY),
    ],
)
def test_state_follows_interfaces_md(paths, clock, left, refresh, state):
    manager = TokenManager(FileStore(paths.credentials_file), CountingRefresher(clock), lock_dir=paths.data_dir, clock=clock)
    got, detail = manager.state_of("work", _oauth(left, refresh=refresh))
    assert got is state
    if state in (CredentialState.EXPIRED, CredentialState.EXPIRING):
        assert "run `tui-agent login work`" in detail
    assert manager.state_of("work", None)[0] is CredentialState.MISSING


async def test_state_is_refreshing_during_a_refresh_and_subscribers_hear_of_it(store, paths, clock):
    await store.put("work", _oauth(timedelta(0)))
    refresher = CountingRefresher(clock)
    manager = _manager(store, paths, clock, refresher)
    heard: list[str] = []
    unsubscribe = manager.subscribe(heard.append)
    await manager.fresh(PROVIDER)
    assert refresher.during == [(CredentialState.REFRESHING, "refreshing the access token")]
    assert heard.count("work") >= 2 and not manager.refreshing("work")  # it started, and it ended
    unsubscribe()
    heard.clear()
    clock.now = T0 + timedelta(hours=2)
    await manager.fresh(PROVIDER)
    assert heard == []


async def test_no_secret_reaches_logs_or_state_details(store, paths, clock, caplog):
    caplog.set_level(logging.DEBUG)
    secrets_seen = ["at-original-0123456789", "rt-original-0123456789"]
    await store.put("work", _oauth(timedelta(0)))
    echo = GrantGone("server said: rt-original-0123456789 is revoked, at-original-0123456789 too")
    refresher = CountingRefresher(clock, fail=echo)
    manager = _manager(store, paths, clock, refresher)
    cred = await manager.fresh(PROVIDER)
    _state, detail = manager.state_of("work", cred)
    refresher.fail = RuntimeError("boom with Authorization: Bearer at-original-0123456789")
    await store.put("work", _oauth(timedelta(0), secret="at-second-0123456789"))
    secrets_seen.append("at-second-0123456789")
    cred2 = await manager.fresh(PROVIDER)
    _state2, detail2 = manager.state_of("work", cred2)
    everything = caplog.text + detail + detail2
    assert "[redacted]" in detail and "[redacted]" in detail2
    for secret in secrets_seen:
        assert secret not in everything


# ---------------------------------------------------------------------------------- across processes

_CHILD = r"""
import asyncio, json, logging, sys
from pathlib import Path
import httpx
from tui_agent.auth.store import FileStore
from tui_agent.auth.tokens import TokenManager, refresh_token_grant
from tui_agent.config.schema import ProviderConfig

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s %(message)s")

async def main(creds, lock_dir, token_url, client_id):
    provider = ProviderConfig(id="work", kind="openai-chat", base_url="https://llm.example.com/v1", auth=["oauth-device"])
    async with httpx.AsyncClient() as client:
        async def refresher(p, c):
            return await refresh_token_grant(client, token_url, client_id, c)
        manager = TokenManager(FileStore(Path(creds)), refresher, Path(lock_dir), lock_timeout=60)
        cred = await manager.fresh(provider)
        state, detail = manager.state_of("work", cred)
        print(json.dumps({"secret": cred.secret, "state": str(state), "detail": detail}), flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


def test_two_processes_refreshing_at_once_use_the_refresh_token_once(paths):
    with AuthlibServer() as server:
        old = _from_token_response(_issue_token(server), datetime.now(timezone.utc) - timedelta(minutes=1))
        store = FileStore(paths.credentials_file)
        asyncio.run(store.put("work", old))
        lock_path = TokenManager(store, CountingRefresher(Clock()), lock_dir=paths.data_dir).lock_path("work")
        held = filelock.FileLock(str(lock_path), thread_local=False)
        held.acquire()  # both children will find the refresh lock taken, and wait for it together
        args = [str(paths.credentials_file), str(paths.data_dir), f"{server.url}/token", server.client_id]
        children = [
            subprocess.Popen([sys.executable, "-c", _CHILD, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        try:
            for child in children:
                for line in child.stderr:
                    if "waiting for another tui-agent process refreshing the token of work" in line:
                        break
                else:
                    pytest.fail("a child ended without waiting for the refresh lock")
        finally:
            held.release()
        outputs = []
        for child in children:
            child.wait(timeout=120)
            out, err = child.stdout.read(), child.stderr.read()
            child.stdout.close()
            child.stderr.close()
            assert child.returncode == 0, err
            outputs.append((json.loads(out), err))
        refreshes = [r for r in server.requests if r.path == "/token" and r.form.get("grant_type") == "refresh_token"]
        assert len(refreshes) == 1 and refreshes[0].form["refresh_token"] == old.refresh_token
        (first, err1), (second, err2) = outputs
        assert first["secret"] == second["secret"] != old.secret
        assert first["state"] == second["state"] == "ready"
        assert server.token_is_valid(first["secret"])
        stored = asyncio.run(store.get("work"))
        assert stored.secret == first["secret"] and stored.refresh_token not in (None, old.refresh_token)
        for secret in (old.secret, old.refresh_token, stored.secret, stored.refresh_token):
            assert secret not in err1 + err2  # the children's logs


async def test_a_refused_grant_is_remembered_by_the_next_manager(store, paths, clock):
    refusals = paths.state_dir / "refused-grants.json"
    await store.put("work", _oauth(timedelta(seconds=-5)))
    refresher = CountingRefresher(clock, fail=GrantGone("the token endpoint sso.example.com refused the refresh token (invalid_grant)"))
    first = TokenManager(store, refresher, lock_dir=paths.data_dir, clock=clock, refusals_file=refusals)
    await first.fresh(PROVIDER)
    assert len(refresher.calls) == 1

    later = TokenManager(store, refresher, lock_dir=paths.data_dir, clock=clock, refusals_file=refusals)
    state, detail = later.state_of("work", await store.get("work"))
    assert state is CredentialState.EXPIRED and detail.endswith("run `tui-agent login work`")
    await later.fresh(PROVIDER)
    assert await later.after_unauthorized(PROVIDER, "at-original-0123456789") is None
    assert len(refresher.calls) == 1  # the dead refresh token is not sent again

    # A new login stores another token: the remembered refusal no longer applies to it.
    await store.put("work", _oauth(timedelta(hours=1), secret="at-after-login-0123456789"))
    again = TokenManager(store, refresher, lock_dir=paths.data_dir, clock=clock, refusals_file=refusals)
    assert again.state_of("work", await store.get("work")) == (CredentialState.READY, "")


async def test_a_refusal_seen_by_another_process_stops_this_one_from_refreshing(store, paths, clock):
    refusals = paths.state_dir / "refused-grants.json"
    await store.put("work", _oauth(timedelta(seconds=-5)))
    refresher = CountingRefresher(clock, fail=GrantGone("refused (invalid_grant)"))
    running = TokenManager(store, CountingRefresher(clock), lock_dir=paths.data_dir, clock=clock, refusals_file=refusals)
    other = TokenManager(store, refresher, lock_dir=paths.data_dir, clock=clock, refusals_file=refusals)
    await other.fresh(PROVIDER)  # the other process is refused first
    await running.fresh(PROVIDER)
    assert running.state_of("work", await store.get("work"))[0] is CredentialState.EXPIRED


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"work": 3}', '{"work": {"digest": 1}}'])
async def test_a_damaged_refusals_file_is_ignored(store, paths, clock, content):
    refusals = paths.state_dir / "refused-grants.json"
    refusals.parent.mkdir(parents=True, exist_ok=True)
    refusals.write_text(content)
    await store.put("work", _oauth(timedelta(hours=1)))
    manager = TokenManager(store, CountingRefresher(clock), lock_dir=paths.data_dir, clock=clock, refusals_file=refusals)
    assert manager.state_of("work", await store.get("work")) == (CredentialState.READY, "")
