"""One place that masks secrets for display."""

from __future__ import annotations


def mask(secret: str | None) -> str:
    """Show the first 6 and last 4 characters of a secret, or a fixed mask when it is too short to hint at."""
    if not secret:
        return ""
    if len(secret) <= 14:
        return "•" * 6
    return f"{secret[:6]}…{secret[-4:]}"
