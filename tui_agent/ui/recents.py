"""Recently used and favourite models, kept by the app in the state dir (recents.toml, written with tomli-w).

Entries are nicknames: a profile's, or a session profile's `provider/model`. The file is the app's own; a
corrupt or unreadable one is treated as empty (and replaced on the next write), never as an error.
"""

from __future__ import annotations

import logging
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("tui_agent.ui.recents")

MAX_RECENTS = 8


@dataclass(frozen=True)
class Recents:
    """Nicknames used most recently (newest first) and the ones marked favourite (in the order marked)."""

    recent: tuple[str, ...] = ()
    favourites: tuple[str, ...] = field(default_factory=tuple)

    def is_favourite(self, nickname: str) -> bool:
        return nickname in self.favourites


def load_recents(path: Path) -> Recents:
    """Read the file; anything missing, unreadable or malformed reads as empty."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Recents()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        log.warning("ignoring unreadable recents file %s: %s", path, exc)
        return Recents()
    return Recents(recent=_names(data.get("recent"))[:MAX_RECENTS], favourites=_names(data.get("favourites")))


def record_use(path: Path, nickname: str) -> Recents:
    """Move `nickname` to the front of the recents and save; returns the new state."""
    current = load_recents(path)
    recent = (nickname, *(n for n in current.recent if n != nickname))[:MAX_RECENTS]
    return _save(path, Recents(recent=recent, favourites=current.favourites))


def toggle_favourite(path: Path, nickname: str) -> Recents:
    """Mark or unmark `nickname` as a favourite and save; returns the new state."""
    current = load_recents(path)
    if nickname in current.favourites:
        favourites = tuple(n for n in current.favourites if n != nickname)
    else:
        favourites = (*current.favourites, nickname)
    return _save(path, Recents(recent=current.recent, favourites=favourites))


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    seen: list[str] = []
    for item in value:
        if isinstance(item, str) and item and item not in seen:
            seen.append(item)
    return tuple(seen)


def _save(path: Path, recents: Recents) -> Recents:
    """Write atomically; a failure is logged and the new state still returned (it is only a convenience)."""
    import tomli_w

    path = Path(path)
    text = tomli_w.dumps({"recent": list(recents.recent), "favourites": list(recents.favourites)})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        log.warning("could not save recents to %s: %s", path, exc)
    return recents
