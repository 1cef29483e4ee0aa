"""glibc's threshold for large blocks, held at its default: what a long answer frees goes back to the system.

Python hands every block over 512 bytes to the C library. glibc serves a block of M_MMAP_THRESHOLD (128 KiB) or more
with a mapping of its own, unmapped when it is freed, until the first such block is freed: glibc then raises the
threshold to that block's size (up to 32 MiB on 64-bit), and later blocks as large come from its heap instead. A
streaming answer makes many such blocks, each a little larger than the last: copies of its text as it grows (the
feed's, the Markdown source's, a checkpoint's), the set of a tall widget's dirty lines, a re-parsed tail. In the
heap, each freed copy leaves a hole the next, larger one does not fit, and the heap grows with the answer and keeps
what it grew. Measured in-process at full speed (docs/benchmarks.md, eleventh pass): after a 5 MB code block
219-254 MB resident, 186-201 MB with the threshold held; a 5 MB paragraph 179-192 → 149-151 MB; a 600 KB answer at
2,000 chunks/s 104 → 91 MB, the heap's free part 16.4 → 5.1 MB. A 94 KB answer's copies are under 128 KiB: no
difference there.

Setting the threshold with mallopt turns glibc's adjustment off (mallopt(3)), so every large block keeps a mapping
of its own and is returned when freed; a mapping costs a system call and its page faults, small beside the copy it
holds (black-box, the 5 MB cases ended as soon while the user typed; in-process, nobody typing, 1-8 % later). It is
done once, when the first answer starts streaming (`ChatScreen._stream_answer`): ctypes and the C library's handle
cost 0.3 MB, which a session that never streams need not pay. Linux with glibc only: anywhere else (or a C library
without glibc's `mallopt`) nothing is done.
"""

from __future__ import annotations

import sys
from typing import Any

M_MMAP_THRESHOLD = -3  # <malloc.h>
LARGE_BLOCK = 128 * 1024  # glibc's default threshold, kept fixed


def hold_mmap_threshold(libc: Any = None) -> bool:
    """Fix glibc's mmap threshold at LARGE_BLOCK (see the module); True if it was set."""
    if libc is None:
        if not sys.platform.startswith("linux"):
            return False
        import ctypes

        try:
            libc = ctypes.CDLL(None)  # the C library the interpreter runs on
        except OSError:
            return False
    # musl and others export a mallopt that does nothing; glibc's is the one that knows this parameter.
    if getattr(libc, "gnu_get_libc_version", None) is None:
        return False
    mallopt = getattr(libc, "mallopt", None)
    return mallopt is not None and mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK) == 1


_held: bool | None = None  # whether hold_mmap_threshold_once has run, and what it returned


def hold_mmap_threshold_once() -> bool:
    """`hold_mmap_threshold`, the first time only (the setting lasts for the process)."""
    global _held
    if _held is None:
        _held = hold_mmap_threshold()
    return _held
