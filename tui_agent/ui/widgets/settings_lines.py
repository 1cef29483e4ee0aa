"""The chat screen's settings lines: the system prompt in force (above the conversation) and the context/cost
summary of the header (narrow terminals, beside the auth summary). Renderers only: the session decides."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui_agent.sanitize import sanitize


class SystemPromptLine(Static):
    """"system (conversation): Be brief." — one line, hidden when the conversation has no system prompt."""

    DEFAULT_CSS = """
    SystemPromptLine {
        height: 1;
        padding: 0 2;
        color: $text-muted;
        background: $boost;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.prompt_text = ""
        self.source = ""
        self.display = False

    def show(self, text: str, source: str) -> None:
        """Show `text` (the system prompt in force, "" for none) and where it comes from."""
        self.prompt_text, self.source = text, source
        first = sanitize(text).splitlines()[0] if text else ""
        more = " …" if "\n" in text.strip() else ""
        line = Text()
        line.append(f"system ({source}): ", style="bold")
        line.append(first + more)
        line.append("  /system shows it all", style="dim italic")
        self.update(line)
        self.display = bool(text)


class ContextSummary(Static):
    """"ctx 12k / 200k 6% · $0.0123" in the header (narrow terminals); empty until something is known."""

    DEFAULT_CSS = """
    ContextSummary {
        width: auto;
        height: 1;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False, classes="-empty")
        self.text = ""

    def show(self, text: str) -> None:
        self.text = text
        self.set_class(not text, "-empty")  # the screen's CSS hides an empty one (no stray padding in the header)
        self.update(text)
