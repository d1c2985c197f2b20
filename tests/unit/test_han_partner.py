"""CS03 method A between two meters on one HAN in one process (firmware/han/partner.py through
firmware/meter/joins.py; han.md §6; the P-256 CBKE deviation of docs/han.md §5): a hub and two
joined devices on an in-memory medium. The responder is armed and answers 0 at once; the
initiator finds it by NWK_addr_req and runs the CBKE on the air; both device logs hold the other
with the same partner link key (one write each); a ZCL frame APS-secured with that key reaches the
partner's application, one sealed with another key is refused. Failures: an initiator without
the partner's KA key (7, nothing on the air), a partner not armed (13 inside INITIATOR_MS), a
responder provisioned with another KA key for the initiator (11 on both sides), an initiator not
on the network (13, nothing sent), an armed
responder nobody calls (13 at its deadline, logged), a failed device-log write at the responder
(its MACV withheld: 5 there, 6 at the initiator). After a reboot a partner from the device log is
learnt from its first secured frame.

MP_HEAPSIZE: the hub role, three HAN stacks and the CBKE/P-256 code compiled from source in one
process."""
MP_HEAPSIZE = "512K"
import han_fixtures as H
from firmware.han import partner as P
from firmware.han.node import eui_int
from firmware.han.port import HanPort
from firmware.meter import der, joins
from firmware.zigbee import aps, cbke, mac, nwk, zcl

INT = {c: bytes((2, 1, c)) for c in range(14)}


class Msg:
    def __init__(self, code, content):
        self.message_code = code
        self.content = content
        self.counter = 1


class Role:
    """What joins.py and partner.py use of the ESME role: store, name, seclog, join_clock."""

    name = "esme"

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self.seclog = []

    def join_clock(self):
        return self.clock.t // 1000


class Broken:
    def __init__(self, st):
        self.st = st

    def get_json(self, n, d=None):
        return self.st.get_json(n, d)

    def get(self, n):
        return self.st.get(n)

    def put_json(self, n, o):
        if n == "devlog":
            raise OSError(5)
        self.st.put_json(n, o)


def jd(method, eui, dtype):
    body = bytes((2, 1, method, 4, 8)) + eui + bytes((2, 1, dtype))
    return bytes((0x30, len(body))) + body


class Pair:
    """Hub + devices 0 (A) and 1 (B), both joined; trust[i]: {device j: KA key index} in i's han."""

    def __init__(self, trust=({1: 1}, {0: 0}), n=2, logged=None):
        logged = tuple(range(n)) if logged is None else logged
        self.net = net = H.Net(n, logged=logged, record=True)
        assert net.run(lambda: all(net.devs[i].joined for i in logged), max_polls=8000) is not None
        self.roles, self.ports, self.parts = [], [], []
        for i in range(n):
            self.setup(i, trust[i] if i < len(trust) else {})

    def setup(self, i, trust):
        net = self.net
        d = net.devs[i]
        han = d.store.get_json("han")
        han["peers"] = {H._hex(H.dev_eui(j)): H._hex(H.ka_pub(H.ka_of(k))) for j, k in trust.items()}
        d.store.put_json("han", han)
        role = Role(d.store, net.clock)
        port = HanPort(d)
        part = P.Partner(role, port, idle=lambda ms, i=i: self.idle(i, ms))
        role.partner_cbke = part.cbke
        role.partner_forget = lambda e, d=d: d.forget(eui_int(e))  # as firmware/wan/node.py MeterNode
        if i < len(self.roles):
            self.roles[i], self.ports[i], self.parts[i] = role, port, part
        else:
            self.roles.append(role)
            self.ports.append(port)
            self.parts.append(part)

    def idle(self, me, ms):
        """The other nodes' loops while node `me` waits, and time passing."""
        net = self.net
        net.hub.poll()
        for i, p in enumerate(self.ports):
            if i != me:
                p.poll()
                self.parts[i].poll()
        net.clock.t += ms

    def do(self, i, code, content):
        return der.answer(self.roles[i], Msg(code, content), None, [])

    def ke_frames(self):
        """(sender index, ZCL direction, command) of the CBKE frames on the air between devices."""
        out = []
        for who, psdu in self.net.air.frames:
            m = mac.parse(psdu)
            if m.ftype != mac.DATA or m.dst == 0x0000:
                continue
            n = nwk.parse(m.payload)
            if not n.security:
                continue
            nwk.open_(n, self.net.hub.nwk_key)
            a = aps.parse(n.payload)
            if a.ftype == aps.DATA and a.cluster == cbke.CLUSTER and n.aux.src != self.net.hub.eui:
                h, _ = zcl.parse(a.payload)
                if n.dst != 0x0000:
                    out.append((who, h.direction, h.cmd))
        return out

    def cleanup(self):
        self.net.cleanup()


