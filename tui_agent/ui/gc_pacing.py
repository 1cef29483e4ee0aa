"""When the cyclic garbage collector may take the event loop: never a full pass under the user's keys.

CPython's full (generation 2) collection scans every object that has survived two younger collections. With a long
answer on screen that is hundreds of thousands of objects (widgets, styles, rendered lines), and measured in the
real app on a pty (bench/echo_pty.py, 94 KB answer at 500 chunks/s) the automatic full passes grew from 9 ms to
266 ms as the answer streamed: they, not the layouts, were the slowest keys. Young collections (generations 0 and
1) stay automatic: they scan only recent objects and take a millisecond or two.

The pacer switches the automatic full pass off and runs it itself on the event loop (so never in the middle of a
layout), in one of three ways:

- **a recent pass**, once a third as much young work has accumulated as would have set off CPython's own full pass
  (FULL_DUE collections of generation 1): a full pass over what is not frozen, then everything that survived it is
  frozen (`gc.freeze`). Each such pass scans only what was made since the previous one, so it stays short however
  long the conversation is. While the user types it runs right after the frame that shows a key (the gap before
  the next key, where an answer's writes go too: `_Feed` in ui/widgets/message.py), otherwise from a timer.
- **an unfrozen pass**, the same pass while an answer streams (or is still being drawn) and nobody types: nothing is
  frozen. What survives a pass then is mostly the answer's blocks, which fold away a few seconds later
  (docs/answer-folding.md); frozen, they stayed as garbage until a pause brought a deep pass, and a long answer's
  memory grew as if nothing folded (13 MB more after the 94 KB answer at 500 chunks/s, `docs/benchmarks.md`, ninth
  pass). Such a pass scans all the answer made since the last freeze (10-35 ms where a recent pass takes 5-15): no
  key waits for it, as nobody is typing (the first key typed may wait for what is left of one). Once keys come,
  passes freeze again, and stay short.
- **a deep pass**, in a pause (no key or scroll, and no answer streaming, for IDLE_AFTER seconds) once recent passes
  have frozen DEEP_AFTER objects and a quarter as many as all that is frozen (CPython's own rule for its full
  passes): everything is unfrozen, collected and frozen again. Garbage cycles among objects frozen by
  recent passes (a removed widget, a finished stream) are reclaimed here, so nothing is kept for good; the pass
  scans the whole heap (a quarter of a second with a long answer on screen), which is why it waits for a pause.
  Then `after_deep` runs: the app hands the C library's free memory back to the system there
  (`give_back_free_memory`, ui/allocator.py), now that the garbage of the answers drawn since is freed.

The pacer counts what it freezes itself, and never asks `gc.get_freeze_count()` under the user's keys: that walks
every frozen object (12 ms for 1.5 M objects in a bare interpreter, more in the app's scattered heap; asked twice
after each key's echo, py-spy found a quarter of the event loop in it while the 94 KB answer streamed). Right after a
full pass everything that survived it is in the oldest generation, so counting that generation costs what the pass
froze, not what is frozen (`_freeze_survivors`). The count of all that is frozen is redone after each deep pass;
between them it does not drop as frozen objects die, so deep passes come a little later than CPython's own rule.

The app freezes what start-up made at its first frame (`TuiAgentApp.first_frame_drawn`) and installs the pacer
there; `stop` restores CPython's thresholds. Tests drive `tick` with a fake clock and a fake `gc` module, and
one test runs it over the real collector (tests/ui/test_gc_pacing.py).
"""

from __future__ import annotations

import gc as _gc
import time
from typing import Any, Callable

from tui_agent.ui.input_timing import TYPING_PAUSE

CHECK_EVERY = 0.25  # seconds between checks (the pacer's timer)
IDLE_AFTER = 2.0  # seconds without a key or a scroll before the user counts as pausing
FULL_DUE = 3  # generation-1 collections since the last full pass before one is due (CPython waits for 10: a pass
# scanning a third as much, measured 5-17 ms instead of 10-80 ms while the 94 KB answer streams)
# While the user types (ui/input_timing.py), a recent pass waits for the gap after a key's frame; from the timer it
# runs only once they stop, or at once however fast they type, once this much young work is waiting:
OVERDUE = 4 * FULL_DUE
DEEP_AFTER = 20_000  # objects frozen since the last deep pass before a pause brings one (a few MB at most)
NO_AUTOMATIC_FULL = 1 << 30  # a generation-2 threshold the count never reaches


