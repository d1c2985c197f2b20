"""The Gas Proxy Function's duties on the Comms Hub (GBCS §4.3.1 GPF; shared/reference/gas.md §4):
the mirror of the sleepy GSME's data, GPF-addressed commands answered from it, the queue of
remote-party messages waiting for the GSME's next wake, tap-off messages (TOM) applied to the
mirror, and the GPF Device Log (GCS59 restore, GCS62 backup alert).

State: the GPF's GasModel (firmware/gas/model.py, record "gas" of the GPF's store) IS the mirror:
its attributes, publications and configuration are the GSME's as last reported or tapped off; the
same record carries
  mt   [GSME clock time of the data (seconds since 2000), GSME clock - GPF clock at that report]
  gq   [[id, queued at (GPF clock), expires at, hex GBCS message]]   messages for the GSME, oldest first
  gn   next queue id
  dl   [[hex EUI-64, device type]]                                   GPF Device Log (GCS59)
  ev   [[event text, time]]                                          GPF event log (last 16)
so every change (a mirror report, a message queued, a message retrieved with its tap-off, expiry,
a Device Log restore) is ONE store write: a power cut leaves the change fully applied or not seen.

Reads (gas.md §4.3): every component of a GPF-addressed GBZ command is answered from the mirror
by the GSME's own handlers (firmware/gas/route.py: Read Attributes, Get... publications, the
Device Management Publish Change Of Tenancy); a component that would act on the meter (valve,
prepayment, configuration) is not the GPF's and answers UNSUP_CLUSTER_COMMAND. The response's
Grouping Header date-time is the GSME clock time of the mirror data (SECMP0015), clock status 0x00
when the GSME's clock agreed with the GPF's at that report (within CLOCK_TOLERANCE), else 0x04
(different clock base).

Sleepy GSME (gas.md §4.4, §4.5): queue(raw) holds a message for up to LIFETIME seconds (24 h
default); get(now) answers the GSME's GET with `02 ‖ n ‖ message` (n = messages still waiting after
this one) or `02 00`, dropping expired messages first with a "GSME command not retrieved" event;
put(response) takes the GSME's PUT: the matching message (same originator counter and message
code) leaves the queue only now, and a TOM's command/response pair is applied to the mirror in
the same store write when every pair succeeded. pending() is the tunnel-message-pending flag
(FunctionalNotificationFlags bit 21 of the mirror). remove() (the GSME leaves the Device Log)
flushes the queue and clears the flag.
"""
from firmware.alerts import Reject
from firmware.compat import const

LIFETIME = const(86400)  # queue lifetime of a message for the GSME (SiLabs-CHF default, gas.md §4.6)
CLOCK_TOLERANCE = const(10)  # seconds: the GSME's and the GPF's clocks agree
TUNNEL_PENDING = const(0x00200000)  # FunctionalNotificationFlags bit 21
QUEUE_MAX = const(8)
_EVENTS_MAX = const(16)
URP_COUNTER = const("gpf_urp")  # the GPF's supplementary originator counter (URP responses)
_EPOCH_2000 = const(946684800)
_UNSUP = const(0x81)
_REPORT_ATTRIBUTES = const(0x0A)
_TIME = const(0x000A)
# tap-off message codes (GBCS-v1 p111): GCS01a, GCS05 (Calendar components only), GCS07, CS11,
# GCS23, GCS25, GCS44, GCS01b
TOM_CODES = (0x006B, 0x006F, 0x0071, 0x0015, 0x007C, 0x007E, 0x0088, 0x00A3)
# handlers of firmware/gas/route.py that only read the model: the GPF answers these from the mirror
_READS = ("msampled_data", "msnapshot", "pprepay_snapshot", "ptop_up_log", "pdebt_log", "tevent_log", "tget")


def gpf_state(gas):
    s = gas.st
    for k, v in (("mt", [0, 0]), ("gq", []), ("gn", 1), ("dl", []), ("ev", [])):
        if k not in s:
            s[k] = v
    return s


def _event(w, text, t):
    e = w["ev"]
    e.append([text, t])
    del e[:-_EVENTS_MAX]


