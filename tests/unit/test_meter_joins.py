"""Device-to-device joins on the meter's own device log (firmware/meter/joins.py through
firmware/meter/der.py; han.md §6, GBCS CS03/CS04/CS07): every join response code the ESME
produces as its DER bytes, CS04 0/1/2, CS07 0/1 with the entry list, one store write per change,
and the method A partner CBKE (firmware/zigbee/cbke.py, the P-256 deviation of han.md §4.3)
driven in process through the HAN hook: its Terminate statuses give codes 6-11. The CBKE's
P-256 code is compiled from source here, hence MP_HEAPSIZE."""
MP_HEAPSIZE = "256K"
import os
from binascii import hexlify

import _t
from firmware.meter import der, joins
from firmware.store.durable import Store
from firmware.zigbee import cbke

U = _t.unhex
HCALCS = U("00db12345678909a")
OTHER = U("00db123456789093")
ESME_EUI = 0x00DB1234567890A0
D_ESME = U("1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809")
D_PART = U("0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0")
INT = {c: bytes((2, 1, c)) for c in range(14)}


class Msg:
    def __init__(self, code, content, counter=1):
        self.message_code = code
        self.content = content
        self.counter = counter


class Gate:
    def __init__(self):
        self.t = 1000

    def clock(self):
        return self.t


class Dev:
    name = "esme"

    def __enter__(self):
        self.root = "/tmp/smlab-joins-" + hexlify(os.urandom(6)).decode()
        self.store = Store(self.root)
        self.gate = Gate()
        self.log = []
        return self

    def __exit__(self, *a):
        _t.rmtree(self.root)

    def join_clock(self):
        return self.gate.t

    def do(self, code, content):
        return der.answer(self, Msg(code, content), None, self.log)


def jd(method, eui, dtype, cert=b""):
    body = bytes((2, 1, method, 4, 8)) + eui + bytes((2, 1, dtype)) + cert
    return bytes((0x30, len(body))) + body


class Broken:
    """A store whose writes fail (flash error)."""

    def __init__(self, st):
        self.st = st

    def get_json(self, n, d=None):
        return self.st.get_json(n, d)

    def put_json(self, n, o):
        raise OSError(5)


class Writes:
    def __init__(self, st):
        self.st = st
        self.n = 0

    def get_json(self, n, d=None):
        return self.st.get_json(n, d)

    def put_json(self, n, o):
        self.n += 1
        self.st.put_json(n, o)


def test_rtds_cs03a1_fixture_and_codes_0_1_2_3_4_11():
    with Dev() as d:
        # the RTDS CS03A1 content (han.md §6): method A initiator, HCALCS
        assert jd(0, HCALCS, 4) == U("30100201000408" "00DB12345678909A" "020104")
        d.store = w = Writes(d.store)
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[0] and w.n == 1
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[0] and w.n == 1  # already there: no write
        assert d.do(0x000D, jd(0, HCALCS, 5)) == INT[3] and w.n == 1
        assert d.do(0x000D, jd(1, OTHER, 1)) == INT[1]  # responder payload in an initiator code
        assert d.do(0x00AB, jd(0, OTHER, 1)) == INT[1]
        assert d.do(0x000E, jd(3, OTHER, 5)) == INT[1]
        assert d.do(0x00AF, jd(3, OTHER, 5, U("0400"))) == INT[2]  # method C: not an ESME's
        assert d.do(0x000D, jd(0, OTHER, 3)) == INT[2]  # GPF by method A
        assert d.do(0x000E, jd(2, OTHER, 3)) == INT[2]  # method B: type 2 devices only
        assert w.n == 1
        assert d.do(0x00AB, jd(1, OTHER, 1)) == INT[0]  # method A responder, ESME partner
        assert d.do(0x000E, jd(2, U("00db123456789001"), 6)) == INT[0]
        for i in range(2, 4):
            assert d.do(0x000D, jd(0, bytes(7) + bytes((i,)), 5)) == INT[0]
        assert d.do(0x000D, jd(0, bytes(7) + b"\x09", 5)) == INT[4]  # 5 entries [U]: full
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[0]  # an existing entry still answers 0
        assert len(der.device_log(d.store)) == joins.DEVICE_LOG_SIZE
    with Dev() as d:
        d.name = "gsme"
        assert d.do(0x00AF, jd(3, OTHER, 5)) == INT[11]  # method C without the certificate
        assert d.do(0x00AF, jd(3, OTHER, 4, U("0400"))) == INT[2]
        assert d.do(0x000E, jd(2, OTHER, 5)) == INT[2]  # as RTDS 8.7.2_CS03B ERROR
        assert d.do(0x00AF, jd(3, OTHER, 5, U("0400"))) == INT[0]
        assert d.do(0x000E, jd(2, HCALCS, 3)) == INT[0]


