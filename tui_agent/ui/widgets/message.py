"""One widget per conversation entry: the user's turn, a streamed assistant answer, and notes from the app.

Everything shown goes through the terminal sanitiser first (the stored history keeps the original text).

An answer streams into Textual's Markdown by time-coalesced appends (a few per frame, never one per chunk; fewer while
the event loop is busy; a backlog in bounded slices) and is reconciled when it ends, so nothing that arrived is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left, bisect_right
from functools import partial
from typing import TYPE_CHECKING, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Collapsible, Markdown, Static

from tui_agent.sanitize import StreamSanitizer, sanitize
from tui_agent.ui.input_timing import may_start_work, user_typing
from tui_agent.ui.layout_hold import layout_hold
from tui_agent.ui.widgets.answer_markdown import AnswerMarkdown
from tui_agent.service.agent import NO_TEXT

if TYPE_CHECKING:
    from textual.app import App
    from textual.events import Resize

    from tui_agent.ui.code_blocks import CodeBlock

AnswerState = Literal["waiting", "streaming", "complete", "stopped", "error"]

log = logging.getLogger("tui_agent.ui.message")

# How long deltas are buffered before one write to the stream: short enough to look live (two or three
# frames), long enough that a fast stream costs tens of appends a second instead of thousands.
FLUSH_INTERVAL = 0.04
# While the event loop runs late (each append of a long answer re-lays out every block of it), writes are spaced
# out to twice the lateness, up to this, so keys and scrolling still get most of the loop (bench/streaming.py).
MAX_FLUSH_INTERVAL = 0.5
# While the user types, writes go in the gaps between keys: a slice takes the loop for its parse, its mount and the
# layout that places it (20-45 ms), and a key arriving then waits for it. A slice starts only in the first part of the
# gap after a key that is on screen (`may_start_work`, ui/input_timing.py), polled every KEY_POLL, so that it ends
# before the next key comes; at full speed this is what keeps keys from waiting for the answer, which is then drawn
# in the gaps and ends later. Text is never held back for more than MAX_FLUSH_INTERVAL since the last write.
KEY_POLL = 0.01
# A waiting or streaming answer that has received nothing for this long says so, counting up each second, until
# data arrives (the provider's idle limit, `[providers.X.timeouts]`, ends it in the end).
STALL_NOTICE_AFTER = 5.0
# Textual re-arranges every widget of the screen on each layout, so a write to a long answer costs more the
# longer it is (≈ 300 ms at 290 blocks). While the view follows the bottom of a streaming answer, its blocks
# that can no longer change and lie far above the view are folded: removed, one spacer of their height standing in
# for them. A write then re-arranges a bounded number of widgets, and the answer holds a bounded number of them
# (each Markdown block is tens of KB; a 94 KB answer is ≈ 1,300 widgets). They stay folded when the answer ends,
# and are made again from the answer's source, nearest first, when the user scrolls up or the view grows taller
# (docs/answer-folding.md).
# Every layout re-arranges every shown widget (≈ 1 ms each on a busy 2-core machine), so few are kept: measured
# black-box (bench/echo_pty.py, 500 chunks/s), 20 / 6 / 1.3 views gave echo p95 477-480 ms where 60 / 20 / 2 gave
# 589-737 in the same runs.
FOLD_AFTER = 20  # shown top-level blocks of a streaming answer before the oldest are folded
FOLD_KEEP = 6  # the latest blocks always shown (more when they do not fill KEEP_VIEWS views)
KEEP_VIEWS = 1.3  # what stays shown covers this many heights of the view, so the spacer is never on screen
UNFOLD_SLICE = 20  # folded blocks made again per frame when they come back
UNFOLD_FRAMES = 10  # frames a slice of them waits for its layout before the next is made all the same
# Removing a widget is work for Textual (each of its descendants ends its message loop): folded blocks are hidden in
# the fold's frame and removed afterwards, this many top-level blocks a frame. Removed in the fold itself, keys typed
# during a stream waited longer (black-box echo p95 +10-20 %); a slice a frame apart costs none measurably.
REMOVE_SLICE = 20


# A streaming block (a paragraph, a code fence) is drawn whole on every write: Textual re-parses, re-highlights and
# re-wraps all of it, so a write costs as much as the block is long (a 300-line fence ≈ 0.1-0.3 s, a 5 MB
# paragraph seconds). Once the block being written is longer than this, it is held back from the Markdown and only
# its last lines show, as plain text, until it ends; it is then drawn once, as a one-shot render would draw it.
HOLD_BLOCK_AFTER = 6_000  # characters
TAIL_CHARS = 3_000  # of a held block shown while it streams (a screenful or two)…
TAIL_LINES = 20  # …and at most this many of its lines
# While the user types, text that arrived faster than it could be drawn (a fast stream, or a burst at the end) is
# appended in slices of about this many characters, a frame apart and each in a gap between keys (KEY_POLL, above):
# each append parses and mounts its blocks and the next frame lays them out, so a slice takes the event loop for tens
# of milliseconds, where the whole backlog in one append took it for up to the cost of a one-shot render (≈ 2 s for
# 94 KB), and every key typed then waited for it.
# Nobody typing, the slices are larger (a frame between slices makes the answer end later) but still bounded: the
# first key typed after a pause waits for one slice, not for the whole backlog (at full speed a 94 KB answer went
# in one append that held the loop for 0.1-0.3 s), and the answer's old blocks are folded between slices, so they
# never all exist at once (resident memory after that answer 90 MB in one append, 80 MB in slices of 12 KB; the
# answer ends ≈ 0.3 s later, measured in-process: docs/benchmarks.md, sixth pass).
WRITE_SLICE = 2_000  # characters
IDLE_WRITE_SLICE = 12_000  # characters
# …and of at most this many blocks either way: a slice of short blocks is as many widgets to mount and lay out.
WRITE_BLOCKS = 30
PARSE_CODE_APART_AFTER = 8_000  # characters of an ended answer beyond which its code blocks are parsed in a thread
FRAME_WAIT_LIMIT = 0.5  # seconds a slice waits for the frame after the previous one before going on anyway


async def _key_poll() -> None:
    await asyncio.sleep(KEY_POLL)


async def next_frame(widget: Widget) -> None:
    """Until the next frame is drawn (keys typed meanwhile are shown in it); at once if the widget is gone, and after
    FRAME_WAIT_LIMIT if no frame comes (the screen is not shown)."""
    if not widget.is_attached:
        return
    try:
        await asyncio.wait_for(widget.wait_for_refresh(), FRAME_WAIT_LIMIT)
    except asyncio.TimeoutError:
        pass


class _BlockScanner:
    """Finds where the top-level Markdown block being streamed began, reading each line of the answer once.

    Line rules only (what CommonMark says ends a block, cheaply): a blank line outside a code fence ends a block; a
    fence (``` or ~~~, indented at most three spaces) is one block from its opening line to its closing line. A
    list or a quote with no blank lines counts as one block, which only errs towards holding it back.
    """

    def __init__(self) -> None:
        self.starts = [0]  # offsets where top-level blocks begin, in order (where a write may cut the text)
        self.fence = ""  # the open fence's marker ("```", "~~~~", …), "" outside a fence
        self._line_start = 0  # offset of the first line not yet read (lines are read once complete)
        self._searched = 0  # how far the text has been searched for the end of that line

    @property
    def block_start(self) -> int:
        """Offset in the text where the block being streamed began."""
        return self.starts[-1]

    def _block_starts_at(self, offset: int) -> None:
        if offset > self.starts[-1]:
            self.starts.append(offset)

    def slice_end(self, written: int, end: int, size: int) -> int:
        """Where a write that starts at `written` and may go up to `end` stops: the last block start within `size`
        characters and WRITE_BLOCKS blocks, or, when the block at `written` is longer than that, the end of that block (a
        block is never cut: each write re-parses and re-draws the last block from its start)."""
        starts = self.starts
        first = bisect_right(starts, written)  # the first block that starts after `written`
        if end - written <= size and bisect_left(starts, end) - first < WRITE_BLOCKS:
            return end
        i = min(bisect_right(starts, written + size) - 1, first + WRITE_BLOCKS - 1)
        if starts[i] > written:
            return min(starts[i], end)
        return min(starts[i + 1], end) if i + 1 < len(starts) else end

    def feed(self, text: str) -> None:
        """Read the complete lines of `text` (the whole answer so far) that have not been read yet."""
        while True:
            end = text.find("\n", max(self._line_start, self._searched))
            if end < 0:
                self._searched = len(text)  # a line with no end yet (a long paragraph) is not searched again
                return
            self._read_line(text[self._line_start:end], self._line_start, end + 1)
            self._line_start = end + 1

    def _read_line(self, line: str, start: int, after: int) -> None:
        stripped = line.lstrip(" ")
        if self.fence:
            if len(line) - len(stripped) <= 3 and stripped.rstrip().startswith(self.fence) \
                    and not stripped.rstrip().strip(self.fence[0]):
                self.fence = ""
                self._block_starts_at(after)
            return
        if not line.strip():
            self._block_starts_at(after)
        elif len(line) - len(stripped) <= 3 and stripped[:3] in ("```", "~~~"):
            marker = stripped[0]
            self.fence = marker * (len(stripped) - len(stripped.lstrip(marker)))
            self._block_starts_at(start)


class _Feed:
    """Buffers text for one Markdown widget and appends it at most every FLUSH_INTERVAL, one bounded slice at a time.

    With `show_tail` (the answer, not its thinking), a block longer than HOLD_BLOCK_AFTER is held back until it ends,
    and `show_tail` is given its last characters to show instead (None once nothing is held); and a backlog (text
    that arrived faster than it could be drawn) is appended in slices of about WRITE_SLICE characters, cut where
    blocks begin, a frame apart, so a key typed meanwhile waits for one slice, not for all of it; while the user
    types, each slice starts in the gap just after a key (`_keys_allow`), so that keys wait for none.
    """

    def __init__(self, owner: Widget, markdown: Markdown, interval: float = FLUSH_INTERVAL, show_tail=None) -> None:
        self._owner = owner
        self._mounting = None  # the AwaitMount of a Markdown mounted mid-stream: its on_mount resets the source
        self._markdown = markdown
        self._base_interval = self._interval = interval
        self._due = 0.0
        self._held_since = 0.0  # when the oldest text not yet written arrived
        self._wrote_at = 0.0  # when the last slice was appended
        self._parts: list[str] = []
        self._length = 0  # of the text received
        self._written = 0  # how much of it has been appended to the Markdown
        self._show_tail = show_tail
        self._scanner = _BlockScanner() if show_tail is not None else None
        self._tail_shown = False
        self._appending = asyncio.Lock()  # one append at a time: two at once can misplace blocks (see finish)
        self._timer: Timer | None = None
        self._wanted = asyncio.Event()  # the writer task has something to append
        self._writer_task: asyncio.Task | None = None
        self._closed = False

    @property
    def text(self) -> str:
        if len(self._parts) > 1:  # joined once and kept joined: asked often (copy, footer checks), grows rarely
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def add(self, text: str) -> None:
        if self._closed or not text:
            return
        if self._written == self._length:
            self._held_since = time.perf_counter()
        self._parts.append(text)
        self._length += len(text)
        if self._timer is None:
            self._due = time.perf_counter() + self._interval
            self._timer = self._owner.set_timer(self._interval, self._flush, name="markdown-feed")

    def _writable_end(self) -> int:
        """Where the text may be written up to now: its end, or the start of a long block still streaming."""
        if self._scanner is None:
            return self._length
        text = self.text
        self._scanner.feed(text)
        start = self._scanner.block_start
        held = self._length - start > HOLD_BLOCK_AFTER
        if held:
            # What of the block is not in the Markdown: its beginning may be, written before it grew this long.
            self._show_tail(text[max(start, self._length - TAIL_CHARS):], self._length - max(start, self._written))
            self._tail_shown = True
        else:
            self._hide_tail()
        return start if held else self._length

    def _hide_tail(self) -> None:
        if self._tail_shown:
            self._show_tail(None, 0)
            self._tail_shown = False

    def _slice_end(self, end: int) -> int:
        if self._scanner is None:  # the thinking: collapsed, cheap to draw; written whole
            return end
        size = WRITE_SLICE if user_typing(self._app()) else IDLE_WRITE_SLICE
        return self._scanner.slice_end(self._written, end, size)

    async def _flush(self) -> None:
        self._timer = None
        now = time.perf_counter()
        late = now - self._due
        self._interval = min(MAX_FLUSH_INTERVAL, max(self._base_interval, 2 * late))
        await self._write_when_keys_allow()

    async def _write_when_keys_allow(self) -> None:
        if self._closed or self._written == self._length:
            return
        if self._keys_allow():
            self._write()
        elif self._timer is None:  # the user types: poll for the gap after their next key
            self._due = time.perf_counter() + KEY_POLL
            self._timer = self._owner.set_timer(KEY_POLL, self._flush, name="markdown-feed")

    def _keys_allow(self) -> bool:
        """Whether a slice may start now: nobody types, or it is the gap after a key, or nothing was written for
        MAX_FLUSH_INTERVAL (since the last slice, or since the text waiting arrived)."""
        waited = time.perf_counter() - max(self._held_since, self._wrote_at)
        return waited >= MAX_FLUSH_INTERVAL or may_start_work(self._app())

    def _app(self) -> "App | None":
        """The owner's app, or None once the owner is gone (the key timing then lets the feed write)."""
        return getattr(self._owner, "app", None)

    async def _until_keys_allow(self, *, unless_closed: bool = False) -> None:
        """Until a slice may start (`_keys_allow`); or, `unless_closed`, until the feed is closed (the writer task:
        `finish` then writes the rest, waiting likewise)."""
        while not self._keys_allow() and not (unless_closed and self._closed):
            await _key_poll()

    def _write(self) -> None:
        """Have the writer task append what may be written now (it runs apart from the screen, see `_writer`)."""
        self._wanted.set()
        if self._writer_task is None:
            self._writer_task = asyncio.create_task(self._writer(), name="markdown-feed-writer")

    async def _writer(self) -> None:
        """Append slices, one at a time, a frame apart, whenever asked; until the feed closes.

        A task of its own, as Textual's MarkdownStream is: an append awaits the mounting of its blocks, and awaited
        in the screen's task (where timers' after-refresh callbacks run) it would hold back the very frames that
        show the keys typed meanwhile.
        """
        try:
            while not self._closed:
                await self._wanted.wait()
                self._wanted.clear()
                while not self._closed and await self._append_slice(final=False):
                    await next_frame(self._owner)
                    await self._until_keys_allow(unless_closed=True)
        except Exception:  # the widget went away mid-append: what is left is appended by finish, or by a new task
            log.debug("an answer's writer stopped", exc_info=True)
        finally:
            self._writer_task = None

    async def _append_slice(self, *, final: bool) -> bool:
        """Append the next slice (up to the writable end, or to the end when `final`); True if more may follow."""
        await self._until_mounted()
        async with self._appending:
            if self._closed and not final:  # finish writes the rest
                return False
            end = self._length if final else self._writable_end()
            if end <= self._written:
                return False
            stop = self._slice_end(end)
            chunk = self.text[self._written:stop]
            self._written = stop
            self._wrote_at = time.perf_counter()
            # The layout that places the slice is work for the loop too (35 ms for a 300-line code block): when the
            # append ends late in a gap between keys, it waits for the next gap (LAYOUT_HOLD_LIMIT at most).
            with layout_hold(self._markdown):
                await self._markdown.append(chunk)
                await self._until_keys_allow()
            return stop < end

    def close_with(self, text: str) -> None:
        """Hold `text` as the whole, final content (already given to the widget): nothing more is fed."""
        self._parts = [text] if text else []
        self._length = self._written = len(text)
        self._closed = True

    def mounting(self, awaitable) -> None:
        self._mounting = awaitable

    async def _until_mounted(self) -> None:
        if self._mounting is not None:  # awaited by the writer task and by finish: one future both can wait on
            if not isinstance(self._mounting, asyncio.Future):
                self._mounting = asyncio.ensure_future(self._mounting)
            await self._mounting

    def close(self) -> None:
        """The widget is going away: nothing more is written, and the writer task ends."""
        self._closed = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._wanted.set()

    async def finish(self) -> bool:
        """Append everything not appended yet (in slices, a frame apart), then reconcile: what is shown equals what
        arrived. True when the reconcile drew the whole text again.

        Appends are made one at a time: two started together can misplace blocks in the thinking's Markdown (Textual
        8.2.8's own append computes what to re-parse before taking the widget's lock; the answer's reads it under
        the lock, `AnswerMarkdown.append`). The reconcile is one full `update()` only when the widget's source
        differs from the text (a write went missing): re-rendering a long answer that the appends already drew costs
        as much as rendering it once (seconds for 100 KB), and the appends render exactly what `update()` would
        (tests/perf/test_streamed_render.py checks that, line by line and style by style).
        """
        if self._closed:
            return False
        self.close()  # the writer task wakes, sees the feed closed and ends; the rest is appended here
        if self._scanner is not None:
            self._scanner.feed(self.text)
        while True:
            if self._written < self._length:  # the first slice too: the stream may end late in a gap between keys
                await self._until_keys_allow()
            if not await self._append_slice(final=True):
                break
            await next_frame(self._owner)
        text = self.text
        redrawn = self._markdown.source != text
        if redrawn:
            await self._markdown.update(text)
        self._hide_tail()
        return redrawn


def _has_fence_marker(text: str) -> bool:
    return "```" in text or "~~~" in text


def _code_blocks_of(text: str) -> list["CodeBlock"]:
    from tui_agent.ui.code_blocks import code_blocks

    fenced = _has_fence_marker(text) or "\n    " in text or text.startswith("    ")  # (or indented code)
    return code_blocks(text) if fenced else []


class UserMessage(Static):
    """What the user sent, shown as typed (no markup, no Markdown); `‹ 2/3 ›` below it when it has siblings."""

    def __init__(self, text: str, message_id: int | None = None) -> None:
        text = sanitize(text)
        super().__init__(Text(text), classes="user-message", markup=False)
        self.text = text
        self.message_id = message_id  # its stored id, once known
        self.mark: tuple[int, int] | None = None

    def set_mark(self, mark: tuple[int, int] | None) -> None:
        """Show where this prompt stands among its versions (None: it has none)."""
        if mark == self.mark:
            return
        self.mark = mark
        from tui_agent.ui.widgets.branch import mark_text

        body = Text(self.text)
        if mark is not None:
            body.append("\n" + mark_text(*mark), style="dim")
        self.update(body)


class Note(Static):
    """A line from the app itself: a model switch, help, a command's answer or a command's error."""

    def __init__(self, text: str, *, error: bool = False) -> None:
        text = sanitize(text)  # error notes quote servers' messages
        super().__init__(Text(text), classes="note -error" if error else "note", markup=False)
        self.text = text


class AssistantMessage(Vertical):
    """One answer: optional thinking (collapsed), the Markdown answer, and a status line when it did not finish."""

    def __init__(self, text: str | None = None, *, message_id: int | None = None, author: str = "") -> None:
        """An empty answer about to stream, or (with `text`) a finished one from history, rendered at mount.

        `author` (profile · provider · model) heads the answer, with `‹ 2/3 ›` when it has siblings.
        """
        super().__init__(classes="assistant-message")
        self.message_id = message_id  # its stored id, once known
        self.author = author
        self.mark: tuple[int, int] | None = None
        self._meta = Static(author, classes="answer-meta", markup=False)
        self._meta.display = bool(author)
        self.state: AnswerState = "waiting" if text is None else "complete"
        self.error: str = ""
        self.outcome_recorded = text is not None  # set by the screen once the transcript holds this answer's outcome
        if text is not None:
            text = sanitize(text)
        self._answer_sanitizer = StreamSanitizer()
        self._thinking_sanitizer = StreamSanitizer()
        # Text known up front goes straight to the Markdown (one update at mount), never through a stream.
        self._answer = AnswerMarkdown(text, classes="answer")
        self._answer_feed = _Feed(self, self._answer, show_tail=self._show_tail)
        self._tail: Static | None = None  # the last lines of a long block held back while it streams
        self._fold: Static | None = None  # the spacer standing in for folded blocks
        self._fold_height = 0
        self._folded_heights: list[int] = []  # each folded block's height, to the next block's top, in order
        self._fold_retry = False
        self._unfolding: asyncio.Task | None = None  # the folded blocks being made again
        self._hidden: list[Widget] = []  # folded blocks not removed yet (hidden)
        self._removing: asyncio.Task | None = None  # the hidden blocks being removed
        if text is not None:
            self._answer_feed.close_with(text)
        self._thinking: Markdown | None = None
        self._thinking_feed: _Feed | None = None
        self._blocks: list["CodeBlock"] = []
        self._blocks_for = -1  # the text length _blocks was parsed from
        self._blocks_parsing = None  # the worker parsing them apart, while it runs
        self._finished: asyncio.Event | None = None  # set once `finish` has drawn the end
        self._status = Static("waiting for the answer…  (Escape stops)", classes="answer-status", markup=False)
        self._status.display = text is None
        self.clock = time.monotonic  # replaceable in tests
        self._last_data = self.clock()
        self._stalled = False
        self._stall_timer: Timer | None = None

    def on_mount(self) -> None:
        if self.state == "waiting":
            self._last_data = self.clock()
            self._stall_timer = self.set_interval(1.0, self.check_stall, name="answer-stall")

    def compose(self) -> ComposeResult:
        yield self._meta
        yield self._answer
        yield self._status

    def on_unmount(self) -> None:
        self._answer_feed.close()
        if self._thinking_feed is not None:
            self._thinking_feed.close()

    def _show_tail(self, tail: str | None, held: int) -> None:
        """Show the end of a long block held back while it streams (None: nothing is held now); `held` characters
        of it are not in the Markdown."""
        if tail is None:
            if self._tail is not None:
                self._tail.display = False
            return
        if self._tail is None:
            self._tail = Static("", classes="answer-tail", markup=False)
            self.mount(self._tail, before=self._status)
        cut = tail.find("\n") + 1 if len(tail) < held else 0  # start on a whole line where one begins
        shown = tail[cut:] if 0 < cut < len(tail) else tail
        lines = shown.split("\n")
        if len(lines) > TAIL_LINES:  # short lines (code): the last screenful, so the heading stays in view
            shown = "\n".join(lines[-TAIL_LINES:])
        self._tail.update(f"… {max(0, held - len(shown)):,} characters of this block are not shown here; it is drawn "
                          f"in full when it ends.\n{shown}")
        self._tail.display = True

    def set_mark(self, mark: tuple[int, int] | None) -> None:
        """Show where this answer stands among its siblings (None: it has none) beside its author."""
        if mark == self.mark:
            return
        self.mark = mark
        self._show_meta()

    def set_author(self, author: str) -> None:
        """Name who writes this answer (profile · provider · model)."""
        self.author = author
        self._show_meta()

    def _show_meta(self) -> None:
        from tui_agent.ui.widgets.branch import meta_text

        self._meta.update(meta_text(self.author, self.mark))
        self._meta.display = bool(self.author or self.mark)

    # --- streaming -----------------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer's Markdown source as shown: received, then sanitised (what copy puts on the clipboard)."""
        return self._answer_feed.text

    def code_blocks(self) -> list["CodeBlock"]:
        """The answer's code blocks as source text; parsed once per text length, so cheap to ask often."""
        text = self.text
        if self._blocks_for != len(text):
            self._blocks, self._blocks_for = _code_blocks_of(text), len(text)
        return self._blocks

    def has_code_blocks(self) -> bool:
        """Whether the answer has a code block, cheaply enough to ask on every refresh of the footer's keys.

        While the answer streams its text changes on every write, and parsing all of it (`code_blocks`) each time
        the keys were checked held the event loop for tens of milliseconds on a 94 KB answer: until it ends, a
        fence marker in the text is taken as a code block (an indented one counts once the answer has ended). An
        ended answer longer than PARSE_CODE_APART_AFTER is parsed in a worker thread (the 94 KB answer of
        docs/benchmarks.md took 50 ms, a 5 MB code block 0.25 s, under the first keys typed after it), the fence
        marker answering until then."""
        text = self.text
        if self._blocks_for == len(text):
            return bool(self._blocks)
        if self.state in ("waiting", "streaming"):
            return _has_fence_marker(text)
        if len(text) > PARSE_CODE_APART_AFTER:
            if self._blocks_parsing is None and self.is_attached:
                self._blocks_parsing = self.run_worker(partial(self._parse_code_blocks_apart, text), group="code-blocks")
            return _has_fence_marker(text)
        return bool(self.code_blocks())

    async def _parse_code_blocks_apart(self, text: str) -> None:
        try:
            blocks = await asyncio.to_thread(_code_blocks_of, text)
        finally:
            self._blocks_parsing = None
        if self.text == text:
            self._blocks, self._blocks_for = blocks, len(text)
            self.screen.refresh_bindings()  # the footer asks again, and is answered from the blocks

    @property
    def thinking_text(self) -> str:
        return self._thinking_feed.text if self._thinking_feed is not None else ""

    def add_text(self, text: str) -> None:
        self._data_arrived()
        if self.state == "waiting":
            self._set_state("streaming")
        self._answer_feed.add(self._answer_sanitizer.feed(text))

    def add_thinking(self, text: str) -> None:
        if self._thinking is None:
            self._thinking = Markdown(classes="thinking-text")
            self._thinking_feed = _Feed(self, self._thinking)
            self._thinking_feed.mounting(
                self.mount(Collapsible(self._thinking, title="Thinking", collapsed=True, classes="thinking"), before=self._answer)
            )
        assert self._thinking_feed is not None
        self._data_arrived()
        if self.state == "waiting":
            self._status.update("thinking…  (Escape stops)")
        self._thinking_feed.add(self._thinking_sanitizer.feed(text))

    @property
    def stalled_for(self) -> float | None:
        """Seconds without data while the answer is live and stalled (shown in its status line), else None."""
        return self.clock() - self._last_data if self._stalled else None

    def check_stall(self) -> None:
        """Once a second while the answer is live: say how long nothing has arrived, once that is noticeable."""
        if self.state not in ("waiting", "streaming"):
            self._stop_stall_timer()
            return
        silent = self.clock() - self._last_data
        if silent < STALL_NOTICE_AFTER:
            return
        self._stalled = True
        doing = "waiting for the answer" if self.state == "waiting" else "streaming"
        self._status.update(f"… {doing} — no data for {int(silent)} s  (Escape stops)")

    def _data_arrived(self) -> None:
        self._last_data = self.clock()
        if self._stalled:
            self._stalled = False
            self._set_state(self.state)  # the usual status line again

    def _stop_stall_timer(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.stop()
            self._stall_timer = None

    def mark_stopped(self) -> None:
        """Record at once that the answer was stopped; `finish` draws the text that arrived, then the mark."""
        self._stop_stall_timer()
        self._stalled = False
        self.state = "stopped"

    async def finish(self, state: AnswerState, error: str = "") -> None:
        """End the answer: render everything that arrived, then say why it ended when it did not finish.

        In that order, so a stopped answer never shows its mark above text still being drawn; a second call
        (the stop, then the cancelled worker) waits for the first instead of marking the answer early."""
        if self._finished is not None:
            await self._finished.wait()
            return
        self._finished = asyncio.Event()
        try:
            self.error = sanitize(error)
            self._stop_stall_timer()
            self._stalled = False
            self._answer_feed.add(self._answer_sanitizer.flush())  # a sequence cut off by the end shows visibly
            if self._thinking_feed is not None:
                self._thinking_feed.add(self._thinking_sanitizer.flush())
            if self._thinking_feed is not None:
                await self._thinking_feed.finish()
            if await self._answer_feed.finish():  # drawn again whole: no block is folded any more
                self._drop_fold()
            self._set_state(state)
            self._remove_hidden()
        finally:
            self._finished.set()

    # --- folding (see FOLD_AFTER) -----------------------------------------------------------------------------

    @property
    def folded(self) -> int:
        """How many of the answer's blocks are folded away now."""
        return len(self._folded_heights)

    @property
    def unfolding(self) -> bool:
        """Whether folded blocks are being made again now."""
        return self._unfolding is not None

    def _fold_old_blocks(self) -> None:
        # While the view follows the bottom, whether the answer streams or has ended (a fast answer is often drawn
        # whole by `finish`, and laid out only after it ended); never while folded blocks are being made again.
        if self._unfolding is not None:
            return
        if not getattr(self.parent, "following", False):
            return
        blocks = [b for b in self._answer.children if b.display and b is not self._fold]
        # An ended answer with more of the conversation below it (an earlier turn) may fold every block, once it
        # holds more than the few an answer keeps: what is below it stands in for the kept ones. A streaming answer
        # always keeps its last blocks (the next write may change the last). `_below` is None while what is below
        # is not laid out yet.
        ended = self._finished is not None and self._finished.is_set()
        under = self._below() if ended else 0
        whole = under != 0
        if len(blocks) <= (FOLD_KEEP if whole else FOLD_AFTER):
            return
        cut = len(blocks) - (0 if whole else FOLD_KEEP)
        if under is None or not (blocks[0].size.width and blocks[min(cut, len(blocks) - 1)].size.width):
            self._fold_later()  # not laid out yet: their height is unknown
            return
        total = self._answer.size.height
        tops = [block.virtual_region.y for block in blocks[:cut + 1]]
        if cut == len(blocks):
            tops.append(total)  # folding every block: the answer's end closes the last one
        # What stays shown covers more than the view, so the spacer is never on screen while the view follows.
        view = getattr(self.parent, "scrollable_content_region", None)
        keep_height = int(KEEP_VIEWS * (view.height if view is not None else 50))
        while cut > 0 and total + under - tops[cut] < keep_height:
            cut -= 1
        if cut <= 0:
            return
        fold = blocks[:cut]
        tops = tops[:cut + 1]
        heights = [below - above for above, below in zip(tops, tops[1:])]
        if sum(heights) <= 0:
            return
        with self.app.batch_update():
            if self._fold is None:
                self._fold, self._fold_height = Static("", classes="answer-fold", markup=False), 0
                self._answer.mount(self._fold, before=fold[0])
            self._grow_fold(sum(heights))
            for block in fold:
                block.display = False
        self._folded_heights += heights
        self._hidden += fold
        self._remove_hidden()

    def _below(self) -> int | None:
        """How much of the conversation stands below this answer (0 when it is the last), or None when some of it
        is not laid out yet."""
        parent = self.parent
        siblings = list(parent.children) if parent is not None else []
        later = siblings[siblings.index(self) + 1:] if self in siblings else []
        shown = [w for w in later if w.display]
        if not shown:
            return 0
        if not shown[-1].size.width:
            return None
        return shown[-1].virtual_region_with_margin.bottom - self.virtual_region_with_margin.bottom

    def fold_out_of_view(self) -> None:
        """Fold what the answer still shows that is far above the view, once what is below it is laid out: the
        answers of a long chat hold a bounded number of widgets (and their rendered lines), not about twenty
        each. Called for the earlier answers when a new one ends; scrolling up makes them again (`unfold`)."""
        self._fold_later()

    def _remove_hidden(self) -> None:
        """Remove the folded blocks, hidden so far, a slice a frame apart."""
        if self._hidden and self._removing is None and self.is_attached:
            self._removing = asyncio.create_task(self._remove_hidden_blocks(), name="answer-fold-remove")

    async def _remove_hidden_blocks(self) -> None:
        try:
            while self._hidden and self.is_attached:
                batch, self._hidden = self._hidden[:REMOVE_SLICE], self._hidden[REMOVE_SLICE:]
                await self._answer.remove_children(batch)
                await next_frame(self)
        except Exception:  # the widget went away meanwhile
            log.debug("an answer's folded blocks were not all removed", exc_info=True)
        finally:
            self._removing = None

    def _fold_later(self) -> None:
        """Try again after the next refresh (once)."""
        if not self._fold_retry:
            self._fold_retry = True
            self.call_after_refresh(self._fold_retried)

    def _fold_retried(self) -> None:
        self._fold_retry = False
        self._fold_old_blocks()

    def unfold(self) -> None:
        """Make the folded blocks again (the user scrolled up, or the view grew taller than what was kept).

        They are made from the answer's source, UNFOLD_SLICE at a time, nearest the view first, a frame apart. Each
        slice is mounted in the same frame as the spacer shrinks by the heights its blocks had when they were
        folded, so nothing below moves; once the slice is laid out, the spacer takes up any difference (the width
        changed since, or a margin at the spacer's edge), so what was below stands where it stood."""
        if self._fold is None or self._unfolding is not None or not self.is_attached:
            return
        self._unfolding = asyncio.create_task(self._make_folded_blocks(), name="answer-unfold")

    async def _make_folded_blocks(self) -> None:
        try:
            groups = await self._answer.blocks_of_source()
            if self._hidden:  # folded while streaming and not removed yet: they go first (hidden, so nothing moves)
                hidden, self._hidden = self._hidden, []
                await self._answer.remove_children(hidden)
            while self._fold is not None and self.is_attached:
                count = len(self._folded_heights)
                first = max(0, count - UNFOLD_SLICE)
                blocks = [block for group in groups[first:count] for block in self._answer.make_blocks(group)]
                below = self._first_shown()
                where = below.virtual_region.y if below is not None else None
                with self.app.batch_update():  # no frame between the mount and the spacer's shrinking
                    if blocks:
                        await self._answer.mount_all(blocks, after=self._fold)
                    if first == 0:
                        self._drop_fold()
                    else:
                        self._grow_fold(-sum(self._folded_heights[first:]))
                        del self._folded_heights[first:]
                if self._fold is None:
                    return
                await self._laid_out(blocks)
                if below is not None and where is not None and below.is_attached and self._fold is not None:
                    moved = below.virtual_region.y - where
                    if moved:
                        self._grow_fold(-moved)
                        await next_frame(self)
        except Exception:  # the widget went away meanwhile
            log.debug("an answer's folded blocks were not all made again", exc_info=True)
        finally:
            self._unfolding = None

    async def _laid_out(self, blocks: list[Widget]) -> None:
        """Until a layout has placed `blocks` (a frame may come before it does), or they went away."""
        for _ in range(UNFOLD_FRAMES):
            await next_frame(self)
            if not blocks or not blocks[-1].is_attached or blocks[0].size.width and blocks[-1].size.width:
                return

    def _first_shown(self) -> Widget | None:
        """The first shown block after the spacer (a hidden one may still be there, its removal under way)."""
        children = list(self._answer.children)
        if self._fold not in children:
            return None
        return next((child for child in children[children.index(self._fold) + 1:] if child.display), None)

    def _grow_fold(self, rows: int) -> None:
        """Make the spacer `rows` taller (shorter when negative); never less than nothing on screen."""
        self._fold_height += rows
        self._fold.styles.height = max(0, self._fold_height)

    def _drop_fold(self) -> None:
        """Forget the fold (every block is shown, or was drawn again whole) and remove its spacer."""
        if self._fold is not None:
            self._fold.remove()
        self._fold, self._fold_height, self._folded_heights, self._hidden = None, 0, [], []

    def on_resize(self, event: "Resize") -> None:
        """The answer was laid out at a new size: it grew (new blocks, now measured), or the width changed."""
        self._fold_old_blocks()

    def _set_state(self, state: AnswerState) -> None:
        self.state = state
        # Only the states that are styled get a class: a class change restyles every widget inside the answer
        # (a thousand Markdown blocks in a long one), so the common waiting → streaming → done path changes none.
        for name in ("stopped", "error"):
            self.set_class(name == state, f"-{name}")
        if state == "waiting":
            self._status.update("waiting for the answer…  (Escape stops)")
        elif state == "streaming":
            self._status.update("… streaming  (Escape stops)")
        elif state == "stopped":
            self._status.update("■ stopped" + ("" if self.text else " before any text arrived"))
        elif state == "error":
            self._status.update(f"✗ {self.error}")
        elif state == "complete" and not self.text:
            self._status.update(NO_TEXT)
        else:
            self._status.update("")
        self._status.display = state != "complete" or not self.text
