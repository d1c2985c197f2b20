"""A pre-configured premises in one process (firmware/han/preset.py): a Comms Hub, an ESME and an
IHD boot from the records a join would have left — no beacon, association, Transport-Key or CBKE
frame on the air — and talk at once: the IHD reads the meter's Metering / Prepayment attributes
over its application link key with the meter (firmware/han/ihd.py -> firmware/han/zclserver.py via
firmware/wan/node.py MeterNode) and shows them, follows the meter's changes, and reports a meter
that stops answering or no longer trusts it (typed, logged); the hub's APS-secured traffic with the
meter works with the preset TC link key; a frame from a device that is neither the Trust Centre
nor a partner is refused at the NWK layer.

MP_HEAPSIZE: the hub role and three HAN stacks in one process (on boards each is its own)."""
MP_HEAPSIZE = "512K"
import _t
import han_fixtures as H
from firmware.han import preset
from firmware.zigbee import mac, zcl

ESME = H.dev_eui(1)
IHD = H.dev_eui(2)


class _Engine:
    def __init__(self):
        self.r = {"ai": 1234567, "ae": 0, "tou": [0, 0, 0, 0], "t": 0}
        self.load = lambda t: 500
        self.acc = (1234, 0, 0)

    def accounts(self):
        return self.acc


class _Model:
    supply = "connected"


class _Log:
    def __init__(self):
        self.lines = []

    def append(self, x):
        self.lines.append(x)


class _Esme:
    """The meter role's surface MeterNode and the attribute server use (the engine stands in for
    firmware/meter/engine.py's registers and account)."""
    name = "esme"

    def __init__(self, store):
        self.store = store
        self.eui = ESME
        self.meter = _Engine()
        self.model = _Model()
        self.seclog = _Log()

    def process(self, msg):
        raise AssertionError("no GBCS here")


class _Board:
    def __init__(self, clock):
        self.ticks_ms = clock
        self.lines = []

    def display(self, s):
        self.lines.append(s)


def _premises(root):
    from firmware.han.memair import MemAir
    from firmware.store.durable import Store

    air = MemAir(True)
    clock = H.Clock()
    nwk = bytes(range(16))
    lk = {ESME: bytes(range(16, 32)), IHD: bytes(range(32, 48))}
    app = bytes(range(48, 64))
    hub_recs, dev_recs = preset.records(H.HUB_EUI, nwk, [(ESME, lk[ESME]), (IHD, lk[IHD])],
                                        partners=[(ESME, IHD, preset.TYPE2, app)])
    hub_ka = H.ka_of(200)
    st = Store(root + "/hub")
    H.provision(st, H.HUB_EUI, hub_ka, {"pan": preset.DEFAULT_PAN, "channel": 11, "peers": {}})
    st.put_json("role", {"role": "chf"})
    for k, v in hub_recs.items():
        st.put(k, bytes.fromhex(v["hex"])) if "hex" in v else st.put_json(k, v)
    stores = {}
    for i, e in ((1, ESME), (2, IHD)):
        d = stores[e] = Store(root + "/dev%d" % i)
        H.provision(d, e, H.ka_of(i), {"install_code": H._hex(H.code_of(i)), "tc": H._hex(H.HUB_EUI),
                                       "tc_ka": H._hex(H.ka_pub(hub_ka)), "channel": 11})
        for k, v in dev_recs[e].items():
            d.put_json(k, v)
    stores[IHD].put_json("ihd", {"meter": H._hex(ESME), "interval_ms": 1000, "timeout_ms": 300})
    return air, clock, st, stores