A, B = H.dev_eui(0), H.dev_eui(1)


def test_method_a_on_the_air_keys_and_secured_exchange():
    p = Pair()
    try:
        net = p.net
        sa, sb = net.devs[0].store, net.devs[1].store
        assert p.do(1, 0x00AB, jd(1, A, 1)) == INT[0]  # armed: answered at once
        assert joins.pending(p.roles[1], A) and der.device_log(sb) == []
        t0 = net.clock.t
        assert p.do(0, 0x000D, jd(0, B, 1)) == INT[0]
        assert net.clock.t - t0 < P.INITIATOR_MS
        la, lb = sa.get_json("devlog"), sb.get_json("devlog")
        assert la[0][:2] == [H._hex(B), 1] and lb[0][:2] == [H._hex(A), 1]
        assert la[0][2] == lb[0][2] and len(la[0][2]) == 32
        assert not joins.pending(p.roles[1], A) and p.roles[1].seclog == ["cs03 responder %s code 0" % H._hex(A).upper()]
        ke = p.ke_frames()
        assert [(w, c) for w, d, c in ke if d == zcl.TO_SERVER] == [(1, 0), (1, 1), (1, 2)]  # radio 1 = A
        assert [(w, c) for w, d, c in ke if d == zcl.TO_CLIENT] == [(2, 0), (2, 1), (2, 2)]
        # a Read Attributes A -> B APS-secured with the partner link key reaches B's application
        z = zcl.build(zcl.Header(zcl.GLOBAL, 9, zcl.READ_ATTRIBUTES), zcl.read_attributes([0]))
        assert p.ports[0].joined(B) and p.ports[1].joined(A)
        p.ports[0].send(B, zcl.METERING, z)
        p.idle(0, 5)
        assert p.ports[1].recv() == (A, zcl.METERING, z)
        p.ports[1].send(A, zcl.METERING, z)  # and back
        p.ports[0].poll()
        assert p.ports[0].recv() == (B, zcl.METERING, z)
        # sealed with another key: refused by B's APS security, nothing delivered
        da = net.devs[0]
        da.partners[int.from_bytes(B, "big")] = (da.partners[int.from_bytes(B, "big")][0], bytes(16))
        before = net.devs[1].link.dropped
        p.ports[0].send(B, zcl.METERING, z)
        p.idle(0, 5)
        assert p.ports[1].recv() is None and net.devs[1].link.dropped == before + 1
        # after a reboot B knows A from its device log and learns its short address from A's
        # first secured frame
        net.devs[1] = b = net.boot_dev(1)
        k = bytes.fromhex(lb[0][2])
        assert b.partners[int.from_bytes(A, "big")] == (None, k)
        assert not HanPort(b).joined(A)
        da.partners[int.from_bytes(B, "big")] = (da.partners[int.from_bytes(B, "big")][0], k)
        p.ports[1] = pb = HanPort(b)
        p.ports[0].send(B, zcl.METERING, z)
        pb.poll()
        assert pb.recv() == (A, zcl.METERING, z) and pb.joined(A)
        # the partner's key from another short address: refused
        short, before = da.link.short, b.link.dropped
        da.link.short = short ^ 0x5555
        p.ports[0].send(B, zcl.METERING, z)
        da.link.short = short
        pb.poll()
        assert pb.recv() is None and b.link.dropped == before + 1
    finally:
        p.cleanup()


