"""Resident memory of the service process: glibc's heaps, limited and trimmed.

The model's weights are most of the service's memory and cannot shrink; what can is what
glibc's allocator keeps after it is freed. Two rules (measured in the README's "Runtimes"):

* at most :data:`MALLOC_ARENAS` heaps (as ``MALLOC_ARENA_MAX=2``): by default glibc gives
  each thread that allocates (event loop, batching worker, ONNX Runtime's intra-op threads)
  a heap of its own, up to 8 per core, and each keeps what it freed. glibc fixes that number
  when a second thread first allocates, so :func:`limit_malloc_arenas` must run before the
  service starts any thread;
* freed heap memory is handed back (:func:`release_freed_memory`, ``malloc_trim``) after
  the model is loaded and whenever the service has been idle for a second.

Both are no-ops on a C library other than glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
MALLOC_ARENAS = 2  # the main thread's heap and one shared by every other thread


def _glibc():
    """glibc through ctypes, or None (another C library, or none found)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def limit_malloc_arenas() -> bool:
    """Cap glibc's heaps at :data:`MALLOC_ARENAS` (call before starting threads); True if applied."""
    libc = _glibc()
    return bool(libc is not None and hasattr(libc, "mallopt")
                and libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS) == 1)


def release_freed_memory() -> None:
    """Give the heap memory freed so far back to the system, so that RSS shows what is used."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
