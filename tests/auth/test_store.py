"""The secret store: the keyring backend decision, the 0600 file store's durability, and host binding."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null

from tui_agent import redact
from tui_agent.core.credentials import StoredCredential
from tui_agent.auth.store import (
    FileStore,
    KeyringStore,
    StoreError,
    binding_problem,
    bound_origin,
    is_legacy_binding,
    open_store,
    origin_of,
    upgraded_binding,
)
from tui_agent.config.paths import Paths
from tui_agent.config.schema import ProviderConfig
from tui_agent.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


# -------------------------------------------------------------------------------------- test backends


class MemoryKeyring(KeyringBackend):
    """A keyring backend kept in a dict; records the thread of every call. Not a system keyring."""

    priority = 1
    viable = False  # never picked by keyring's own auto-detection for other tests in this process

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.threads: set[int] = set()
        self.writes: list[tuple[str, str]] = []

    def get_password(self, service, username):
        self.threads.add(threading.get_ident())
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.threads.add(threading.get_ident())
        self.writes.append((service, username))
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.threads.add(threading.get_ident())
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.items[(service, username)]


class FakeSecretService(SecretService.Keyring):
    """Stands in for the Secret Service (same lineage), storing in memory instead of over D-Bus."""

    priority = 5
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.threads: set[int] = set()
        self.writes: list[tuple[str, str]] = []

    get_password = MemoryKeyring.get_password
    set_password = MemoryKeyring.set_password
    delete_password = MemoryKeyring.delete_password


class ForgetfulSecretService(FakeSecretService):
    """A Secret Service look-alike that drops writes silently, as the null backend does."""

    def set_password(self, service, username, password):
        self.writes.append((service, username))


class PlaintextLikeAlt(MemoryKeyring):
    """keyrings.alt's PlaintextKeyring in shape: priority 0.5, a file, not a system keyring."""

    priority = 0.5


class EncryptedLikeAlt(MemoryKeyring):
    """keyrings.alt's EncryptedKeyring in shape: priority 0.6; the real one prompts with getpass."""

    priority = 0.6


def _chainer_of(*backends):
    """A real ChainerBackend whose chained backends are the given ones (keyring computes them from plugins)."""

    class TestChainer(chainer.ChainerBackend):
        viable = False

    TestChainer.backends = list(backends)
    return TestChainer()


@pytest.fixture
def active_keyring(monkeypatch):
    """Install a keyring backend with keyring.set_keyring for one test, restoring the previous one after."""
    previous = keyring.get_keyring()
    monkeypatch.delenv("TUI_AGENT_KEYRING", raising=False)
    yield keyring.set_keyring
    keyring.set_keyring(previous)


@pytest.fixture
def paths(isolated_home) -> Paths:
    return Paths.resolve(env={"TUI_AGENT_HOME": str(isolated_home)})


def _key(secret: str = "sk-test-0123456789abcdefXYZ", host: str = "api.openai.com") -> StoredCredential:
    return StoredCredential(kind="api-key", secret=secret, host=host)


def _token() -> StoredCredential:
    return StoredCredential(
        kind="oauth",
        secret="at-access-0123456789abcdef",
        refresh_token="rt-refresh-0123456789abcdef",
        host="llm.example.com",
        expires_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        obtained_by="device flow",
        identity="ada@example.com",
        token_endpoint="https://sso.example.com/token",
        scope="openid offline_access",
    )


# --------------------------------------------------------------------------------------------- file


async def test_file_store_round_trips_credentials_per_provider(paths):
    store = FileStore(paths.credentials_file)
    assert await store.get("openai") is None
    await store.put("openai", _key())
    await store.put("work", _token())
    assert (await store.get("openai")).to_json() == _key().to_json()
    assert (await store.get("work")).to_json() == _token().to_json()
    assert json.loads(paths.credentials_file.read_text())["work"]["refresh_token"] == "rt-refresh-0123456789abcdef"
    assert await store.delete("openai") is True
    assert await store.delete("openai") is False
    assert await store.get("openai") is None
    assert await store.get("work") is not None


