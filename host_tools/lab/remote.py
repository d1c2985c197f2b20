"""A board reached through an acquired labgrid place: its UARTs are network serial ports (RFC 2217
URLs, opened through host_tools.util.open_serial as the HHT client does; mpremote takes them too).

A virtual board's keypad is one of them; what the firmware shows comes back on its console as
`[display] TEXT` lines (board/unix.py), so a keypad step listens on the console while it types.
Opening an RFC 2217 port costs about 0.8 s (option negotiation, then close), so the keypad and a
console listener stay connected for the whole campaign; ser2net serves several connections per
port, so mpremote (flash, logs, reset) still gets the console when it needs it.
"""
import threading
import time

DISPLAY = b"[display] "


def open_url(url, baudrate=115200, timeout=0.05):
    from host_tools.util import open_serial

    return open_serial(url, baudrate, timeout=timeout, iec=False)


class RemoteKeys:
    """The keypad and display of a board behind a place (kept-open connections)."""

    def __init__(self, console, keypad):
        self.console_url, self.keypad_url = console, keypad
        self.con = self.kp = None
        self.lock = threading.Lock()

    def _open(self):
        if self.con is None:
            self.con = open_url(self.console_url)
        if self.kp is None:
            self.kp = open_url(self.keypad_url, 9600)

    def close(self):
        for s in (self.con, self.kp):
            if s is not None:
                try:
                    s.close()
                except Exception:  # the exporter may be gone: nothing to close cleanly
                    pass
        self.con = self.kp = None

    def type_keys(self, keys, timeout=10.0, expect=1):
        """Type `keys`; return the display lines the console shows after them (waits for `expect`
        lines or `timeout` seconds)."""
        with self.lock:
            try:
                self._open()
                while self.con.read(65536):  # what was printed before these keys
                    pass
                self.kp.write(keys.encode())
                self.kp.flush()
                buf, lines = b"", []
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and len(lines) < expect:
                    chunk = self.con.read(4096)
                    if not chunk:
                        continue
                    buf += chunk
                    *done, buf = buf.split(b"\n")
                    for ln in done:
                        ln = ln.rstrip(b"\r")
                        if ln.startswith(DISPLAY):
                            lines.append(ln[len(DISPLAY):].decode(errors="replace").strip())
                return lines
            except Exception:
                self.close()  # reconnect on the next step
                raise
