"""The Markdown an answer is drawn with: Textual's, except that a block too long to draw as Markdown is plain lines.

Textual draws a code block by highlighting all of it (Pygments) and a paragraph by parsing all of its inline
Markdown into styled text and wrapping it whole; both before the first line shows, in the event loop. For a block
of megabytes that took 12 s (a paragraph) and 35 s (a code block) on the machine of docs/benchmarks.md, and every
key typed meanwhile waited. A block longer than PLAIN_BLOCK_AFTER characters is therefore drawn as plain lines:

- a code block: its lines as they are (no highlighting), cut at the width like any code block, in the code
  block's colours and padding;
- a paragraph: its text with no inline Markdown read (no emphasis, links or inline code; its soft line breaks
  are spaces), wrapped at the width.

Each line is cut out of the text when the screen shows it (Textual's line API, `render_line`): the cost of
drawing does not grow with the block. The rule is a property of the text, so an answer streamed and the same
answer reopened from history are drawn alike (tests/ui/test_plain_blocks.py).
"""

from __future__ import annotations

import asyncio
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from functools import partial
from typing import TYPE_CHECKING

from rich.segment import Segment
from textual.content import Content, Span
from textual.strip import Strip
from textual.visual import Visual
from textual.widgets import Label, Markdown
from textual.widgets._markdown import MarkdownBlock, MarkdownFence, MarkdownParagraph  # Textual 8.2.8 (pinned)

from tui_agent.ui.layout_hold import layout_hold
from tui_agent.ui.widgets.flat_lists import FlatBulletList, FlatOrderedList

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from textual.await_complete import AwaitComplete
    from markdown_it.rules_core import StateCore
    from markdown_it.token import Token
    from textual.geometry import Size

PLAIN_BLOCK_AFTER = 100_000  # characters: longer blocks are drawn as plain lines
PARSE_APART_AFTER = 100_000  # characters: an append that re-parses more parses in a worker thread
TAB_SIZE = 8
KEPT_HIGHLIGHTS = 8  # highlighted code blocks kept (`highlighted`)
HIGHLIGHT_APART_AFTER = 4_000  # characters of code: an appended block longer is highlighted in a worker thread


def drawn_plain(text: str) -> bool:
    """Whether a block (a code block's code, a paragraph's text) is drawn as plain lines: the one rule, so that the
    parser, the paragraph and the code block never disagree about a block."""
    return len(text) > PLAIN_BLOCK_AFTER


def answer_parser() -> "MarkdownIt":
    """Textual's parser ("gfm-like"), with a normalising rule that gives the same text without a regex that holds
    the interpreter (`code_blocks.normalize`), and except that the inline Markdown of a paragraph longer than
    PLAIN_BLOCK_AFTER is not read and its bare URLs are not looked for: the paragraph gets its text as one plain
    text token (parsing megabytes of inline Markdown took seconds, and the paragraph is drawn plain anyway)."""
    from markdown_it import MarkdownIt

    from tui_agent.ui.code_blocks import normalize

    parser = MarkdownIt("gfm-like")
    parser.core.ruler.at("normalize", normalize)
    parser.core.ruler.at("inline", _inline_unless_long)
    parser.core.ruler.at("linkify", _linkify_unless_long)
    return parser


def _linkify_unless_long(state: "StateCore") -> None:
    """Find bare URLs, except in a paragraph drawn plain: the search alone took 1.1 s over 5 MB (one regex call, the
    event loop held throughout)."""
    from markdown_it.rules_core import linkify

    long = [token for token in state.tokens if token.type == "inline" and drawn_plain(token.content)]
    for token in long:
        token.type = "inline_plain"  # not "inline": the rule passes over it
    try:
        linkify(state)
    finally:
        for token in long:
            token.type = "inline"


def _inline_unless_long(state: "StateCore") -> None:
    from markdown_it.token import Token

    for token in state.tokens:
        if token.type != "inline":
            continue
        if token.children is None:
            token.children = []
        if drawn_plain(token.content):
            text = Token("text", "", 0)
            text.content = token.content
            token.children.append(text)
        else:
            state.md.inline.parse(token.content, state.md, state.env, token.children)


