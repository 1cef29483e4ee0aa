"""`tui-agent import qwen-profiles`: profiles from the old client's model-profiles.json, written through the one config writer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tui_agent.errors import ConfigError, UnknownProvider, UsageError
from tui_agent.sanitize import sanitize_line

QWEN_DEFAULT = Path("~/.qwen/model-profiles.json")
# authType in the old client → what it means here (None: the provider's default method)
_QWEN_AUTH = {"oauth-personal": "claude-cli", "openai": None, "api-key": None, "USE_OPENAI": None, "anthropic": None}


@dataclass
class ImportReport:
    """One sentence per entry: what was imported, skipped (exists) or not importable, and the file written."""

    config_file: Path
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def import_qwen_profiles(config_flag: str | None, file: str | None, force: bool) -> ImportReport:
    from tui_agent.config.edit import add_profiles
    from tui_agent.config.load import check_config
    from tui_agent.config.paths import Paths

    paths = Paths.resolve(config_flag)
    source = Path(file).expanduser() if file else QWEN_DEFAULT.expanduser()
    try:
        entries = json.loads(source.read_text(encoding="utf-8-sig"))  # a byte-order mark is not an error
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file (pass the path: `tui-agent import qwen-profiles FILE`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UsageError(f"{source}: not a readable JSON file ({type(exc).__name__ if isinstance(exc, RecursionError) else exc})") from None
    if not isinstance(entries, list):
        raise UsageError(f"{source}: expected a JSON list of {{nickname, provider, authType}} objects")

    config, problems = check_config(paths.config_file)
    if config is None:  # a syntax error: never rewrite a file we cannot read
        raise ConfigError(problems)
    report = ImportReport(paths.config_file)
    tables: dict[str, dict[str, str]] = {}
    for index, entry in enumerate(entries):
        where = f"{source.name}[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("nickname"), str) or not isinstance(entry.get("provider"), str):
            report.failed.append(f"{where}: needs string fields nickname and provider")
            continue
        nick, provider_name, auth_type = entry["nickname"], entry["provider"], entry.get("authType")
        if not nick.strip() or sanitize_line(nick) != nick:
            report.failed.append(f"{where} `{sanitize_line(nick)}`: a nickname must be non-empty printable text on one line (no control characters)")
            continue
        try:
            provider = config.provider_named(provider_name)
        except UnknownProvider as exc:
            report.failed.append(f"{where} `{nick}`: {exc}")
            continue
        pid = provider.id
        if auth_type is not None and auth_type not in _QWEN_AUTH:
            report.failed.append(f"{where} `{nick}`: unknown authType `{auth_type}` (known: {', '.join(_QWEN_AUTH)})")
            continue
        wanted = _QWEN_AUTH.get(auth_type) if auth_type else None
        if wanted is not None and wanted not in provider.auth:
            report.failed.append(f"{where} `{nick}`: authType `{auth_type}` needs auth method `{wanted}`, which `{pid}` does not allow ({', '.join(provider.auth)})")
            continue
        if not provider.default_model:
            report.failed.append(f"{where} `{nick}`: provider `{pid}` has no default model; add [profiles.{nick}] with a model by hand")
            continue
        if (nick in config.profiles or nick in tables) and not force:
            report.skipped.append(f"{nick}: a profile with this name exists (use --force to replace it)")
            continue
        table = {"provider": pid, "model": provider.default_model}
        if wanted is not None and wanted != provider.default_method:
            table["auth"] = wanted
        tables[nick] = table
        alias = f" (`{provider_name}` is now `{pid}`)" if provider_name != pid else ""
        report.imported.append(f"{nick} → {pid}, model {provider.default_model}{alias}")
    if tables:
        add_profiles(paths.config_file, tables, replace=force)
    return report
