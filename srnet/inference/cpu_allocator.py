"""Keep freed CPU tensor memory inside the process for reuse (glibc only).

glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh `mmap`, and
gives it back with `munmap` on free. A trunk activation at 480p is ~40 MiB, so every frame paid a
page fault per 4 KiB page to re-obtain zeroed memory: ~35% of the key encoder's CPU time. Telling
glibc never to use `mmap` for the heap and to keep up to 1 GiB of freed memory makes those
allocations plain reuse (the same effect as running PyTorch under jemalloc/tcmalloc, without the
dependency). Set `SRNET_KEEP_MALLOC=1` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameter numbers from glibc's malloc.h
_KEEP_FREED_BYTES = 1 << 30
_applied = False


def reuse_freed_memory() -> bool:
    """Configure glibc malloc once per process; True when the setting is (already) in effect."""
    global _applied
    if _applied:
        return True
    if os.environ.get("SRNET_KEEP_MALLOC") == "1":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                 _KEEP_FREED_BYTES))
    log.debug("glibc malloc keeps freed memory for reuse: %s", _applied)
    return _applied
