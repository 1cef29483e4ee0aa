"""Load the built-in catalog and the user's config.toml, merge them, and validate every reference at once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tui_agent.config.problems import ConfigProblem, closest_first
from tui_agent.config.schema import NESTED, OAuthSettings, ProfileConfig, ProviderConfig, UISettings
from tui_agent.errors import ConfigError, UnknownProvider
from tui_agent.redact import mask_url_userinfo
from tui_agent.sanitize import sanitize, sanitize_line

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

_T = TypeVar("_T")

TOP_LEVEL_KEYS = ("default_profile", "profiles", "providers", "ui")
MAX_CONFIG_BYTES = 4_000_000  # far beyond any real config; bigger is a mistake, and parsing it would stall start-up
CATALOG = "catalog"

# Keys whose value would be a secret: never allowed in config.toml.
SECRET_KEYS = {
    "api_key", "apikey", "api-key", "key", "token", "access_token", "refresh_token",
    "secret", "client_secret", "password", "auth_token", "bearer",
}
# Values that look like a key or token whatever the key is called.
_SECRET_VALUE = re.compile(
    r"^(?:Bearer\s+\S{12,}|sk-[A-Za-z0-9_\-]{12,}|sk-ant-\S+|sk-or-\S+|xox[abp]-\S+|eyJ[A-Za-z0-9_\-]{20,}\.\S+)$"
)


@dataclass(frozen=True)
class Config:
    """The merged, validated configuration: providers (catalog + user), profiles and where each came from."""

    file: Path
    providers: dict[str, ProviderConfig]
    profiles: dict[str, ProfileConfig]
    default_profile: str | None = None
    ui: UISettings = field(default_factory=UISettings)
    aliases: dict[str, str] = field(default_factory=dict)  # old id -> canonical id
    origins: dict[str, str] = field(default_factory=dict)  # "providers.X" / "profiles.Y" -> where it came from
    file_exists: bool = False

    def canonical_provider_id(self, name: str) -> str | None:
        """The provider id a name refers to (following aliases), or None when nothing is called that."""
        if name in self.providers:
            return name
        return self.aliases.get(name)

    def provider_choices(self) -> list[str]:
        return sorted(self.providers) + sorted(self.aliases)

    def provider_named(self, name: str) -> ProviderConfig:
        """The provider a name refers to (aliases followed); the one home of "unknown provider, did you mean"."""
        pid = self.canonical_provider_id(name)
        if pid is None:
            from tui_agent.config.problems import close_match

            choices = self.provider_choices()
            raise UnknownProvider(name, closest_first(name, choices), close_match(name, choices))
        return self.providers[pid]


def load_config(config_file: Path, cache: Path | None = None) -> Config:
    """Load and validate; raise ConfigError listing every problem found.

    With `cache` (the start-up cache file, `Paths.config_cache`), a config validated before from exactly the
    same text, catalog and code is rebuilt from there without importing pydantic; a newly validated one is
    written there."""
    if cache is not None:
        from tui_agent.config import cache as start_cache

        cached, inputs = start_cache.read(cache, config_file)
        if cached is not None:
            return cached
    config, problems = check_config(config_file)
    if problems:
        raise ConfigError(problems)
    assert config is not None
    if cache is not None:
        start_cache.write(cache, inputs, config)
    return config


def check_config(config_file: Path) -> tuple[Config | None, list[ConfigProblem]]:
    """Load and validate, returning the config (None when unusable) and every problem found."""
    fname = str(config_file)
    problems: list[ConfigProblem] = []
    user: dict[str, Any] = {}
    exists = config_file.is_file()
    if exists:
        import tomllib  # here, not at the top: a start with a valid start-up cache parses no TOML at all

        try:
            if config_file.stat().st_size > MAX_CONFIG_BYTES:
                return None, [ConfigProblem(fname, "", f"is larger than {MAX_CONFIG_BYTES // 1_000_000} MB; this is not a config file tui-agent will read")]
            # utf-8-sig: a byte-order mark some editors put first is not part of the TOML
            user = tomllib.loads(config_file.read_text(encoding="utf-8-sig"))
        except tomllib.TOMLDecodeError as exc:
            return None, [ConfigProblem(fname, "", f"TOML syntax error: {exc}")]
        except RecursionError:
            return None, [ConfigProblem(fname, "", "TOML nested too deeply to read (arrays or inline tables inside each other hundreds of levels deep)")]
        except UnicodeDecodeError as exc:
            return None, [ConfigProblem(fname, "", f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})")]
        except OSError as exc:
            return None, [ConfigProblem(fname, "", f"cannot read the file ({exc.strerror or exc})")]
    elif config_file.exists():
        return None, [ConfigProblem(fname, "", "is not a regular file")]

    for key in user:
        if key not in TOP_LEVEL_KEYS:
            problems.append(
                ConfigProblem(fname, key, "unknown setting", key, closest_first(key, TOP_LEVEL_KEYS))
            )
    problems += find_literal_secrets(fname, user)
    problems += find_control_characters(fname, user)

    catalog = _read_catalog()
    providers, aliases, origins = _merge_providers(fname, catalog.get("providers", {}), _table(fname, user, "providers", problems), problems)
    invalid_profiles: dict[str, ProfileConfig] = {}
    profiles = _build_profiles(fname, _table(fname, user, "profiles", problems), problems, origins, invalid_profiles)

    ui = UISettings()
    if "ui" in user:
        ui = _validated(UISettings, user["ui"], fname, "ui", problems) or ui

    default_profile = user.get("default_profile")
    if default_profile is not None and not isinstance(default_profile, str):
        problems.append(ConfigProblem(fname, "default_profile", "must be a string (a profile nickname)", default_profile))
        default_profile = None

    config = Config(
        file=config_file,
        providers=providers,
        profiles=profiles,
        default_profile=default_profile,
        ui=ui,
        aliases=aliases,
        origins=origins,
        file_exists=exists,
    )
    problems += _check_references(fname, config, broken_providers=set(user.get("providers", {}) if isinstance(user.get("providers"), dict) else ()) - set(providers), invalid_profiles=invalid_profiles)
    # A literal secret is reported once, as a secret, not again as an unknown field.
    secret_keys = {p.key for p in problems if p.message.startswith("a literal secret")}
    problems = [p for p in problems if not (p.key in secret_keys and p.message.startswith("unknown field"))]
    return config, problems


def missing_settings(provider: ProviderConfig, method: str) -> list[tuple[str, str]]:
    """Fields a provider still needs before `method` can work: (key under providers.ID, why)."""
    missing: list[tuple[str, str]] = []
    if provider.kind != "claude-cli" and not provider.base_url:
        missing.append(("base_url", "the server's URL"))
    if method in ("oauth-device", "oauth-pkce"):
        oauth = provider.oauth or OAuthSettings()
        if not oauth.client_id and not oauth.keys_endpoint:
            missing.append(("oauth.client_id", "the OAuth client id of your own app registration"))
        if method == "oauth-device" and not (oauth.tenant or oauth.issuer or (oauth.device_endpoint and oauth.token_endpoint)):
            what = "oauth.tenant" if provider.id == "azure-openai" else "oauth.issuer"
            missing.append((what, "where to log in (an OIDC issuer, or device_endpoint and token_endpoint)"))
        if method == "oauth-pkce" and not (
            oauth.issuer or (oauth.authorization_endpoint and (oauth.token_endpoint or oauth.keys_endpoint))
        ):
            missing.append(("oauth.issuer", "where to log in (an OIDC issuer, or authorization_endpoint and token_endpoint)"))
    return missing


# --- internals -------------------------------------------------------------------------------------------------


def read_catalog_text() -> str:
    # Beside this module, as the start-up cache's code files are (config/cache.py): importlib.resources (with
    # zipfile) cost ≈ 2 ms of every start, for a package that is never run from a zip.
    return Path(__file__).with_name("catalog.toml").read_text(encoding="utf-8")


def _read_catalog() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(read_catalog_text())


def _table(fname: str, data: dict[str, Any], key: str, problems: list[ConfigProblem]) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        problems.append(ConfigProblem(fname, key, f"must be a table ([{key}.NAME] sections)", value))
        return {}
    return value


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_providers(
    fname: str, catalog: dict[str, Any], user: dict[str, Any], problems: list[ConfigProblem]
) -> tuple[dict[str, ProviderConfig], dict[str, str], dict[str, str]]:
    raw: dict[str, dict[str, Any]] = {pid: dict(body) for pid, body in catalog.items()}
    origins = {f"providers.{pid}": CATALOG for pid in raw}
    aliases = {alias: pid for pid, body in raw.items() for alias in body.get("aliases", [])}
    for pid, body in user.items():
        key = f"providers.{pid}"
        if not isinstance(body, dict):
            problems.append(ConfigProblem(fname, key, "must be a table", body))
            continue
        if "aliases" in body or "id" in body:
            problems.append(ConfigProblem(fname, f"{key}.{'aliases' if 'aliases' in body else 'id'}", "is set by the catalog and cannot be changed"))
            body = {k: v for k, v in body.items() if k not in ("aliases", "id")}
        target = aliases.get(pid, pid)
        if target in raw:
            raw[target] = _deep_merge(raw[target], body)
            origins[f"providers.{target}"] = f"catalog + {Path(fname).name}: {key}"
        else:
            raw[target] = body
            origins[f"providers.{target}"] = f"{Path(fname).name}: {key}"
    providers: dict[str, ProviderConfig] = {}
    for pid, body in raw.items():
        provider = _validated(ProviderConfig, {**body, "id": pid}, fname, f"providers.{pid}", problems)
        if provider is not None:
            providers[pid] = provider
    return providers, aliases, origins


def _build_profiles(
    fname: str, user: dict[str, Any], problems: list[ConfigProblem], origins: dict[str, str],
    unchecked: dict[str, ProfileConfig] | None = None,
) -> dict[str, ProfileConfig]:
    profiles: dict[str, ProfileConfig] = {}
    for nick, body in user.items():
        key = f"profiles.{nick}"
        if not isinstance(body, dict):
            problems.append(ConfigProblem(fname, key, "must be a table with provider and model", body))
            continue
        before = len(problems)
        profile = _validated(ProfileConfig, {**body, "nickname": nick}, fname, key, problems)
        if profile is not None:
            profiles[nick] = profile
            origins[key] = f"{Path(fname).name}: {key}"
        elif unchecked is not None:
            # Invalid, so not usable; but its provider and auth method are still checked, so that one
            # `config check` reports every problem of the profile, not only the first kind found.
            bad = {p.key.removeprefix(f"{key}.").split(".")[0] for p in problems[before:]}
            links = {f: body[f] for f in ("provider", "model", "auth") if f not in bad and isinstance(body.get(f), str)}
            if "provider" in links:
                unchecked[nick] = ProfileConfig(**{"model": "", **links, "nickname": nick})
    return profiles


def _check_references(
    fname: str, config: Config, broken_providers: set[str], invalid_profiles: dict[str, ProfileConfig] | None = None,
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for nick, profile in {**config.profiles, **(invalid_profiles or {})}.items():
        key = f"profiles.{nick}"
        pid = config.canonical_provider_id(profile.provider)
        if pid is None and profile.provider in broken_providers:
            continue  # the provider's own table is invalid and already reported
        if pid is None:
            problems.append(
                ConfigProblem(
                    fname, f"{key}.provider", f"unknown provider `{profile.provider}`", profile.provider,
                    closest_first(profile.provider, config.provider_choices()),
                    hint="define it under [providers.NAME] or use one of the catalog's",
                )
            )
            continue
        provider = config.providers[pid]
        method = profile.auth or provider.default_method
        if profile.auth and profile.auth not in provider.auth:
            problems.append(
                ConfigProblem(
                    fname, f"{key}.auth", f"provider `{pid}` does not allow auth method `{profile.auth}`",
                    profile.auth, closest_first(profile.auth, provider.auth),
                )
            )
            continue
        for field_key, why in missing_settings(provider, method):
            problems.append(
                ConfigProblem(
                    fname, f"providers.{pid}.{field_key}",
                    f"missing required field ({why}); profile `{nick}` uses provider `{pid}` with method `{method}`",
                    hint=provider.setup_hint,
                )
            )
    if config.default_profile is not None and config.default_profile not in config.profiles:
        problems.append(
            ConfigProblem(
                fname, "default_profile", f"no profile is called `{config.default_profile}`",
                config.default_profile, closest_first(config.default_profile, list(config.profiles)),
            )
        )
    # Two profiles may both lack settings for one provider: report each missing field once.
    unique: dict[tuple[str, str], ConfigProblem] = {}
    for problem in problems:
        unique.setdefault((problem.key, problem.message.split(";")[0]), problem)
    return list(unique.values())


_ADAPTERS: dict[type, "TypeAdapter[Any]"] = {}


def _validated(cls: type[_T], data: Any, fname: str, key: str, problems: list[ConfigProblem]) -> _T | None:
    """`data` validated by pydantic into `cls`, or None with its problems added (pydantic is imported here, on
    the first validation: a config rebuilt from the start-up cache never needs it)."""
    from pydantic import TypeAdapter, ValidationError

    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        problems += _pydantic_problems(fname, key, exc)
        return None


def _pydantic_problems(fname: str, prefix: str, exc: "ValidationError") -> list[ConfigProblem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
        key = f"{prefix}.{loc}" if loc else prefix
        value = err.get("input")
        if err["type"] == "missing":
            out.append(ConfigProblem(fname, key, "missing required field"))
        elif err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            field_name = str(err["loc"][-1])
            known = _known_fields(prefix, err["loc"])
            out.append(ConfigProblem(fname, key, f"unknown field `{field_name}`", field_name, closest_first(field_name, known)))
        elif err["type"] == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            choices = tuple(re.findall(r"'([^']+)'", expected))
            out.append(ConfigProblem(fname, key, f"invalid value {value!r}", value, closest_first(str(value), choices)))
        elif err["type"] == "value_error":  # our own validators already speak in sentences
            msg = err["msg"].removeprefix("Value error, ")
            shown = mask_url_userinfo(repr(value))  # a password in a URL is never echoed back
            out.append(ConfigProblem(fname, key, f"{msg} (got {shown})" if not isinstance(value, dict) else msg, value))
        else:  # a wrong type or an out-of-range value: say what the setting takes, never pydantic's words
            wanted = _wanted(prefix, err["loc"], err["type"])
            shown = f" (got {mask_url_userinfo(repr(value))})" if not isinstance(value, dict) else ""
            out.append(ConfigProblem(fname, key, f"must be {wanted}{shown}", value))
    return out


def _model_at(prefix: str, loc: tuple) -> Any:
    """The dataclass holding the field at `loc` under a top-level table (`profiles.x`, `providers.y`, `ui`)."""
    model: Any = UISettings if prefix == "ui" else ProfileConfig if prefix.startswith("profiles") else ProviderConfig
    for part in loc[:-1]:
        model = NESTED.get(model, {}).get(str(part), model)  # inside a sub-table: that table's fields
    return model


def _known_fields(prefix: str, loc: tuple) -> list[str]:
    hidden = {"id", "nickname"}
    return [f.name for f in fields(_model_at(prefix, loc)) if f.name not in hidden]


# What a value of each kind is called, by the first word of pydantic's error type (`float_parsing` → float).
_KIND_WORDS = {
    "float": "a number", "int": "a whole number", "bool": "true or false", "string": "text in quotes",
    "list": "a list (like [\"a\", \"b\"])", "dict": "a table", "dataclass": "a table", "model": "a table",
    "too": "a list with at least one entry",  # too_short: an empty list where one is needed
}


def _wanted(prefix: str, loc: tuple, error_type: str) -> str:
    """What a setting takes, in words: its kind and its bounds ("a number from 0 to 2")."""
    import typing

    names = [str(p) for p in loc if not isinstance(p, int)]
    return wanted_for(_model_at(prefix, tuple(names)) if names else None, names[-1] if names else "", error_type)


def wanted_for(model: Any, field: str, error_type: str) -> str:
    """What `field` of `model` takes, in words ("a number from 0 to 2"); from the error type alone without them."""
    import typing

    kind, bounds = "", {}
    if model is not None and field:
        try:
            hint = typing.get_type_hints(model, include_extras=True).get(field)
        except Exception:  # a hint that cannot be resolved only costs the detail
            hint = None
        for meta in getattr(hint, "__metadata__", ()):
            bounds.update(getattr(meta, "constraints", {}))
        base = typing.get_args(hint)[0] if bounds else hint
        types = [t for t in typing.get_args(base) or (base,) if t is not type(None)]
        if len(types) == 1 and types[0] in (float, int, bool, str):
            kind = {float: "a number", int: "a whole number", bool: "true or false", str: "text in quotes"}[types[0]]
        elif len(types) == 1 and typing.get_origin(types[0]) is typing.Literal:
            kind = "one of " + ", ".join(str(choice) for choice in typing.get_args(types[0]))
    kind = kind or _KIND_WORDS.get(error_type.split("_")[0], "a valid value")
    return kind + _bounds_words(bounds)


def _bounds_words(bounds: dict[str, Any]) -> str:
    low = f"from {bounds['ge']}" if "ge" in bounds else f"more than {bounds['gt']}" if "gt" in bounds else ""
    high = f"at most {bounds['le']}" if "le" in bounds else f"less than {bounds['lt']}" if "lt" in bounds else ""
    if low.startswith("from") and high.startswith("at most"):
        return f" {low} to {bounds['le']}"
    if low.startswith("from"):
        low = f"at least {bounds['ge']}"
    return " " + " and ".join(part for part in (low, high) if part) if low or high else ""


def find_control_characters(fname: str, data: Any, path: str = "") -> list[ConfigProblem]:
    """Keys and strings holding terminal controls or bidi overrides (TOML escapes like \\u001b allow them): names and
    values are shown on screen, so each is a located problem. Newline and tab are fine (a system prompt)."""
    problems = []
    if isinstance(data, dict):
        for key, value in data.items():
            name = str(key) if sanitize_line(str(key)) == key else _quoted_key(str(key))
            key_path = f"{path}.{name}" if path else name
            if name != key:
                problems.append(ConfigProblem(fname, key_path, "a name with control characters is not allowed; rename it"))
            problems += find_control_characters(fname, value, key_path)
    elif isinstance(data, list):
        for item in data:
            problems += find_control_characters(fname, item, path)
    elif isinstance(data, str) and sanitize(data) != data.replace("\r", ""):
        problems.append(ConfigProblem(fname, path, "contains control characters or bidi overrides (a terminal escape?); remove them"))
    return problems


def _quoted_key(key: str) -> str:
    """A key as a quoted TOML key with \\uXXXX escapes: printable, and how such a key is usually written."""
    import json

    return json.dumps(key)


def find_literal_secrets(fname: str, data: dict[str, Any], prefix: str = "") -> list[ConfigProblem]:
    problems = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            problems += find_literal_secrets(fname, value, path)
        elif isinstance(value, str) and value and (
            str(key).lower() in SECRET_KEYS or _SECRET_VALUE.match(value.strip())
        ):
            provider = path.split(".")[1] if path.startswith("providers.") and path.count(".") >= 2 else "PROVIDER"
            problems.append(
                ConfigProblem(
                    fname, path,
                    "a literal secret is not allowed in config.toml (the value is not shown)",
                    hint=f"store it with `tui-agent login {provider}` (kept in the OS keyring) "
                    f"or put it in an environment variable named by providers.{provider}.api_key_env",
                )
            )
    return problems