def test_write_failure_codes_5_and_cs04_2():
    with Dev() as d:
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[0]
        good = d.store
        d.store = Broken(good)
        assert d.do(0x000D, jd(0, OTHER, 5)) == INT[5]
        assert d.do(0x000F, U("0408") + HCALCS) == INT[2]
        d.store = good
        assert der.device_log(good) == [(HCALCS, 4)]
        assert d.do(0x000F, U("0408") + OTHER) == INT[1]
        assert d.do(0x000F, U("0408") + HCALCS) == INT[0]
        assert der.device_log(good) == []


def test_cs07_read_details_fixture_and_read_failure():
    with Dev() as d:
        assert d.do(0x0013, b"") == U("3005020100" "3000")
        d.do(0x000D, jd(0, HCALCS, 4))
        d.do(0x000E, jd(2, OTHER, 6))
        assert d.do(0x0013, b"") == U("3023020100" "301E" "300D0408" "00DB12345678909A" "020104"
                                      "300D0408" "00DB123456789093" "020106")
        d.store.put_json("devlog", [["zz", 4]])  # a corrupt record: read failure
        assert d.do(0x0013, U("0500")) == U("3003020101")  # as RTDS 8.9_CS07 ERROR


def _hook(d, make_fail=None, report=True, key=True, trust=True, spoof=False):
    """A HAN layer running the partner CBKE in process: the ESME initiator or responder against
    the partner; make_fail(u, v) may break it. Reports the outcome through joins.outcome."""

    def hook(eui, initiator, deadline):
        part = int.from_bytes(eui, "big")
        got = []
        me = cbke.Initiator if initiator else cbke.Responder
        other = cbke.Responder if initiator else cbke.Initiator
        a = me(ESME_EUI, D_ESME, {part: cbke.public_key_of(D_PART)} if trust else {},
               lambda p, k: got.append(k),
               eph_d=U("11" * 32))
        b = other(part, D_PART, {ESME_EUI: cbke.public_key_of(D_ESME)}, lambda p, k: None,
                  eph_d=U("22" * 32))
        u, v, su, sv = (a, b, ESME_EUI, part) if initiator else (b, a, part, ESME_EUI)
        try:
            req = u.start()
            if make_fail is not None and make_fail != "mac":
                req = make_fail(req)
            rsp = v.on_initiate_request(req, su ^ 1 if spoof else su)
            r2 = v.on_ephemeral_request(u.on_initiate_response(rsp, sv))
            macu = u.on_ephemeral_response(r2)
            if make_fail == "mac":
                macu = bytes(16)
            u.on_confirm_response(v.on_confirm_request(macu))
        except cbke.Terminate as e:
            if report:
                joins.outcome(d, eui, e.status)
            return
        if report:
            joins.outcome(d, eui, 0, got[0] if (got and key) else None)

    return hook


