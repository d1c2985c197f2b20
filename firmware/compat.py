"""Run-time shims so firmware modules import unchanged under MicroPython and CPython.

Only what the interpreters really differ on lives here; keep it tiny (it is imported everywhere).
"""
try:
    from micropython import const  # noqa: F401  (MicroPython: compile-time constant)
except ImportError:  # CPython

    def const(x):
        return x


try:
    from time import ticks_ms, ticks_diff  # noqa: F401  (MicroPython)
except ImportError:
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000) & 0x3FFFFFFF

    def ticks_diff(a, b):
        d = (a - b) & 0x3FFFFFFF
        return d - 0x40000000 if d & 0x20000000 else d


IS_MICROPYTHON = False
try:
    import sys as _sys

    IS_MICROPYTHON = _sys.implementation.name == "micropython"
except AttributeError:
    pass
