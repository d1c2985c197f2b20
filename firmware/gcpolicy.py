"""Garbage-collection policy of a device process (MicroPython `gc.threshold`).

By default MicroPython collects only when an allocation fails. On a small heap (the GBCS pipeline's
96K target) that lets a command's short-lived objects spread the long-lived ones over the heap,
until no hole is left for the next command's ~700-byte record write although 20 KB are free.
Collecting after every THRESHOLD bytes of new allocations keeps the free space in large holes.
Measured with host_tools/boards/heaprun.py (the whole use-case sequence as .mpy): without it 0-5 of 10
runs passed at 96K and 100K; with it 10 of 10 at 92K, 96K and 100K (docs/board-memory.md).
Only small heaps get it: each collection sweeps the whole heap, so on a 256K heap the same
threshold made ECS42 2.7x slower, and large heaps (PSRAM boards, virtual boards at 512K) have the
room anyway. The device application applies it at boot.

A P-256 verify or sign (GBCS §6.3.3 KRP signatures and device-signed responses) allocates about
1 MB of short-lived big integers and keeps none of them, so a collection every THRESHOLD bytes
sweeps the heap hundreds of times for nothing. The crypto layer brackets each operation with
suspend() / resume(): the threshold is lifted for its duration, and the first allocation after
resume() collects once (the allocation count kept running), which returns the whole burst as one
large hole. docs/board-memory.md gives the ECS42 times at 96K with and without the bracket.
"""
import gc

THRESHOLD = 4096
SMALL_HEAP = 160 * 1024
# True: suspend() lifts the threshold (the device default). The GBCS pipeline bench sets it False in
# one of its runs to measure the threshold kept through the P-256 arithmetic.
SUSPEND = True

_on = False  # apply() set the threshold
_held = 0  # depth of nested suspend() calls


def apply():
    """Set the threshold on a heap of at most SMALL_HEAP bytes; True when set (never under CPython,
    whose gc has no `threshold`)."""
    global _on
    if not hasattr(gc, "threshold") or gc.mem_free() + gc.mem_alloc() > SMALL_HEAP:
        return False
    gc.threshold(THRESHOLD)
    _on = True
    return True


def suspend():
    """Lift the threshold until the matching resume() (pairs nest); nothing when apply() set no
    threshold or SUSPEND is False."""
    global _held
    if _on and SUSPEND:
        if not _held:
            gc.threshold(-1)
        _held += 1


def resume():
    """End one suspend(); the outermost one restores THRESHOLD."""
    global _held
    if _held:
        _held -= 1
        if not _held:
            gc.threshold(THRESHOLD)