async def test_file_store_file_is_0600_in_a_0700_directory(paths):
    store = FileStore(paths.credentials_file)
    await store.put("openai", _key())
    await store.put("openai", _key("sk-test-another-key-0000000000"))
    assert stat.S_IMODE(paths.credentials_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.data_dir.stat().st_mode) == 0o700
    assert list(paths.data_dir.glob("*.tmp")) == [] and list(paths.data_dir.glob(".*.tmp")) == []


async def test_file_store_tightens_a_credentials_file_someone_made_readable(paths):
    store = FileStore(paths.credentials_file)
    await store.put("openai", _key())
    paths.credentials_file.chmod(0o644)
    assert await store.get("openai") is not None
    assert stat.S_IMODE(paths.credentials_file.stat().st_mode) == 0o600


async def test_corrupt_credentials_file_is_reported_and_never_overwritten(paths):
    paths.data_dir.mkdir(parents=True)
    paths.credentials_file.write_text('{"openai": {"kind": "api-key", "secret": "sk-half-writ')
    before = paths.credentials_file.read_bytes()
    store = FileStore(paths.credentials_file)
    with pytest.raises(StoreError) as err:
        await store.get("openai")
    assert str(paths.credentials_file) in str(err.value) and "corrupt" in str(err.value)
    with pytest.raises(StoreError):
        await store.put("anthropic", _key("sk-ant-brand-new-key-00000000"))
    with pytest.raises(StoreError):
        await store.delete("openai")
    assert paths.credentials_file.read_bytes() == before
    assert "sk-half-writ" not in str(err.value)


async def test_malformed_entry_names_the_provider_and_login_replaces_it(paths):
    paths.data_dir.mkdir(parents=True)
    paths.credentials_file.write_text(json.dumps({"openai": {"kind": "api-key"}, "work": _token().to_json()}))
    store = FileStore(paths.credentials_file)
    with pytest.raises(StoreError, match="entry for `openai` that tui-agent cannot read.*tui-agent login openai"):
        await store.get("openai")
    await store.put("openai", _key())
    assert (await store.get("openai")).secret == _key().secret
    assert (await store.get("work")).to_json() == _token().to_json()


@pytest.mark.parametrize(
    "entry, why",
    [
        (42, "it is a JSON number, not an object"),
        (["sk-x"], "it is a JSON list, not an object"),
        ("sk-x", "it is a JSON string, not an object"),
        ({"kind": "api-key", "secret": 123456789}, "its `secret` is missing or not text"),
        ({"kind": "password", "secret": "sk-x"}, "its `kind` is neither"),
        ({"kind": "api-key", "secret": "sk-x", "host": ["a"]}, "its `host` is not text"),
        ({"kind": "oauth", "secret": "t", "expires_at": 17}, "its `expires_at` is not text"),
        ({"kind": "oauth", "secret": "t", "expires_at": "tomorrow"}, "its `expires_at` is not a date"),
        ({"kind": "oauth", "secret": "t", "refresh_token": {"a": 1}}, "its `refresh_token` is not text"),
    ],
)
async def test_a_wrong_typed_entry_is_one_sentence_the_file_untouched_and_the_others_readable(paths, entry, why):
    paths.data_dir.mkdir(parents=True)
    paths.credentials_file.write_text(json.dumps({"openai": entry, "work": _token().to_json()}))
    before = paths.credentials_file.read_bytes()
    store = FileStore(paths.credentials_file)
    with pytest.raises(StoreError) as err:
        await store.get("openai")
    sentence = str(err.value)
    assert sentence == (
        f"the credentials file {paths.credentials_file} has an entry for `openai` that tui-agent cannot read "
        f"({why}" + sentence.split(why, 1)[1]
    )
    assert sentence.endswith("it was left untouched — run `tui-agent login openai` to replace it")
    assert "\n" not in sentence and "sk-x" not in sentence
    assert paths.credentials_file.read_bytes() == before
    assert (await store.get("work")).to_json() == _token().to_json()


