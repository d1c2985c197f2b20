"""The In-Home Display's HAN client: it reads the electricity meter's consumption and balance with
ZCL Read Attributes (ZCL 07-5123 §2.5.1, response §2.5.2) on the ZSE Metering cluster 0x0702 and
Prepayment cluster 0x0705 (ZSE 1.x, profile 0x0109; ZCL rev. 8 §10.4 and §10.8 as public ZCL
implementations cite them [S]), APS-secured with its link key with the meter
(firmware/han/port.py; the meter's server end: firmware/han/zclserver.py, which lists the
attributes and the status of their ids), and shows them on the board's display:

    IHD BAL 12.34 KWH 1234.567 W 500

Read every poll (interval_ms), with the status of each id ([V] seen in DCC's RTDS GBZ payloads,
shared/reference/gas.md; [S] stated by public ZSE implementations; [U] inferred): Metering 0x0000
CurrentSummationDelivered uint48 [V], 0x0400 InstantaneousDemand int24 [S], 0x0300 UnitOfMeasure
enum8, 0x0301 Multiplier, 0x0302 Divisor uint24 [V]; Prepayment 0x0001 CreditRemaining int32 [V id
and type], in 1e-5 GBP [U: the scaling of RTDS's gas vectors]. kWh = summation x Multiplier / Divisor,
W = 1000 x demand x Multiplier / Divisor (UnitOfMeasure 0, kWh; any other unit is refused).

A missing answer (none within timeout_ms), an answer that does not parse, from another device,
with another sequence number, or with an attribute refused or of an unexpected type is a typed
rejection (Reject), counted in `errors`, kept in `last_error` and written to the store's event log
(once per reason while it repeats); the display keeps the last good values. Never raises.

Configuration: store record "ihd" {"meter": "<EUI-64 hex>", "interval_ms": n, "timeout_ms": n}.

    node = IhdNode(role, han_port, board)      # firmware/wan/node.py attaches it for an "ihd" role
    node.poll(); node.wait_ms()
"""
from firmware.alerts import Reject
from firmware.compat import const, ticks_diff
from firmware.zigbee import zcl

CFG_REC = const("ihd")
METERING = const(0x0702)
PREPAYMENT = const(0x0705)
INTERVAL_MS = const(10000)
TIMEOUT_MS = const(3000)
METER_IDS = (0x0000, 0x0400, 0x0300, 0x0301, 0x0302)
PREPAY_IDS = (0x0001,)
TYPES = {0x0000: 0x25, 0x0400: 0x2A, 0x0300: 0x30, 0x0301: 0x22, 0x0302: 0x22, 0x0001: 0x2B}
SIGNED = (0x2A, 0x2B)


def request(seq, ids):
    """A Read Attributes command frame (global, client to server)."""
    return zcl.build(zcl.Header(zcl.GLOBAL, seq, zcl.READ_ATTRIBUTES, zcl.TO_SERVER), zcl.read_attributes(ids))


def parse_response(frame, seq, ids):
    """{attribute id: integer} of a Read Attributes Response to the request `seq` for `ids`;
    Reject("format") when it is not that response, Reject("refused") when the meter refused an
    attribute (its ZCL status in the detail)."""
    h, p = zcl.parse(frame)
    if h.ftype != zcl.GLOBAL or h.direction != zcl.TO_CLIENT or h.mfr is not None:
        raise Reject("format", None, "not a global server-to-client frame")
    if h.seq != seq:
        raise Reject("format", None, "sequence %d, expected %d" % (h.seq, seq))
    if h.cmd == zcl.DEFAULT_RSP:
        raise Reject("refused", None, "Default Response %s" % (bytes(p).hex(),))
    if h.cmd != zcl.READ_ATTRIBUTES_RSP:
        raise Reject("format", None, "command 0x%02X" % h.cmd)
    out = {}
    i = 0
    n = len(p)
    while i < n:
        if n - i < 3:
            raise Reject("format", None, "attribute record truncated")
        a = p[i] | (p[i + 1] << 8)
        st = p[i + 2]
        i += 3
        if a not in ids or a in out:
            raise Reject("format", None, "attribute 0x%04X not asked for" % a)
        if st != 0:
            raise Reject("refused", None, "attribute 0x%04X status 0x%02X" % (a, st))
        if i >= n or p[i] != TYPES[a]:
            raise Reject("format", None, "attribute 0x%04X type" % a)
        size = {0x25: 6, 0x2A: 3, 0x30: 1, 0x22: 3, 0x2B: 4}[p[i]]
        if n - i - 1 < size:
            raise Reject("format", None, "attribute 0x%04X value truncated" % a)
        v = int.from_bytes(bytes(p[i + 1:i + 1 + size]), "little")
        if p[i] in SIGNED and v >> (8 * size - 1):
            v -= 1 << (8 * size)
        out[a] = v
        i += 1 + size
    for a in ids:
        if a not in out:
            raise Reject("format", None, "attribute 0x%04X missing" % a)
    return out