def test_preconfigured_premises_talks_without_joining():
    from firmware import roles
    from firmware.han import device, hub
    from firmware.han.ihd import IhdNode
    from firmware.han.port import HanPort
    from firmware.roles.ihd import Ihd
    from firmware.wan.node import MeterNode

    root = H.tmpdir("preset")
    import os
    os.mkdir(root)
    try:
        air, clock, hst, stores = _premises(root)
        hrole = roles.build("chf", H._HubBoard(), hst)
        coord = hub.Coordinator(air.radio(), hrole, hst, clock)
        ed = device.Joiner(air.radio(), stores[ESME], ESME, clock)
        idv = device.Joiner(air.radio(), stores[IHD], IHD, clock)
        assert ed.joined and idv.joined  # from their stores: nothing to do on site
        assert coord.short_of(ed.eui) == ed.link.short and coord.short_of(idv.eui) == idv.link.short
        hp, ep, ip = HanPort(coord), HanPort(ed), HanPort(idv)
        esme = _Esme(stores[ESME])
        mnode = MeterNode(esme, ep)
        board = _Board(clock)
        irole = Ihd(stores[IHD])
        inode = IhdNode(irole, ip, board)

        def run(until, n=600):
            for _ in range(n):
                if until():
                    return True
                coord.poll()
                mnode.poll()
                inode.poll()
                hp.poll()
                clock.t += 10
            return until()

        assert run(lambda: board.lines)
        assert board.lines == ["IHD BAL 12.34 KWH 1234.567 W 500"], board.lines
        # no join frame: every frame on air is a MAC data frame (no beacon, association or CBKE)
        assert air.frames and all(mac.parse(f).ftype == mac.DATA for _, f in air.frames)
        assert not coord.joins and not coord.sessions
        # the meter changes (a top-up, more load): the IHD follows at its next poll
        esme.meter.acc = (2234, 0, 0)
        esme.meter.load = lambda t: 2000
        esme.meter.r["ai"] += 1000
        assert run(lambda: len(board.lines) == 2)
        assert board.lines[-1] == "IHD BAL 22.34 KWH 1235.567 W 2000"
        assert inode.errors == 0 and inode.rounds >= 2
        # the hub (Trust Centre) reads the meter too, over its preset TC link key
        hp.send(ESME, zcl.METERING, zcl.build(zcl.Header(zcl.GLOBAL, 77, zcl.READ_ATTRIBUTES, zcl.TO_SERVER),
                                              zcl.read_attributes([0x0000])))
        got = []
        for _ in range(50):
            coord.poll()
            mnode.poll()
            f = hp.recv()
            if f is not None:
                got.append(f)
                break
            clock.t += 10
        assert got and got[0][0] == ESME and got[0][2][:3] == bytes((0x18, 77, 0x01))
        # the meter stops trusting the IHD (CS04 removed it from its device log): refused, logged;
        # the IHD times out, logs once, keeps its last line
        stores[ESME].put_json("devlog", [])
        n = inode.errors
        assert run(lambda: inode.errors >= n + 2)
        assert inode.last_error.reason == "timeout"
        assert any("han zcl untrusted" in x for x in esme.seclog.lines)
        assert board.lines[-1] == "IHD BAL 22.34 KWH 1235.567 W 2000"
        ev = [e for e in stores[IHD].log("event").entries()]
        assert len([e for e in ev if "timeout" in str(e)]) == 1, ev
    finally:
        from _t import rmtree

        rmtree(root)


def test_stranger_refused_at_nwk():
    """A device with the network key but neither the Trust Centre nor a partner of the meter:
    its frames to the meter are refused (counted) and never reach the application."""
    from firmware.han import device
    from firmware.han.port import HanPort
    from firmware.wan.node import MeterNode

    root = H.tmpdir("preset2")
    import os
    os.mkdir(root)
    try:
        air, clock, hst, stores = _premises(root)
        # the IHD forgets it is the meter's partner, but keeps pretending to be: the meter has no
        # application link key for it under any other identity
        j = stores[IHD].get_json("han_join")
        ed = device.Joiner(air.radio(), stores[ESME], ESME, clock)
        esme = _Esme(stores[ESME])
        mnode = MeterNode(esme, HanPort(ed))
        del ed.partners[int.from_bytes(IHD, "big")]
        idv = device.Joiner(air.radio(), stores[IHD], IHD, clock)
        ip = HanPort(idv)
        ip.send(ESME, zcl.METERING, zcl.build(zcl.Header(zcl.GLOBAL, 1, zcl.READ_ATTRIBUTES, zcl.TO_SERVER),
                                              zcl.read_attributes([0])))
        before = ed.link.dropped
        mnode.poll()
        idv.poll()
        assert ed.link.dropped == before + 1 and ed.last_reject.reason == "format"
        assert ip.recv() is None and j["partners"]
    finally:
        from _t import rmtree

        rmtree(root)
