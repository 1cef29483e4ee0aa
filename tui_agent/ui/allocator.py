"""What a long answer frees goes back to the system: glibc's threshold for large blocks held at its default, and
the free memory in its heap handed back after the collector's deep pass.

Python hands every block over 512 bytes to the C library. glibc serves a block of M_MMAP_THRESHOLD (128 KiB) or more
with a mapping of its own, unmapped when it is freed, until the first such block is freed: glibc then raises the
threshold to that block's size (up to 32 MiB on 64-bit), and later blocks as large come from its heap instead. A
streaming answer makes many such blocks, each a little larger than the last: copies of its text as it grows (the
feed's, the Markdown source's, a checkpoint's), a re-parsed tail. In the heap, each freed copy leaves a hole the
next, larger one does not fit, and the heap grows with the answer and keeps what it grew. Measured in-process at
full speed (docs/benchmarks.md, eleventh pass): after a 5 MB code block 219-254 MB resident, 186-201 MB with the
threshold held; a 5 MB paragraph 179-192 → 149-151 MB; a 600 KB answer at 2,000 chunks/s 104 → 91 MB, the heap's
free part 16.4 → 5.1 MB. A 94 KB answer's copies are under 128 KiB: no difference there.

Setting the threshold with mallopt turns glibc's adjustment off (mallopt(3)), so every large block keeps a mapping
of its own and is returned when freed; a mapping costs a system call and its page faults, small beside the copy it
holds (black-box, the 5 MB cases ended as soon while the user typed; in-process, nobody typing, 1-8 % later). It is
done once, when the first answer starts streaming (`ChatScreen._stream_answer`): ctypes and the C library's handle
cost 0.3 MB, which a session that never streams need not pay. Linux with glibc only: anywhere else (or a C library
without glibc's `mallopt`) nothing is done.

Blocks under the threshold still come from glibc's heap, and a long answer frees many of them (its blocks fold
away, `docs/answer-folding.md`): glibc keeps that memory for later blocks and gives back only what is free at the
top of its heap. `give_back_free_memory` asks it to return every free page (`malloc_trim(0)`, which since glibc 2.8
releases free pages inside the heap too). The collector pacer calls it after its deep pass, in a pause, when the
garbage of the answers just drawn has been freed (ui/gc_pacing.py). It takes 0.4-1.6 ms; 3 s after the 94 KB answer
the app holds 70.0-70.5 MB with it, 72.1-73.2 without, and with the twelfth pass's other change 4 s after a 5 MB
code block 160-164 MB instead of 178 (docs/benchmarks.md, twelfth pass).
"""

from __future__ import annotations

import sys
from typing import Any

M_MMAP_THRESHOLD = -3  # <malloc.h>
LARGE_BLOCK = 128 * 1024  # glibc's default threshold, kept fixed


_NOT_LOADED = object()
_libc: Any = _NOT_LOADED  # the C library's handle once looked up (None: not glibc)


def glibc() -> Any:
    """The C library the interpreter runs on if it is glibc, else None (loaded once: ctypes costs 0.3 MB)."""
    global _libc
    if _libc is _NOT_LOADED:
        _libc = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                libc = ctypes.CDLL(None)
            except OSError:
                libc = None
            if _is_glibc(libc):
                _libc = libc
    return _libc


def _is_glibc(libc: Any) -> bool:
    # musl and others export a mallopt that does nothing, and no malloc_trim: glibc is the one that knows these.
    return libc is not None and getattr(libc, "gnu_get_libc_version", None) is not None


def hold_mmap_threshold(libc: Any = None) -> bool:
    """Fix glibc's mmap threshold at LARGE_BLOCK (see the module); True if it was set."""
    return _glibc_call(libc, "mallopt", M_MMAP_THRESHOLD, LARGE_BLOCK)


def give_back_free_memory(libc: Any = None) -> bool:
    """Return the free pages of glibc's heap to the system (see the module); True if glibc released any."""
    return _glibc_call(libc, "malloc_trim", 0)


def _glibc_call(libc: Any, name: str, *args: int) -> bool:
    """Call glibc's `name` (in `libc`, else the interpreter's C library) if it is glibc and has it; True if it
    returned 1, which both mallopt and malloc_trim return for done."""
    libc = glibc() if libc is None else libc
    function = getattr(libc, name, None) if _is_glibc(libc) else None
    return function is not None and function(*args) == 1


_held: bool | None = None  # whether hold_mmap_threshold_once has run, and what it returned


def hold_mmap_threshold_once() -> bool:
    """`hold_mmap_threshold`, the first time only (the setting lasts for the process)."""
    global _held
    if _held is None:
        _held = hold_mmap_threshold()
    return _held
