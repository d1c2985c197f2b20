"""Test rig for the UTRN acceptance tests (a device = store directory + meter model + Acceptor that
reboots from its store) (no tests of its own; the rig is exercised by every test that uses it). Imported by test_utrn_accept/paths/lockout/
config.py; kept separate so that each of those compiles within the 96 KB MicroPython heap.
"""
# Run on its own (it has no tests) the module's compile happens before the store is loaded and the
# heap fragments; the modules that use it import it first and run at the 96K device heap.
MP_HEAPSIZE = "128K"
from firmware.store.durable import Store  # first, then the acceptor: fewest fragments
from firmware.utrn.accept import Acceptor, pack_state
from firmware.meter.model import MeterModel
import json
import os
from binascii import hexlify

import _t
from firmware.alerts import Reject
from firmware.utrn import codec, mac


def _vec(name):
    with open(_t.ROOT + "/tests/vectors/utrn/" + name) as f:
        return json.load(f)


class Clock:
    def __init__(self, t=1700000000):
        self.t = t

    def __call__(self):
        return self.t


class Rig:
    """A device: store directory + meter model + acceptor; reboot() rebuilds all from the store."""

    def __init__(self, vec="rtds_a0.json", defaults=False, **cfg):
        # tests not about the lockout raise its threshold so that rejections can be repeated
        if not defaults:
            cfg.setdefault("lock_fails", 1000)
        self.v = _vec(vec)
        self.dir = "/tmp/smlab-utrn-" + hexlify(os.urandom(6)).decode()
        os.mkdir(self.dir)
        self.clock = Clock()
        self.reboot()
        if cfg:
            self.a.configure(**cfg)

    def reboot(self):
        self.store = Store(self.dir + "/state")
        self.store.boot()
        self.meter = MeterModel(self.store)
        self.a = Acceptor(self.store, _t.unhex(self.v["device_eui"]), _t.unhex(self.v["supplier_eui"]),
                          _t.unhex(self.v["z"]), self.meter, self.clock)
        self.a.boot()
        return self.a

    def make(self, counter, vclass, value, z=None, device=None):
        """A code made with the firmware's own MAC (independent host generation is tested in
        tests/host/test_utrn_host.py)."""
        z = _t.unhex(z or self.v["z"])
        d = _t.unhex(device or self.v["device_eui"])
        s = _t.unhex(self.v["supplier_eui"])
        hi = ((counter & 0x3FF) << 15) | (vclass << 13) | value
        return codec.encode(counter & 0x3FF, vclass, value, mac.tag4(z, s, d, counter, hi.to_bytes(4, "big")))

    def close(self):
        _t.rmtree(self.dir)


def _state(rig):
    # the whole acceptance state as its record bytes (balance, cache, floors, pending, count) plus
    # the meter model's payment mode and supply
    return bytes(pack_state(rig.a._st)), rig.meter.payment_mode, rig.meter.supply


def _rejects(rig, code, want_code, reason=None, **kw):
    """Entering `code` is refused with `want_code` (and `reason`) and changes no state, in RAM or
    durably (checked after a reboot)."""
    before = _state(rig)
    e = _t.raises(Reject, rig.a.accept, code, **kw)
    assert e.code == want_code, (code, e)
    if reason is not None:
        assert e.reason == reason, (code, e)
    assert _state(rig) == before
    rig.reboot()
    assert _state(rig) == before
    return e

