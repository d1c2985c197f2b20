"""Host-test rig (no tests here) for the optical port: the firmware OpticalPort (CPython) serving one end of a pty pair in
a thread, the HHT (pyserial) on the other end. Used by tests/host/test_hht*.py and
test_optical*.py; not a test module itself."""
import os
import select
import tempfile
import threading
import time

from firmware.compat import ticks_ms
from firmware.core import seclog
from firmware.optical.auth import Authenticator
from firmware.optical.port import OpticalPort
from firmware.optical.restricted import MeterView
from firmware.store.durable import Store


class FdStream:
    """UART-like stream on the pty master fd (the meter's side)."""

    def __init__(self, fd):
        self.fd = fd
        os.set_blocking(fd, False)

    def any(self):
        r, _, _ = select.select([self.fd], [], [], 0)
        return 4096 if r else 0

    def read(self, n):
        try:
            return os.read(self.fd, n)
        except BlockingIOError:
            return None

    def write(self, b):
        view = memoryview(bytes(b))
        while view:
            try:
                k = os.write(self.fd, view)
                view = view[k:]
            except BlockingIOError:
                time.sleep(0.001)
        return len(b)


class HostClock:
    def __init__(self, offset=0):
        self.offset = offset

    def ticks_ms(self):
        return ticks_ms()

    def time(self):
        return int(time.time()) + self.offset


class PtyMeter:
    """A meter's optical side served over a pty; `hht_serial()` opens the HHT's pyserial end.
    reboot() rebuilds every firmware object on the same store directory (power cycle)."""

    def __init__(self, eui, anchors, root=None, esme_factory=None, registers=None):
        self.eui = eui
        self.anchors = anchors
        self.tmp = None
        if root is None:
            self.tmp = tempfile.TemporaryDirectory()
            root = self.tmp.name
        self.root = root
        self.esme_factory = esme_factory
        self.registers = registers or (lambda: [("1.8.0", "0001234.567", "kWh")])
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        self.stream = FdStream(self.master)
        self.clock = HostClock()
        self.shown = []
        self._thread = None
        self.errors = []
        self._boot()

    def _boot(self):
        from firmware.meter.model import MeterModel

        self.store = Store(self.root)
        self.store.boot()
        self.esme = self.esme_factory(self.store) if self.esme_factory else None
        self.model = self.esme.model if self.esme else MeterModel(self.store)
        self.view = MeterView(self.store, self.eui, self.clock, self.model, self.registers,
                              self.shown.append)
        self.port = OpticalPort(self.stream, self.store, self.clock, self.eui, self.view,
                         Authenticator(self.anchors, self.eui, self.clock),
                         self.esme.process if self.esme else None)

    def start(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                busy = self.stream.any()
                self.port.poll()
            except Exception as e:  # recorded and re-raised by stop(): a crash fails the test
                self.errors.append(e)
                return
            if not busy:
                time.sleep(0.002)

    def stop(self):
        if self._thread:
            self._stop.set()
            self._thread.join(5)
            self._thread = None
        if self.errors:
            raise self.errors[0]

    def reboot(self):
        self.stop()
        self._boot()
        return self.start()

    def hht_serial(self):
        from host_tools.hht.hht import open_port

        return open_port(self.path, timeout=0.05)

    def security(self):
        """The optical port's security log."""
        return seclog.optical(self.store).entries()

    def gbcs_security(self):
        """The GBCS security log (the pipeline behind pass-through writes it)."""
        return seclog.read(self.store, seclog.GBCS)

    def close(self):
        self.stop()
        os.close(self.master)
        os.close(self.slave)
        if self.tmp:
            self.tmp.cleanup()
