"""The secret store: the OS keyring (service `tui-agent`) when a real system backend works, else a 0600 JSON file.

Also the origin binding rule: a stored secret is only ever sent to the origin (scheme, host, port) it was stored for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import stat
import tempfile
import threading
from abc import ABC, abstractmethod
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping
from urllib.parse import urlsplit

from tui_agent.core.credentials import StoredCredential
from tui_agent.errors import ConfigError, TuiAgentError
from tui_agent.redact import redact_text, register_secret

if TYPE_CHECKING:
    from tui_agent.config.paths import Paths
    from tui_agent.config.schema import ProviderConfig

log = logging.getLogger(__name__)

SERVICE = "tui-agent"
ENV_VAR = "TUI_AGENT_KEYRING"
FILE_NOTE = "no system keyring"  # what status, `config path` and the UI say next to a file-stored credential

_PROBE_USER = "__tui-agent-probe__"
_LOCK_TIMEOUT = 10.0

# Real system keyrings, by (module, class) anywhere in the backend's MRO. Everything else (fail, null,
# keyrings.alt's plaintext/encrypted files, unknown plugins) is refused: docs/auth.md §F.3.
_SYSTEM_BACKENDS = {
    ("keyring.backends.SecretService", "Keyring"): "Secret Service",
    ("keyring.backends.libsecret", "Keyring"): "libsecret",
    ("keyring.backends.kwallet", "DBusKeyring"): "KWallet",
    ("keyring.backends.macOS", "Keyring"): "macOS Keychain",
    ("keyring.backends.Windows", "WinVaultKeyring"): "Windows Credential Manager",
}


class StoreError(TuiAgentError):
    """The secret store could not be read or written; the sentence says which store and what to do."""


class SecretStore(ABC):
    """Where stored credentials live: one JSON record per provider id."""

    backend: Literal["keyring", "file"]
    description: str  # one line for `config path`, `status` and the UI

    @abstractmethod
    async def get(self, provider_id: str) -> StoredCredential | None:
        """The credential stored for `provider_id`, or None."""

    @abstractmethod
    async def put(self, provider_id: str, cred: StoredCredential) -> None:
        """Store (or replace) the credential for `provider_id`."""

    @abstractmethod
    async def delete(self, provider_id: str) -> bool:
        """Forget the credential for `provider_id`; True when there was one."""

    async def prepare(self) -> "SecretStore":
        """Make the backend decision now, off the event loop; returns the store that does the work."""
        return self


# --------------------------------------------------------------------------------------------- file


class FileStore(SecretStore):
    """A JSON file {provider_id: credential}, mode 0600 in a 0700 directory, replaced atomically under a lock."""

    backend: Literal["keyring", "file"] = "file"

    def __init__(
        self, path: Path, note: str = FILE_NOTE, lock_timeout: float = _LOCK_TIMEOUT, reason: str = ""
    ) -> None:
        self.path = Path(path)
        self.reason = reason  # why the keyring is not used, for `--verbose` and bug reports
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.note = note
        self.description = f"file {self.path} (0600) — {note}"
        self._lock_timeout = lock_timeout

    async def get(self, provider_id: str) -> StoredCredential | None:
        data = await asyncio.to_thread(self._read)
        if provider_id not in data:
            return None
        return _decode(
            data[provider_id], f"the credentials file {self.path} has an entry for `{provider_id}` that tui-agent cannot read",
            provider_id,
        )

    async def put(self, provider_id: str, cred: StoredCredential) -> None:
        _register(cred)
        record = cred.to_json()

        def change(data: dict[str, Any]) -> bool:
            data[provider_id] = record
            return True

        await asyncio.to_thread(self._update, change)

    async def delete(self, provider_id: str) -> bool:
        def change(data: dict[str, Any]) -> bool:
            return data.pop(provider_id, None) is not None

        return await asyncio.to_thread(self._update, change)

    def provider_ids(self) -> list[str]:
        """Every provider id with a stored credential (blocking; for `config path` and tests)."""
        return sorted(self._read())

    # -- private -----------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"cannot read the credentials file {self.path}: {exc.strerror}; check its owner and permissions") from None
        self._tighten_mode()
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            where = f" ({exc.msg} at line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise StoreError(
                f"the credentials file {self.path} is corrupt{where}; it was left untouched — "
                "move it aside and log in again"
            ) from None
        if not isinstance(data, dict):
            raise StoreError(
                f"the credentials file {self.path} does not hold a JSON object; it was left untouched — "
                "move it aside and log in again"
            )
        return data

    def _update(self, change: Callable[[dict[str, Any]], bool]) -> bool:
        """Re-read, change and rewrite the file while holding the cross-process lock."""
        import filelock

        self._ensure_dir()
        lock = filelock.FileLock(str(self.lock_path), timeout=self._lock_timeout, mode=0o600, thread_local=False)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise StoreError(
                f"another process has held the lock {self.lock_path} for over {self._lock_timeout:g} s; "
                "close other tui-agent windows and try again"
            ) from None
        try:
            self._remove_stale_temp_files()
            data = self._read()  # re-read under the lock: another process may have written since
            changed = change(data)
            if changed:
                self._write(data)
            return changed
        finally:
            lock.release()

    def _write(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            if hasattr(os, "fchmod"):  # mkstemp already makes it 0600; this guards against an odd umask or platform
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)  # atomic: readers see the old file or the new one, never a mix
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)

    def _remove_stale_temp_files(self) -> None:
        # Left by a writer killed before its rename; they hold secrets, so they must not linger.
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def _ensure_dir(self) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            info = directory.stat()
            if hasattr(os, "getuid") and info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
                directory.chmod(0o700)

    def _tighten_mode(self) -> None:
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                log.warning("credentials file %s had mode %o; set to 0600", self.path, mode)
                self.path.chmod(0o600)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform/filesystem lets a directory be fsynced
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------------------ keyring


class KeyringStore(SecretStore):
    """The credentials as JSON in a keyring backend, service `tui-agent`, username = provider id.

    Every keyring call runs in a worker thread: backends talk to D-Bus and may pop up an unlock prompt.
    """

    backend: Literal["keyring", "file"] = "keyring"

    def __init__(self, keyring_backend: Any, description: str | None = None, service: str = SERVICE) -> None:
        self._kr = keyring_backend
        self.reason = ""
        self.service = service
        self.description = description or f"OS keyring ({_backend_label(keyring_backend)}), service {service}"
        self._lock = threading.Lock()  # backends are not documented as thread-safe

    async def get(self, provider_id: str) -> StoredCredential | None:
        raw = await self._call("read", provider_id, "get_password", self.service, provider_id)
        if raw is None:
            return None
        unreadable = f"the keyring entry {self.service}/{provider_id} is not a credential tui-agent wrote"
        try:
            entry = json.loads(raw)
        except ValueError:
            raise StoreError(f"{unreadable} (it is not JSON); {_REPLACE_IT.format(provider_id)}") from None
        return _decode(entry, unreadable, provider_id)

    async def put(self, provider_id: str, cred: StoredCredential) -> None:
        _register(cred)
        await self._call("store", provider_id, "set_password", self.service, provider_id, json.dumps(cred.to_json()))

    async def delete(self, provider_id: str) -> bool:
        if await self._call("read", provider_id, "get_password", self.service, provider_id) is None:
            return False
        await self._call("delete", provider_id, "delete_password", self.service, provider_id)
        return True

    async def _call(self, verb: str, provider_id: str, method: str, *args: str) -> Any:
        def run() -> Any:
            with self._lock:
                return getattr(self._kr, method)(*args)

        try:
            return await asyncio.to_thread(run)
        except Exception as exc:
            raise StoreError(_keyring_failure(verb, provider_id, exc)) from None


class _UnusableKeyringStore(SecretStore):
    """TUI_AGENT_KEYRING=keyring was asked for but no usable system keyring exists: every call says so."""

    backend: Literal["keyring", "file"] = "keyring"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.description = f"OS keyring (forced by {ENV_VAR}=keyring) — unusable: {reason}"

    def _error(self) -> StoreError:
        return StoreError(
            f"{ENV_VAR}=keyring but the system keyring cannot be used ({self.reason}); "
            f"start a Secret Service (or KWallet) session, or unset {ENV_VAR} to store secrets in a 0600 file"
        )

    async def get(self, provider_id: str) -> StoredCredential | None:
        raise self._error()

    async def put(self, provider_id: str, cred: StoredCredential) -> None:
        raise self._error()

    async def delete(self, provider_id: str) -> bool:
        raise self._error()


def _keyring_failure(verb: str, provider_id: str, exc: Exception) -> str:
    name = type(exc).__name__
    if name == "KeyringLocked":
        return f"the system keyring is locked, so the credential for `{provider_id}` could not be {_verb_past(verb)}; unlock it and try again"
    detail = redact_text(str(exc)) or name
    return f"the system keyring could not {verb} the credential for `{provider_id}` ({name}: {detail})"


def _verb_past(verb: str) -> str:
    return {"read": "read", "store": "stored", "delete": "deleted"}.get(verb, verb)


# ----------------------------------------------------------------------------------- choosing a backend


class _DeferredStore(SecretStore):
    """Picks keyring or file on first use, in a worker thread, then delegates every call to the choice."""

    def __init__(self, paths: "Paths", forced_keyring: bool) -> None:
        self._paths = paths
        self._forced = forced_keyring
        self._chosen: SecretStore | None = None
        self._decide_lock = threading.Lock()

    @property
    def backend(self) -> Literal["keyring", "file"]:  # type: ignore[override]
        """Which backend is in use. Blocks on first access: from async code `await prepare()` first."""
        return self._decide().backend

    @property
    def description(self) -> str:  # type: ignore[override]
        return self._decide().description

    @property
    def fallback_reason(self) -> str:
        """Why the keyring was not used ("" when it is): for `--verbose` and bug reports."""
        return getattr(self._decide(), "reason", "")

    async def prepare(self) -> SecretStore:
        if self._chosen is not None:
            return self._chosen
        return await asyncio.to_thread(self._decide)

    async def get(self, provider_id: str) -> StoredCredential | None:
        return await (await self.prepare()).get(provider_id)

    async def put(self, provider_id: str, cred: StoredCredential) -> None:
        await (await self.prepare()).put(provider_id, cred)

    async def delete(self, provider_id: str) -> bool:
        return await (await self.prepare()).delete(provider_id)

    def _decide(self) -> SecretStore:
        with self._decide_lock:
            if self._chosen is None:
                backend, reason = find_system_keyring()
                if backend is not None:
                    self._chosen = KeyringStore(backend)
                elif self._forced:
                    self._chosen = _UnusableKeyringStore(reason)
                else:
                    self._chosen = FileStore(self._paths.credentials_file, reason=reason)
                log.debug("secret store: %s%s", self._chosen.description, f" ({reason})" if reason else "")
            return self._chosen


def open_store(paths: "Paths", env: Mapping[str, str] | None = None) -> SecretStore:
    """The secret store for these paths; cheap: the keyring is looked at lazily, off the event loop.

    `TUI_AGENT_KEYRING=file` uses the file, `=keyring` insists on the system keyring (and every call
    fails with a sentence when there is none); unset, the keyring is used when it is a real system
    backend that passes a write/read-back probe, else the file.
    """
    env = os.environ if env is None else env
    forced = (env.get(ENV_VAR) or "").strip().lower()
    if forced == "file":
        return FileStore(paths.credentials_file, note=f"chosen by {ENV_VAR}=file")
    if forced not in ("", "keyring"):
        raise ConfigError(f"{ENV_VAR} must be `file` or `keyring`, not `{env.get(ENV_VAR)}`")
    return _DeferredStore(paths, forced_keyring=forced == "keyring")


def find_system_keyring() -> tuple[Any | None, str]:
    """The active keyring backend if it is a real system one that keeps a test value, else (None, why not).

    Blocking (imports keyring, may talk to D-Bus): call it from a worker thread.
    """
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend

        active = keyring.get_keyring()
    except Exception as exc:  # a broken keyring install must not stop the app: the file store works
        return None, f"the keyring library failed to load ({type(exc).__name__}: {redact_text(str(exc))})"
    candidates = list(active.backends) if isinstance(active, ChainerBackend) else [active]
    system = [b for b in candidates if _backend_label(b, default="") and _priority(b) >= 1]
    if not system:
        if isinstance(active, ChainerBackend):
            shown = ", ".join(_class_name(b) for b in candidates) or "nothing"
            return None, f"the active keyring backend chains {shown}; none of them is a system keyring"
        return None, (
            f"the active keyring backend {_class_name(active)} is not a system keyring "
            "(no Secret Service, KWallet or Keychain was found)"
        )
    # Inside a chainer, use the system backend itself: the chainer would also consult (and write to)
    # keyrings.alt's files, and its encrypted one prompts on the terminal.
    chosen = max(system, key=_priority)
    problem = _probe(chosen)
    if problem:
        return None, problem
    return chosen, ""


def _probe(backend: Any) -> str:
    value = secrets.token_urlsafe(16)
    try:
        backend.set_password(SERVICE, _PROBE_USER, value)
        read_back = backend.get_password(SERVICE, _PROBE_USER)
    except Exception as exc:
        return f"the {_backend_label(backend)} keyring refused a test write ({type(exc).__name__}: {redact_text(str(exc))})"
    finally:
        with contextlib.suppress(Exception):
            backend.delete_password(SERVICE, _PROBE_USER)
    if read_back != value:
        return f"the {_backend_label(backend)} keyring did not keep a test value (write/read-back probe failed)"
    return ""


def _backend_label(backend: Any, default: str | None = None) -> str:
    for cls in type(backend).__mro__:
        label = _SYSTEM_BACKENDS.get((cls.__module__, cls.__name__))
        if label:
            return label
    return _class_name(backend) if default is None else default


def _priority(backend: Any) -> float:
    try:
        return float(backend.priority)
    except Exception:  # a backend raises from `priority` when it is not viable here
        return -1.0


def _class_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


_REPLACE_IT = "it was left untouched — run `tui-agent login {0}` to replace it"


def _decode(entry: Any, unreadable: str, provider_id: str) -> StoredCredential:
    """A stored record as a credential, or StoreError: `unreadable` (which store, which entry), why, what to do.

    The store itself is never changed here: the person decides whether to log in again or repair it by hand.
    """
    try:
        cred = StoredCredential.from_json(entry)
    except ValueError as exc:
        raise StoreError(f"{unreadable} ({exc}); {_REPLACE_IT.format(provider_id)}") from None
    _register(cred)
    return cred


def _register(cred: StoredCredential) -> None:
    register_secret(cred.secret)
    register_secret(cred.refresh_token)


# ----------------------------------------------------------------------------------- origin binding

_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin_of(url: str) -> str:
    """The origin of a URL as stored and shown: `scheme://host[:port]`, lower-case, the scheme's default port
    left out (`https://h` and `https://h:443` are one origin; `http://h` and `https://h` are two)."""
    scheme = urlsplit(url.strip()).scheme.lower()
    address = _host_and_port(url.strip())
    if address is None:
        return url.strip().lower()
    host, port = address
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def bound_origin(provider: "ProviderConfig") -> str:
    """The origin a credential for this provider is bound to (stored in `StoredCredential.host`)."""
    return origin_of(provider.base_url or "")


# The earlier name: login call sites being moved by the login refactor still import it.
bound_host = bound_origin


def is_legacy_binding(cred: StoredCredential) -> bool:
    """Stored before credentials were bound to an origin: `host` holds only host[:port], no scheme."""
    return bool(cred.host) and "://" not in cred.host


def upgraded_binding(cred: StoredCredential, provider: "ProviderConfig") -> StoredCredential | None:
    """A legacy credential bound to the full origin of the provider's base URL when its host matches that URL's
    (the rule it was stored under: host and port, default ports 80 and 443 alike); None otherwise."""
    if not provider.base_url or not is_legacy_binding(cred):
        return None
    if _legacy_host(cred.host) != _legacy_host(provider.base_url):
        return None
    return replace(cred, host=bound_origin(provider))


def binding_problem(cred: StoredCredential, provider: "ProviderConfig") -> str | None:
    """Why this stored credential must not be sent to the provider's current base URL, or None when it may.

    A credential goes only to the origin it was stored for: same scheme, host and effective port.
    """
    if not provider.base_url:
        return None  # nothing is sent over HTTP (claude-cli): no binding
    noun = "token" if cred.kind == "oauth" else "key"
    now = bound_origin(provider)
    again = f"nothing was sent — log in again for the new address (`tui-agent login {provider.id}`)"
    if not cred.host:
        return f"the stored {noun} is not bound to an address and the provider points at {now}; {again}"
    if is_legacy_binding(cred):
        if upgraded_binding(cred, provider) is None:
            return f"the stored {noun} was stored for {_legacy_host(cred.host)}, and the provider now points at {now}; {again}"
        return None
    stored = origin_of(cred.host)
    if stored != now:
        return f"the stored {noun} was stored for {stored}, and the provider now points at {now}; {again}"
    return None


def _legacy_host(value: str) -> str:
    """Host[:port] as the earlier binding compared it: lower case, without user info or a port of 80 or 443."""
    address = _host_and_port(value if "://" in value else f"//{value}")
    if address is None:
        return value.strip().lower()
    host, port = address
    if port is None or port in (80, 443):
        return host
    return f"{host}:{port}"


def _host_and_port(url: str) -> tuple[str, int | None] | None:
    """(lower-case host, IPv6 in brackets; the explicit port or None), or None when the port is not a number."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return None
    return (f"[{host}]" if ":" in host else host), port
