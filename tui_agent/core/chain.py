"""The resolution chain's shared vocabulary: a resolved Chain and its Steps, how steps print, what a nickname may be.

auth/resolve.py builds chains; every layer reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from tui_agent.config.schema import ProfileConfig, ProviderConfig

# Nicknames written by the app stay bare TOML keys, so the user can read and type them (`/model NICK`).
NICKNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Step:
    """One link of the chain: what was looked up, what was found, and where it came from."""

    link: str  # profile | provider | method | credential | adapter
    found: str
    origin: str


@dataclass(frozen=True)
class Chain:
    """A resolved profile: every reference checked, with the steps that got there."""

    profile: "ProfileConfig"
    provider: "ProviderConfig"
    method: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def adapter_kind(self) -> str:
        return self.provider.kind


def format_steps(steps: Iterable[Step]) -> list[str]:
    """Steps in the layout of docs/interfaces.md (`tui-agent explain`): `N. link  found  origin`."""
    lines = []
    for n, step in enumerate(steps, 1):
        if step.link == "credential":
            lines.append(f"{n}. credential  {step.found}   {step.origin}")
        else:
            lines.append(f"{n}. {step.link.ljust(8)} {step.found.ljust(13)} {step.origin}")
    return lines
