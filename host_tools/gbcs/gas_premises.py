"""A gas premises in process for benches and tests (docs/gas.md "Sleepy GSME"): the RTDS GSME
00DB1234567890A1 and the RTDS GPF 00DB1234567890A3 (host_tools/gbcs/gsme_rtds.py, gpf_rtds.py:
bench static ECDH secrets) on one virtual clock, joined by an in-memory medium that carries the
same ZSE Tunneling ZCL frames the HAN would (firmware/gas/sleepy.py). Remote-party commands are
made on the host from RTDS commands with a fresh originator counter, MAC'd with the originator's
published KA key; responses are verified with `cryptography` (runner.judge). CPython only.

    p = InProcessPremises(workdir, t0)
    p.queue_for_gsme(name, counter)   # a WAN command for the GSME: held at the GPF
    p.read_gpf(name, counter)         # a GPF read: answered at once from the mirror
    p.advance(seconds)                # the virtual clock; the GSME wakes when due

han_premises(root, keys) is the same premises with the real hub around the GPF: the CHF's WAN
endpoint (TCP on loopback) and router (firmware/wan/gasproxy.py), the GSME joined by CBKE over the
HAN stack (firmware/han) on an in-memory medium, its wakes over its HAN port (sleepy.PortLink).
"""
import os
import time

from host_tools.gbcs import corpus as C

GSME = bytes.fromhex("00db1234567890a1")
GPF = bytes.fromhex("00db1234567890a3")
EPOCH_2000 = 946684800
HUB = bytes.fromhex("00db1234567890a2")
CODE = b"0123456789ABCDEF"  # the GSME's install code (bench)
T0 = 1420070400
ACB = bytes.fromhex("90b3d51f30000002")


class Clock:
    def __init__(self, t):
        self.t = t

    def time(self):
        return self.t


def rtds_command(name):
    """(path, parsed message) of the RTDS command file `name` (basename)."""
    from firmware.gbcs import frame

    for f in C.corpus_files():
        if os.path.basename(f) == name:
            return f, frame.parse(C.load_hex(f))
    raise KeyError(name)


