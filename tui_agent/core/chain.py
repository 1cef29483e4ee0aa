"""The resolution chain's shared vocabulary: how its steps are printed, and what a profile nickname may be."""

from __future__ import annotations

import re
from typing import Iterable, Protocol

# Nicknames written by the app stay bare TOML keys, so the user can read and type them (`/model NICK`).
NICKNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _Step(Protocol):
    link: str
    found: str
    origin: str


def format_steps(steps: Iterable[_Step]) -> list[str]:
    """Steps in the layout of docs/interfaces.md (`tui-agent explain`): `N. link  found  origin`."""
    lines = []
    for n, step in enumerate(steps, 1):
        if step.link == "credential":
            lines.append(f"{n}. credential  {step.found}   {step.origin}")
        else:
            lines.append(f"{n}. {step.link.ljust(8)} {step.found.ljust(13)} {step.origin}")
    return lines
