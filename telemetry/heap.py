"""Handing back to the system the memory that a burst of allocations freed (glibc only).

Loading the saved history at start, and each new snapshot, copy series'
arrays a few at a time, and a burst between two commits leaves each series'
tracked points to free at the commit: many small allocations, freed.  glibc's
malloc keeps memory freed in the middle of its heaps, and in each worker
thread's arena, for later use: without help the process's RSS would stay at
that high-water mark for good (bench/README.md, memory).  `trim()` calls
glibc's `malloc_trim(0)`, which gives every wholly free page of every arena
back to the kernel; where the C library has no such call (musl, macOS) it does
nothing.  It walks the heap: call it after such a burst, in a worker thread,
not on every request.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        # The process's own symbols, the C library's among them (no search for a file).
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def trim() -> bool:
    """Give freed heap memory back to the system; False where that is not possible."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
