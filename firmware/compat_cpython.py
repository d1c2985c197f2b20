"""CPython stand-ins for the MicroPython built-ins firmware/compat.py re-exports: const() and the
wrapping millisecond ticks (30-bit, as MicroPython's time.ticks_ms / ticks_diff)."""
import time as _time


def const(x):
    return x


def ticks_ms():
    return int(_time.monotonic() * 1000) & 0x3FFFFFFF


def ticks_diff(a, b):
    d = (a - b) & 0x3FFFFFFF
    return d - 0x40000000 if d & 0x20000000 else d
