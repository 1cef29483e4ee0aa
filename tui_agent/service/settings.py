"""Per-conversation settings: the system prompt and the parameters (`/system`, `/set`), validated like config.

A conversation's value overrides its profile's, which overrides the provider's default; `effective()` says
which one is in force and where it comes from. Validation is the config's own (pydantic on the ProfileConfig
field), so `/set temperature 5` fails with the same words `temperature = 5` in config.toml would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from tui_agent.errors import TuiAgentError

if TYPE_CHECKING:
    from tui_agent.core.chain import Chain

PARAMETERS: tuple[str, ...] = ("temperature", "top_p", "max_tokens", "reasoning")
REASONING_LEVELS: tuple[str, ...] = ("off", "low", "medium", "high")

# What a wire kind cannot take: `claude -p` has no flag for sampling, output length or a thinking budget, so
# these would be dropped; the user is told so instead (when set, and in `/set`'s list).
UNSUPPORTED: dict[str, frozenset[str]] = {"claude-cli": frozenset(PARAMETERS)}
_KIND_NAMES = {"claude-cli": "The Claude Code CLI"}

SOURCE_CONVERSATION, SOURCE_PROFILE, SOURCE_DEFAULT = "conversation", "profile", "provider default"


class SettingError(TuiAgentError):
    """A `/set` or `/system` argument that cannot be used; the message is one sentence and nothing changed."""


@dataclass(frozen=True)
class Effective:
    """One parameter as the next request will carry it."""

    name: str
    value: Any  # None: not sent (the server's own default applies)
    source: str  # conversation | profile | provider default
    applied: bool = True  # False: the provider cannot take it


def parse_value(name: str, text: str) -> Any:
    """`text` typed after `/set NAME`, validated as the profile key NAME would be (raises SettingError)."""
    if name not in PARAMETERS:
        from tui_agent.config.problems import closest_first

        choices = closest_first(name, PARAMETERS)
        raise SettingError(f"Unknown setting `{name}`; valid names: {', '.join(choices)}. Nothing changed.")
    import typing

    from pydantic import TypeAdapter, ValidationError

    from tui_agent.config.load import _pydantic_problems, wanted_for
    from tui_agent.config.schema import ProfileConfig

    annotation = typing.get_type_hints(ProfileConfig, include_extras=True)[name]
    try:
        value = TypeAdapter(annotation).validate_python(text.strip())
    except ValidationError as exc:  # in the project's words, as config check says it (never pydantic's)
        error_type = exc.errors()[0]["type"]
        if error_type == "literal_error":  # the choices, a close one first
            sentence = _pydantic_problems("", name, exc)[0].sentence()
        else:
            sentence = f"{name}: must be {wanted_for(ProfileConfig, name, error_type)} (got {text.strip()!r})"
        raise SettingError(f"/set {sentence}. Nothing changed.") from None
    if value is None:
        raise SettingError(f"/set {name} needs a value (or `default` to use the profile's). Nothing changed.")
    return value


def unsupported_note(chain: "Chain", name: str) -> str | None:
    """One sentence when the chain's provider cannot apply parameter `name`, else None."""
    kind = chain.provider.kind
    if name not in UNSUPPORTED.get(kind, ()):
        return None
    return f"{_KIND_NAMES.get(kind, kind)} cannot take {name}: it is kept for this conversation but not applied."


def not_applied(chain: "Chain", overrides: Mapping[str, Any] | None = None) -> str | None:
    """One sentence naming the parameters set (by the profile or the conversation) that the provider cannot take."""
    names = [row.name for row in effective(chain, overrides or {}) if not row.applied and row.source != SOURCE_DEFAULT]
    if not names:
        return None
    kind = chain.provider.kind
    return f"{_KIND_NAMES.get(kind, kind)} cannot take {', '.join(names)}: set for {chain.profile.nickname}, not applied."


def effective(chain: "Chain", overrides: Mapping[str, Any]) -> list[Effective]:
    """Each parameter's value for the next request and where it comes from."""
    from tui_agent.providers.anthropic import DEFAULT_MAX_TOKENS

    rows = []
    unsupported = UNSUPPORTED.get(chain.provider.kind, frozenset())
    for name in PARAMETERS:
        if name in overrides:
            value, source = overrides[name], SOURCE_CONVERSATION
        elif getattr(chain.profile, name) is not None:
            value, source = getattr(chain.profile, name), SOURCE_PROFILE
        else:
            # The anthropic-messages kind always sends max_tokens (the API requires it); others send nothing.
            value = DEFAULT_MAX_TOKENS if name == "max_tokens" and chain.provider.kind == "anthropic-messages" else None
            source = SOURCE_DEFAULT
        rows.append(Effective(name, value, source, name not in unsupported))
    return rows


def effective_system(chain: "Chain | None", override: str | None) -> tuple[str, str]:
    """The system prompt in force ("" for none) and where it comes from."""
    if override is not None:
        return override, SOURCE_CONVERSATION
    if chain is not None and chain.profile.system:
        return chain.profile.system, SOURCE_PROFILE
    return "", SOURCE_DEFAULT


def describe(rows: list[Effective], system: tuple[str, str]) -> str:
    """`/set` with no argument: one line per setting, its value and its source."""
    width = max(len(name) for name in (*PARAMETERS, "system"))
    lines = ["Settings for this conversation (`/set NAME VALUE`, `/set NAME default`):"]
    for row in rows:
        shown = "not sent" if row.value is None else str(row.value)
        note = "" if row.applied else " — not applied by this provider"
        lines.append(f"  {row.name.ljust(width)}  {shown}  ({row.source}){note}")
    text, source = system
    first = text.splitlines()[0] if text else ""
    shown = "none" if not text else (first[:60] + ("…" if len(first) > 60 or "\n" in text else ""))
    lines.append(f"  {'system'.ljust(width)}  {shown}  ({source}; `/system` shows or changes it)")
    return "\n".join(lines)
