"""`/system` and `/set`, and keeping the chat screen's settings lines (system prompt, context, cost) current.

The commands only parse and word the answer; the session validates, stores and decides (service layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui_agent.errors import TuiAgentError
from tui_agent.sanitize import sanitize

if TYPE_CHECKING:
    from tui_agent.service.chat_session import ChatSession
    from tui_agent.ui.screens.chat import ChatScreen


@dataclass(frozen=True)
class Reply:
    """What a command says: one note, an error or not."""

    text: str
    error: bool = False


async def system_command(session: "ChatSession", arg: str) -> Reply:
    """`/system` shows the prompt in force; `/system TEXT` sets it, `off` removes it, `default` uses the profile's."""
    arg = arg.strip()
    if not arg:
        text, source = session.system_prompt()
        if not text:
            return Reply(f"No system prompt ({source}). `/system TEXT` sets one for this conversation.")
        shown = sanitize(text)  # it may come from history or config: untrusted on the way to the terminal
        return Reply(f"System prompt ({source}; `/system off` removes it, `/system default` uses the profile's):\n{shown}")
    value: str | None = {"off": "", "default": None}.get(arg.lower(), arg)
    try:
        await session.set_system(value)
    except TuiAgentError as exc:
        return Reply(f"{exc} The system prompt is unchanged.", error=True)
    if value is None:
        text, source = session.system_prompt()
        return Reply(f"System prompt: the profile's again ({'none' if not text else source}).")
    return Reply("No system prompt in this conversation." if value == "" else "System prompt set for this conversation.")


async def set_command(session: "ChatSession", arg: str) -> Reply:
    """`/set` lists every setting and its source; `/set NAME VALUE` or `/set NAME default` changes one."""
    name, _, value = arg.strip().partition(" ")
    if not name:
        return Reply(sanitize(session.describe_settings()))
    if not value.strip():
        return Reply(f"Usage: /set {name} VALUE (or /set {name} default); /set alone lists the settings.", error=True)
    try:
        return Reply(await session.set_parameter(name.lower(), value))
    except TuiAgentError as exc:
        return Reply(str(exc), error=True)


def show_settings(screen: "ChatScreen", session: "ChatSession | None") -> None:
    """Bring the system-prompt line, the side panel's context line and the header summary up to date."""
    from tui_agent.ui.widgets.settings_lines import ContextSummary, SystemPromptLine
    from tui_agent.ui.widgets.usage import header_summary

    line = screen.query_one("#system-line", SystemPromptLine)
    if session is None:
        line.show("", "")
        fill, window = None, None
    else:
        line.show(*session.system_prompt())
        fill, window = session.context_fill(), session.context_window()
    panel = screen.status_panel
    panel.set_context_window(window)
    panel.set_context_used(fill.tokens if fill else None)
    screen.query_one("#context-summary", ContextSummary).show(header_summary(panel.usage.totals, panel.usage.context_window))


async def learn_and_show(screen: "ChatScreen", session: "ChatSession") -> None:
    """Ask the provider what it knows of the model (context window, prices), then show it."""
    if session.chain is not None:
        await session.service.model_facts(session.chain)
    if screen.is_attached:
        show_settings(screen, session)
