"""The board interface the firmware uses for all hardware (docs/virtual-board.md).

This module documents the interface and holds the pieces both implementations share; the
implementations are board.esp32 (MicroPython ESP32 port: machine.UART, the littlefs2 `vfs`
partition mounted at "/", machine.RTC, machine.reset) and board.unix (the virtual board run by
host_tools.boards.vboard, or a detached in-memory board for tests). Get the running one with board.get().

Board object:
  uart(name) -> Stream        "optical" (IEC 62056-21 port) or "console"; unknown names raise
                              Reject("board-uart")
  wan_address() -> (host, port) or None   where a Comms Hub's WAN endpoint listens (firmware/wan;
                              the board's wan.json on a virtual board, Wi-Fi on an ESP32)
  storage_root() -> str       directory of the persistent (power-safe littlefs2) FS for the Store
  store() -> Store            the durable Store on storage_root(), booted once (firmware.store);
                              .boot_report holds what that boot() repaired. Use this one Store.
  ticks_ms() -> int           monotonic milliseconds (wraps; compare with firmware.compat.ticks_diff)
  time() -> int               wall clock, seconds since 1970-01-01 UTC on every platform
  set_time(t)                 set the wall clock (tests, and the device after time sync)
  keypad() -> Keypad          key() -> next pressed key (1-char str) or None; any() -> bool
  display(text)               show text on the display (the console on the virtual board)
  eui64() -> bytes            8-byte device identity
  radio() -> Radio            the HAN radio: send(psdu) (an 802.15.4 MPDU with FCS, <= 127 bytes),
                              recv() -> psdu or None (never blocks); ZEP over UDP to the air on
                              the virtual board, ESP-NOW on an ESP32 (docs/han.md §9-§10);
                              Reject("board-radio") when the board has none
  reset()                     restart the board (never returns on hardware)
  wait(timeout_ms)            sleep until an input may be waiting or timeout_ms passed (the
                              application loop's idle wait; firmware/app.py serve): the virtual
                              board blocks in select.poll on its UART/keypad/sim ptys and on
                              what watch() registered; the ESP32 sleeps a short slice (2 ms)
  watch(obj) / unwatch(obj)   add/remove a pollable object (socket, stream with a file) whose
                              input ends wait() early (a service's sockets: HAN radio, WAN)

Virtual board only: .flash (board.flash.NorFlash under "/": writes, cut_after, torn).

Stream: read(n) -> bytes or None (never blocks; None when nothing waits), write(b) -> int,
any() -> int (nonzero when bytes are waiting), readinto(buf) -> int or None.
"""
from firmware.alerts import Reject

UNIX_EPOCH_OFFSET = 946684800  # seconds from 1970-01-01 to 2000-01-01 (the ESP32 port's epoch)
UARTS = ("optical", "console")


class Stream:
    """Base of the Stream implementations: readinto() on top of read()."""

    def readinto(self, buf):
        b = self.read(len(buf))
        if b is None:
            return None
        buf[:len(b)] = b
        return len(b)


class PolledStream(Stream):
    """A Stream whose input is an object registered with select.poll (tty file, stdin)."""

    def _register(self, obj):
        import select

        self._poll = select.poll()
        self._poll.register(obj, select.POLLIN)
        self.src = obj  # what a board's wait() polls for this stream's input

    def any(self):
        return 1 if self._poll.poll(0) else 0


class MemStream(Stream):
    """In-memory Stream: bytes fed with feed() are read by the firmware; writes collect in .out.

    Used by the detached unix board and by tests in place of a UART.
    """

    def __init__(self):
        self.inbuf = bytearray()
        self.out = bytearray()

    def feed(self, b):
        self.inbuf += b

    def any(self):
        return len(self.inbuf)

    def read(self, n=-1):
        if not self.inbuf:
            return None
        if n is None or n < 0:
            n = len(self.inbuf)
        b = bytes(self.inbuf[:n])
        self.inbuf = self.inbuf[n:]
        return b

    def write(self, b):
        self.out += b
        return len(b)

    def take(self):
        """Everything written so far (and forget it)."""
        b = bytes(self.out)
        self.out = bytearray()
        return b


class Keypad:
    """Key input over a Stream: each byte is one key ('0'-'9', 'A'-'D', '*', '#', '\\n' = enter)."""

    def __init__(self, stream):
        self.stream = stream

    def any(self):
        return bool(self.stream.any())

    def key(self):
        b = self.stream.read(1)
        return chr(b[0]) if b else None


class BaseBoard:
    """What both implementations share: the uart table, the Store, the settable wall clock."""

    def __init__(self):
        self._uarts = {}
        self._store = None
        self._watched = []

    def watch(self, obj):
        """Let input on `obj` (a socket or file registered with select.poll) end wait() early."""
        if obj not in self._watched:
            self._watched.append(obj)
            self._poller = None

    def unwatch(self, obj):
        if obj in self._watched:
            self._watched.remove(obj)
            self._poller = None

    def wait(self, timeout_ms):
        """Idle until input may be waiting, at most timeout_ms. Here (ESP32, detached boards): a
        short sleep slice, as the application loop always slept; board.unix blocks in poll."""
        import time

        ms = 2 if timeout_ms is None or timeout_ms > 2 else max(0, timeout_ms)
        try:
            time.sleep_ms(ms)
        except AttributeError:  # CPython (tests)
            time.sleep(ms / 1000)

    def clock_rate(self):
        """Meter seconds per real second: 1 (board.unix: its virtual clock's rate)."""
        return 1

    def uart(self, name):
        u = self._uarts.get(name)
        if u is None:
            if name not in UARTS:
                raise Reject("board-uart", None, repr(name))
            u = self._open_uart(name)
            self._uarts[name] = u
        return u

    def store(self):
        if self._store is None:
            from firmware.store.durable import Store

            self._store = Store(self.storage_root())
            self.boot_report = self._store.boot()
        return self._store


def eui64_from_mac(mac):
    """EUI-64 from a 6-byte MAC (insert FF FE in the middle, as IEEE describes for EUI-48)."""
    if len(mac) != 6:
        raise Reject("board-eui", None, "mac length %d" % len(mac))
    return bytes(mac[:3]) + b"\xff\xfe" + bytes(mac[3:])