def _money(v):
    """1e-5 GBP -> pounds with 2 decimals (truncated towards zero)."""
    s = "-" if v < 0 else ""
    p = (-v if v < 0 else v) // 1000
    return "%s%d.%02d" % (s, p // 100, p % 100)


def text(m, pp):
    """The display line from the Metering and Prepayment values; Reject("format") for a unit or
    divisor the display cannot show."""
    if m[0x0300] != 0 or m[0x0302] == 0:
        raise Reject("format", None, "unit %d divisor %d" % (m[0x0300], m[0x0302]))
    wh = m[0x0000] * m[0x0301] * 1000 // m[0x0302]
    w = m[0x0400] * m[0x0301] * 1000 // m[0x0302]
    return "IHD BAL %s KWH %d.%03d W %d" % (_money(pp[0x0001]), wh // 1000, wh % 1000, w)


class IhdNode:
    def __init__(self, role, han, board):
        import binascii

        self.role = role
        self.han = han
        self.board = board
        self.ms = board.ticks_ms
        cfg = role.store.get_json(CFG_REC, None) or {}
        self.meter = binascii.unhexlify(cfg["meter"]) if cfg.get("meter") else None
        self.interval = int(cfg.get("interval_ms", INTERVAL_MS))
        self.timeout = int(cfg.get("timeout_ms", TIMEOUT_MS))
        self.seq = 0
        self.asked = None  # {cluster: seq} of the round in flight
        self.got = {}
        self.t = self.ms() - self.interval  # the first round at the first poll
        self.shown = None
        self.rounds = 0  # rounds completed and shown
        self.errors = 0
        self.last_error = None
        self._logged = None
        if self.meter is None:
            board.display("IHD NO METER")

    def _next_seq(self):
        self.seq = (self.seq + 1) & 0xFF
        return self.seq

    def _reject(self, e):
        self.errors += 1
        self.last_error = e
        key = e.reason + (e.detail or "")[:24]
        if key != self._logged:  # a reason that repeats is logged once
            self._logged = key
            try:
                self.role.store.log("event").append(("ihd %s %s" % (e.reason, e.detail or ""))[:120])
            except OSError as e2:
                print("ihd: event log not written: %r" % (e2,))

    def poll(self):
        han = self.han
        try:
            han.poll()
        except Reject as e:
            self._reject(e)
        for _ in range(8):
            f = han.recv()
            if f is None:
                break
            try:
                self._frame(f[0], f[1], f[2])
            except Reject as e:
                self._reject(e)
        if self.meter is None:
            return
        now = self.ms()
        if self.asked is not None:
            if ticks_diff(now, self.t) < self.timeout:
                return
            missing = [c for c in self.asked if c not in self.got]
            self.asked = None
            self._reject(Reject("timeout", None, "no answer for cluster %s" % ",".join("%04X" % c for c in missing)))
        if ticks_diff(now, self.t) < self.interval:
            return
        self.t = now
        self.got = {}
        self.asked = {}
        try:
            for cluster, ids in ((METERING, METER_IDS), (PREPAYMENT, PREPAY_IDS)):
                s = self._next_seq()
                self.asked[cluster] = s
                han.send(self.meter, cluster, request(s, ids))
        except Reject as e:  # not on the network, or no link key with the meter
            self.asked = None
            self._reject(e)

    def _frame(self, src, cluster, frame):
        if bytes(src) != self.meter:
            raise Reject("format", None, "frame from %s, not the meter" % bytes(src).hex())
        if self.asked is None or cluster not in self.asked:
            raise Reject("format", None, "unexpected frame on cluster 0x%04X" % cluster)
        ids = METER_IDS if cluster == METERING else PREPAY_IDS
        self.got[cluster] = parse_response(frame, self.asked[cluster], ids)
        if len(self.got) == len(self.asked):
            self.asked = None
            line = text(self.got[METERING], self.got[PREPAYMENT])
            self.rounds += 1
            self.values = (self.got[PREPAYMENT][0x0001], self.got[METERING][0x0000], self.got[METERING][0x0400])
            if line != self.shown:
                self.shown = line
                self.board.display(line)

    def wait_ms(self):
        w = self.han.wait_ms() if hasattr(self.han, "wait_ms") else 20
        if self.meter is None:
            return w
        left = (self.timeout if self.asked is not None else self.interval) - ticks_diff(self.ms(), self.t)
        left = left if left > 0 else 0
        return left if left < w else w
