"""The Textual fixes of ui/textual_fixes.py: same results as Textual's code, and removed widgets are freed."""

from __future__ import annotations

import gc
import weakref

from textual.app import App, ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.widgets import Static

from tui_agent.ui import textual_fixes


def test_inner_outer_styles_are_textuals():
    cache = textual_fixes.StylesCache()
    for base, background in [(Color(18, 18, 18), Color(36, 47, 56)), (Color(0, 0, 0), Color(255, 0, 0, 0.5))]:
        assert cache.get_inner_outer(base, background) == textual_fixes._buggy_inner_outer(cache, base, background)


class _Blocks(App[None]):
    def compose(self) -> ComposeResult:
        yield Vertical(id="blocks")


async def test_a_removed_widget_and_the_lines_it_drew_are_freed():
    """Textual's instance-keyed cache kept the removed widget's StylesCache, with its drawn lines, alive
    (textual#6665); the widget itself is only freed once nothing holds its styles cache either."""
    app = _Blocks()
    async with app.run_test(size=(60, 20)) as pilot:
        blocks = app.query_one("#blocks")
        await blocks.mount_all([Static(f"block {n} " * 8) for n in range(10)])
        await pilot.pause()
        caches = [weakref.ref(block._styles_cache) for block in blocks.children]
        assert any(ref()._cache for ref in caches)  # they drew lines
        await blocks.remove_children()
        await blocks.mount(Static("what came next"))  # laid out anew: the container's old arrangement is let go
        await pilot.pause()
        gc.collect()
        assert [ref for ref in caches if ref() is not None] == []
