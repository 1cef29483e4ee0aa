"""The start-up cache: a config that passed validation, kept with exactly what it was validated from.

Validating config.toml needs pydantic, whose import and schema building cost more than everything else the
app does before its first frame. Validation is a pure function of three inputs: the text of config.toml, the
built-in catalog and the code that validates. After a successful validation those inputs and the result are
written to `state/config-cache.json`; the next start reads the file, and when all three inputs are unchanged
(the texts compared in full, not by date) it rebuilds the same dataclasses without importing pydantic. Any
difference, or a cache that cannot be read, means a full validation — so a broken config is always reported.
The cache holds no secret: config.toml may not contain any (`find_literal_secrets`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

from tui_agent import __version__
from tui_agent.config.load import Config, read_catalog_text
from tui_agent.config.schema import NESTED, ProfileConfig, ProviderConfig, UISettings

log = logging.getLogger("tui_agent.config")

FORMAT = 1
_CODE = (Path(__file__).with_name("load.py"), Path(__file__).with_name("schema.py"), Path(__file__))


def inputs(config_file: Path) -> dict[str, Any] | None:
    """What a validation of `config_file` depends on, or None when the file cannot be read as text."""
    try:
        text: str | None = config_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError):  # a directory, unreadable, not UTF-8: validation says which
        return None
    try:
        code = [__version__, FORMAT] + [[st.st_mtime_ns, st.st_size] for st in map(os.stat, _CODE)]
    except OSError:
        return None
    return {"config_file": str(config_file), "config_text": text, "catalog_text": read_catalog_text(), "code": code}


def read(cache_file: Path, config_file: Path) -> tuple[Config | None, dict[str, Any] | None]:
    """The cached config when it was validated from exactly what is there now (else None), and the inputs now
    — taken before any validation, so that a file edited during one is never paired with the older result."""
    key = inputs(config_file)
    try:
        saved = json.loads(cache_file.read_bytes())
    except (OSError, ValueError):
        return None, key
    if key is None or not isinstance(saved, dict) or saved.get("inputs") != key:
        return None, key
    try:
        return _config(saved["config"], config_file), key
    except (KeyError, TypeError, AttributeError):  # written by another version in the same inputs: revalidate
        log.debug("config cache unusable; validating again", exc_info=True)
        return None, key


def write(cache_file: Path, key: dict[str, Any] | None, config: Config) -> None:
    """Keep `config`, validated from the inputs `key` (as `read` gave them), for the next start; a failure
    only costs speed."""
    if key is None:
        return
    data = {
        "providers": {pid: dataclasses.asdict(p) for pid, p in config.providers.items()},
        "profiles": {nick: dataclasses.asdict(p) for nick, p in config.profiles.items()},
        "default_profile": config.default_profile,
        "ui": dataclasses.asdict(config.ui),
        "aliases": config.aliases,
        "origins": config.origins,
        "file_exists": config.file_exists,
    }
    tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"inputs": key, "config": data}, f)
        os.replace(tmp, cache_file)
    except OSError as exc:
        log.debug("could not write the config cache %s: %s", cache_file, exc)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def _config(data: dict[str, Any], config_file: Path) -> Config:
    return Config(
        file=config_file,
        providers={pid: _build(ProviderConfig, body) for pid, body in data["providers"].items()},
        profiles={nick: _build(ProfileConfig, body) for nick, body in data["profiles"].items()},
        default_profile=data["default_profile"],
        ui=_build(UISettings, data["ui"]),
        aliases=data["aliases"],
        origins=data["origins"],
        file_exists=data["file_exists"],
    )


def _build(cls: type, body: dict[str, Any]) -> Any:
    nested = NESTED.get(cls, {})
    return cls(**{k: _build(nested[k], v) if k in nested and v is not None else v for k, v in body.items()})
