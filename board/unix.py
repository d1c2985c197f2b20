"""Unix-port implementation of the board interface (docs/virtual-board.md).

Inside a virtual board (started by host_tools.boards.vboard; the ROM board/unix_boot.py calls install())
the UARTs are pseudo-terminals relayed by the board's supervisor, storage is the littlefs2 flash
image mounted at "/", reset() ends the process so the supervisor restarts it from the image.
Outside one (tests, host simulations under either interpreter) `Board(root)` is a detached board
with in-memory streams (board.hal.MemStream) and a plain directory for storage.

Simulation (virtual boards and detached boards alike; docs/virtual-board.md "Meter time and load"):
a virtual clock and a consumer load. `sim` = {"clock": {"t0": meter seconds at the anchor, "at": real
ms at the anchor, "rate": meter seconds per real second}, "load": {"w": watts} or {"profile":
[[second of the day, watts], ...]}} comes from the board's `sim.json` at boot (the ROM reads it) and
from lines `sim <json>` on the board's `sim` pty while it runs (`smlab sim load|clock`). time() is
then t0 + (now - at) * rate; load_w(t) is the load at meter time t (0 without a load).
"""
import os
import time

from board.hal import BaseBoard, Keypad, MemStream, PolledStream
from firmware.compat import ticks_ms as _ticks_ms

_VMIN = 6  # index of c_cc in termios.tcgetattr()'s list, and VMIN/VTIME inside c_cc (Linux)
_CC_VMIN = 6
_CC_VTIME = 5
_CHUNK = 512  # bytes a pty read takes at most
_SPIN = 100  # wait() returns in a row with input ready before it sleeps a slice first


class PtyStream(PolledStream):
    """Non-blocking Stream over a tty device file (raw mode, VMIN=0/VTIME=0, select.poll)."""

    def __init__(self, path):
        import termios

        self.f = open(path, "r+b")
        fd = self.f.fileno()
        termios.setraw(fd)
        attr = termios.tcgetattr(fd)
        attr[_VMIN][_CC_VMIN] = 0
        attr[_VMIN][_CC_VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attr)
        self._register(self.f)

    def any(self):
        """_CHUNK when bytes are waiting (the pty cannot say how many), else 0: a reader asking
        for any() bytes gets everything waiting, up to _CHUNK, in one read."""
        return _CHUNK if self._poll.poll(0) else 0

    def read(self, n=-1):
        """What is waiting, at most n bytes (VMIN=0/VTIME=0: never blocks); None when nothing."""
        if not self._poll.poll(0):
            return None
        b = self.f.read(n if n and n > 0 else _CHUNK)
        return b or None

    def write(self, b):
        return self.f.write(b)  # no flush(): it raises EINVAL on a tty file (unbuffered anyway)


class ConsoleStream(PolledStream):
    """The REPL console as a Stream (stdin/stdout of the unix port)."""

    def __init__(self):
        import sys

        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._register(sys.stdin)

    def read(self, n=-1):
        if not self.any():
            return None
        return self._in.read(n if n and n > 0 else 1) or None

    def write(self, b):
        return self._out.write(b)


