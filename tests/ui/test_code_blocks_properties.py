"""The code-block finder parses blocks only (no inline pass): it must find what a whole parse finds (hypothesis)."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tui_agent.ui.code_blocks import CodeBlock, code_blocks, normalize  # noqa: E402

# Lines that open, close or sit inside the block kinds markdown-it knows, and inline markup that a whole parse turns
# into tokens of its own (emphasis, code spans, links, autolinks, HTML), so the two parses have much to differ on.
_LINE = st.sampled_from([
    "", "text", "    indented code", "\tcode", "```", "```python", "~~~", "~~~ js", "````", "  ```", "> quote",
    "> ```", "- item", "1. item", "  - nested", "    - deep", "# heading", "Heading", "===", "---", "***",
    "| a | b |", "|---|---|", "| 1 | 2 |", "<div>", "</div>", "<!-- c -->", "[ref]: http://x.test", "*em* **strong**",
    "`code` ``two``", "[link](http://x.test) <http://y.test>", "www.example.com", "_a_b_", "\\`", "\r", "a\0b",
])
_MARKDOWN = st.lists(_LINE, max_size=30).map("\n".join)


def _whole_parse(markdown: str) -> list[CodeBlock]:
    """The code blocks of a whole parse, inline pass and all (what `code_blocks` did before it parsed blocks only)."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("gfm-like")
    parser.core.ruler.at("normalize", normalize)
    found = []
    for token in parser.parse(markdown):
        if token.type == "fence":
            found.append(CodeBlock(token.info.strip().split(" ", 1)[0] if token.info else "", token.content))
        elif token.type == "code_block":
            found.append(CodeBlock("", token.content))
    return found


@settings(max_examples=500, deadline=None)
@given(_MARKDOWN)
def test_property_blocks_only_finds_what_a_whole_parse_finds(markdown):
    assert code_blocks(markdown) == _whole_parse(markdown)


def test_the_block_pass_alone_makes_no_inline_tokens():
    """What makes it cheap: no token has children (a whole parse gives each paragraph's text tokens of its own)."""
    from markdown_it import MarkdownIt

    from tui_agent.ui.code_blocks import INLINE_RULES

    parser = MarkdownIt("gfm-like")
    parser.disable(INLINE_RULES)
    tokens = parser.parse("Some *emphasis* and a [link](http://x.test).\n\n```py\nx = 1\n```\n")
    assert [t.type for t in tokens if t.type in ("fence", "inline")] == ["inline", "fence"]
    assert all(not t.children for t in tokens)
    assert MarkdownIt("gfm-like").parse("Some *emphasis*.")[1].children  # the whole parse does make them
