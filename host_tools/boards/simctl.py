"""Meter time and consumer load of a virtual board (board/unix.py simulation; docs/virtual-board.md).

The settings live in the board directory's `sim.json` (read by the ROM at every boot, so they survive
resets and power cuts) and are sent to the running firmware as one line `sim <json>` on the board's
`sim` pty. The virtual clock is anchored: meter time = t0 + (host ms now - at) * rate / 1000.

    set_load(dir, watts=2000)                    # constant load
    set_load(dir, profile=[(0, 300), (25200, 2000)])   # [second of the day, watts]
    clock(dir, rate=3600)                        # an hour of meter time per second
    clock(dir, advance=86400)                    # a day later, now
    meter_time(dir)                              # the board's meter time now (seconds since 1970)
    restore_clock(dir, saved)                    # clock settings saved from settings(dir) put back
    faults(vboard, arm=(item, counter))          # arm a test fault (firmware/core/faults.py) over the REPL
"""
import json
import os
import time

from host_tools.util import write_atomic


def _real_ms():
    return time.time_ns() // 1000000


def settings(path):
    try:
        with open(os.path.join(path, "sim.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _vnow(c, ms):
    return c["t0"] + (ms - c["at"]) * c.get("rate", 1) // 1000


def meter_time(path):
    """Meter time of the board now (the host clock when it has no virtual clock)."""
    c = settings(path).get("clock")
    ms = _real_ms()
    return _vnow(c, ms) if c else ms // 1000


def _apply(path, part):
    s = settings(path)
    s.update(part)
    write_atomic(os.path.join(path, "sim.json"), json.dumps(s), sync=False)
    link = os.path.join(path, "sim")
    if os.path.exists(link):  # the running firmware reads it on its next poll
        fd = os.open(link, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            os.write(fd, ("sim %s\n" % json.dumps(part)).encode())
        finally:
            os.close(fd)
    return s


def set_load(path, watts=None, profile=None):
    """Constant load `watts`, or a daily profile [(second of the day, watts), ...]."""
    if profile is not None:
        ld = {"profile": [[int(a), int(b)] for a, b in sorted(profile)]}
    else:
        ld = {"w": int(watts or 0)}
    return _apply(path, {"load": ld})


def clock(path, rate=None, advance=None, set_to=None):
    """Re-anchor the virtual clock: `set_to` meter seconds, else now (+ `advance`), at `rate`."""
    c = settings(path).get("clock")
    ms = _real_ms()
    now = _vnow(c, ms) if c else ms // 1000
    if set_to is not None:
        now = int(set_to)
    if advance:
        now += int(advance)
    r = int(rate) if rate is not None else (c.get("rate", 1) if c else 1)
    if r < 0:
        raise ValueError("rate must be >= 0")
    return _apply(path, {"clock": {"t0": now, "at": ms, "rate": r}})


def restore_clock(path, c):
    """Put the clock settings `c` back (as settings(path).get("clock") gave them; None: the host
    clock, which the running firmware gets as a rate-1 clock anchored now)."""
    if c is not None:
        return _apply(path, {"clock": c})
    ms = _real_ms()
    s = _apply(path, {"clock": {"t0": ms // 1000, "at": ms, "rate": 1}})
    s.pop("clock")
    write_atomic(os.path.join(path, "sim.json"), json.dumps(s), sync=False)
    return s


def parse_profile(text):
    """'0:0.3,7:2,17.5:3' (hour of the day: kW, ascending) -> [(second of the day, watts)]."""
    out = []
    for part in text.split(","):
        h, kw = part.split(":")
        out.append((int(float(h) * 3600), int(round(float(kw) * 1000))))
    return out


_FAULT_CODE = """import board
from firmware.store.durable import Store
from firmware.core import faults
_st = Store(board.get().storage_root().rstrip('/'))
%s
print('ARMED', [list(e) for e in faults.armed(_st)])
"""


def faults(vb, arm=None, clear=False):
    """The test faults stored on running virtual board `vb` (firmware/core/faults.py), after arming
    arm=(item, counter) or clearing them all: [(counter, item)]. The board is stopped at its REPL to
    write its store, then reset to its firmware, which loads the stored faults at boot."""
    from host_tools.boards.flash import RawRepl, FlashError
    from host_tools.boards.registry import BoardError

    name = os.path.basename(vb.path)
    body = "faults.clear(_st)" if clear else "faults.arm(_st, %d, %d)" % arm if arm is not None else ""
    try:
        b = RawRepl(vb.console)
    except FlashError as e:
        raise BoardError(str(e))
    try:
        out = b.exec(_FAULT_CODE % body).decode(errors="replace")
    except FlashError as e:
        raise BoardError("%s: %s" % (name, e))
    finally:
        b.drop()
    vb.reset_to_app()
    line = [ln for ln in out.splitlines() if ln.startswith("ARMED ")]
    if not line:
        raise BoardError("%s: no answer from the board's REPL: %s" % (name, out.strip()[-200:]))
    return [tuple(e) for e in json.loads(line[-1][6:])]
