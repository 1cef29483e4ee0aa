"""glibc's threshold for large blocks is held at its default once an answer streams (ui/allocator.py), so the large
blocks a long answer frees go back to the system instead of leaving holes in glibc's heap; and after the collector's
deep pass the free pages of its heap are handed back."""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from tui_agent.ui import allocator
from tui_agent.ui.allocator import LARGE_BLOCK, M_MMAP_THRESHOLD, give_back_free_memory, hold_mmap_threshold


class _Libc:
    def __init__(self, *, glibc: bool) -> None:
        self.calls: list[tuple[int, int]] = []
        if glibc:
            self.gnu_get_libc_version = lambda: b"2.36"

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("trim", pad))
        return 1


def test_the_threshold_is_set_on_glibc_only():
    glibc, other = _Libc(glibc=True), _Libc(glibc=False)
    assert hold_mmap_threshold(glibc) and glibc.calls == [(M_MMAP_THRESHOLD, LARGE_BLOCK)]
    assert not hold_mmap_threshold(other) and other.calls == []  # musl's mallopt exists and does nothing


def test_free_memory_is_handed_back_on_glibc_only():
    glibc, other = _Libc(glibc=True), _Libc(glibc=False)
    assert give_back_free_memory(glibc) and glibc.calls == [("trim", 0)]  # no padding kept at the heap's top
    assert not give_back_free_memory(other) and other.calls == []


_TRIM_PROBE = """
import ctypes, sys
from tui_agent.ui.allocator import give_back_free_memory

def resident_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

blocks = [bytearray(2000) for _ in range(20_000)]  # 40 MB in glibc's heap (over pymalloc's 512 bytes)
last = bytearray(2000)  # kept: the free space below it is inside the heap, not at its top
del blocks
before = resident_kb()
if sys.argv[1] == "trim":
    give_back_free_memory()
print(before - resident_kb())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_free_pages_inside_the_heap_go_back_to_the_system_when_handed_back():
    """In fresh interpreters: 40 MB freed under a block still in use stay resident until handed back."""
    def released_mb(how: str) -> float:
        probe = subprocess.run([sys.executable, "-c", _TRIM_PROBE, how], capture_output=True, text=True, check=True,
                               cwd=Path(__file__).resolve().parents[2])
        return int(probe.stdout) / 1024

    assert released_mb("keep") < 5
    assert released_mb("trim") > 30


_PROBE = """
import ctypes, sys
from tui_agent.ui.allocator import LARGE_BLOCK, hold_mmap_threshold

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] == "hold":
    hold_mmap_threshold()
larger = bytearray(4 << 20)
del larger  # freed: glibc's own rule raises its threshold to 4 MiB, and serves the next block from its heap
mapped = libc.mallinfo2().hblks
block = bytearray(LARGE_BLOCK * 2)
print(libc.mallinfo2().hblks - mapped)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
@pytest.mark.parametrize("held, mappings", [("hold", 1), ("default", 0)])
def test_with_the_threshold_held_a_large_block_has_its_own_mapping_after_a_larger_one_was_freed(held, mappings):
    """In a fresh interpreter (a used heap may have a free chunk that fits, which glibc takes first either way)."""
    if getattr(ctypes.CDLL(None), "mallinfo2", None) is None:
        pytest.skip("glibc older than 2.33 (no mallinfo2)")
    probe = subprocess.run([sys.executable, "-c", _PROBE, held], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[2])
    assert int(probe.stdout) == mappings  # 1: a mapping of its own, returned to the system when freed


async def test_the_threshold_is_held_once_an_answer_streams_not_before(home, monkeypatch):
    from tests.ui.support import make_app, wait_until
    from tui_agent.core.events import Done, TextDelta
    from tui_agent.ui.widgets.message import AssistantMessage

    held = []
    monkeypatch.setattr(allocator, "_held", None)
    monkeypatch.setattr(allocator, "hold_mmap_threshold", lambda: held.append(True) or True)
    app, _ = make_app(home, scripts=[[TextDelta("An answer."), Done()], [TextDelta("Another."), Done()]])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.first_frame_shown, "the first frame")
        await pilot.pause()
        assert held == []  # a session that never streams does not load ctypes for it
        for count, prompt in enumerate(("first", "second"), start=1):
            app.screen.prompt.insert(prompt)
            await pilot.press("enter")
            def answered(count=count) -> bool:
                states = [answer.state for answer in app.screen.query(AssistantMessage)]
                return states == ["complete"] * count and not app.screen.answer_busy

            await wait_until(pilot, answered, f"answer {count}")
        assert held == [True]  # once: the setting lasts for the process