async def test_a_keyring_entry_that_is_not_json_is_one_sentence():
    backend = MemoryKeyring()
    backend.set_password("tui-agent", "openai", "not json at all")
    with pytest.raises(StoreError, match=r"keyring entry tui-agent/openai is not a credential tui-agent wrote \(it is not JSON\)"):
        await KeyringStore(backend).get("openai")
    backend.set_password("tui-agent", "openai", "[1, 2]")
    with pytest.raises(StoreError, match=r"\(it is a JSON list, not an object\); it was left untouched"):
        await KeyringStore(backend).get("openai")
    assert backend.items[("tui-agent", "openai")] == "[1, 2]"


_WRITER = r"""
import asyncio, sys
from tui_agent.core.credentials import StoredCredential
from tui_agent.auth.store import FileStore

async def main(path):
    store = FileStore(path)
    n = 0
    while True:
        n += 1
        # a large record makes each write take long enough that the kill lands inside one
        await store.put("looping", StoredCredential(kind="api-key", secret=f"sk-loop-{n:08d}", host="h", identity="x" * 400_000))
        print(n, flush=True)

asyncio.run(main(sys.argv[1]))
"""


async def test_writer_killed_mid_write_leaves_previous_content_readable(paths):
    store = FileStore(paths.credentials_file)
    await store.put("stable", _key("sk-stable-key-0123456789"))
    for _round in range(2):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(paths.credentials_file)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        try:
            for _ in range(3):  # let it complete a few writes, so it is in the middle of the loop
                assert child.stdout.readline(), "the writer died on its own"
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait()
            child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        reread = FileStore(paths.credentials_file)
        assert (await reread.get("stable")).secret == "sk-stable-key-0123456789"
        looping = await reread.get("looping")
        assert looping is not None and looping.secret.startswith("sk-loop-") and len(looping.identity) == 400_000
    # A temp file the killed writer left behind holds secrets: the next write removes it.
    await store.put("after", _key("sk-after-kill-0123456789"))
    assert list(paths.data_dir.glob(".credentials.json.*.tmp")) == []
    assert stat.S_IMODE(paths.credentials_file.stat().st_mode) == 0o600


_HALF_WRITER = r"""
import asyncio, os, sys
from tui_agent.core.credentials import StoredCredential
from tui_agent.auth.store import FileStore

real_fdopen = os.fdopen

class HalfThenHang:
    # Writes half of what the store writes, makes it durable, then waits to be killed.
    def __init__(self, handle):
        self.handle = handle
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)
    def __getattr__(self, name):
        return getattr(self.handle, name)
    def write(self, text):
        self.handle.write(text[: len(text) // 2])
        self.handle.flush()
        os.fsync(self.handle.fileno())
        print("half-written", flush=True)
        sys.stdin.readline()

os.fdopen = lambda *a, **k: HalfThenHang(real_fdopen(*a, **k))
asyncio.run(FileStore(sys.argv[1]).put("stable", StoredCredential(kind="api-key", secret="sk-new-value-0123456789", host="h")))
"""