def test_method_a_cbke_success_stores_the_partner_link_key():
    with Dev() as d:
        d.partner_cbke = _hook(d)
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[0]
        e = d.store.get_json("devlog")
        assert e[0][:2] == ["00db12345678909a", 4] and len(e[0][2]) == 32
        assert d.do(0x00AB, jd(1, OTHER, 1)) == INT[0]
        assert der.device_log(d.store) == [(HCALCS, 4), (OTHER, 1)]
        assert not d._djp  # no join left pending


def test_method_a_cbke_failures_give_codes_6_to_13():
    def suite(req):
        return b"\x01\x00" + req[2:]

    def length(req):
        return req[:-1]

    for brk, msg, code in ((suite, 0x000D, 8), (length, 0x000D, 9), ("mac", 0x000D, 10),
                           ("mac", 0x00AB, 10)):
        with Dev() as d:
            d.partner_cbke = _hook(d, brk)
            m = jd(0, HCALCS, 4) if msg == 0x000D else jd(1, OTHER, 1)
            r = d.do(msg, m)
            assert r == INT[code], (code, r)
            assert der.device_log(d.store) == [] and not d._djp
    with Dev() as d:  # the partner's KA key is not provisioned at the ESME: UNKNOWN_ISSUER
        d.partner_cbke = _hook(d, trust=False)
        assert d.do(0x00AB, jd(1, OTHER, 1)) == INT[7]
        d.partner_cbke = _hook(d, spoof=True)  # identity not the sender's: INVALID_CERTIFICATE
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[11]
        assert der.device_log(d.store) == []
    with Dev() as d:
        # status mapping (cbke.py Terminate statuses; NO_RESOURCES is never raised in process)
        for st, code in ((cbke.NO_RESOURCES, 6), (cbke.UNKNOWN_ISSUER, 7), (cbke.UNSUPPORTED_SUITE, 8),
                         (cbke.BAD_MESSAGE, 9), (cbke.BAD_KEY_CONFIRM, 10), (cbke.INVALID_CERTIFICATE, 11)):
            d.partner_cbke = lambda eui, i, dl, st=st: joins.outcome(d, eui, st)
            assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[code]
        d.partner_cbke = _hook(d, key=False)  # CBKE ends without a link key
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[12]
        d.partner_cbke = _hook(d, report=False)  # no outcome reported
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[13]

        def late(eui, i, deadline):  # the outcome after the deadline on the role's clock
            d.gate.t = deadline + 1
            joins.outcome(d, eui, 0, bytes(16))

        d.partner_cbke = late
        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[13]
        assert der.device_log(d.store) == []
        assert joins.outcome(d, HCALCS, 0, bytes(16)) is None  # nothing pending: ignored


def test_join_and_unjoin_outcomes_queue_their_alerts_on_the_engine():
    from firmware.meter.engine import Engine
    from firmware.meter.model import MeterModel

    with Dev() as d:
        d.meter = e = Engine(d.store, MeterModel(d.store), now=1000)
        e.clock = lambda: 5000

        def codes():
            return [(a[1], a[2]) for a in e.alerts()]

        assert d.do(0x000D, jd(0, HCALCS, 4)) == INT[0]
        assert d.do(0x000D, jd(0, HCALCS, 5)) == INT[3]  # incompatible with the entry: a failed join
        assert d.do(0x000D, jd(1, OTHER, 1)) == INT[1]  # the command itself refused: no alert
        assert d.do(0x000F, U("0408") + HCALCS) == INT[0]
        assert d.do(0x000F, U("0408") + HCALCS) == INT[1]  # no longer there
        assert codes() == [(5000, joins.JOINED), (5000, joins.JOIN_FAILED), (5000, joins.UNJOINED),
                           (5000, joins.UNJOIN_FAILED)]
        # durable: a new engine on the same store has them queued, in order
        assert [a[2] for a in Engine(d.store, MeterModel(d.store), now=1000).alerts()] == [
            0x8F49, 0x8F48, 0x8F4B, 0x8F4A]
