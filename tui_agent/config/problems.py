"""A located configuration problem: file, key path, bad value, valid choices (closest first)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from tui_agent.sanitize import sanitize_line


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration, located well enough for a person to fix it."""

    file: str
    key: str
    message: str
    value: object = None
    choices: tuple[str, ...] = field(default_factory=tuple)
    hint: str = ""

    def sentence(self) -> str:
        """One sentence: where, what, and the valid choices or the fix."""
        where = ": ".join(part for part in (self.file, self.key) if part)
        text = f"{where}: {self.message}" if where else self.message
        if self.choices:
            shown = ", ".join(f"`{c}`" for c in self.choices[:8])
            more = ", …" if len(self.choices) > 8 else ""
            lead = f"did you mean `{self.choices[0]}`? " if _close(self.value, self.choices[0]) else ""
            text += f"; {lead}valid choices: {shown}{more}"
        if self.hint:
            text += f"; {self.hint}"
        return sanitize_line(text)  # keys and values come from the file: shown anywhere, they must be inert


def _close(value: object, candidate: str) -> bool:
    return isinstance(value, str) and difflib.SequenceMatcher(None, value, candidate).ratio() >= 0.6


def closest_first(value: str, choices: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Order choices by similarity to `value`, the closest first, ties alphabetical."""
    return tuple(
        sorted(set(choices), key=lambda c: (-difflib.SequenceMatcher(None, value or "", c).ratio(), c))
    )


def close_match(value: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The choice a mistyped value was probably meant to be, or None when nothing is close enough to suggest."""
    ordered = closest_first(value, choices)
    return ordered[0] if ordered and _close(value, ordered[0]) else None