def test_writer_killed_halfway_through_writing_the_data_leaves_the_old_file(paths):
    store = FileStore(paths.credentials_file)
    asyncio.run(store.put("stable", _key("sk-old-value-0123456789")))
    child = subprocess.Popen(
        [sys.executable, "-c", _HALF_WRITER, str(paths.credentials_file)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout.readline().strip() == "half-written"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
        child.stdout.close()
        child.stdin.close()
    assert json.loads(paths.credentials_file.read_text())["stable"]["secret"] == "sk-old-value-0123456789"
    assert asyncio.run(store.get("stable")).secret == "sk-old-value-0123456789"


_ADDER = r"""
import asyncio, sys
from tui_agent.core.credentials import StoredCredential
from tui_agent.auth.store import FileStore

async def main(path, prefix):
    store = FileStore(path)
    for i in range(15):
        await store.put(f"{prefix}-{i}", StoredCredential(kind="api-key", secret=f"sk-{prefix}-{i:04d}-0123456789", host="h"))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_two_processes_writing_at_once_lose_no_update(paths):
    children = [
        subprocess.Popen([sys.executable, "-c", _ADDER, str(paths.credentials_file), prefix], cwd=REPO)
        for prefix in ("a", "b")
    ]
    for child in children:
        assert child.wait() == 0
    stored = FileStore(paths.credentials_file).provider_ids()
    assert stored == sorted(f"{p}-{i}" for p in "ab" for i in range(15))


# ------------------------------------------------------------------------------------------ keyring


async def test_keyring_store_keeps_json_under_service_tui_agent_and_provider_id():
    backend = MemoryKeyring()
    store = KeyringStore(backend)
    await store.put("work", _token())
    assert json.loads(backend.items[("tui-agent", "work")]) == _token().to_json()
    assert (await store.get("work")).to_json() == _token().to_json()
    assert await store.get("openai") is None
    assert await store.delete("work") is True
    assert await store.delete("work") is False
    assert backend.items == {}


async def test_keyring_calls_run_off_the_event_loop_thread():
    backend = MemoryKeyring()
    store = KeyringStore(backend)
    await store.put("openai", _key())
    await store.get("openai")
    await store.delete("openai")
    assert backend.threads and threading.get_ident() not in backend.threads


async def test_keyring_failure_is_a_sentence_without_the_secret():
    class Refusing(MemoryKeyring):
        def set_password(self, service, username, password):
            raise keyring.errors.PasswordSetError(f"backend choked on {password}")

    with pytest.raises(StoreError) as err:
        await KeyringStore(Refusing()).put("openai", _key("sk-never-shown-0123456789"))
    assert "could not store the credential for `openai`" in str(err.value)
    assert "sk-never-shown-0123456789" not in str(err.value)


async def test_locked_keyring_says_unlock_it():
    class Locked(MemoryKeyring):
        def get_password(self, service, username):
            raise keyring.errors.KeyringLocked("locked")

    with pytest.raises(StoreError, match="keyring is locked.*unlock it"):
        await KeyringStore(Locked()).get("openai")


async def test_auto_store_uses_a_working_system_keyring(active_keyring, paths):
    backend = FakeSecretService()
    active_keyring(backend)
    store = open_store(paths)
    await store.put("openai", _key())
    assert store.backend == "keyring"
    assert store.description == "OS keyring (Secret Service), service tui-agent"
    assert ("tui-agent", "openai") in backend.items
    assert ("tui-agent", "__tui-agent-probe__") not in backend.items  # the probe cleans up after itself
    assert not paths.credentials_file.exists()
    assert (await store.get("openai")).secret == _key().secret


@pytest.mark.parametrize(
    "make_backend",
    [fail.Keyring, null.Keyring, MemoryKeyring, PlaintextLikeAlt],
    ids=["fail", "null", "unknown-plugin", "keyrings.alt-plaintext"],
)
async def test_auto_store_falls_back_to_the_file_without_a_system_keyring(active_keyring, paths, make_backend):
    active_keyring(make_backend())
    store = open_store(paths)
    await store.put("openai", _key())
    assert store.backend == "file"
    assert store.description == f"file {paths.credentials_file} (0600) — no system keyring"
    assert "not a system keyring" in store.fallback_reason
    assert (await FileStore(paths.credentials_file).get("openai")).secret == _key().secret


async def test_chainer_of_keyrings_alt_backends_is_rejected(active_keyring, paths):
    plaintext, encrypted = PlaintextLikeAlt(), EncryptedLikeAlt()
    chain = _chainer_of(encrypted, plaintext)
    assert chain.priority == 10  # why `priority >= 1` alone is not enough (docs/auth.md §F.3)
    active_keyring(chain)
    store = open_store(paths)
    await store.put("openai", _key())
    assert store.backend == "file"
    assert "none of them is a system keyring" in store.fallback_reason
    assert plaintext.writes == [] and encrypted.writes == [] and encrypted.threads == set()


async def test_chainer_with_a_system_keyring_uses_only_the_system_backend(active_keyring, paths):
    system, alt = FakeSecretService(), EncryptedLikeAlt()
    active_keyring(_chainer_of(system, alt))
    store = open_store(paths)
    assert await store.get("openai") is None  # a miss must not fall through to the prompting alt backend
    await store.put("openai", _key())
    assert store.backend == "keyring"
    assert ("tui-agent", "openai") in system.items
    assert alt.threads == set() and alt.writes == []


async def test_system_keyring_that_drops_writes_fails_the_probe(active_keyring, paths):
    active_keyring(ForgetfulSecretService())
    store = open_store(paths)
    await store.put("openai", _key())
    assert store.backend == "file"
    assert "write/read-back probe failed" in store.fallback_reason


async def test_forced_keyring_that_cannot_work_is_an_error_not_a_silent_file(active_keyring, paths):
    active_keyring(ForgetfulSecretService())
    store = open_store(paths, env={"TUI_AGENT_KEYRING": "keyring"})
    with pytest.raises(StoreError) as err:
        await store.put("openai", _key())
    assert "TUI_AGENT_KEYRING=keyring but the system keyring cannot be used" in str(err.value)
    assert "probe failed" in str(err.value)
    with pytest.raises(StoreError):
        await store.get("openai")
    assert store.backend == "keyring" and "unusable" in store.description
    assert not paths.credentials_file.exists()


async def test_forced_file_is_used_even_with_a_working_system_keyring(active_keyring, paths):
    backend = FakeSecretService()
    active_keyring(backend)
    store = open_store(paths, env={"TUI_AGENT_KEYRING": "file"})
    await store.put("openai", _key())
    assert store.backend == "file" and "TUI_AGENT_KEYRING=file" in store.description
    assert backend.items == {} and paths.credentials_file.exists()


def test_unknown_keyring_choice_is_a_configuration_error(paths):
    with pytest.raises(ConfigError, match="TUI_AGENT_KEYRING must be `file` or `keyring`, not `kwallet`") as err:
        open_store(paths, env={"TUI_AGENT_KEYRING": "kwallet"})
    assert err.value.exit_code == 2


def test_opening_the_store_does_not_import_keyring(isolated_home):
    code = (
        "import sys\n"
        "from tui_agent.config.paths import Paths\n"
        "from tui_agent.auth.store import open_store\n"
        f"store = open_store(Paths.resolve(env={{'TUI_AGENT_HOME': {str(isolated_home)!r}}}), env={{}})\n"
        "print('keyring' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_store_registers_what_it_reads_for_log_redaction(paths):
    secret = "sk-registered-by-store-0123456789"
    await FileStore(paths.credentials_file).put("openai", _key(secret))
    redact._forget_all_for_tests()
    await FileStore(paths.credentials_file).get("openai")
    assert redact.redact_text(f"x {secret} y") == "x [redacted] y"
    redact._forget_all_for_tests()


# ----------------------------------------------------------------------------------- origin binding


def _provider(base_url: str | None, kind: str = "openai-chat", auth: str = "api-key") -> ProviderConfig:
    return ProviderConfig(id="openai", kind=kind, base_url=base_url, auth=[auth])


@pytest.mark.parametrize(
    "url, origin",
    [
        ("https://api.openai.com/v1", "https://api.openai.com"),
        ("https://API.OpenAI.com:443/v1", "https://api.openai.com"),
        ("http://h", "http://h"),
        ("http://h:80/x", "http://h"),
        ("http://h:443", "http://h:443"),  # 443 is https's default, not http's
        ("https://h:80", "https://h:80"),
        ("http://127.0.0.1:1234/v1", "http://127.0.0.1:1234"),
        ("http://[::1]:11434", "http://[::1]:11434"),
    ],
)
def test_an_origin_is_scheme_host_and_effective_port(url, origin):
    assert origin_of(url) == origin
    assert bound_origin(_provider(url)) == origin


@pytest.mark.parametrize(
    "stored_for, now",
    [
        ("https://h", "http://h"),  # the cleartext case: same host, default ports
        ("https://h", "https://h:8443"),
        ("http://h:8080", "http://h:8081"),
        ("https://h", "https://other.example"),
        ("http://h:443", "https://h"),
    ],
)
def test_a_credential_is_refused_by_every_other_origin(stored_for, now):
    cred = _key(host=bound_origin(_provider(stored_for)))
    assert binding_problem(cred, _provider(now)) == (
        f"the stored key was stored for {origin_of(stored_for)}, and the provider now points at {origin_of(now)}; "
        "nothing was sent — log in again for the new address (`tui-agent login openai`)"
    )


@pytest.mark.parametrize(
    "stored_for, now",
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v2"),
        ("https://api.openai.com", "https://API.openai.com:443/v1"),
        ("http://127.0.0.1:1234/v1", "http://127.0.0.1:1234/api"),
    ],
)
def test_a_credential_is_sent_to_its_own_origin(stored_for, now):
    assert binding_problem(_key(host=bound_origin(_provider(stored_for))), _provider(now)) is None


def test_token_and_unbound_key_are_refused_too():
    token = replace(_token(), host="https://llm.example.com")
    assert binding_problem(token, _provider("https://other.example.com")) == (
        "the stored token was stored for https://llm.example.com, and the provider now points at "
        "https://other.example.com; nothing was sent — log in again for the new address (`tui-agent login openai`)"
    )
    assert binding_problem(_key(host=""), _provider("https://api.openai.com/v1")) == (
        "the stored key is not bound to an address and the provider points at https://api.openai.com; "
        "nothing was sent — log in again for the new address (`tui-agent login openai`)"
    )


@pytest.mark.parametrize(
    "legacy, base_url, origin",
    [
        ("api.openai.com", "https://api.openai.com/v1", "https://api.openai.com"),
        ("API.OpenAI.com:443", "https://api.openai.com/v1", "https://api.openai.com"),
        ("127.0.0.1:1234", "http://127.0.0.1:1234/v1", "http://127.0.0.1:1234"),
        ("h", "http://h/v1", "http://h"),  # the earlier rule did not record the scheme: the base URL's is taken
    ],
)
def test_a_legacy_host_entry_is_bound_to_the_current_origin_when_its_host_matches(legacy, base_url, origin):
    cred = _key(host=legacy)
    assert is_legacy_binding(cred) and binding_problem(cred, _provider(base_url)) is None
    upgraded = upgraded_binding(cred, _provider(base_url))
    assert upgraded is not None and upgraded.host == origin and upgraded.secret == cred.secret
    assert not is_legacy_binding(upgraded)


def test_a_legacy_host_entry_for_another_host_or_port_is_refused_and_not_upgraded():
    for legacy, base_url in (("127.0.0.1:1234", "http://127.0.0.1:4321/v1"), ("api.openai.com", "https://llm.example.com")):
        cred = _key(host=legacy)
        assert upgraded_binding(cred, _provider(base_url)) is None
        assert "nothing was sent" in binding_problem(cred, _provider(base_url))


async def test_first_use_rewrites_a_legacy_entry_with_the_origin_and_then_compares_origins(paths):
    from tui_agent.auth.credentials import ready_credential

    store = FileStore(paths.credentials_file)
    await store.put("openai", _key(host="api.openai.com"))
    https = _provider("https://api.openai.com/v1")
    credential, why = await ready_credential(https, "api-key", store=store, env={})
    assert why == "" and credential is not None and credential.secret == _key().secret
    assert json.loads(paths.credentials_file.read_text())["openai"]["host"] == "https://api.openai.com"
    # Bound now: the same host over plain http is another origin.
    credential, why = await ready_credential(_provider("http://api.openai.com/v1"), "api-key", store=store, env={})
    assert credential is None and "was stored for https://api.openai.com" in why


def test_provider_without_base_url_has_no_binding():
    claude = ProviderConfig(id="claude-code", kind="claude-cli", auth=["claude-cli"])
    assert binding_problem(_key(host="https://api.anthropic.com"), claude) is None
