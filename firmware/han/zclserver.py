"""The ESME's ZCL attribute server on the HAN: Read Attributes (ZCL 07-5123 §2.5.1 Read
Attributes, §2.5.2 Read Attributes Response; status codes §2.6.3) on the ZSE Metering cluster
0x0702 and Prepayment cluster 0x0705 (ZSE 1.x, profile 0x0109; ZCL rev. 8 §10.4 Metering and
§10.8 Prepayment, formerly ZSE Annex D, as public ZCL implementations cite them [S]), answered from
the meter's own model (firmware/meter/engine.py registers and prepayment account,
firmware/meter/model.py supply) to APS-secured requests from the devices the meter trusts: its Trust Centre (the Comms Hub) and the
partners in its own device log (CS03, firmware/meter/joins.py "devlog": an IHD is a type 2 device
joined by method B). Loaded by firmware/wan/node.py MeterNode on the first such request, never on
the GBCS command path.

Attributes served (id, ZCL type, value; status of the id/type: [V] seen in DCC's RTDS GBZ
payloads, shared/reference/gas.md §2.3 and §3.1; [S] ZSE 1.x Metering/Prepayment attribute sets as
public ZSE implementations list them, not checked against the ZSE text itself):

    0x0702 0x0000 CurrentSummationDelivered  uint48 0x25  import register, Wh               [V]
    0x0702 0x0001 CurrentSummationReceived   uint48 0x25  export register, Wh               [S]
    0x0702 0x0014 SupplyStatus               enum8  0x30  0 off, 1 armed, 2 on              [S; RTDS gas]
    0x0702 0x0100/0102/0104/0106 CurrentTier1..4SummationDelivered uint48, Wh               [V]
    0x0702 0x0300 UnitOfMeasure              enum8  0x30  0 = kWh (binary)                  [V id; S value]
    0x0702 0x0301 Multiplier                 uint24 0x22  1                                 [V]
    0x0702 0x0302 Divisor                    uint24 0x22  1000 (register units Wh -> kWh)   [V]
    0x0702 0x0306 MeteringDeviceType         bitmap8 0x18 0 = electric metering             [S]
    0x0702 0x0400 InstantaneousDemand        int24  0x2A  W (kW x Multiplier / Divisor)     [S]
    0x0705 0x0001 CreditRemaining            int32  0x2B  meter balance, 1e-5 GBP           [V id/type]
    0x0705 0x0002 EmergencyCreditRemaining   int32  0x2B  1e-5 GBP                          [V id/type]
    0x0705 0x0005 AccumulatedDebt            int32  0x2B  1e-5 GBP                          [V id/type]

Money in units of 1e-5 GBP (pennies x 1000) as the RTDS gas vectors scale it and as the GSME's
model does (firmware/gas/model.py) [U: the currency's trailing digits come from the Price
cluster, which this meter does not serve]. Any other attribute is answered UNSUPPORTED_ATTRIBUTE
(0x86) in its record; a cluster-specific or other global command gets a Default Response
UNSUP_CLUSTER_COMMAND (0x81) / UNSUP_GENERAL_COMMAND (0x82). A frame that does not parse, or a
request from a device the meter does not trust, is refused (Reject, logged by the caller) and
answered with nothing.

    out = answer(meter_role, src_eui8, cluster, zcl_frame)   # response ZCL frame or None
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.zigbee import zcl

METERING = const(0x0702)
PREPAYMENT = const(0x0705)
SUCCESS = const(0x00)
UNSUP_CLUSTER_COMMAND = const(0x81)
UNSUP_GENERAL_COMMAND = const(0x82)
UNSUPPORTED_ATTRIBUTE = const(0x86)
MAX_IDS = const(16)  # attribute ids per request (a response must fit one APS frame: port.py)

UINT24 = const(0x22)
UINT48 = const(0x25)
INT24 = const(0x2A)
INT32 = const(0x2B)
ENUM8 = const(0x30)
BITMAP8 = const(0x18)
SIZES = {BITMAP8: 1, UINT24: 3, UINT48: 6, INT24: 3, INT32: 4, ENUM8: 1}

SUPPLY = {"disconnected": 0, "armed": 1, "connected": 2}


def value(typ, v):
    """The little-endian bytes of integer v as ZCL type typ (signed types two's complement);
    Reject("range") when v does not fit."""
    n = SIZES[typ]
    lim = 1 << (8 * n)
    if typ in (INT24, INT32):
        if not -(lim >> 1) <= v < (lim >> 1):
            raise Reject("range", None, "%d does not fit type 0x%02X" % (v, typ))
        v &= lim - 1
    elif not 0 <= v < lim:
        raise Reject("range", None, "%d does not fit type 0x%02X" % (v, typ))
    return v.to_bytes(n, "little")


def record(a, status, typ=None, v=None):
    """One Read Attributes Response record: id (2 LE) | status | [type | value]."""
    if status != SUCCESS:
        return bytes((a & 0xFF, a >> 8, status))
    return bytes((a & 0xFF, a >> 8, SUCCESS, typ)) + value(typ, v)


def meter_attribute(role, cluster, a):
    """(type, integer value) of attribute `a` of `cluster` on the ESME `role`, or None."""
    eng = getattr(role, "meter", None)
    if eng is None:
        return None
    r = eng.r
    if cluster == METERING:
        if a == 0x0000:
            return UINT48, r["ai"]
        if a == 0x0001:
            return UINT48, r["ae"]
        if a in (0x0100, 0x0102, 0x0104, 0x0106):
            return UINT48, r["tou"][(a - 0x0100) >> 1]
        if a == 0x0014:
            return ENUM8, SUPPLY.get(role.model.supply, 0)
        if a == 0x0300:
            return ENUM8, 0
        if a == 0x0301:
            return UINT24, 1
        if a == 0x0302:
            return UINT24, 1000
        if a == 0x0306:
            return BITMAP8, 0
        if a == 0x0400:
            w = 0
            if eng.load is not None and role.model.supply == "connected":
                w = int(eng.load(r["t"]))
            return INT24, max(-0x800000, min(0x7FFFFF, w))
        return None
    if cluster == PREPAYMENT and a in (0x0001, 0x0002, 0x0005):
        bal, ecb, debt = eng.accounts()
        return INT32, (bal if a == 0x0001 else ecb if a == 0x0002 else debt) * 1000
    return None


def trusted(role, src):
    """The meter's Trust Centre, or a partner in its device log (CS03)."""
    han = role.store.get_json("han", None) or {}
    if bytes(src).hex() == str(han.get("tc", "")).lower():
        return True
    h = bytes(src).hex()
    for e in role.store.get_json("devlog", None) or []:
        if str(e[0]).lower() == h:
            return True
    return False


def answer(role, src, cluster, frame, lookup=meter_attribute):
    """The response to one ZCL frame a device sent to the meter's Metering or Prepayment server
    (None: nothing to answer). Reject("format") for a frame that does not parse, Reject("untrusted")
    for a sender the meter does not trust."""
    if not trusted(role, src):
        raise Reject("untrusted", None, "ZCL read from %s, not a device the meter trusts" % bytes(src).hex())
    h, p = zcl.parse(frame)
    if h.direction != zcl.TO_SERVER:
        return None  # a response or report to us: this end asks nothing
    if h.mfr is not None or h.ftype == zcl.CLUSTER or h.cmd != zcl.READ_ATTRIBUTES:
        if h.no_default_rsp:
            return None
        st = UNSUP_CLUSTER_COMMAND if h.ftype == zcl.CLUSTER else UNSUP_GENERAL_COMMAND
        return zcl.build(zcl.Header(zcl.GLOBAL, h.seq, zcl.DEFAULT_RSP, zcl.TO_CLIENT, True, h.mfr),
                         zcl.default_response(h.cmd, st))
    ids = zcl.parse_read_attributes(p)
    if not ids or len(ids) > MAX_IDS:
        raise Reject("format", None, "Read Attributes of %d ids" % len(ids))
    out = bytearray()
    for a in ids:
        v = lookup(role, cluster, a)
        out += record(a, UNSUPPORTED_ATTRIBUTE) if v is None else record(a, SUCCESS, v[0], v[1])
    return zcl.build(zcl.Header(zcl.GLOBAL, h.seq, zcl.READ_ATTRIBUTES_RSP, zcl.TO_CLIENT, True), bytes(out))