def remac(keys, name, counter, recipient_ka_pub):
    """RTDS command `name` again with originator counter `counter`, MAC'd on the host with the
    ACB's published KA private key, as the ACB MACs every command (non-critical commands)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame, parties as P

    _, m = rtds_command(name)
    m.counter = counter
    frame.build(m)
    priv = keys.parties[ACB].priv["ka"]
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), recipient_ka_pub)
    z = priv.exchange(ec.ECDH(), pub)
    return frame.set_mac(m, gbcs_mac(z, m.originator, P.U_COMMAND, frame.u64(counter), m.recipient,
                                     m.mac_aad(), 12))


class InProcessPremises:
    def __init__(self, workdir, t0=1420070400, keys=None):
        from firmware import roles
        from firmware.store.durable import Store
        from firmware.gas.sleepy import Hub
        from host_tools.gbcs.gpf_rtds import GpfRole
        from host_tools.gbcs.gsme_rtds import GsmeRole

        self.keys = keys or C.Keystore(C.KEYSTORE)
        self.clock = Clock(t0)
        self.gsme_role, self.gpf_role = GsmeRole(), GpfRole()
        s1, s2 = Store(os.path.join(workdir, "gsme")), Store(os.path.join(workdir, "gpf"))
        self.gsme_role.provision_store(s1, self.keys)
        self.gpf_role.provision_store(s2, self.keys)
        self.gsme = roles.build("gsme", self.clock, s1)
        self.gpf = roles.build("gpf", self.clock, s2)
        self.hub = Hub(self.gpf)
        self.out = []  # (virtual time, GBCS message the GSME PUT) passed on to the WAN
        self.awake = []  # wall seconds of each wake's HAN session
        self.frames = 0

    def _send(self, zcl_frame):
        self.frames += 1
        reply, msg = self.hub.on_zcl(zcl_frame)
        if msg is not None:
            self.out.append((self.clock.t, msg))
        return reply

    def queue_for_gsme(self, name, counter):
        from firmware.gas import gpf

        raw = remac(self.keys, name, counter, self.keys.device_pub(GSME, "ka"))
        gpf.queue(self.gpf, raw)
        return raw

    def read_gpf(self, name, counter):
        raw = remac(self.keys, name, counter, self.keys.device_pub(GPF, "ka"))
        return raw, self.gpf.process(raw)

    def next_wake(self):
        return self.gsme.gas.st["wk"] + EPOCH_2000 - self.gsme._off

    def advance(self, seconds, step=60):
        """Run the virtual clock `seconds` on (in `step`s); the GSME wakes when its wake is due.
        Returns the wakes [(virtual time, fetched, put)]."""
        from firmware.gas.sleepy import wake

        end = self.clock.t + seconds
        wakes = []
        while True:
            nxt = min(end, max(self.clock.t, self.next_wake()))
            self.clock.t = nxt
            if self.gsme.poll():
                t0 = time.perf_counter()
                got, put = wake(self.gsme, self._send)
                self.awake.append(time.perf_counter() - t0)
                wakes.append((self.clock.t, got, put))
            if self.clock.t >= end:
                return wakes

    def verify(self, raw, rsp, device):
        """runner.judge of response `rsp` to command `raw` from `device` (GSME or GPF)."""
        from firmware.gbcs import frame
        from host_tools.gbcs import runner

        m = frame.parse(raw)
        role = self.gsme_role if device == GSME else self.gpf_role
        peer = self.keys.parties[m.originator].priv["ka"]
        ok, why, _, r = runner.judge(m, rsp, device, role.ds_pub(), role.ka_pub(self.keys), peer)
        return ok, why, r


class _Ms:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


class _Board:
    def __init__(self):
        self.t = T0

    def time(self):
        return self.t


def han_premises(root, keys):
    """The hub (RTDS CHF, its WAN endpoint on loopback TCP, GasRouter with the RTDS GPF) and the RTDS
    GSME joined to it over the HAN stack on an in-memory medium, one virtual clock (board.t, epoch
    s) and one millisecond clock (ms.t): a dict of the pieces and `pump` (one pass of every node)."""
    import binascii

    from firmware import roles
    from firmware.han import device, hub
    from firmware.han.memair import MemAir
    from firmware.han.port import HanPort
    from firmware.wan.gasproxy import GasRouter
    from firmware.store.durable import Store
    from firmware.wan.endpoint import Endpoint
    from firmware.zigbee import cbke
    from host_tools.gbcs.chf_rtds import CHF_BENCH_KA, ChfRole
    from host_tools.gbcs.gpf_rtds import GpfRole
    from host_tools.gbcs.gsme_rtds import GSME_BENCH_KA, GsmeRole

    hx = lambda b: binascii.hexlify(bytes(b)).decode()  # noqa: E731
    hub_ka = CHF_BENCH_KA
    os.makedirs(root, exist_ok=True)
    hst = Store(os.path.join(root, "hub"))
    ChfRole().provision_store(hst, keys)  # the RTDS hub (bench static ECDH secrets)
    hst.put_json("han", {"pan": 0x1A62, "channel": 11, "peers": {hx(GSME): hx(cbke.public_key_of(GSME_BENCH_KA))}})
    hst.put_json("role", {"role": "chf"})
    gst = Store(os.path.join(root, "gsme"))
    GsmeRole().provision_store(gst, keys)
    gst.put_json("han", {"install_code": hx(CODE), "tc": hx(HUB), "tc_ka": hx(cbke.public_key_of(hub_ka)), "channel": 11})
    pst = Store(os.path.join(root, "gpf"))
    GpfRole().provision_store(pst, keys)
    board, ms, air = _Board(), _Ms(), MemAir()
    chf = roles.build("chf", board, hst)
    chf.devlog.add(GSME, CODE, 3600, True, T0)  # CCS01's effect
    coord = hub.Coordinator(air.radio(), chf, hst, ms)
    joiner = device.Joiner(air.radio(), gst, GSME, ms)
    hp, dp = HanPort(coord), HanPort(joiner)
    ep = Endpoint("127.0.0.1", 0)
    gpf = roles.build("gpf", board, pst)
    router = GasRouter(chf, hp, ep, ms, gpf, GSME)
    gsme = roles.build("gsme", board, gst)

    def pump():
        hp.poll()
        dp.poll()
        router.poll()
        ms.t += 5

    return dict(board=board, ms=ms, dp=dp, ep=ep, router=router, gsme=gsme, gpf=gpf, pump=pump)
