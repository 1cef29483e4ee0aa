"""Edits of the user's config.toml on an explicit user action, with tomlkit so comments and order survive.

Every edit is checked by re-loading the result with check_config before the file is replaced (atomically), so
an edit can never leave behind a configuration that does not load, and never writes a literal secret.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from tui_agent.config.load import SECRET_KEYS, find_literal_secrets, check_config
from tui_agent.config.problems import ConfigProblem
from tui_agent.errors import ConfigError

# Nicknames written by the app stay bare TOML keys, so the user can read and type them (`/model NICK`).
NICKNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PROFILE_PARAMS = ("auth", "system", "temperature", "top_p", "max_tokens")


def set_default_profile(path: Path, nickname: str) -> None:
    """Write `default_profile = NICK` (the profile must exist in the file's configuration)."""

    def mutate(doc) -> None:
        doc["default_profile"] = nickname

    _edit(Path(path), mutate, f"set default_profile to `{nickname}`")


def add_profile(path: Path, nickname: str, provider: str, model: str, **params: Any) -> None:
    """Add `[profiles.NICK]` with provider, model and optional parameters (system, temperature, …)."""
    import tomlkit

    if not NICKNAME.match(nickname):
        raise ConfigError(
            f"cannot add profile `{nickname}`: a nickname is letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    unknown = sorted(set(params) - set(_PROFILE_PARAMS))
    if unknown:
        raise ConfigError(f"cannot add profile `{nickname}`: unknown parameter(s) {', '.join(unknown)}; valid: {', '.join(_PROFILE_PARAMS)}")

    def mutate(doc) -> None:
        profiles = doc.get("profiles")
        if profiles is None:
            profiles = tomlkit.table(is_super_table=True)
            doc["profiles"] = profiles
        if nickname in profiles:
            raise ConfigError(f"{path}: profiles.{nickname}: a profile with this nickname already exists; choose another nickname")
        table = tomlkit.table()
        table["provider"] = provider
        table["model"] = model
        for key in _PROFILE_PARAMS:
            if params.get(key) is not None:
                table[key] = params[key]
        profiles[nickname] = table

    _edit(Path(path), mutate, f"add profile `{nickname}`")


def set_provider_field(path: Path, provider_id: str, key: str, value: Any) -> None:
    """Set `providers.ID.KEY` (a dotted KEY reaches sub-tables: "oauth.tenant"); never a secret."""
    import tomlkit

    parts = key.split(".")
    if any(part.lower() in SECRET_KEYS for part in parts):
        raise ConfigError(
            f"{path}: providers.{provider_id}.{key}: secrets are never written to config.toml; "
            f"store it with `tui-agent login {provider_id}` or name an environment variable in providers.{provider_id}.api_key_env"
        )

    def mutate(doc) -> None:
        providers = doc.get("providers")
        if providers is None:
            providers = tomlkit.table(is_super_table=True)
            doc["providers"] = providers
        table = providers.get(provider_id)
        if table is None:
            table = tomlkit.table()
            providers[provider_id] = table
        for part in parts[:-1]:
            sub = table.get(part)
            if sub is None:
                sub = tomlkit.table()
                table[part] = sub
            table = sub
        table[parts[-1]] = value

    _edit(Path(path), mutate, f"set providers.{provider_id}.{key}")


# --- internals -------------------------------------------------------------------------------------------------


def _edit(path: Path, mutate: Callable[[Any], None], what: str) -> None:
    """Parse, mutate, check the result loads without new problems, then replace the file atomically."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        text = path.read_text(encoding="utf-8-sig") if path.exists() else ""  # a leading BOM is dropped, as load does
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot {what}: cannot read the file ({exc})") from None
    try:
        doc = tomlkit.parse(text)
    except (TOMLKitError, RecursionError) as exc:
        raise ConfigError(f"{path}: cannot {what}: the file is not valid TOML ({exc}); fix it and try again") from None
    try:
        mutate(doc)
    except (TOMLKitError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot {what}: {exc}") from None
    new_text = tomlkit.dumps(doc)
    try:
        secrets = find_literal_secrets(str(path), tomllib.loads(new_text))
    except tomllib.TOMLDecodeError:  # e.g. a table added inside an inline table the user wrote
        raise ConfigError(f"{path}: cannot {what}: the edit would not be valid TOML; make the change by hand") from None
    if secrets:  # refused before anything touches the disk
        raise ConfigError(_prefixed(secrets, what))

    # Problems the file already had are not this edit's fault; only new ones stop it.
    before = {_problem_id(p) for p in check_config(path)[1]} if text else set()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot {what}: cannot write in {path.parent} ({exc.strerror or exc})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
            handle.flush()
            os.fsync(handle.fileno())
        _, problems = check_config(tmp)
        new = [replace(p, file=str(path)) for p in problems if _problem_id(p) not in before]
        if new:
            raise ConfigError(_prefixed(new, what))
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot {what}: cannot write the file ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def _prefixed(problems: list[ConfigProblem], what: str) -> list[ConfigProblem]:
    """The problems, the first one saying which edit it stopped."""
    first = problems[0]
    return [replace(first, message=f"cannot {what}: {first.message}")] + problems[1:]


def _problem_id(problem: ConfigProblem) -> tuple[str, str]:
    return problem.key, problem.message
