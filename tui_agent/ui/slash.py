"""Slash commands typed in the prompt: the table and the parser (no Textual here; completion: ui/completion.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SlashCommand:
    """One command: its name (without the slash), its argument's name, and one line of help."""

    name: str
    arg: str  # "" when it takes none; "[NICK]" when optional; "PROVIDER" when required
    help: str

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.arg}".rstrip()

    @property
    def arg_required(self) -> bool:
        return bool(self.arg) and not self.arg.startswith("[")


# Order is the order shown in hints and in /help.
COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("model", "[NICK] [--force]", "switch to the profile NICK (--force: even if it cannot answer now); without NICK, open the model picker"),
    SlashCommand("new", "", "start a new conversation"),
    SlashCommand("system", "[TEXT]", "show or set this conversation's system prompt (off, default)"),
    SlashCommand("set", "[NAME VALUE]", "set temperature, top_p, max_tokens, reasoning; alone: list"),
    SlashCommand("auth", "", "show how every provider is logged in"),
    SlashCommand("login", "PROVIDER", "log in to a provider"),
    SlashCommand("logout", "PROVIDER", "forget a provider's stored credentials"),
    SlashCommand("retry", "[NICK]", "ask the last prompt again (with the profile NICK); the new answer is a sibling"),
    SlashCommand("edit", "", "bring the last (or selected) prompt back to edit; sending makes a new branch"),
    SlashCommand("continue", "", "let a stopped, cut-off or failed answer go on where it ended"),
    SlashCommand("history", "", "open an earlier conversation"),
    SlashCommand("attach", "PATH", "attach a text file or an image to the next prompt (or type @PATH)"),
    SlashCommand("status", "", "show or hide the provider status panel"),
    SlashCommand("help", "", "every command and key"),
    SlashCommand("quit", "", "leave tui-agent"),
)

BY_NAME = {command.name: command for command in COMMANDS}


@dataclass(frozen=True)
class Parsed:
    """A typed slash command: the command (None when unknown), the word typed and the argument text."""

    command: SlashCommand | None
    word: str
    arg: str


def is_slash(text: str) -> bool:
    """Whether a prompt is a slash command rather than a message (`//text` sends "/text" as a message)."""
    stripped = text.strip()
    return stripped.startswith("/") and not stripped.startswith("//") and "\n" not in stripped


def parse(text: str) -> Parsed:
    """Split "/model  claude " into the command and its argument."""
    body = text.strip()[1:]
    word, _, arg = body.partition(" ")
    word = word.lower()
    return Parsed(BY_NAME.get(word), word, arg.strip())


def closest(word: str) -> str | None:
    """The command a mistyped word was meant to be, for "did you mean" hints; None unless it is close.

    Close means the only command the word begins, or one or two slips away (one for words of four letters or
    fewer): a swap, a missing, extra or wrong letter. `/bogus` is not close to anything.
    """
    if not word:
        return None
    starts = [command.name for command in COMMANDS if command.name.startswith(word)]
    if len(starts) == 1:
        return starts[0]
    allowed = 1 if len(word) <= 4 else 2
    scored = sorted((_slips(word, name), name) for name in BY_NAME)
    distance, name = scored[0]
    return name if distance <= allowed else None


def _slips(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


_CLI_COMMAND = re.compile(r"`tui-agent (login|logout) ([^`]+)`")


def as_slash_commands(text: str) -> str:
    """Status details name the headless command (`tui-agent login X`); inside the TUI the same thing is `/login X`."""
    return _CLI_COMMAND.sub(r"/\1 \2", text)
