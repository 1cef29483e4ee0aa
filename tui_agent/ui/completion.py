"""What the completion menu offers for a prompt: slash commands, their arguments, `@paths` (no Textual here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from tui_agent.ui import slash

# Commands whose argument is a profile or a provider (completed from the config) or a path.
PROFILE_ARGS = ("model",)
PROVIDER_ARGS = ("login", "logout")
PATH_ARGS = ("attach",)


@dataclass(frozen=True)
class Item:
    """One row: `insert` replaces the span being completed; `label` and `detail` are what the row shows."""

    insert: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Completion:
    """The rows for the text between `start` and `end` (character offsets); `info` is shown when no row fits."""

    start: int
    end: int
    items: tuple[Item, ...]
    info: str = ""

    def common_prefix(self) -> str:
        return os.path.commonprefix([item.insert for item in self.items])


def complete(
    text: str, cursor: int, *, profiles: Iterable[str] = (), providers: Iterable[str] = (), cwd: Path | None = None
) -> Completion | None:
    """The completion at `cursor` in `text`, or None when there is nothing to offer."""
    if slash.is_slash(text) or text == "/":
        return _slash(text, profiles, providers, cwd)
    return _at_path(text, cursor, cwd)


def _slash(text: str, profiles: Iterable[str], providers: Iterable[str], cwd: Path | None) -> Completion | None:
    word, space, arg = text[1:].partition(" ")
    if not space:
        found = [c for c in slash.COMMANDS if c.name.startswith(word.lower())]
        items = tuple(Item(f"/{c.name}" + (" " if c.arg else ""), c.usage, c.help) for c in found)
        return Completion(0, len(text), items) if items else None
    command = slash.BY_NAME.get(word.lower())
    if command is None:
        return None
    start = len(text) - len(arg.lstrip())
    typed = arg.strip()
    if command.name in PATH_ARGS:
        from tui_agent.service.attachments import complete_path, working_dir

        choices = complete_path(typed, cwd or working_dir())
    elif command.name in PROFILE_ARGS:
        choices = sorted(p for p in profiles if p.startswith(typed))
    elif command.name in PROVIDER_ARGS:
        choices = sorted(p for p in providers if p.startswith(typed))
    else:
        choices = []
    items = tuple(Item(choice, choice) for choice in choices if choice != typed)
    return Completion(start, len(text), items, info=f"{command.usage}  {command.help}")


def _at_path(text: str, cursor: int, cwd: Path | None) -> Completion | None:
    before = text[:cursor]
    at = before.rfind("@")
    if at < 0 or (at > 0 and not before[at - 1].isspace()):
        return None  # no token here, or an e-mail address
    partial = before[at + 1:]
    if not partial and at + 1 < len(text) and not text[at + 1].isspace():
        return None
    if any(ch.isspace() for ch in partial) or partial.startswith("@"):
        return None  # the token ended, or `@@` (a literal @)
    from tui_agent.service.attachments import complete_path, working_dir

    items = tuple(Item(f"@{path}", path) for path in complete_path(partial, cwd or working_dir()) if path != partial)
    return Completion(at, cursor, items) if items else None