# -- answering GPF-addressed commands ------------------------------------------------------------------
def answer(dev, m, party, log):
    """The dispatch table's content hook of the GPF: GBZ reads from the mirror, GCS59, the DER
    credential use cases as the ESME answers them."""
    c = m.content
    dev.stamp = None
    if c[:2] != b"\x01\x09":
        if m.message_code == 0x008C:
            return restore_log(dev, m, log)
        from firmware.meter.der import answer as a

        return a(dev, m, party, log)
    from firmware.gbcs import gbz as Z
    from firmware.gas.usecases import Ctx
    from firmware.gas.route import handler, ROUTE

    try:
        g = Z.parse(c)
    except Reject as e:
        log.append("gbz-format ctr %d %s" % (m.counter, e.detail[:80]))
        return b"\x01\x09\x00"
    gas = dev.gas
    gpf_state(gas)
    w = gas.begin()
    ctx = Ctx(dev, m, w, dev.now())
    for comp in g.components:
        kind = comp.fc & 0x0F
        r = ROUTE.get((comp.cluster << 16) | (kind << 8) | comp.cmd)
        ok = (kind in (0, 8) and comp.cmd == 0x00) or r in _READS or (
            comp.cluster == 0x0708 and kind == 0x09 and comp.cmd == 0x00)  # Publish Change Of Tenancy
        if not ok:
            ctx.dr(comp, _UNSUP)
            continue
        try:
            if r == "msampled_data":
                _sampled_data(ctx, comp)
            else:
                handler(ctx, comp, None)
        except Reject as e:
            log.append("gpf %04X %s" % (m.message_code, e.detail[:80]))
            ctx.dr(comp, 0x01)
    w.pop("_seen", None)
    if _canon(w) != _canon(gas.st):
        gas.commit()  # Change Of Tenancy noted: one store write
    else:
        gas.w = None  # a read changes nothing: no store write
    dev.stamp = mirror_time(gas)
    out = ctx.out
    for o, _ in out:
        if o.fc & 1:
            o.fc |= 0x10  # the GPF's cluster-specific replies: disable default response (RTDS)
    if m.ka_cert is not None and _urp(dev, m):
        # an unknown remote party (URP, no KA anchor cell): its certificate names the key, and the
        # response carries the GPF's supplementary originator counter for it
        m.supp_orig_counter = dev.store.counter(URP_COUNTER).increment()
    if any(e for _, e in out):
        return Z.build(Z.Gbz(_seal(dev, m, out)))
    return Z.build(Z.Gbz([o for o, _ in out]))


def _sampled_data(ctx, c):
    """GetSampledData from the mirror's copy of the GSME's sampled data: NOT_FOUND when the request's
    earliest sample time is after the last sample held."""
    from firmware.gbcs import gbz as Z
    from firmware.gas import model as M

    p = c.payload
    lst = ctx.w["p"].get(M.pkey(0x0702, 0x07, Z.le(p, 0, 2))) or []
    if lst:
        d = bytes.fromhex(lst[0])
        last = Z.le(d, 2, 4) + Z.le(d, 7, 2) * max(Z.le(d, 9, 2) - 1, 0)
        if Z.le(p, 2, 4) > last:
            lst = []
    if not lst:
        return ctx.dr(c, 0x8B)
    for h in lst:
        ctx.reply(c, 0x07, bytes.fromhex(h), True)


def _seal(dev, m, out):
    """Encrypt the sensitive replies (KDF U=04, one IV for the message, AH counter 0, 1, ...) for
    the party the response is for: the URP whose KA certificate the command carried, else the
    supplementary remote party or the originator (its KA trust anchor cell)."""
    from firmware.gbcs import gbz as Z
    from firmware.core.trust import KA, Cell
    from firmware.crypto.gmac import gbcs_key

    party = m.supp_remote_id or m.originator
    if m.ka_cert is not None and _urp(dev, m):
        cell = Cell(0, KA, party, cert_key(m.ka_cert))
    else:
        cell = dev.trust.party_cell(party, KA)
    if cell is None:
        raise Reject("no-cell", None, "no KA cell to encrypt for")
    ctr = m.supp_orig_counter or m.counter
    key = gbcs_key(dev.trust.z(cell), dev.eui, 4, ctr.to_bytes(8, "big"), party)
    comps = []
    n = 0
    for comp, enc in out:
        if enc:
            comp.payload = Z.seal(key, dev.eui, comp.payload)
            comp.encrypted = True
            comp.ah_ctr = n
            n += 1
        comps.append(comp)
    return comps


def _urp(dev, m):
    from firmware.core.trust import KA

    return dev.trust.party_cell(m.supp_remote_id or m.originator, KA) is None


