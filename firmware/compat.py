"""Run-time shims so firmware modules import unchanged under MicroPython and CPython.

Only what the interpreters really differ on lives here; keep it tiny (it is imported everywhere).
The CPython stand-ins live in firmware/compat_cpython.py, so a device does not load them.
"""
try:
    from micropython import const  # noqa: F401  (MicroPython: compile-time constant)
    from time import ticks_ms, ticks_diff  # noqa: F401
except ImportError:  # CPython
    from firmware.compat_cpython import const, ticks_ms, ticks_diff  # noqa: F401
