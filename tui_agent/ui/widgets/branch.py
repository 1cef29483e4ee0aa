"""How a message shows its place in the conversation tree: its author line and the `‹ 2/3 ›` sibling mark."""

from __future__ import annotations

from rich.text import Text

from tui_agent.sanitize import sanitize_line


SWITCH_KEYS = "alt+← alt+→"  # beside every mark: the footer of a narrow terminal has no room left for them


def mark_text(position: int, count: int) -> str:
    """`‹ 2/3 ›  alt+← alt+→`: this is version 2 of 3, and the keys that switch."""
    return f"‹ {position}/{count} ›  {SWITCH_KEYS}"


def author_text(profile: str | None, provider: str | None, model: str | None) -> str:
    """Who wrote an answer: `profile · provider · model` (the parts that are known; from history: untrusted)."""
    return sanitize_line(" · ".join(part for part in (profile, provider, model) if part))


def meta_text(author: str, mark: tuple[int, int] | None) -> Text:
    """An answer's head line: its author, then its sibling mark when it has siblings."""
    text = Text(author, style="dim")
    if mark is not None:
        text.append(("   " if author else "") + mark_text(*mark), style="bold")
    return text