def cert_key(cert):
    """The P-256 public key (65 bytes, uncompressed) of an X.509 certificate's subject public key
    info (id-ecPublicKey, prime256v1). [Deviation: the certificate's chain is not verified here;
    the command carrying it is authenticated by its originator.]"""
    q = bytes(cert).find(b"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00\x04")
    if q < 0:
        raise Reject("format", None, "no P-256 key in the certificate")
    q += 13
    return bytes(cert[q:q + 65])


def mirror_time(gas):
    """(GSME clock time of the mirror data (seconds since 2000), clock status byte)."""
    t, off = gpf_state(gas)["mt"]
    return t, 0x00 if -CLOCK_TOLERANCE <= off <= CLOCK_TOLERANCE else 0x04


def dlms_stamp(stamp):
    from firmware.hub.alerts import dlms_datetime

    d = dlms_datetime(stamp[0] + _EPOCH_2000)
    return d[:11] + bytes((stamp[1],))


def _canon(v):
    if isinstance(v, dict):
        return "{" + ",".join("%r:%s" % (k, _canon(v[k])) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_canon(x) for x in v) + "]"
    return repr(v)


# -- mirror ---------------------------------------------------------------------------------------------
def report(dev, content, now=None):
    """A mirror report from the GSME (GBZ content: Report Attributes components, one per cluster,
    plus the Time cluster's UTCTime = the GSME's clock; cluster-specific components carry the
    publications a Get... answers): written into the mirror in one store write. Returns the
    number of attributes taken."""
    from firmware.gbcs import gbz as Z, gbzinfo as I
    from firmware.gas import model as M

    g = Z.parse(content)
    gas = dev.gas
    gpf_state(gas)
    w = gas.begin()
    n = 0
    t = None
    for c in g.components:
        if c.fc & 1 == 0 and c.cmd == _REPORT_ATTRIBUTES:
            for a, st, typ, val in I.attribute_records(_as_read_response(c.payload)):
                if c.cluster == _TIME and a == 0:
                    t = Z.le(val, 0, 4)
                elif M.key(c.cluster, a) == "0705.0001":
                    v = Z.le(val, 0, 4)
                    w["cb"] = v - (1 << 32) if v & 0x80000000 else v
                else:
                    gas.set_attr(w, c.cluster, a, typ, val)
                n += 1
        elif c.fc & 1:  # a publication: kept as the reply a Get... answers
            k = M.pkey(c.cluster, c.cmd, c.fdt)
            w["p"][k] = [c.payload.hex()]
    if t is None:
        gas.w = None
        raise Reject("format", None, "mirror report without the GSME's time")
    gpf_now = dev.now() if now is None else now
    w["mt"] = [t, t - gpf_now]
    gas.commit()
    return n


def _as_read_response(p):
    """Report Attributes records (id, type, value) as Read Attributes Response records (id,
    status 0, type, value), the form gbzinfo parses."""
    from firmware.gbcs import gbzinfo as I

    out = bytearray()
    q = 0
    while q + 3 <= len(p):
        a = p[q] | p[q + 1] << 8
        typ = p[q + 2]
        n = I.value_size(typ, p, q + 3)
        out += bytes((p[q], p[q + 1], 0, typ)) + p[q + 3:q + 3 + n]
        q += 3 + n
    return bytes(out)


def build_report(gas, t):
    """The GSME side: the mirror report GBZ content of GasModel `gas` at GSME clock `t` (seconds
    since 2000): its attributes by cluster, its credit, its clock."""
    from firmware.gbcs import gbz as Z

    by = {}
    for k, v in gas.st["a"].items():
        cl, a = int(k[:4], 16), int(k[5:], 16)
        b = bytes.fromhex(v)
        by.setdefault(cl, bytearray()).extend(bytes((a & 0xFF, a >> 8)) + b)
    typ, val = gas.attr(0x0705, 0x0001)
    by.setdefault(0x0705, bytearray()).extend(b"\x01\x00" + bytes((typ,)) + val)
    by[_TIME] = bytearray(b"\x00\x00\xe2" + Z.le_bytes(t, 4))
    comps = []
    for seq, cl in enumerate(sorted(by)):
        comps.append(Z.Component(cl, 0x08, seq, _REPORT_ATTRIBUTES, bytes(by[cl])))
    return Z.build(Z.Gbz(comps))


