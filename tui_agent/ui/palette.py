"""The command palette's chat actions: every slash command, model switches, copying, stop and jump."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui_agent.ui.screens.chat import ChatScreen


def palette_entries(screen: "ChatScreen") -> Iterator[tuple[str, str, Callable[[], object]]]:
    """(title, help, callback) for every action available on the chat screen now."""
    config = screen.app.config
    run = screen.run_command
    if screen.is_streaming:
        yield "Stop the answer", "Escape: stop streaming and keep what arrived", screen.action_stop
    yield "New conversation", "/new · ctrl+n", partial(run, "/new")
    yield "Choose a model", "/model · ctrl+t: the model picker", partial(run, "/model")
    for nick in sorted(config.profiles):
        profile = config.profiles[nick]
        provider = config.canonical_provider_id(profile.provider) or profile.provider
        yield f"Model: {nick}", f"/model {nick} · {provider} · {profile.model}", partial(run, f"/model {nick}")
    yield from branch_entries(screen)
    yield "Conversation settings", "/set: each value in force and where it comes from", partial(run, "/set")
    yield "System prompt", "/system: show the one in force", partial(run, "/system")
    yield "No system prompt", "/system off: none in this conversation", partial(run, "/system off")
    for level in ("off", "low", "medium", "high"):
        yield f"Reasoning: {level}", f"/set reasoning {level}", partial(run, f"/set reasoning {level}")
    if screen.last_answer() is not None:
        yield "Copy the last answer", "ctrl+o: its Markdown source", screen.action_copy_answer
    blocks = screen.code_blocks()
    for number, block in reversed(list(enumerate(blocks, 1))):
        yield f"Copy code block {number}: {block.label()}", "the block's source text", partial(screen.copy, block.code, f"code block {number}")
    if not screen.following:
        yield "Jump to the bottom", "End: follow new text again", screen.action_bottom
    yield "Help", "/help · f1: every command and key", partial(run, "/help")
    yield "Providers and logins", "/auth · f3", partial(run, "/auth")
    for provider_id in sorted(config.providers):
        yield f"Log in: {provider_id}", f"/login {provider_id}", partial(run, f"/login {provider_id}")
        yield f"Log out: {provider_id}", f"/logout {provider_id}", partial(run, f"/logout {provider_id}")
    yield "History", "/history · ctrl+r: past conversations, search", partial(run, "/history")
    yield "Attach a file", "/attach PATH (or @PATH in a prompt): the menu lists the files", partial(_type, screen, "/attach ")
    yield "Auth status panel", "/status · f2: show or hide", partial(run, "/status")
    yield "Quit", "/quit · ctrl+q", partial(run, "/quit")


def branch_entries(screen: "ChatScreen") -> Iterator[tuple[str, str, Callable[[], object]]]:
    """Retry (with each profile), edit, continue and sibling switches, when they can act."""
    run = screen.run_command
    if screen.branch_action_state("retry"):
        yield "Retry the last prompt", "/retry · f5: ask again, the new answer is a sibling", partial(run, "/retry")
        for nick in sorted(screen.app.config.profiles):
            yield f"Retry with {nick}", f"/retry {nick}: the same prompt, answered by {nick}", partial(run, f"/retry {nick}")
    if screen.branch_action_state("edit"):
        yield "Edit the prompt", "/edit · f4: sending it makes a new branch", partial(run, "/edit")
    if screen.branch_action_state("continue"):
        yield "Continue the answer", "/continue · f8: go on where it ended", partial(run, "/continue")
    if screen.branch_action_state("sibling_prev"):
        yield "Previous version (branch)", "alt+left: the sibling before", screen.action_sibling_prev
        yield "Next version (branch)", "alt+right: the sibling after", screen.action_sibling_next
def _type(screen: "ChatScreen", text: str) -> None:
    """Put a command that needs an argument into the prompt, for the user to finish (the menu helps)."""
    screen.prompt.load_text(text)
    screen.prompt.move_cursor(screen.prompt.document.end)
    screen.prompt.focus()


class PaletteCommands(Provider):
    """Palette provider active on the chat screen."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        from tui_agent.ui.screens.chat import ChatScreen

        screen = self.screen
        return list(palette_entries(screen)) if isinstance(screen, ChatScreen) else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