class _PlainLines:
    """What a block drawn as plain lines shares: the width it takes, its height, and a line cut to the width.

    `plain` is None while the block is drawn as Textual draws it; the class says what a plain line is."""

    plain = None

    def _plain_height(self, width: int) -> int:
        raise NotImplementedError

    def _plain_line(self, y: int, width: int) -> str:
        raise NotImplementedError

    def get_content_width(self, container: "Size", viewport: "Size") -> int:
        if self.plain is None:
            return super().get_content_width(container, viewport)
        return container.width

    def get_content_height(self, container: "Size", viewport: "Size", width: int) -> int:
        if self.plain is None:
            return super().get_content_height(container, viewport, width)
        return self._plain_height(width)

    def render_line(self, y: int) -> Strip:
        if self.plain is None:
            return super().render_line(y)
        width = max(0, self.content_region.width)
        style = self.rich_style  # a wide character counts two cells: the line is cut or padded to the width in cells
        return Strip([Segment(self._plain_line(y, width), style)]).adjust_cell_length(width, style)


class PlainParagraph(_PlainLines, MarkdownParagraph):
    """A paragraph; longer than PLAIN_BLOCK_AFTER, its text as plain lines wrapped at the width."""

    # Its inline styles (`em`, `strong`, `s`, `code_inline`) are read as rules when its content renders: the
    # paragraphs of an answer share them instead of each matching the stylesheet four times (ui/textual_fixes.py).
    SHARE_COMPONENT_STYLES = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.plain: str | None = None  # the text, when drawn plain

    def build_from_token(self, token: "Token") -> None:
        if not drawn_plain(token.content):
            self.plain = None
            super().build_from_token(token)
            return
        self._inline_token = token
        self.plain = token.content.replace("\n", " ").expandtabs(TAB_SIZE)
        self._content = Content("")
        self.refresh(layout=True)

    async def _update_from_block(self, block: MarkdownBlock) -> None:
        if isinstance(block, PlainParagraph) and block.plain is not None:
            self._copy_context(block)
            self._inline_token, self.plain, self._content = block._inline_token, block.plain, block._content
            self.refresh(layout=True)
            return
        self.plain = None
        await super()._update_from_block(block)

    def _plain_height(self, width: int) -> int:
        return max(1, -(-len(self.plain) // max(1, width)))

    def _plain_line(self, y: int, width: int) -> str:
        return self.plain[y * width:(y + 1) * width]


class CodeLines(Label):
    """A code block's highlighted code, each line rendered when the screen shows it.

    Textual's Label renders all of its content before its first line shows: 50 ms for a 300-line block on the
    machine of docs/benchmarks.md, in one callback of the event loop when a long code block first appears, and a
    key typed then waited for it. Code in a code block is never wrapped (its Label is as wide as its longest line,
    and the block scrolls sideways), so a line of the content rendered alone is what the whole render makes of it,
    once it says which line it is (the places characters carry for a mouse selection). With a selection in it, the
    block is drawn as Textual draws it.

    The lines are made from the highlighted content as they are shown (`CodeLineIndex`), not split out of it all at
    once: a split holds a copy of every line's styles beside the content's own, and Textual's split caches two more
    tables on the content, which `highlighted` keeps for the last few blocks after they leave the screen."""

    _index: tuple[object, "CodeLineIndex | None"] | None = None  # (the visual, its lines)

    def get_content_height(self, container: "Size", viewport: "Size", width: int) -> int:
        # As wide as its longest line, no line wraps: the height is the number of lines. Textual wraps all of the
        # code to count them (15 ms for a 300-line block, measured again at each of the layouts that place it). Tabs
        # take more cells than the width counts them for: measured as Textual measures them.
        visual = self.visual
        if width and isinstance(visual, Content) and "\t" not in visual.plain:
            if width >= visual.get_optimal_width(self.styles, width):
                return visual.plain.count("\n") + 1
        return super().get_content_height(container, viewport, width)

    def _code_lines(self) -> "CodeLineIndex | None":
        visual = self.visual
        if self._index is None or self._index[0] is not visual:
            self._index = (visual, CodeLineIndex(visual) if isinstance(visual, Content) else None)
        return self._index[1]

    def render_line(self, y: int) -> Strip:
        lines = self._code_lines()
        if lines is None or self.text_selection is not None or self.styles.content_align != ("left", "top"):
            return super().render_line(y)
        width = self.size.width
        if not 0 <= y < lines.count:
            return Strip.blank(width, self.visual_style.rich_style)
        strips = Visual.to_strips(self, lines.line(y), width, 1, self.visual_style)
        return strips[0].apply_offsets(0, y) if strips else Strip([])


class CodeLineIndex:
    """The lines of a Content, each made when asked: what `content.split("\\n", allow_blank=True)` gives, without
    making every line at once.

    Built once: where each line starts, and for each line the spans (styles) that reach into it, as indices in one
    flat array. A line is its text with those spans cut to it, in the content's order, as Textual's `divide` cuts
    them. The last KEPT_LINES lines made are kept (a repaint draws the same ones again). For the 1,733-line code block
    of 99 KB measured for docs/benchmarks.md (17,331 spans), the split held 4.4 MB and took 44 ms in the event loop
    at its first paint; the index, with its last lines made, holds 256 KB and is built in 20 ms."""

    KEPT_LINES = 128

    def __init__(self, content: Content) -> None:
        plain = content.plain
        self._content = content
        starts = array("i", [0])
        at = plain.find("\n")
        while at != -1:
            starts.append(at + 1)
            at = plain.find("\n", at + 1)
        self._starts = starts
        self.count = len(starts)
        lines_of: list[list[int]] = [[] for _ in range(self.count)]
        length = len(plain)
        for number, (start, end, _style) in enumerate(content.spans):
            if start >= length or end <= start:
                continue
            first, last = bisect_right(starts, start) - 1, bisect_right(starts, min(end, length) - 1) - 1
            for line in range(first, last + 1):
                lines_of[line].append(number)
        self._spans = array("i")
        self._bounds = array("i", [0])
        for numbers in lines_of:
            self._spans.extend(numbers)
            self._bounds.append(len(self._spans))
        self._made: OrderedDict[int, Content] = OrderedDict()

    def line(self, y: int) -> Content:
        made = self._made.get(y)
        if made is not None:
            self._made.move_to_end(y)
            return made
        plain, spans = self._content.plain, self._content.spans
        start = self._starts[y]
        end = self._starts[y + 1] - 1 if y + 1 < self.count else len(plain)
        cut = []
        for number in self._spans[self._bounds[y]:self._bounds[y + 1]]:
            span_start, span_end, style = spans[number]
            new_start, new_end = max(0, span_start - start), min(span_end, end) - start
            if new_end > new_start:
                cut.append(Span(new_start, new_end, style))
        made = self._made[y] = Content(plain[start:end], cut)
        if len(self._made) > self.KEPT_LINES:
            self._made.popitem(last=False)
        return made


class PlainFence(_PlainLines, MarkdownFence):
    """A code block; longer than PLAIN_BLOCK_AFTER, its lines unhighlighted, cut at the width."""

    DEFAULT_CSS = """
    PlainFence.-plain {
        padding: 1 2;
        overflow: hidden hidden;
    }
    """

    def __init__(self, markdown: Markdown, token: "Token", code: str) -> None:
        self.plain: list[str] | None = None  # the lines, when drawn plain
        if not drawn_plain(code):
            super().__init__(markdown, token, code)
            return
        MarkdownBlock.__init__(self, markdown, token)
        self.code, self.lexer, self.auto_links = code, token.info, False
        self._highlighted_code = Content("")
        self.plain = code.expandtabs(TAB_SIZE).split("\n")
        self.add_class("-plain")

    @classmethod
    def highlight(cls, code: str, language: str, ansi: bool = False, dark: bool = False) -> Content:
        return highlighted(code, language, ansi, dark)

    def compose(self):
        if self.plain is None:  # Textual's MarkdownFence.compose, with the Label that renders a line at a time
            yield CodeLines(self._highlighted_code, id="code-content", expand=True)

    def notify_style_update(self) -> None:
        if self.plain is None:
            super().notify_style_update()
        else:  # nothing highlighted to redo for a new theme
            MarkdownBlock.notify_style_update(self)

    def set_content(self, content: Content) -> None:
        if self.plain is None:
            super().set_content(content)

    async def _update_from_block(self, block: MarkdownBlock) -> None:
        if isinstance(block, PlainFence) and (block.plain is None) == (self.plain is None):
            if (block.code, block.lexer) == (self.code, self.lexer):  # the same block, parsed again: nothing to draw
                self._copy_context(block)
                return
            if self.plain is not None:
                self._copy_context(block)
                self.plain = block.plain
                self.refresh(layout=True)
                return
            await super()._update_from_block(block)
        else:  # one drawn plain and one not: the new block replaces this one
            await MarkdownBlock._update_from_block(self, block)

    def _plain_height(self, width: int) -> int:
        return len(self.plain)

    def _plain_line(self, y: int, width: int) -> str:
        return self.plain[y] if 0 <= y < len(self.plain) else ""


class _KeptHighlights:
    """Textual's highlighting (`MarkdownFence.highlight`), kept for the last few code blocks (KEPT_HIGHLIGHTS): while
    a code block is an answer's last block, every append parses it again and makes a new block of it, and Textual
    highlights the code of each new block (90 ms for a 300-line block here) though nothing in it changed.

    When a block's code has grown (the same block, streamed further), the shorter code it began with is dropped: it
    is never asked for again, and a highlighted block's spans are many (until the fourteenth pass of
    docs/benchmarks.md it held them twice over, its lines being split for `CodeLines`). Kept as a plain LRU, the
    versions of a streaming block stayed alive: 10,000 of the 17,000 spans alive while the 94 KB answer streamed,
    scanned by every full garbage collection (`docs/benchmarks.md`).
    Called from the event loop and from `highlight_apart`'s worker thread: the lock guards the dict, not the work."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[str, str, bool, bool], Content] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, code: str, language: str, ansi: bool, dark: bool) -> Content:
        key = (code, language, ansi, dark)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        content = MarkdownFence.highlight(code, language, ansi, dark)
        with self._lock:
            for grown_out_of in [kept for kept in self._kept if kept[1:] == key[1:] and code.startswith(kept[0])]:
                del self._kept[grown_out_of]
            self._kept[key] = content
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return content

    def cache_clear(self) -> None:
        with self._lock:
            self._kept.clear()


highlighted = _KeptHighlights(KEPT_HIGHLIGHTS)


async def highlight_apart(tokens: list["Token"], ansi: bool, dark: bool) -> None:
    """Highlight the code of each long code block among `tokens` in a worker thread, for its block to find done.

    A code block is highlighted when its block is made, in the event loop: 50 ms for a 300-line block on the
    machine of docs/benchmarks.md, when it is appended whole once it has ended (it is held back while it streams).
    Pygments is Python and gives the interpreter back every few milliseconds (the switch interval), so keys typed
    meanwhile are still handled. (Code already highlighted comes back from `highlighted` at once.)"""
    loop = asyncio.get_running_loop()
    for token in tokens:
        if token.type not in ("fence", "code_block"):
            continue
        code = token.content.rstrip()  # what Textual's `_parse_markdown` gives the block
        if HIGHLIGHT_APART_AFTER < len(code) and not drawn_plain(code):
            await loop.run_in_executor(None, highlighted, code, token.info, ansi, dark)


def _parse(parser: "MarkdownIt", source: str) -> tuple[list["Token"], int | None, int]:
    """`source`'s tokens, and where its last top-level block begins: its line (as markdown-it counts, None when no
    block has one) and the length of the lines before it (as `str.splitlines` counts them, as Textual does)."""
    tokens = parser.parse(source)
    for token in reversed(tokens):
        if token.map is not None and token.level == 0:
            skipped = token.map[0]
            return tokens, skipped, sum(map(len, source.splitlines(keepends=True)[:skipped]))
    return tokens, None, 0


# The top-level tokens Textual 8.2.8's `Markdown._parse_markdown` makes a block of (any other, such as an HTML
# block, it passes to `unhandled_token`, which makes none).
_BLOCK_TOKENS = frozenset({"heading_open", "hr", "paragraph_open", "blockquote_open", "bullet_list_open",
                           "ordered_list_open", "table_open", "fence", "code_block"})


def top_level_blocks(tokens: list["Token"]) -> list[list["Token"]]:
    """`tokens` cut into the top-level blocks the Markdown draws, in order: each one's tokens, from the one that opens
    it to the one that closes it (a block drawn from them alone is the block a parse of the whole source draws)."""
    groups: list[list["Token"]] = []
    for token in tokens:
        if token.level == 0 and token.nesting >= 0 or not groups:
            groups.append([token])
        else:
            groups[-1].append(token)
    return [group for group in groups if group[0].type in _BLOCK_TOKENS]


def _sharing_component_styles(block: type[MarkdownBlock]) -> type[MarkdownBlock]:
    """Textual's `block` under its own name (so every CSS rule and picture is the same), its inline styles shared
    with its siblings (ui/textual_fixes.py): a heading reads them as rules when its content renders, as a
    paragraph does."""
    return type(block.__name__, (block,), {"SHARE_COMPONENT_STYLES": True, "__doc__": block.__doc__,
                                           "__module__": __name__})


_HEADINGS = {f"h{level}": _sharing_component_styles(Markdown.BLOCKS[f"h{level}"]) for level in range(1, 7)}


class AnswerMarkdown(Markdown):
    """Textual's Markdown with the answer's rule for blocks too long to draw as Markdown (see the module); its lists
    of one-paragraph items drawn by one widget each (ui/widgets/flat_lists.py); its code blocks' highlighting kept,
    done in a worker thread when long, and their lines rendered as shown (`highlighted`, `highlight_apart`,
    `CodeLines`). What it draws is what Textual's Markdown draws, cell for cell (tests/ui/test_flat_lists.py,
    test_code_lines.py, test_plain_blocks.py for the long blocks' own rule)."""

    # Its own lines are blank (its blocks draw the text; it has no border or padding): Textual's `BLANK` draws
    # them as blank lines of its background at once. Otherwise each layout while the answer grows (its height
    # changes) made and styled every line of it that shows, only for its blocks to cover them: 1-4 ms a layout.
    BLANK = True

    BLOCKS = {**Markdown.BLOCKS, **_HEADINGS, "paragraph_open": PlainParagraph, "fence": PlainFence,
              "code_block": PlainFence, "bullet_list_open": FlatBulletList, "ordered_list_open": FlatOrderedList}

    def __init__(self, markdown: str | None = None, **kwargs) -> None:
        super().__init__(markdown, parser_factory=answer_parser, **kwargs)
        self._parser: "MarkdownIt | None" = None
        self._line_start: tuple[int, int] | None = None  # (line, offset): where the last block's line begins

    def update(self, markdown: str) -> "AwaitComplete":
        self._line_start = None
        return super().update(markdown)

    @property
    def parser(self) -> "MarkdownIt":
        """The one parser every append and `blocks_of_source` use (`answer_parser`), made on first use."""
        if self._parser is None:
            self._parser = answer_parser()
        return self._parser

    @staticmethod
    async def _parsed(parse, source: str):
        """`parse(source)`, in a worker thread when `source` is longer than PARSE_APART_AFTER (as Textual's `update()`
        runs every parse): the event loop gets the interpreter back every few milliseconds meanwhile."""
        if len(source) > PARSE_APART_AFTER:
            return await asyncio.get_running_loop().run_in_executor(None, parse, source)
        return parse(source)

    async def blocks_of_source(self) -> list[list["Token"]]:
        """The tokens of each top-level block of the whole source, as `update()` would draw them (`top_level_blocks`)."""
        return top_level_blocks(await self._parsed(self.parser.parse, self.source))

    def make_blocks(self, tokens: list["Token"]) -> list[MarkdownBlock]:
        """The block widgets for `tokens` (one or more of `blocks_of_source`'s groups), not mounted."""
        return list(self._parse_markdown(tokens))

    def _offset_of(self, line: int) -> int:
        """Where line `line` of the source begins (lines as `str.splitlines` counts them, as Textual does)."""
        known = self._line_start
        if known is not None and known[0] == line and not (known[1] and self._markdown[known[1] - 1] == "\r"):
            return known[1]  # (a line that ended in CR may have become a CR LF since: counted again)
        return sum(map(len, self._markdown.splitlines(keepends=True)[:line]))

    def append(self, markdown: str) -> "AwaitComplete":
        """Textual 8.2.8's `Markdown.append`, with four differences that leave what is drawn as it was:

        - no `batch_update` is held while the new blocks mount: Textual's held it across the awaits of the mount, and
          while it is held the screen draws no frame, so a key typed during an append waited for every one of them
          (measured black-box: keys processed within a few ms, then on screen 75-330 ms later);
        - the text re-parsed (from the line where the last block begins) is found from that line's offset, kept
          from the previous append, instead of splitting the whole source into lines on every append (30-50 ms for
          a 5 MB answer);
        - the screen's layout is held while the new blocks mount (ui/layout_hold.py): one layout per append;
        - one parser serves every append, and a re-parse of more than PARSE_APART_AFTER characters (the end of a
          long block held back while it streamed) runs in a worker thread, as Textual's `update` runs every parse:
          the event loop gets the interpreter back every few milliseconds meanwhile, so keys still show; and so is
          the highlighting of a code block longer than HIGHLIGHT_APART_AFTER (`highlight_apart`).
        """
        from textual.await_complete import AwaitComplete
        from textual.widgets._markdown import MarkdownHeader

        parser = self.parser
        self._markdown = self.source + markdown

        async def await_append() -> None:
            async with self.lock:
                # Where to re-parse from is read under the lock (Textual read it before, so an append queued behind
                # another re-parsed from a block the other had already moved past).
                line = self._last_parsed_line
                offset = self._offset_of(line)
                tokens, skipped, length = await self._parsed(partial(_parse, parser), self._markdown[offset:])
                existing_blocks = [child for child in self.children if isinstance(child, MarkdownBlock)]
                if skipped is not None:
                    self._last_parsed_line = line + skipped
                    self._line_start = (line + skipped, offset + length)
                await highlight_apart(tokens, self.app.native_ansi_color, self.app.current_theme.dark)
                new_blocks = list(self._parse_markdown(tokens))
                any_headers = any(isinstance(block, MarkdownHeader) for block in new_blocks)
                for block in new_blocks:
                    block_start, block_end = block.source_range
                    block.source_range = (block_start + line, block_end + line)
                with layout_hold(self):  # one layout for the whole mount, not one per step of it
                    if existing_blocks and new_blocks:
                        last_block = existing_blocks[-1]
                        last_block.source_range = new_blocks[0].source_range
                        try:
                            await last_block._update_from_block(new_blocks[0])
                        except IndexError:
                            pass
                        else:
                            new_blocks = new_blocks[1:]
                    if new_blocks:
                        await self.mount_all(new_blocks)
                if any_headers:
                    self._table_of_contents = None
                    self.post_message(Markdown.TableOfContentsUpdated(self, self.table_of_contents).set_sender(self))

        return AwaitComplete(await_append())
