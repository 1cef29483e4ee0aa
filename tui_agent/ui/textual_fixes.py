"""Fixes for costs of Textual 8.2.8 (pinned) that a long chat pays in memory and time, applied when the app loads.

- `StylesCache.get_inner_outer` is an `lru_cache` on an instance method (textual#6665): its 1,024 entries key on
  the `StylesCache` of each widget that drew, so the caches of up to 1,024 removed widgets, with every line they
  had drawn, stay alive. An answer's blocks are removed as it folds (docs/answer-folding.md), so a long chat kept
  about a thousand dead blocks' lines. The method does not read `self`: the same cache keyed on the two colours
  returns the same styles and holds nothing else.

- Every `Strip` (one line of a widget, and each piece the compositor cuts lines into) made seven small caches
  (`FIFOCache`, each with a dict of its own) as it was built, used or not. A 94 KB answer builds about 20,000
  strips: 280,000 objects the garbage collector tracks, so half of the young collections while an answer streams
  were set off by empty caches, and 14,000 of them (2 MB) were alive once it ended, 700 holding anything. Each cache
  is now made the first time its strip uses it, with Textual's size; the strip's methods are Textual's.

- Styling a widget that has component classes (a Markdown block's `em`, `strong`, `s`, `code_inline`) makes a node
  per class and matches the whole stylesheet against each: 0.3-0.9 ms per paragraph as an answer's blocks mount,
  160 ms of a 94 KB answer. Siblings of the same kind, classes and state get the same component styles, so a class
  that sets `SHARE_COMPONENT_STYLES` (the answer's paragraphs, headings and flat lists) gets them from the first
  such sibling while the stylesheet is the same; others are styled by Textual as before. Safe for classes that
  only read the component styles' rules (as `Content` does when it renders `.em` spans), not their node's
  ancestors. The shared styles' nodes hang from the first sibling, so that one block stays alive (not drawn) while
  its parent lives.

Each fix checks that the code it replaces is still the one it was written for, so an upgrade that changes it
upstream leaves Textual's own in place. The footer's keys (textual#6666) are freed by `KeysFooter` itself
(ui/widgets/footer.py).
"""

from __future__ import annotations

import weakref
from functools import lru_cache
from typing import Any

from textual._styles_cache import StylesCache
from textual.cache import FIFOCache
from textual.color import Color
from textual.css.stylesheet import Stylesheet
from textual.dom import DOMNode
from textual.strip import Strip
from textual.style import Style

_buggy_inner_outer = StylesCache.__dict__.get("get_inner_outer")


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """Textual's `StylesCache.get_inner_outer`, cached on the colours alone."""
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(self: StylesCache, base_background: Color, background: Color) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


STRIP_CACHES = ("_divide_cache", "_crop_cache", "_style_cache", "_filter_cache", "_line_length_cache",
                "_crop_extend_cache", "_offsets_cache")
_STRIP_OTHERS = {"_segments", "_cell_length", "_render_cache", "_link_ids", "_cell_count"}  # what __init__ sets
_textual_strip_init = Strip.__init__


class _CacheOnFirstUse:
    """Stands for one of Strip's cache slots: reading it makes the cache (Textual's kind and size) if it is not there.

    The slot itself still holds the cache: this reads and writes it through the slot's own descriptor."""

    __slots__ = ("_slot", "_maxsize")

    def __init__(self, slot: Any, maxsize: int) -> None:
        self._slot = slot
        self._maxsize = maxsize

    def __get__(self, strip: Strip | None, owner: type | None = None) -> Any:
        if strip is None:
            return self
        try:
            return self._slot.__get__(strip, owner)
        except AttributeError:  # never used yet
            cache: FIFOCache = FIFOCache(self._maxsize)
            self._slot.__set__(strip, cache)
            return cache

    def __set__(self, strip: Strip, value: Any) -> None:
        self._slot.__set__(strip, value)


def _strip_init(self: Strip, segments: Any, cell_length: int | None = None) -> None:
    """Textual's `Strip.__init__` without the caches (`_CacheOnFirstUse` makes each when it is first used)."""
    self._segments = list(segments)
    self._cell_length = cell_length
    self._render_cache = None
    self._link_ids = None
    self._cell_count = None


def _strip_caches_are_textuals() -> dict[str, int] | None:
    """The size of each of Strip's caches, if Strip is still what `_strip_init` was written for; else None."""
    if set(Strip.__slots__) != _STRIP_OTHERS | set(STRIP_CACHES):
        return None
    slot_type = type(Strip.__dict__["_segments"])
    if not all(type(Strip.__dict__[name]) is slot_type for name in STRIP_CACHES):
        return None  # already replaced (applied twice), or no longer plain slots
    probe = Strip([])
    caches = {name: getattr(probe, name) for name in STRIP_CACHES}
    if not all(type(cache) is FIFOCache for cache in caches.values()):
        return None
    return {name: cache._maxsize for name, cache in caches.items()}


_textual_component_classes = Stylesheet.__dict__.get("_process_component_classes")
# parent -> {(kind, classes, pseudo-class state): (the stylesheet's rules then, {component class: its styles})}
_shared_components: "weakref.WeakKeyDictionary[DOMNode, dict]" = weakref.WeakKeyDictionary()


def _process_component_classes(self: Stylesheet, node: DOMNode) -> None:
    """Textual's, except that a node whose class sets `SHARE_COMPONENT_STYLES` takes the component styles of the
    first sibling of its kind, classes and state, made under the same rules (a theme change parses new rules)."""
    parent = node._parent
    if parent is None or not getattr(node, "SHARE_COMPONENT_STYLES", False):
        return _textual_component_classes(self, node)
    key = (type(node), node.classes, node._pseudo_classes_cache_key)
    siblings = _shared_components.setdefault(parent, {})
    made = siblings.get(key)
    if made is None or made[0] is not self._rules:
        _textual_component_classes(self, node)
        siblings[key] = (self._rules, dict(node._component_styles))
        return
    shared = made[1]
    changed = any(node._component_styles.get(name) != styles for name, styles in shared.items())
    node._component_styles.clear()
    node._component_styles.update(shared)
    if changed:  # as Textual does when they change: draw it again
        node.refresh()


def apply() -> None:
    """Put the fixes in place (once; idempotent)."""
    if hasattr(_buggy_inner_outer, "cache_info"):  # still the instance-keyed lru_cache
        StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign]
    sizes = _strip_caches_are_textuals()
    if sizes is not None:
        for name, maxsize in sizes.items():
            setattr(Strip, name, _CacheOnFirstUse(Strip.__dict__[name], maxsize))
        Strip.__init__ = _strip_init  # type: ignore[method-assign]
    if _textual_component_classes is not None and Stylesheet._process_component_classes is _textual_component_classes:
        Stylesheet._process_component_classes = _process_component_classes  # type: ignore[method-assign]


apply()
