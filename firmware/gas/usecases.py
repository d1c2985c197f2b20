"""The GSME's answers to GBZ commands (GBCS §7.2.10 GBZ use cases; shared/reference/gas.md §1.5,
§3, §5): every component of a command runs in order against the GasModel working copy, the replies
are collected (one per component, or the Publish... replies of a Get...), the model is committed in
ONE store write, then the sensitive replies are encrypted (KDF U=04 for the party the response is
for, one IV for every encrypted component of the message, AH frame counter 0, 1, ...) and the GBZ
response is built.

    content = answer(device, msg, party, log)     # the dispatch table's `der` hook for GBZ content

Failure (gas.md §1.5): a component the device fails answers HARDWARE_FAILURE (Default Response, an
attribute status in a Read Attributes Response, sample id 0xFFFF for StartSampling, an empty bitmap
for ClearEventLog) and every later component Default Response FAILURE with command id 0xFF; reads
with no data answer NOT_FOUND. Non-GBZ content (ASN.1 DER: GCS28 and the device-log use cases) is
answered by der() below.

Replies' frame control: the opposite direction of the command, cluster-specific replies with
disable-default-response except the ones in _PLAIN_REPLY; Read Attributes Responses with it only for
the message codes in _DDR_CODES (what RTDS does; docs/gas.md deviations).
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.gbcs import gbz as Z
from firmware.gas import model as M

METERING = const(0x0702)
PREPAYMENT = const(0x0705)
PRICE = const(0x0700)
CALENDAR = const(0x0707)
EVENTS = const(0x0709)
DEVICE_MGMT = const(0x0708)
MESSAGING = const(0x0703)
NETWORK_SAMPLE_ID = const(2)  # the sample StartSampling controls (GCS31 / GCS18, gas.md §6 [U])
_UNSUP = const(0x81)  # UNSUP_CLUSTER_COMMAND
# cluster-specific replies sent WITHOUT disable-default-response, as RTDS has them
_PLAIN_REPLY = ((PRICE, 0x09), (METERING, 0x07), (METERING, 0x0C), (METERING, 0x0D), (PREPAYMENT, 0x03),
                (EVENTS, 0x02))
# message codes whose replies all carry disable-default-response (GCS13a/b/c, GCS21f, GCS17)
_DDR_CODES = (0x0074, 0x00B6, 0x00B8, 0x009F, 0x0078)
_NOW = (0, 0xFFFFFFFF)


class _Ctx:
    __slots__ = ("dev", "m", "w", "now", "gas", "out")

    def __init__(self, dev, m, w, now):
        self.dev = dev
        self.m = m
        self.w = w
        self.now = now
        self.gas = dev.gas
        self.out = []  # [(Component, encrypt)]

    def reply(self, c, cmd, payload, enc=False, specific=True):
        fc = Z.reply_fc(c.fc, specific)
        if (specific and (c.cluster, cmd) not in _PLAIN_REPLY) or self.m.message_code in _DDR_CODES:
            fc |= Z.FC_NO_DEFAULT
        if specific and c.cluster == DEVICE_MGMT and cmd == 0x04:
            fc = Z.FC_CLUSTER_C2S  # ReportEventConfiguration: the GSME as Device Management client
        self.out.append((Z.Component(c.cluster, fc, c.seq, cmd, payload), enc))

    def dr(self, c, status):
        fc = Z.reply_fc(c.fc, False)
        if c.cluster == DEVICE_MGMT and c.cmd == 0x05:
            fc = Z.FC_GLOBAL_S2C  # GetEventConfiguration: answered as RTDS has it
        self.out.append((Z.Component(c.cluster, fc, c.seq, Z.DEFAULT_RESPONSE,
                                     bytes((c.cmd, status))), False))


def answer(dev, m, party, log):
    c = m.content
    if c[:2] != b"\x01\x09":
        return der(dev, m, party, log)
    try:
        g = Z.parse(c)
    except Reject as e:
        log.append("gbz-format ctr %d %s" % (m.counter, e.detail[:80]))
        return b"\x01\x09\x00"
    gas = dev.gas
    w = gas.begin()
    fault = gas.take_fault(m.counter)
    ctx = _Ctx(dev, m, w, dev.now())
    comps = g.components
    for i in range(len(comps)):
        comp = comps[i]
        if fault is not None and i > fault[0]:
            ctx.out.append((Z.Component(comp.cluster, Z.reply_fc(comp.fc, False), comp.seq,
                                        Z.DEFAULT_RESPONSE, b"\xff\x01"), False))
            continue
        fa = fault[1] if fault is not None and i == fault[0] else None
        try:
            _one(ctx, comp, fa)
        except Reject as e:
            log.append("gbz %04X comp %d %s" % (m.message_code, i, e.detail[:80]))
            ctx.dr(comp, Z.FAILURE if fa is None else Z.HARDWARE_FAILURE)
    ctx.w.pop("_seen", None)
    gas.commit()
    return Z.build(Z.Gbz(_seal(dev, m, ctx.out)))


def _seal(dev, m, out):
    comps = []
    key = None
    n = 0
    for comp, enc in out:
        if enc:
            if key is None:
                key = _key(dev, m)
            comp.payload = Z.seal(key, dev.eui, comp.payload)
            comp.encrypted = True
            comp.ah_ctr = n
            n += 1
        comps.append(comp)
    return comps


def _key(dev, m):
    """KDF U=04 for the party the response is for (the supplementary remote party when present)."""
    from firmware.core.trust import KA
    from firmware.crypto.gmac import gbcs_key

    party = m.supp_remote_id or m.originator
    ctr = m.supp_orig_counter or m.counter
    cell = dev.trust.party_cell(party, KA)
    if cell is None:
        raise Reject("no-cell", None, "no KA cell to encrypt for")
    return gbcs_key(dev.trust.z(cell), dev.eui, 4, ctr.to_bytes(8, "big"), party)


def _one(ctx, c, fail):
    kind = c.fc & 0x0F
    if kind in (Z.FC_GLOBAL_C2S, Z.FC_GLOBAL_S2C):
        if c.cmd == Z.READ_ATTRIBUTES:
            return _read(ctx, c, fail)
        return ctx.dr(c, _UNSUP)
    h = _HANDLERS.get((c.cluster, kind, c.cmd))
    if h is None:
        return ctx.dr(c, _UNSUP)
    if fail is not None and h not in (_start_sampling, _clear_event_log):
        return ctx.dr(c, Z.HARDWARE_FAILURE)
    return h(ctx, c, fail)


# -- Read Attributes ----------------------------------------------------------------------------------
def _sensitive(cluster, ids):
    if cluster == METERING:
        return any(a == 0 or a >> 8 in (0x01, 0x07) for a in ids)  # consumption registers
    if cluster == PREPAYMENT:
        return any(a == 0x0005 or a & 0xFF0F == 0x0201 for a in ids)  # debt amounts
    return False


def _read(ctx, c, fail):
    ids = Z.read_attributes(c.payload)
    out = bytearray()
    for j in range(len(ids)):
        a = ids[j]
        if fail is not None and j == fail:
            out += Z.attribute_record(a, Z.HARDWARE_FAILURE)
            continue
        v = ctx.gas.attr(c.cluster, a, ctx.w)
        out += Z.attribute_record(a, Z.UNSUPPORTED_ATTRIBUTE) if v is None else Z.attribute_record(
            a, Z.SUCCESS, v[0], v[1])
    ctx.reply(c, Z.READ_ATTRIBUTES_RESPONSE, bytes(out), _sensitive(c.cluster, ids), specific=False)


# -- stored publications ------------------------------------------------------------------------------
def _published(ctx, c, pcmd, k=None, index=None, enc=False):
    lst = ctx.w["p"].get(M.pkey(c.cluster, pcmd, k)) or []
    if index is not None:
        lst = [h for h in lst[index:index + 1] if h is not None]
    if not lst:
        return ctx.dr(c, Z.NOT_FOUND)
    for h in lst:
        ctx.reply(c, pcmd, bytes.fromhex(h), enc)


def _store_publish(ctx, c, start_at):
    """A Publish... from the supplier (ZSE server -> the meter): kept for the Get... that reads it
    back; immediate (start 0 or due) replaces what the command's first component of that kind found,
    future-dated is held, a cancellation (0xFFFFFFFE / 0xFFFFFFFF) drops the held one."""
    p = c.payload
    start = Z.le(p, start_at, 4) if start_at is not None and len(p) >= start_at + 4 else 0
    k = M.pkey(c.cluster, c.cmd)
    w = ctx.w
    if start >= 0xFFFFFFFE:
        w["fd"] = [e for e in w["fd"] if e[1] != k]
    elif start and start > ctx.now:
        w["fd"].append([start, k, p.hex()])
    else:
        seen = w.setdefault("_seen", [])
        if k not in seen:
            seen.append(k)
            w["p"][k] = []
        w["p"][k].append(p.hex())
    ctx.dr(c, Z.SUCCESS)


def _cfg(ctx, c, start_at=None):
    """A configuration command: in force now (kept under its cluster and command), or held until
    its start time, or a held one cancelled."""
    p = c.payload
    start = Z.le(p, start_at, 4) if start_at is not None else 0
    k = M.pkey(c.cluster, c.cmd)
    w = ctx.w
    if c.fdt is not None and start_at is None:
        start = c.fdt
    if start >= 0xFFFFFFFE:
        w["fd"] = [e for e in w["fd"] if e[1] != k]
    elif start and start > ctx.now:
        w["fd"].append([start, k, p.hex()])
    else:
        w["cfg"][k] = p.hex()
        return True
    return False


def _ack_cfg(start_at=None):
    def h(ctx, c, fail):
        _cfg(ctx, c, start_at)
        ctx.dr(c, Z.SUCCESS)

    return h


def _publish_at(start_at):
    def h(ctx, c, fail):
        _store_publish(ctx, c, start_at)

    return h


# -- Metering -----------------------------------------------------------------------------------------
def _change_supply(ctx, c, fail):
    p = c.payload
    if len(p) < 18:
        raise Reject("format", None, "ChangeSupply length")
    want = p[16]
    if want not in (M.OFF, M.ARMED):
        return ctx.dr(c, Z.FAILURE)  # no remote opening of the valve (GBCS: no such use case)
    ctx.gas.set_attr(ctx.w, METERING, 0x0014, 0x30, bytes((want,)))
    if want == M.ARMED:
        ctx.gas.queue_alert(ctx.w, M.ALERT_ARMED, ctx.now)
    ctx.reply(c, 0x0C, p[0:8] + p[12:16] + bytes((want,)))


def _start_sampling(ctx, c, fail):
    if fail is not None:
        return ctx.reply(c, 0x0D, b"\xff\xff")
    ctx.w["cfg"][M.pkey(METERING, 0x07)] = c.payload.hex()
    ctx.reply(c, 0x0D, Z.le_bytes(NETWORK_SAMPLE_ID, 2))


def _sampled_data(ctx, c, fail):
    _published(ctx, c, 0x07, Z.le(c.payload, 0, 2), enc=True)


def _snapshot(ctx, c, fail):
    p = c.payload
    _published(ctx, c, 0x06, Z.le(p, 9, 4), p[8], enc=True)


def _set_flow_threshold(ctx, c, fail):
    p = c.payload
    if _cfg(ctx, c):
        g, w = ctx.gas, ctx.w
        g.set_attr(w, METERING, 0x0B10, 0x21, p[8:10])
        g.set_attr(w, METERING, 0x0B11, 0x30, p[10:11])
        g.set_attr(w, METERING, 0x0B12, 0x21, p[11:13])
        g.set_attr(w, METERING, 0x0B13, 0x21, p[13:15])
        g.set_attr(w, METERING, 0x0B14, 0x20, p[15:16])
        g.set_attr(w, METERING, 0x0B15, 0x21, p[16:18])
    ctx.dr(c, Z.SUCCESS)


def _set_supply_status(ctx, c, fail):
    p = c.payload
    if _cfg(ctx, c):
        for i, a in ((4, 0x0607), (5, 0x0608), (6, 0x0609)):
            ctx.gas.set_attr(ctx.w, METERING, a, 0x30, p[i:i + 1])
    ctx.dr(c, Z.SUCCESS)


# -- Prepayment ---------------------------------------------------------------------------------------
def _top_up(ctx, c, fail):
    """ConsumerTopUp (CS01b remote, PCS01 from the PPMID) -> ConsumerTopUpResponse {result, value,
    source, credit remaining}; result 1 and -1 values when the UTRN is refused."""
    p = c.payload
    origin = p[0] if p else 0
    bad = b"\x01\xff\xff\xff\xff" + bytes((origin,)) + b"\xff\xff\xff\xff"
    if len(p) < 2 or p[1] + 2 != len(p):
        return ctx.reply(c, 0x03, bad)
    from firmware.utrn.accept import REMOTE, KEYPAD

    gas = ctx.gas
    gas.commit()  # the command's state so far; the top-up makes its own writes
    try:
        amount = top_up(ctx.dev, p[2:], REMOTE if origin == 0 else KEYPAD,
                        ctx.m.counter if origin == 0 else None, ctx.m.recipient, ctx.now)
    except Reject as e:
        ctx.dev.seclog.append("utrn %04X ctr %d" % (e.code or 0, ctx.m.counter))
        amount = None
    ctx.w = gas.begin()
    if amount is None:
        return ctx.reply(c, 0x03, bad)
    ctx.reply(c, 0x03, b"\x00" + M._i32(amount) + bytes((origin,)) + M._i32(gas.credit(ctx.w)))


def top_up(dev, utrn, source, counter64=None, target=None, now=None):
    """Take one UTRN top-up (CS01b, PCS01 or the GSME's keypad) through the role's one UTRN Acceptor:
    single use, exactly once. The top-up log entry (with the UTRN counter) lands first, unsettled;
    then the acceptor's commit (the commit point of the credit); then the entry is settled. A cut
    between: boot() keeps the entry iff the acceptor took the UTRN. Returns the amount (1e-5 GBP);
    Reject (logged by the acceptor) when refused."""
    acc = dev.acceptor
    if acc is None:
        raise Reject("no-utrn", None, "no UTRN acceptor (credit mode)")
    gas = dev.gas
    now = dev.now() if now is None else now
    p, counter = acc.authenticate(utrn, source, counter64, target)
    amount = p.amount_pennies() * 1000
    if counter in acc.cache or counter <= acc.floor:
        acc.accept(utrn, source, counter64, target)  # a used UTRN: refused (and logged) there
        raise Reject("duplicate", None, "UTRN counter %d already used" % counter)
    w = gas.begin()
    w["tul"].insert(0, [utrn if isinstance(utrn, str) else bytes(utrn).decode(), amount, now, counter, 0])
    gas.commit()
    try:
        acc.accept(utrn, source, counter64, target)
    except Reject:
        w = gas.begin()
        w["tul"] = [e for e in w["tul"] if e[4] or e[3] != counter]
        gas.commit()
        raise
    w = gas.begin()
    for e in w["tul"]:
        if e[3] == counter:
            e[4] = 1
    del w["tul"][M.TOP_UP_LOG:]  # the oldest entry goes only with the settled new one
    gas.commit()
    return amount


def _credit_adjustment(ctx, c, fail):
    p = c.payload
    typ = p[8]
    v = Z.le(p, 9, 4)
    if v & 0x80000000:
        v -= 1 << 32
    w = ctx.w
    if typ == 0:
        w["cb"] += v
    elif typ == 1:
        w["cb"] = v - (ctx.gas.credit(w) - w["cb"])
    else:
        cur = ctx.gas.attr(METERING, 0x0A00, w)
        b = Z.le(cur[1], 0, 4) if cur else 0
        b = b - v if typ == 3 else v
        ctx.gas.set_attr(w, METERING, 0x0A00, 0x23, Z.le_bytes(b & 0xFFFFFFFF, 4))
    ctx.dr(c, Z.SUCCESS)


def _change_payment_mode(ctx, c, fail):
    p = c.payload
    if len(p) < 18:
        raise Reject("format", None, "ChangePaymentMode length")
    if _cfg(ctx, c, 8):
        ctx.gas.set_attr(ctx.w, PREPAYMENT, 0x0000, 0x19, p[12:14])
    g, w = ctx.gas, ctx.w
    fcv = bytes.fromhex(w["a"].get("friendly", "0000000000"))
    lim = g.attr(PREPAYMENT, 0x0010, w)
    thr = g.attr(PREPAYMENT, 0x0011, w)
    ctx.reply(c, 0x02, fcv + (lim[1] if lim else bytes(4)) + (thr[1] if thr else bytes(4)))


def _emergency_credit(ctx, c, fail):
    """SelectAvailableEmergencyCredit: emergency credit in use from now (FAILURE when it already is)."""
    k = M.pkey(PREPAYMENT, 0x00)
    if k in ctx.w["cfg"]:
        return ctx.dr(c, Z.FAILURE)
    ctx.w["cfg"][k] = "%08x" % ctx.now
    ctx.dr(c, Z.SUCCESS)


def _top_up_log(ctx, c, fail):
    p = c.payload
    end = Z.le(p, 0, 4)
    n = p[4] if len(p) > 4 else 1
    since = c.fdt or 0
    recs = [e for e in ctx.w["tul"] if e[4] and since <= e[2] <= end][:n]
    if not recs:
        return ctx.dr(c, Z.NOT_FOUND)
    out = bytearray(b"\x00\x01")
    for u, amount, t, _, _ in recs:
        out.append(len(u))
        out += u.encode()
        out += M._i32(amount)
        out += Z.le_bytes(t, 4)
    ctx.reply(c, 0x05, bytes(out))


def _prepay_snapshot(ctx, c, fail):
    p = c.payload
    _published(ctx, c, 0x01, Z.le(p, 9, 4), p[8], enc=True)


def _debt_log(ctx, c, fail):
    _published(ctx, c, 0x06, enc=True)


# -- Events, Calendar, Price, Device Management --------------------------------------------------------
def _event_log(ctx, c, fail):
    _published(ctx, c, 0x01, c.payload[0] & 0x0F)


def _clear_event_log(ctx, c, fail):
    lid = c.payload[0] if c.payload else 0
    if fail is not None:
        return ctx.reply(c, 0x02, b"\x00")
    ctx.w["p"].pop(M.pkey(EVENTS, 0x01, lid), None)
    ctx.reply(c, 0x02, bytes((1 << lid if lid < 8 else 0,)))


def _get(pcmd):
    def h(ctx, c, fail):
        _published(ctx, c, pcmd)

    return h


def _site_id(ctx, c, fail):
    p = c.payload
    ctx.gas.set_attr(ctx.w, METERING, 0x0307, 0x41, p[12:])
    ctx.dr(c, Z.SUCCESS)


def _conversion_factor(ctx, c, fail):
    p = c.payload
    if _cfg(ctx, c, 4):
        ctx.gas.set_attr(ctx.w, PRICE, 0x0302, 0x23, p[8:12])
        ctx.gas.set_attr(ctx.w, PRICE, 0x0303, 0x18, p[12:13])
    ctx.dr(c, Z.SUCCESS)


def _calorific_value(ctx, c, fail):
    p = c.payload
    if _cfg(ctx, c, 4):
        ctx.gas.set_attr(ctx.w, PRICE, 0x0304, 0x23, p[8:12])
        ctx.gas.set_attr(ctx.w, PRICE, 0x0305, 0x30, p[12:13])
        ctx.gas.set_attr(ctx.w, PRICE, 0x0306, 0x18, p[13:14])
    ctx.dr(c, Z.SUCCESS)


C2S = Z.FC_CLUSTER_C2S
S2C = Z.FC_CLUSTER_S2C
_HANDLERS = {
    (METERING, C2S, 0x0B): _change_supply,
    (METERING, C2S, 0x07): _start_sampling,
    (METERING, C2S, 0x08): _sampled_data,
    (METERING, C2S, 0x06): _snapshot,
    (METERING, C2S, 0x0E): _set_flow_threshold,
    (METERING, C2S, 0x0D): _set_supply_status,
    (PREPAYMENT, C2S, 0x04): _top_up,
    (PREPAYMENT, C2S, 0x05): _credit_adjustment,
    (PREPAYMENT, C2S, 0x06): _change_payment_mode,
    (PREPAYMENT, C2S, 0x00): _emergency_credit,
    (PREPAYMENT, C2S, 0x03): _ack_cfg(4),  # EmergencyCreditSetup: start time at 4
    (PREPAYMENT, C2S, 0x0C): _ack_cfg(8),  # SetOverallDebtCap
    (PREPAYMENT, C2S, 0x09): _ack_cfg(),  # SetLowCreditWarningLevel (From Date Time)
    (PREPAYMENT, C2S, 0x0B): _ack_cfg(8),  # SetMaximumCreditLimit
    (PREPAYMENT, C2S, 0x02): _ack_cfg(),  # ChangeDebt
    (PREPAYMENT, C2S, 0x07): _prepay_snapshot,
    (PREPAYMENT, C2S, 0x08): _top_up_log,
    (PREPAYMENT, C2S, 0x0A): _debt_log,
    (EVENTS, C2S, 0x00): _event_log,
    (EVENTS, C2S, 0x01): _clear_event_log,
    (CALENDAR, C2S, 0x01): _get(0x01),
    (CALENDAR, C2S, 0x02): _get(0x02),
    (CALENDAR, C2S, 0x03): _get(0x03),
    (CALENDAR, C2S, 0x04): _get(0x04),
    (CALENDAR, S2C, 0x00): _publish_at(12),
    (CALENDAR, S2C, 0x01): _publish_at(None),
    (CALENDAR, S2C, 0x02): _publish_at(None),
    (CALENDAR, S2C, 0x03): _publish_at(None),
    (CALENDAR, S2C, 0x04): _publish_at(12),
    (PRICE, C2S, 0x00): _get(0x00),
    (PRICE, C2S, 0x0B): _get(0x09),
    (PRICE, S2C, 0x02): _conversion_factor,
    (PRICE, S2C, 0x03): _calorific_value,
    (PRICE, S2C, 0x04): _publish_at(12),
    (PRICE, S2C, 0x05): _publish_at(8),
    (PRICE, S2C, 0x06): _publish_at(8),
    (PRICE, S2C, 0x09): _publish_at(8),
    (PRICE, S2C, 0x01): _publish_at(8),
    (MESSAGING, S2C, 0x00): _ack_cfg(),
    (DEVICE_MGMT, S2C, 0x00): _ack_cfg(),
    (DEVICE_MGMT, S2C, 0x01): _ack_cfg(),
    (DEVICE_MGMT, S2C, 0x02): _ack_cfg(),
    (DEVICE_MGMT, S2C, 0x03): _site_id,
    (DEVICE_MGMT, S2C, 0x04): _ack_cfg(),
    (DEVICE_MGMT, S2C, 0x05): _get(0x04),
    (DEVICE_MGMT, S2C, 0x06): _ack_cfg(),
}


# -- DER content ----------------------------------------------------------------------------------------
def der(dev, m, party, log):
    """GCS28 (set the clock within a validity window: {device time, status 0 reliable / 2 outside
    the window}) here; the device-log and credential use cases as the ESME answers them
    (firmware/meter/der.py)."""
    if m.message_code == 0x007F:
        return _clock_sync(dev, m, log)
    if m.message_code == 0x0013:
        return _read_device_log(dev)
    if m.message_code == 0x0010:  # CS04B unjoin (non-critical form): as the ESME's CS04 unjoin
        from firmware.meter.der import unjoin_device

        try:
            return unjoin_device(dev, m, party, log)
        except Reject as e:
            log.append("der 0010 ctr %d %s" % (m.counter, e.detail[:80]))
            return b"\x02\x01\x03"
    from firmware.meter.der import answer as a

    return a(dev, m, party, log)


def _days(y, m, d):
    """Days from 2000-01-01 to the civil date (proleptic Gregorian)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 730425


def _gtime(t):
    """GeneralizedTime text of t seconds since 2000-01-01 UTC."""
    z = t // 86400 + 730425
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    y = yoe + era * 400 + (m <= 2)
    s = t % 86400
    return ("%04d%02d%02d%02d%02d%02dZ" % (y, m, d, s // 3600, s // 60 % 60, s % 60)).encode()


def _parse_gtime(b):
    return (_days(int(b[0:4]), int(b[4:6]), int(b[6:8])) * 86400 + int(b[8:10]) * 3600
            + int(b[10:12]) * 60 + int(b[12:14]))


def _clock_sync(dev, m, log):
    from firmware.core import asn1 as D

    buf = m.content
    try:
        top = D.head(buf, 0)
        f = D.items(buf, top[1], top[2])
        lo = _parse_gtime(bytes(buf[f[0][1]:f[0][2]]))
        hi = _parse_gtime(bytes(buf[f[1][1]:f[1][2]]))
    except (Reject, ValueError, IndexError) as e:
        log.append("gcs28 format ctr %d %s" % (m.counter, e))
        return b"\x02\x01\x03"
    now = dev.now()
    if lo <= now <= hi:
        dev.set_clock(lo)
        now, st = lo, 0
    else:
        st = 2
    t = _gtime(now)
    return b"\x30" + bytes((len(t) + 5,)) + b"\x18" + bytes((len(t),)) + t + b"\x02\x01" + bytes((st,))


def _read_device_log(dev):
    """CS07 read device log: SEQUENCE {INTEGER 0, SEQUENCE OF SEQUENCE {OCTET STRING EUI-64,
    INTEGER device type}} from the device log firmware/meter/der.py keeps."""
    from firmware.meter.der import device_log

    body = b""
    for eui, t in device_log(dev.store):
        e = b"\x04\x08" + eui + b"\x02\x01" + bytes((t,))
        body += b"\x30" + bytes((len(e),)) + e
    inner = b"\x02\x01\x00" + b"\x30" + bytes((len(body),)) + body
    return b"\x30" + bytes((len(inner),)) + inner