def test_unjoined_partner_is_refused_at_once_and_after_a_reboot():
    p = Pair()
    try:
        net = p.net
        assert p.do(1, 0x00AB, jd(1, A, 1)) == INT[0] and p.do(0, 0x000D, jd(0, B, 1)) == INT[0]
        z = zcl.build(zcl.Header(zcl.GLOBAL, 9, zcl.READ_ATTRIBUTES), zcl.read_attributes([0]))
        p.ports[0].send(B, zcl.METERING, z)
        p.idle(0, 5)
        assert p.ports[1].recv() == (A, zcl.METERING, z)
        # CS04 on B removes A: the entry and, at once, the link key B's HAN held for it
        assert p.do(1, 0x000F, bytes((4, 8)) + A) == INT[0]
        assert der.device_log(net.devs[1].store) == [] and eui_int(A) not in net.devs[1].partners
        before = net.devs[1].link.dropped
        p.ports[0].send(B, zcl.METERING, z)  # A still holds the key: its frame is refused
        p.idle(0, 5)
        assert p.ports[1].recv() is None and net.devs[1].link.dropped == before + 1
        net.devs[1] = b = net.boot_dev(1)  # and after a reboot (the device log is the source)
        assert eui_int(A) not in b.partners
        p.ports[1] = pb = HanPort(b)
        before = b.link.dropped
        p.ports[0].send(B, zcl.METERING, z)
        pb.poll()
        assert pb.recv() is None and b.link.dropped == before + 1
    finally:
        p.cleanup()


def test_untrusted_unarmed_and_wrong_key():
    p = Pair(trust=({}, {0: 0}, {1: 1}), n=3, logged=(0, 1))
    try:
        n0 = len(p.net.air.frames)
        assert p.do(0, 0x000D, jd(0, B, 1)) == INT[7]  # no KA key for B at A: nothing sent
        assert len(p.net.air.frames) == n0
        assert not p.net.devs[2].joined  # not on the network: no CBKE response, nothing sent
        assert p.do(2, 0x000D, jd(0, B, 1)) == INT[13] and len(p.net.air.frames) == n0
        p.setup(0, {1: 1})
        t0 = p.net.clock.t
        assert p.do(0, 0x000D, jd(0, B, 1)) == INT[13]  # B not armed: no address, no CBKE
        assert p.net.clock.t - t0 <= P.INITIATOR_MS and p.net.devs[1].link.dropped >= 1
        assert der.device_log(p.net.devs[0].store) == []
        # B provisioned with another KA key for A: INVALID_CERTIFICATE on both sides
        p.setup(1, {0: 5})
        assert p.do(1, 0x00AB, jd(1, A, 1)) == INT[0]
        assert p.do(0, 0x000D, jd(0, B, 1)) == INT[11]
        assert p.roles[1].seclog[-1] == "cs03 responder %s code 11" % H._hex(A).upper()
        assert p.ke_frames()[-1][1:] == (zcl.TO_CLIENT, cbke.CMD_TERMINATE)
        assert der.device_log(p.net.devs[0].store) == der.device_log(p.net.devs[1].store) == []
        # an armed responder nobody calls: 13 at its deadline, logged, nothing written
        p.setup(1, {0: 0})
        assert p.do(1, 0x00AB, jd(1, A, 1)) == INT[0]
        p.net.clock.t += (joins.CBKE_TIMEOUT + 1) * 1000
        p.parts[1].poll()
        assert p.roles[1].seclog[-1] == "cs03 responder %s code 13" % H._hex(A).upper()
        assert not joins.pending(p.roles[1], A) and not p.parts[1].s
        # a CBKE Initiate from a device with no join pending is refused, unanswered
        before = p.net.devs[1].link.dropped
        sent = len(p.net.air.frames)
        p.parts[0].s[int.from_bytes(B, "big")] = s = P._Session(True, 10 ** 9, p.net.clock.t)
        s.short = p.net.devs[1].link.short
        p.parts[0]._initiate(int.from_bytes(B, "big"), s)
        p.idle(0, 5)
        assert p.net.devs[1].link.dropped == before + 1
        assert [w for w, _ in p.net.air.frames[sent:] if w in (1, 2)] == [1]  # A's Initiate, no answer
    finally:
        p.cleanup()


def test_responder_write_failure_withholds_macv():
    p = Pair()
    try:
        assert p.do(1, 0x00AB, jd(1, A, 1)) == INT[0]
        p.roles[1].store = Broken(p.roles[1].store)
        assert p.do(0, 0x000D, jd(0, B, 1)) == INT[6]  # B's Terminate NO_RESOURCES
        assert p.roles[1].seclog[-1] == "cs03 responder %s code 5" % H._hex(A).upper()
        assert der.device_log(p.net.devs[0].store) == der.device_log(p.net.devs[1].store) == []
        assert int.from_bytes(A, "big") not in p.net.devs[1].partners
    finally:
        p.cleanup()
