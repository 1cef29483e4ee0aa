"""Fixes for Textual 8.2.8 (pinned) bugs that cost a long-running chat memory, applied when the app module loads.

- `StylesCache.get_inner_outer` is an `lru_cache` on an instance method (textual#6665): its 1,024 entries key on
  the `StylesCache` of each widget that drew, so the caches of up to 1,024 removed widgets, with every line they
  had drawn, stay alive. An answer's blocks are removed as it folds (docs/answer-folding.md), so a long chat kept
  about a thousand dead blocks' lines. The method does not read `self`: the same cache keyed on the two colours
  returns the same styles and holds nothing else.

The fix checks that the code it replaces is still the buggy one, so an upgrade that fixes it upstream leaves
Textual's own in place. The footer's keys (textual#6666) are freed by `KeysFooter` itself (ui/widgets/footer.py).
"""

from __future__ import annotations

from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style

_buggy_inner_outer = StylesCache.__dict__.get("get_inner_outer")


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """Textual's `StylesCache.get_inner_outer`, cached on the colours alone."""
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(self: StylesCache, base_background: Color, background: Color) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


def apply() -> None:
    """Put the fixes in place (once; idempotent)."""
    if hasattr(_buggy_inner_outer, "cache_info"):  # still the instance-keyed lru_cache
        StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign]


apply()
