"""ESP32 implementation of the board interface (interface in board/hal.py).

Written against the MicroPython ESP32 port documentation (docs.micropython.org "Quick reference
for the ESP32", machine.UART, machine.RTC, machine.Pin, esp32.NVS): the optical port is a
machine.UART (IEC 62056-21 starts at 300 baud 7E1), the console is the REPL UART (stdin/stdout),
storage is the littlefs2 `vfs` partition the port mounts at "/" (power-safe; FAT is not),
the keypad a 4x4 matrix on GPIOs, the display the console until a panel driver is added.
Only compiled on the host (tests/host/test_mpy_cross.py, -march=xtensawin); not run on hardware here.
Caveat: the stock port's _boot.py formats the vfs partition when it cannot mount it (all device
state lost); a production build should freeze a _boot.py that refuses instead, as board/unix_boot.py
does for the virtual board.
"""
import sys
import time

import machine

from board.hal import UNIX_EPOCH_OFFSET, BaseBoard, PolledStream, eui64_from_mac
from firmware.compat import const

OPTICAL_UART_ID = const(1)
OPTICAL_TX = const(17)
OPTICAL_RX = const(16)
OPTICAL_BAUD = const(300)
KEYPAD_ROWS = (32, 33, 25, 26)
KEYPAD_COLS = (27, 14, 12, 13)
KEYPAD_MAP = "123A456B789C*0#D"
STORAGE_ROOT = "/state"


class _Console(PolledStream):
    """The REPL UART as a Stream (non-blocking read through select.poll on sys.stdin; one byte at
    a time, as the ESP32 REPL UART delivers them)."""

    def __init__(self):
        self._register(sys.stdin)

    def read(self, n=-1):
        if not self.any():
            return None
        return sys.stdin.buffer.read(1)

    def write(self, b):
        return sys.stdout.buffer.write(b)


class MatrixKeypad:
    """4x4 matrix keypad: rows driven low one at a time, columns read with pull-ups."""

    def __init__(self, rows=KEYPAD_ROWS, cols=KEYPAD_COLS, keymap=KEYPAD_MAP):
        P = machine.Pin
        self.rows = [P(r, P.OUT, value=1) for r in rows]
        self.cols = [P(c, P.IN, P.PULL_UP) for c in cols]
        self.keymap = keymap
        self._down = None

    def _scan(self):
        for i in range(len(self.rows)):
            self.rows[i].value(0)
            for j in range(len(self.cols)):
                if not self.cols[j].value():
                    self.rows[i].value(1)
                    return self.keymap[i * len(self.cols) + j]
            self.rows[i].value(1)
        return None

    def any(self):
        k = self._scan()
        return k is not None and k != self._down

    def key(self):
        """The key newly pressed since the last call (edge-triggered), else None."""
        k = self._scan()
        if k == self._down:
            return None
        self._down = k
        return k


class Board(BaseBoard):
    def _open_uart(self, name):
        if name == "console":
            return _Console()
        u = machine.UART(OPTICAL_UART_ID, baudrate=OPTICAL_BAUD, bits=7, parity=0, stop=1,
                         tx=OPTICAL_TX, rx=OPTICAL_RX, timeout=0)
        return u  # machine.UART already has read(n) -> bytes|None, write, any, readinto

    def storage_root(self):
        return STORAGE_ROOT

    def ticks_ms(self):
        return time.ticks_ms()

    def wan_address(self):
        """(host, port) the hub's WAN endpoint listens on: Wi-Fi station mode with the store's "wifi"
        record {"ssid", "key", "port"} (docs/wan.md; compile-checked, not run on hardware). The
        connection is started and not waited for: the listener binds to every interface and serves
        once the link is up. None without a "wifi" record."""
        w = self.store().get_json("wifi", None)
        if not w:
            return None
        import network

        sta = network.WLAN(network.STA_IF)
        sta.active(True)
        if not sta.isconnected():
            sta.connect(w["ssid"], w.get("key", ""))
        return ("0.0.0.0", int(w.get("port", 4059)))

    def time(self):
        t = time.time()
        return t + UNIX_EPOCH_OFFSET if time.gmtime(0)[0] == 2000 else t

    def set_time(self, t):
        if time.gmtime(0)[0] == 2000:
            t -= UNIX_EPOCH_OFFSET
        y, mo, d, h, mi, s, wd, _ = time.gmtime(int(t))
        machine.RTC().datetime((y, mo, d, wd, h, mi, s, 0))

    def keypad(self):
        kp = getattr(self, "_keypad", None)
        if kp is None:
            kp = self._keypad = MatrixKeypad()
        return kp

    def display(self, text):
        print("[display] " + text)

    def eui64(self):
        return eui64_from_mac(machine.unique_id())

    def radio(self):
        """The HAN radio: IEEE 802.15.4 frames over ESP-NOW (board/espnow_radio.py)."""
        r = getattr(self, "_radio", None)
        if r is None:
            from board.espnow_radio import EspNowRadio

            r = self._radio = EspNowRadio()
        return r

    def reset(self):
        machine.reset()
