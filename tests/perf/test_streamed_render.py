"""A streamed answer ends up on screen exactly as a one-shot render of the same text (issue 12's correctness guard).

The chat screen may skip or shorten its final full re-render for speed; this checks, line by line and style by
style, that what the stream built equals `Markdown.update(text)` in the same conversation. Not timed.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.widgets import Markdown

from tests.ui.support import SIZE, Hold, make_app, wait_until
from tui_agent.core.events import Done, TextDelta
from tui_agent.ui.widgets.message import AssistantMessage

# Every kind of block the stream splits across appends: headings, prose, both lists, a table, a code fence.
ANSWER = """## Plan

Streaming **Markdown** splits the answer into *blocks*; only the last one can still change, so earlier
ones are never rebuilt. This paragraph is long enough to wrap over several lines of the conversation.

- first point, with `code`
- second point
- third point that is long enough to wrap over the width of the conversation column on a small screen

| name | value |
|---|---|
| alpha | 1 |
| beta | 22 |
| gamma | 333 |

```python
def render(blocks):
    for block in blocks:
        yield block.text  # each line arrives in pieces

print(list(render([])))
```

1. numbered
2. list

> a quote to finish, and a last line.
"""


def rendered_lines(markdown: Markdown) -> list[str]:
    """Every leaf widget under `markdown` at its place and size, rendered line by line with segment styles."""
    lines: list[str] = []
    for widget in markdown.walk_children(with_self=False):
        if widget.children or not widget.display:
            continue
        width, height = widget.size
        lines.append(f"<{width}×{height} at {widget.region.x - markdown.region.x},{widget.region.y - markdown.region.y}>")
        for strip in widget.render_lines(Region(0, 0, width, height)):
            lines.append(strip.text.rstrip() + "  " + " ".join(str(seg.style) for seg in strip if seg.text.strip()))
    return lines


async def test_streamed_answer_renders_the_same_as_one_update(isolated_home):
    chunks = [ANSWER[i:i + 20] for i in range(0, len(ANSWER), 20)]
    holds = [Hold() for _ in range(0, len(chunks), 6)]
    script: list = []
    for n, hold in enumerate(holds):  # six chunks, then wait until they are on screen: many separate appends
        script += [TextDelta(c) for c in chunks[n * 6:(n + 1) * 6]] + [hold]
    app, _ = make_app(isolated_home, scripts=[script + [Done("end_turn")]])
    async with app.run_test(size=SIZE) as pilot:
        app.screen.prompt.insert("go")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query(AssistantMessage), "the answer")
        streamed = app.screen.query_one(AssistantMessage)
        streamed_md = streamed.query_one(".answer", Markdown)
        for n, hold in enumerate(holds):
            sent = "".join(chunks[:(n + 1) * 6])
            await wait_until(pilot, lambda: streamed_md.source == sent, f"the text up to chunk {(n + 1) * 6} on screen")
            hold.release()
        await wait_until(pilot, lambda: streamed.state == "complete" and not app.screen.is_streaming, "the end of the answer")
        await pilot.pause()

        reference = AssistantMessage()
        await app.screen.conversation.mount(reference)
        await reference.query_one(".answer", Markdown).update(ANSWER)
        await pilot.pause()

        assert streamed_md.source == ANSWER
        assert rendered_lines(streamed_md) == rendered_lines(reference.query_one(".answer", Markdown))
