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

- A widget's `StylesCache` kept the lines it must draw again as a `set` of line numbers, and a refresh of the whole
  widget marks every line of it: for a tall one (a long answer's message, the conversation) a set of thousands of
  ints, made again at each refresh, of which only the lines drawn (the visible ones) are taken out again. After
  the 94 KB answer those sets held 0.5 MB, and the 5 MB code block's (78,767 lines) was made again at each refresh.
  `DirtyLines` is the same set kept as sorted runs of lines (`[start, end)`): one run for a whole widget, two once
  its visible part is drawn. A look-up costs 0.1-0.15 µs instead of 0.03 (a few hundred per frame), marking a
  3,000-line widget 1.7 µs instead of 45.

Each fix checks that the code it replaces is still the one it was written for, so an upgrade that changes it
upstream leaves Textual's own in place. The footer's keys (textual#6666) are freed by `KeysFooter` itself
(ui/widgets/footer.py).
"""

from __future__ import annotations

import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
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


class DirtyLines:
    """A set of line numbers (ints) kept as sorted, disjoint runs `[start, end)`: what `StylesCache` does with its
    set of dirty lines (`update`, `difference_update`, `in`, `clear`, truth), at a cost that does not grow with the
    number of lines in a run."""

    __slots__ = ("_starts", "_ends")

    def __init__(self, lines: Iterable[int] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.update(lines)

    def update(self, lines: Iterable[int]) -> None:
        for start, end in _runs(lines):
            starts, ends = self._starts, self._ends
            first = bisect_left(ends, start)  # the first run that ends at or after `start` (touching runs merge)
            after = bisect_right(starts, end)  # the first run that starts after `end`
            if first < after:
                start, end = min(start, starts[first]), max(end, ends[after - 1])
            starts[first:after] = [start]
            ends[first:after] = [end]

    def difference_update(self, lines: Iterable[int]) -> None:
        for start, end in _runs(lines):
            starts, ends = self._starts, self._ends
            first = bisect_right(ends, start)  # the first run that ends after `start`
            after = bisect_left(starts, end)  # the first run that starts at or after `end`
            if first >= after:
                continue
            kept = [(s, e) for s, e in ((starts[first], start), (end, ends[after - 1])) if s < e]
            starts[first:after] = [s for s, _ in kept]
            ends[first:after] = [e for _, e in kept]

    def clear(self) -> None:
        self._starts.clear()
        self._ends.clear()

    def __contains__(self, line: object) -> bool:
        if not isinstance(line, int):
            return False
        index = bisect_right(self._starts, line) - 1
        return index >= 0 and line < self._ends[index]

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __len__(self) -> int:
        return sum(end - start for start, end in zip(self._starts, self._ends))

    def __iter__(self) -> Iterator[int]:
        for start, end in zip(self._starts, self._ends):
            yield from range(start, end)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DirtyLines):
            return self._starts == other._starts and self._ends == other._ends
        return set(self) == other if isinstance(other, (set, frozenset)) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the set it stands for

    def __repr__(self) -> str:
        return "DirtyLines(" + ", ".join(f"{s}..{e - 1}" for s, e in zip(self._starts, self._ends)) + ")"


def _runs(lines: Iterable[int]) -> Iterator[tuple[int, int]]:
    """`lines` as runs `(start, end)`: a range of step 1 (what `Region.line_range` gives) is one run."""
    if isinstance(lines, range) and lines.step == 1:
        if lines.start < lines.stop:
            yield lines.start, lines.stop
        return
    for line in lines:
        yield line, line + 1


_DIRTY_LINES_USES = {"update", "difference_update", "clear", "__contains__"}  # the set methods StylesCache calls
_textual_styles_cache_init = StylesCache.__init__


def _styles_cache_init(self: StylesCache) -> None:
    _textual_styles_cache_init(self)
    self._dirty_lines = DirtyLines()  # type: ignore[assignment]


def _dirty_lines_are_a_set_used_as_written_for() -> bool:
    """Whether `StylesCache` still keeps its dirty lines in a set and calls only the methods `DirtyLines` has."""
    if StylesCache.__init__ is not _textual_styles_cache_init or type(StylesCache()._dirty_lines) is not set:
        return False
    used: set[str] = set()
    for function in vars(StylesCache).values():
        code = getattr(function, "__code__", None)
        if code is not None and "_dirty_lines" in code.co_names:
            used.update(name for name in code.co_names if hasattr(set, name))
    return used <= _DIRTY_LINES_USES


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
    if _dirty_lines_are_a_set_used_as_written_for():
        StylesCache.__init__ = _styles_cache_init  # type: ignore[method-assign]


apply()