# -- the queue for the sleepy GSME ----------------------------------------------------------------------
def queue(dev, raw, now=None, lifetime=LIFETIME):
    """Hold GBCS message `raw` for the GSME; durable when this returns (one store write). Reject
    "queue-full" beyond QUEUE_MAX messages. Returns the message's queue id."""
    gas = dev.gas
    s = gpf_state(gas)
    if len(s["gq"]) >= QUEUE_MAX:
        raise Reject("queue-full", None, "%d messages wait for the GSME" % QUEUE_MAX)
    t = dev.now() if now is None else now
    w = gas.begin()
    i = w["gn"]
    w["gn"] = i + 1
    w["gq"].append([i, t, t + lifetime, bytes(raw).hex()])
    gas.commit()
    return i


def pending(dev):
    """The tunnel-message-pending flag (FunctionalNotificationFlags of the mirror)."""
    return TUNNEL_PENDING if gpf_state(dev.gas)["gq"] else 0


def expire(dev, now=None):
    """Drop the messages whose lifetime has passed, a "not retrieved" event each (one store write
    when any). Returns how many."""
    gas = dev.gas
    t = dev.now() if now is None else now
    s = gpf_state(gas)
    old = [e for e in s["gq"] if e[2] <= t]
    if not old:
        return 0
    w = gas.begin()
    w["gq"] = [e for e in w["gq"] if e[2] > t]
    for e in old:
        _event(w, "GSME command not retrieved %d" % e[0], t)
    gas.commit()
    return len(old)


def get(dev, now=None):
    """The answer to the GSME's tunnel GET (`01`): `02 ‖ n ‖ message` for the oldest message, n
    the number still waiting after it, or `02 00` when none. The message stays queued until its
    response comes back (put)."""
    expire(dev, now)
    q = gpf_state(dev.gas)["gq"]
    if not q:
        return b"\x02\x00"
    return bytes((2, min(len(q) - 1, 255))) + bytes.fromhex(q[0][3])


def head(dev):
    """Queue id of the oldest message (None when empty)."""
    q = gpf_state(dev.gas)["gq"]
    return q[0][0] if q else None


def taken(dev, i):
    """Message `i` was handed to the GSME and it asked for the next one without a response (it
    refused it): it leaves the queue (one store write)."""
    gas = dev.gas
    if not any(e[0] == i for e in gpf_state(gas)["gq"]):
        return False
    w = gas.begin()
    w["gq"] = [e for e in w["gq"] if e[0] != i]
    gas.commit()
    return True


def put(dev, rsp, now=None):
    """The GSME's PUT (`03 ‖ message`, given without the 03): a response to a queued message takes
    it off the queue; a TOM pair whose every component succeeded is applied to the mirror, in the
    same store write. Returns the queued command's bytes it answers (None for an alert or an
    unknown response)."""
    from firmware.gbcs import frame

    r = frame.parse(bytes(rsp))
    if r.cra != frame.CRA_RESPONSE:
        return None
    gas = dev.gas
    s = gpf_state(gas)
    hit = None
    for e in s["gq"]:
        m = frame.parse(bytes.fromhex(e[3]))
        if m.counter == r.counter and m.message_code == r.message_code and m.originator == r.recipient:
            hit = e, m
            break
    if hit is None:
        return None
    e, m = hit
    w = gas.begin()
    w["gq"] = [x for x in w["gq"] if x[0] != e[0]]
    t = dev.now() if now is None else now
    if m.message_code in TOM_CODES:
        ok = tap_off(dev, w, m, r, t)
        _event(w, "TOM %04X %s" % (m.message_code, "actioned" if ok else "not actioned"), t)
    gas.commit()
    return bytes.fromhex(e[3])


def tap_off(dev, w, m, r, t):
    """Apply TOM command `m` to the mirror working copy `w` when the GSME's response `r` succeeded
    for every component (same count, same cluster and sequence number, opposite direction, a
    cluster-specific reply or Default Response SUCCESS); future-dated elements are not applied.
    GCS05 (0x006F): the Calendar components only. True when applied."""
    from firmware.gbcs import gbz as Z
    from firmware.gas.usecases import Ctx
    from firmware.gas.route import handler

    try:
        cg = Z.parse(bytes(m.content)).components
        rg = Z.parse(bytes(r.content)).components
    except Reject:
        return False
    if len(cg) != len(rg):
        return False
    for c, x in zip(cg, rg):
        if x.cluster != c.cluster or x.seq != c.seq or (x.fc ^ c.fc) & 0x08 == 0:
            return False
        if not x.fc & 1 and not (x.cmd == 0x0B and x.payload[1:2] == b"\x00"):
            return False
    before = len(w["fd"])
    ctx = Ctx(dev, m, w, t)
    for c in cg:
        if m.message_code == 0x006F and c.cluster != 0x0707:
            continue
        handler(ctx, c, None)
    del w["fd"][before:]  # future-dated elements are the GSME's to run, not the mirror's
    w.pop("_seen", None)
    return True


