"""Garbage-collection policy of a device process (MicroPython `gc.threshold`).

By default MicroPython collects only when an allocation fails. On a small heap (the GBCS pipeline's
96K target) that lets a command's short-lived objects spread the long-lived ones over the heap,
until no hole is left for the next command's ~700-byte record write although 20 KB are free.
Collecting after every THRESHOLD bytes of new allocations keeps the free space in large holes.
Measured with host_tools/heaprun.py (the whole use-case sequence as .mpy): without it 0-5 of 10
runs passed at 96K and 100K; with it 10 of 10 at 92K, 96K and 100K (docs/board-memory.md).
Only small heaps get it: each collection sweeps the whole heap, so on a 256K heap the same
threshold made ECS42 2.7x slower, and large heaps (PSRAM boards, virtual boards at 512K) have the
room anyway. The device application applies it at boot.
"""
THRESHOLD = 4096
SMALL_HEAP = 160 * 1024


def apply():
    """Set the threshold on a heap of at most SMALL_HEAP bytes; True when set (never under CPython,
    whose gc has no `threshold`)."""
    import gc

    if not hasattr(gc, "threshold") or gc.mem_free() + gc.mem_alloc() > SMALL_HEAP:
        return False
    gc.threshold(THRESHOLD)
    return True
