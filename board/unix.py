"""Unix-port implementation of the board interface (docs/virtual-board.md).

Inside a virtual board (started by host_tools.boards.vboard; the ROM board/unix_boot.py calls install())
the UARTs are pseudo-terminals relayed by the board's supervisor, storage is the littlefs2 flash
image mounted at "/", reset() ends the process so the supervisor restarts it from the image.
Outside one (tests, host simulations under either interpreter) `Board(root)` is a detached board
with in-memory streams (board.hal.MemStream) and a plain directory for storage.
"""
import os
import time

from board.hal import BaseBoard, Keypad, MemStream, PolledStream
from firmware.compat import ticks_ms as _ticks_ms

_VMIN = 6  # index of c_cc in termios.tcgetattr()'s list, and VMIN/VTIME inside c_cc (Linux)
_CC_VMIN = 6
_CC_VTIME = 5
_CHUNK = 512  # bytes a pty read takes at most


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
        return int(time.time()) + self._time_offset

    def set_time(self, t):
        self._time_offset = int(t) - int(time.time())

    def keypad(self):
        if self._keypad is None:
            s = self._streams.get("keypad")
            self._keypad = Keypad(s if s is not None else MemStream())
        return self._keypad

    def display(self, text):
        if self.cfg:
            print("[display] " + text)
        else:
            self.displayed.append(text)

    def eui64(self):
        import binascii

        return binascii.unhexlify(self.cfg.get("eui64", "0000000000000001"))

    def reset(self):
        """Virtual board: end this process; the supervisor restarts it from the flash image."""
        self.resets += 1
        if not self.cfg:
            return
        os.system("kill -TERM $PPID")
        while True:
            time.sleep(1)


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