class Board(BaseBoard):
    """A unix-port board. cfg: the virtual board's board.json dict (None: detached board)."""

    def __init__(self, root="/tmp/smlab-board", cfg=None, streams=None):
        super().__init__()
        self.cfg = cfg or {}
        self.root = self.cfg.get("storage_root", root)
        self._streams = streams or {}
        self._time_offset = 0
        self._keypad = None
        self.displayed = []  # detached board: what display() showed
        self.resets = 0
        self.flash = None  # virtual board: the board.flash.NorFlash under "/" (set by the ROM)
        self._vclock = None  # (t0, at_ms, rate) of the virtual clock, None: the host clock
        self._load = None
        self._simbuf = b""
        self._poller = None  # wait()'s select.poll over the input ptys and watched objects
        self._ctl = None  # a supervised board: select.poll over the console's input (Ctrl-C)
        self._spins = 0
        self.simulate(self.cfg.get("sim") or {})

    def _open_uart(self, name):
        s = self._streams.get(name)
        if s is None:
            if name == "console" and self.cfg:
                s = ConsoleStream()
            else:
                s = MemStream()
        return s

    def storage_root(self):
        return self.root

    def ticks_ms(self):
        return _ticks_ms()

    def time(self):
        self._sim_input()
        vc = self._vclock
        if vc is not None:
            return int(vc[0] + (_real_ms() - vc[1]) * vc[2] // 1000)
        return int(time.time()) + self._time_offset

    def clock_rate(self):
        vc = self._vclock
        return 1 if vc is None else vc[2]

    def set_time(self, t):
        vc = self._vclock
        if vc is not None:
            self._vclock = (int(t), _real_ms(), vc[2])
        else:
            self._time_offset = int(t) - int(time.time())

    # -- simulation: virtual clock and consumer load -----------------------------------------------
    def simulate(self, sim):
        """Apply a simulation setting (see the module docstring); keys absent are left alone."""
        c = sim.get("clock")
        if c is not None:
            self._vclock = (int(c["t0"]), int(c["at"]), int(c.get("rate", 1)))
        ld = sim.get("load")
        if ld is not None:
            if "profile" in ld:
                self._load = sorted([(int(a), int(b)) for a, b in ld["profile"]])
            else:
                self._load = [(0, int(ld.get("w", 0)))]

    def advance(self, seconds):
        """Move the (virtual) clock forward by `seconds`."""
        self.set_time(self.time() + int(seconds))

    def load_w(self, t):
        """Watts the simulated consumer draws at meter time t (0 without a load)."""
        ld = self._load
        if not ld:
            return 0
        sod = t % 86400
        w = ld[-1][1]  # before the first entry of the day: the profile wraps from yesterday's last
        for s, v in ld:
            if s <= sod:
                w = v
        return w

    def _sim_input(self):
        st = self._streams.get("sim")
        if st is None or not st.any():
            return
        b = st.read(512)
        if not b:
            return
        self._simbuf += b
        while b"\n" in self._simbuf:
            line, self._simbuf = self._simbuf.split(b"\n", 1)
            if line.startswith(b"sim "):
                import json

                try:
                    self.simulate(json.loads(line[4:]))
                except (ValueError, KeyError, TypeError) as e:
                    print("sim: bad setting %r: %r" % (line[:80], e))

    def keypad(self):
        if self._keypad is None:
            s = self._streams.get("keypad")
            self._keypad = Keypad(s if s is not None else MemStream())
        return self._keypad

    def wan_address(self):
        """(host, port) of the hub's WAN endpoint: the board's wan.json {"host", "port"}, read by the
        ROM into cfg["wan"] (docs/wan.md); None when the board has no WAN."""
        w = self.cfg.get("wan")
        return (w.get("host", "127.0.0.1"), int(w["port"])) if w else None

    def display(self, text):
        if self.cfg:
            print("[display] " + text)
        else:
            self.displayed.append(text)

    def eui64(self):
        import binascii

        return binascii.unhexlify(self.cfg.get("eui64", "0000000000000001"))

    def radio(self):
        """The HAN radio (docs/han.md §9): ZEP v2 over UDP to the air named by the board's
        radio.json ({"air": [host, port], "id": device id, "channel": n}, in the board's
        directory, read by the ROM into cfg["radio"]); a detached board has one only when a test
        sets `_radio`."""
        r = getattr(self, "_radio", None)
        if r is None:
            rc = self.cfg.get("radio")  # the ROM reads it from the board's radio.json
            if rc is None:
                from firmware.alerts import Reject

                raise Reject("board-radio", None, "no radio configured")
            from board.zepradio import UdpZepRadio

            r = self._radio = UdpZepRadio(rc["air"], rc["id"], rc.get("channel", 11))
            sock = getattr(r, "sock", None)
            if sock is not None:  # a frame on the air ends the loop's idle wait
                self.watch(sock)
        return r

    def wait(self, timeout_ms):
        """Virtual board: block in select.poll on the board's input ptys (optical, keypad, sim) and
        the watched sockets until one has input or timeout_ms passed (None: no timeout), so an
        idle board costs no CPU. A detached board (no ptys) sleeps a slice like the ESP32. An input
        left unread would make poll return at once forever: after _SPIN such returns in a row the
        wait sleeps a 2 ms slice (the old polling rate) until a wait times out again."""
        if not self.cfg:
            return BaseBoard.wait(self, timeout_ms)
        p = self._poller
        if p is None:
            import select
            import sys

            p = self._poller = select.poll()
            for name, st in self._streams.items():
                src = getattr(st, "src", None)
                if name != "console" and src is not None:
                    p.register(src, select.POLLIN)
            for obj in self._watched:
                p.register(obj, select.POLLIN)
            if self.cfg.get("uarts") is not None:  # a supervised board: the console is its stdin
                p.register(sys.stdin, select.POLLIN)
                self._ctl = select.poll()
                self._ctl.register(sys.stdin, select.POLLIN)
        self._console_interrupt()
        if self._spins >= _SPIN:
            BaseBoard.wait(self, timeout_ms)
        if p.poll(-1 if timeout_ms is None else max(0, int(timeout_ms))):
            self._spins += 1
        else:
            self._spins = 0
        self._console_interrupt()

    def _console_interrupt(self):
        """A Ctrl-C typed on the console while the firmware runs raises KeyboardInterrupt here, in
        the loop's wait, as the ESP32 raises it between bytecodes. The ROM turns the console's ISIG
        off while the firmware's main.py runs (board/unix_boot.py): the unix port's SIGINT handler
        raises asynchronously, wherever the C code is, and one landing inside the interpreter's name
        pool left its lock held, so the REPL that followed hung. Bytes before the Ctrl-C are dropped
        (a running program does not read the console); those after it stay queued for the REPL
        (mpremote's Ctrl-A)."""
        ctl = self._ctl
        if ctl is None:
            return
        import sys

        while ctl.poll(0):
            b = sys.stdin.buffer.read(1)
            if not b:  # the supervisor's side closed: nothing more will come
                ctl.unregister(sys.stdin)
                self._poller.unregister(sys.stdin)
                self._ctl = None
                return
            if b == b"\x03":
                raise KeyboardInterrupt

    def reset(self):
        """Virtual board: end this process; the supervisor restarts it from the flash image."""
        self.resets += 1
        if not self.cfg:
            return
        os.system("kill -TERM $PPID")
        while True:
            time.sleep(1)


def _real_ms():
    """Host wall clock in milliseconds (the virtual clock's anchor is in these units)."""
    ns = getattr(time, "time_ns", None)
    return ns() // 1000000 if ns else int(time.time() * 1000)


_current = None


def install(cfg, streams):
    """Called once by the ROM (board/unix_boot.py): make this virtual board board.get()'s answer."""
    global _current
    import board

    _current = Board(cfg=cfg, streams=streams)
    board.set(_current)
    return _current


def current():
    """The installed virtual board, or a detached board with in-memory streams."""
    global _current
    if _current is None:
        _current = Board()
    return _current
