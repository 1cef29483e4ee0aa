"""Makes untrusted text safe for the terminal (minimal stand-in: engineer h16a's module replaces this one)."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str) -> str:
    """Remove escape sequences, C0/C1 controls (except newline and tab) and bidi overrides."""
    return _UNSAFE.sub("", text)
