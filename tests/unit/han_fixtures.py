"""A HAN in one process for tests and benches: a Comms Hub (the CHF role on its own durable store,
firmware/han/hub.py on an in-memory medium) and joining devices (firmware/han/device.py, each on
its own store), provisioned like the boards (identity + KA keys, the "han" records), a fake
millisecond clock, and a loop that polls every node until a condition holds. Runs under CPython
and the MicroPython unix port."""
import binascii
import os

from firmware.han.memair import MemAir

T0 = 1420070400  # the hub's wall clock (epoch s) in these scenarios
HUB_EUI = bytes.fromhex("00db1234567890a2")
CODE = b"0123456789ABCDEF"


def dev_eui(n):
    return bytes((0x00, 0xDB, 0x12, 0x34, 0x56, 0x78, 0x91, n & 0xFF))


def ka_of(n):
    """A deterministic GBCS KA private key for node n (bench keys, not a real device's)."""
    return bytes(((n * 17 + i * 7 + 1) & 0xFF for i in range(31))) + b"\x01"


def code_of(n):
    return ("%02X" % (n & 0xFF)).encode() * 8


def ka_pub(d):
    from firmware.zigbee import cbke

    return cbke.public_key_of(d)


def _hex(b):
    return binascii.hexlify(bytes(b)).decode()


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


class _HubBoard:
    def __init__(self):
        self.t = T0

    def time(self):
        return self.t


def tmpdir(tag):
    return "/tmp/han_%s_%s" % (tag, _hex(os.urandom(4)))


def provision(store, eui, ka, han):
    from firmware.core import provision as factory

    factory.provision(store, eui, ka, bytes(range(2, 34)), [])
    store.put_json("han", han)


class Net:
    """A hub and `n` devices on one MemAir. Device i has EUI dev_eui(i) and install code
    code_of(i); `logged` devices are added to the hub's Device Log (CCS01's effect) at start."""

    def __init__(self, n, logged=(), root=None, record=False, store_cls=None):
        from firmware.store.durable import Store

        self.Store = store_cls or Store
        self.root = root or tmpdir("net")
        try:
            os.mkdir(self.root)
        except OSError:
            pass
        self.air = MemAir(record)
        self.clock = Clock()
        self.board = _HubBoard()
        self.n = n
        hub_ka = ka_of(200)
        peers = {}
        for i in range(n):
            peers[_hex(dev_eui(i))] = _hex(ka_pub(ka_of(i)))
        st = self.Store(self.root + "/hub")
        if st.get_json("han", None) is None:
            provision(st, HUB_EUI, hub_ka, {"pan": 0x1A62, "channel": 11, "peers": peers})
            st.put_json("role", {"role": "chf"})
        for i in range(n):
            d = self.Store(self.root + "/dev%d" % i)
            if d.get_json("han", None) is None:
                provision(d, dev_eui(i), ka_of(i),
                          {"install_code": _hex(code_of(i)), "tc": _hex(HUB_EUI),
                           "tc_ka": _hex(ka_pub(hub_ka)), "channel": 11})
        self.hub_radio = self.air.radio()
        self.dev_radios = [self.air.radio() for _ in range(n)]
        self.boot_hub()
        for i in logged:
            self.hub.role.devlog.add(dev_eui(i), code_of(i), 3600, True, T0)
        self.devs = [None] * n
        for i in range(n):
            self.boot_dev(i)

    def boot_hub(self):
        from firmware import roles
        from firmware.han import hub

        st = self.Store(self.root + "/hub")
        role = roles.build("chf", self.board, st)
        self.hub = hub.Coordinator(self.hub_radio, role, st, self.clock)
        return self.hub

    def boot_dev(self, i):
        from firmware.han import device

        st = self.Store(self.root + "/dev%d" % i)
        self.devs[i] = device.Joiner(self.dev_radios[i], st, dev_eui(i), self.clock)
        return self.devs[i]

    def poll(self, step_ms=5):
        self.hub.poll()
        for d in self.devs:
            if d is not None:
                d.poll()
        self.clock.t += step_ms

    def run(self, until, max_polls=4000, step_ms=5):
        for k in range(max_polls):
            if until():
                return k
            self.poll(step_ms)
        return None

    def cleanup(self):
        from _t import rmtree

        rmtree(self.root)