class GcPacer:
    """Decides, at each `tick`, whether a full collection runs now and which kind (see the module's docstring)."""

    def __init__(self, last_input: Callable[[], float], *, busy: Callable[[], bool] = lambda: False,
                 after_deep: Callable[[], object] = lambda: None, clock: Callable[[], float] = time.perf_counter,
                 gc: Any = _gc) -> None:
        self._last_input = last_input  # when the user last typed or scrolled (the clock's time)
        self._busy = busy  # whether an answer is streaming or still being drawn (a deep pass would stall it)
        self._after_deep = after_deep  # run after each deep pass (still in the pause)
        self._busy_at = float("-inf")  # when an answer was last seen streaming or drawn: its end is no pause either
        self._clock = clock
        self._gc = gc
        self._thresholds: tuple[int, ...] | None = None
        self.frozen_since_deep = 0  # objects frozen by recent passes since the last deep pass
        self.frozen = 0  # objects frozen in all (counted once at start and after each deep pass, then added up)
        self.passes = {"recent": 0, "unfrozen": 0, "deep": 0}  # how many of each have run (tests, `--verbose` logs)

    def start(self) -> None:
        """Turn CPython's automatic full pass off (young collections stay automatic)."""
        if self._thresholds is None:
            self._thresholds = self._gc.get_threshold()
            young, middle = self._thresholds[0], self._thresholds[1]
            self._gc.set_threshold(young, middle, NO_AUTOMATIC_FULL)
            self.frozen = self._gc.get_freeze_count()  # at the first frame: start-up's objects, a small heap

    def stop(self) -> None:
        """Give the collector its own thresholds back, and what was frozen (the process may go on: tests, benches)."""
        if self._thresholds is not None:
            self._gc.set_threshold(*self._thresholds)
            self._gc.unfreeze()
            self._thresholds = None

    @property
    def full_due(self) -> bool:
        return self._gc.get_count()[2] >= FULL_DUE

    @property
    def deep_due(self) -> bool:
        """Enough frozen by recent passes: DEEP_AFTER objects, and a quarter of all that is frozen (CPython's own
        rule for full passes over long-lived objects), so deep passes grow rarer as the heap grows."""
        debt = self.frozen_since_deep
        return debt >= DEEP_AFTER and debt * 4 >= self.frozen

    @property
    def overdue(self) -> bool:
        return self._gc.get_count()[2] >= OVERDUE

    def _freeze_survivors(self) -> int:
        """Freeze what survived the full pass just run, and say how many objects that was: they are all in the
        oldest generation now (young ones were collected into it), which is all that is not frozen."""
        survivors = len(self._gc.get_objects(2))
        self._gc.freeze()
        return survivors

    def after_echo(self) -> str | None:
        """Called once the frame that shows a key is drawn: the gap before the next key is the time for a pass."""
        return self.tick(after_echo=True)

    def tick(self, *, after_echo: bool = False) -> str | None:
        """Run the pass that is due now, if any; return its kind ("recent" or "deep") or None."""
        if self._thresholds is None or not self._gc.isenabled():  # stopped, or paused (Textual pauses it to scroll)
            return None
        now = self._clock()
        busy = self._busy()
        if busy:
            self._busy_at = now
        since_key = now - self._last_input()
        paused = min(since_key, now - self._busy_at) >= IDLE_AFTER  # no key, and no answer streaming, for a while
        if paused and self.deep_due:
            self._gc.unfreeze()
            self._gc.collect()
            self._gc.freeze()
            self.frozen = self._gc.get_freeze_count()  # in a pause, after a pass over the whole heap anyway
            self.frozen_since_deep = 0
            self._after_deep()
            kind = "deep"
        elif self.full_due and (after_echo or since_key >= TYPING_PAUSE or self.overdue):
            self._gc.collect(2)
            if busy and since_key >= TYPING_PAUSE:
                kind = "unfrozen"  # what survives is mostly blocks that will fold away: left for the next pass
            else:
                survivors = self._freeze_survivors()
                self.frozen += survivors
                self.frozen_since_deep += survivors
                kind = "recent"
        else:
            return None
        self.passes[kind] += 1
        return kind
