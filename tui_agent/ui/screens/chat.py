"""The chat screen: header with the active profile and provider, the conversation, the prompt, the footer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea


class ChatScreen(Screen):
    """Where the conversation happens."""

    CSS_PATH = "chat.tcss"
    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", priority=True)]

    def __init__(self, profile: str | None) -> None:
        super().__init__()
        self.profile = profile

    def compose(self) -> ComposeResult:
        yield Static(self._header_text(), id="chat-header")
        with VerticalScroll(id="conversation"):
            if self.profile is None:
                yield Static(self._welcome_text(), id="welcome")
        yield TextArea(id="prompt")
        yield Footer()

    def _header_text(self) -> str:
        if self.profile is None:
            return "tui-agent · no model chosen"
        profile = self.app.config.profiles[self.profile]
        provider = self.app.config.canonical_provider_id(profile.provider) or profile.provider
        return f"{self.profile} · {provider} · {profile.model}"

    def _welcome_text(self) -> str:
        names = sorted(self.app.config.profiles)
        if names:
            choose = f"Type /model NICK to choose one of your profiles: {', '.join(names)}."
        else:
            choose = "Define a profile under [profiles.NAME] in config.toml (see `tui-agent config path`)."
        return f"Welcome to tui-agent. No default model is set.\n{choose}"
