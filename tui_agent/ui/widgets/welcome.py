"""The first-run welcome (not a modal): what was found on this machine and how to choose a model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from tui_agent.core.credentials import CredentialStatus
    from tui_agent.config.load import Config

SCANNING = "Looking for API keys in the environment, a Claude Code CLI and local model servers…"


def found_lines(config: "Config", statuses: Iterable["CredentialStatus"]) -> list[str]:
    """One line per usable credential or running server found (keys in the environment, the CLI, local servers)."""
    from tui_agent.core.credentials import CredentialState

    lines: list[str] = []
    for status in statuses:
        if status.state not in (CredentialState.READY, CredentialState.EXPIRING):
            continue
        provider = config.providers.get(status.provider)
        if provider is None:
            continue
        name = provider.name
        if status.source.startswith("env:"):
            lines.append(f"✓ {status.source[4:]} is set in the environment ({name})")
        elif status.source in ("keyring", "file"):
            lines.append(f"✓ a stored {'key' if status.auth_method == 'api-key' else 'login'} for {name}")
        elif status.source == "claude-cli" or provider.kind == "claude-cli":
            lines.append(f"✓ the Claude Code CLI, logged in" + (f" ({status.detail})" if status.detail else ""))
        elif provider.local:
            count = f", {status.model_count} models" if status.model_count else ""
            lines.append(f"✓ {name} is running at {provider.host}{count}")
    return lines


def ready_providers(statuses: Iterable["CredentialStatus"]) -> set[str]:
    from tui_agent.core.credentials import CredentialState

    return {s.provider for s in statuses if s.state in (CredentialState.READY, CredentialState.EXPIRING)}


def welcome_text(config: "Config", statuses: list["CredentialStatus"] | None) -> Text:
    """The whole welcome: greeting, what was found (or that the scan is running), and how to choose."""
    text = Text()
    text.append("Welcome to tui-agent.", style="bold")
    text.append(" No default model is set yet.\n\n")
    if statuses is None:
        text.append(SCANNING + "\n\n", style="italic")
        ready: set[str] = set()
    else:
        lines = found_lines(config, statuses)
        if lines:
            text.append("Found on this machine:\n", style="bold")
            for line in lines:
                text.append(f"  {line}\n")
        else:
            text.append("Found no API key in the environment, no logged-in Claude Code CLI and no running Ollama or LM Studio.\n")
        text.append("\n")
        ready = ready_providers(statuses)

    profiles = sorted(config.profiles)
    # A clickable action as well as a key: the picker lists profiles and the models found, and the first
    # choice becomes default_profile.
    text.append("» Choose a model", style=Style(bold=True, underline=True, meta={"@click": "screen.models"}))
    text.append(" — press ctrl+t (or type /model): your first choice is saved as default_profile.\n\n")
    if profiles:
        text.append("Or switch directly: ", style="bold")
        text.append("type /model NICK and press Enter.\n")
        usable = [p for p in profiles if config.canonical_provider_id(config.profiles[p].provider) in ready]
        others = [p for p in profiles if p not in usable]
        if usable:
            text.append(f"  ready now: {', '.join(usable)}\n")
        if others:
            label = "other profiles" if usable else "your profiles"
            text.append(f"  {label}: {', '.join(others)}\n")
    else:
        example = next((pid for pid in sorted(ready) if config.providers[pid].default_model), "ollama")
        model = config.providers[example].default_model if example in config.providers else "llama3.2"
        text.append("No profiles yet: ", style="bold")
        text.append(f"the picker can save a found model as one, or add one to {config.file}, for example:\n\n")
        text.append(f'  [profiles.{_nick_for(example)}]\n  provider = "{example}"\n  model = "{model}"\n')
    text.append("\nType /help for every command and key.", style="dim")
    return text


def _nick_for(provider_id: str) -> str:
    return {"ollama": "local", "lmstudio": "local", "claude-code": "claude", "anthropic": "claude"}.get(provider_id, provider_id)


class Welcome(Static):
    """Shown in the conversation until a model is chosen; filled in once the scan (run after the first frame) ends."""

    def __init__(self, config: "Config") -> None:
        super().__init__(welcome_text(config, None), id="welcome", markup=False)
        self._config = config
        self.statuses: list["CredentialStatus"] | None = None

    def show_found(self, statuses: list["CredentialStatus"]) -> None:
        self.statuses = statuses
        self.update(welcome_text(self._config, statuses))
