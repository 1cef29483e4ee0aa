"""Wire adapters, one module per wire kind; imported lazily so only the chosen one is loaded."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from tui_agent.config.schema import ProviderConfig
    from tui_agent.core.chat import Adapter

_ADAPTERS = {
    "anthropic-messages": ("tui_agent.providers.anthropic", "AnthropicAdapter"),
    "openai-chat": ("tui_agent.providers.openai_chat", "OpenAIChatAdapter"),
    "ollama": ("tui_agent.providers.ollama", "OllamaAdapter"),
    "claude-cli": ("tui_agent.providers.claude_cli", "ClaudeCliAdapter"),
}

WIRE_KINDS: tuple[str, ...] = tuple(_ADAPTERS)


def make_adapter(provider: "ProviderConfig", client: "httpx.AsyncClient") -> "Adapter":
    """Build the adapter for a provider's wire kind, importing only that module."""
    module_name, class_name = _ADAPTERS[provider.kind]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(provider, client)