def remove(dev, now=None):
    """The GSME left the Device Log: its queue is flushed (a "not retrieved" event each) and the
    pending flag cleared, in one store write."""
    gas = dev.gas
    s = gpf_state(gas)
    t = dev.now() if now is None else now
    w = gas.begin()
    for e in s["gq"]:
        _event(w, "GSME command not retrieved %d" % e[0], t)
    w["gq"] = []
    gas.commit()


# -- GPF Device Log -------------------------------------------------------------------------------------
def restore_log(dev, m, log):
    """GCS59: the GPF Device Log restored from DER `SEQUENCE { SEQUENCE OF SEQUENCE {OCTET
    STRING(8) id, INTEGER device type} }`; the answer `SEQUENCE { SEQUENCE OF SEQUENCE {entry,
    INTEGER join response} }` (0 = added). One store write."""
    c = bytes(m.content)
    ents = None
    if c[:1] == b"\x30":  # SEQUENCE { SEQUENCE OF entry }
        n, q = _len(c, 1)
        ents = _entries(c[q:]) if q + n == len(c) else None
    if ents is None:
        log.append("gcs59 ctr %d format" % m.counter)
        raise Reject("format", None, "GCS59 content")
    gas = dev.gas
    gpf_state(gas)
    w = gas.begin()
    w["dl"] = [[e.hex(), t] for e, t in ents]
    gas.commit()
    body = b"".join(_seq(_seq(b"\x04\x08" + e + _int(t)) + b"\x02\x01\x00") for e, t in ents)
    return _seq(_seq(body))


def backup_alert(dev, counter=None):
    """GCS62 (alert 0x8071, message code 0x00B2, MAC'd for the ACB): DER SEQUENCE {INTEGER
    0x8071, GeneralizedTime, SEQUENCE OF {id, type}} of the GPF Device Log."""
    from firmware.core.trust import KA
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame, parties as P
    from firmware.gas.der import gtime

    t_ = dev.trust
    cell = t_.cell(P.ACB, KA)
    if counter is None:
        counter = dev.store.counter("gpf_alert").increment()
    lst = b"".join(_seq(b"\x04\x08" + bytes.fromhex(e) + _int(ty)) for e, ty in gpf_state(dev.gas)["dl"])
    g = gtime(dev.now())
    body = _seq(b"\x02\x03\x00\x80\x71" + b"\x18" + bytes((len(g),)) + g + _seq(lst))
    msg = frame.Message(cra=frame.CRA_ALERT, counter=counter, originator=t_.eui, recipient=cell.eui,
                        message_code=0x00B2, content=body)
    msg.mac_header = True
    msg.signature = b""
    frame.build(msg)
    return frame.set_mac(msg, gbcs_mac(t_.z(cell), t_.eui, P.U_ALERT, frame.u64(counter), cell.eui,
                                       msg.mac_aad(), 12))


def _entries(c):
    if c[:1] != b"\x30":
        return None
    n, q = _len(c, 1)
    if q + n != len(c):
        return None
    out = []
    while q < len(c):
        if c[q] != 0x30:
            return None
        n, p = _len(c, q + 1)
        end = p + n
        if c[p:p + 2] != b"\x04\x08" or c[p + 10] != 0x02:
            return None
        il = c[p + 11]
        t = 0
        for b in c[p + 12:p + 12 + il]:
            t = t << 8 | b
        out.append((c[p + 2:p + 10], t))
        q = end
    return out


def _len(c, q):
    n = c[q]
    if n < 0x80:
        return n, q + 1
    k = n & 0x7F
    v = 0
    for b in c[q + 1:q + 1 + k]:
        v = v << 8 | b
    return v, q + 1 + k


def _seq(b):
    n = len(b)
    if n < 0x80:
        return b"\x30" + bytes((n,)) + b
    if n < 0x100:
        return b"\x30\x81" + bytes((n,)) + b
    return b"\x30\x82" + bytes((n >> 8, n & 0xFF)) + b


def _int(v):
    b = bytes((v & 0xFF,))
    v >>= 8
    while v:
        b = bytes((v & 0xFF,)) + b
        v >>= 8
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + bytes((len(b),)) + b
