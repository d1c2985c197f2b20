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

_DEFAULT_RESPONSE = const(0x0B)
_FAILURE = const(0x01)
_HARDWARE_FAILURE = const(0xC0)
_METERING = const(0x0702)
_FAULT_REC = const("gas_fault")  # firmware/gas/life.py FAULT_REC
_PREPAYMENT = const(0x0705)
_PRICE = const(0x0700)
_EVENTS = const(0x0709)
_DEVICE_MGMT = const(0x0708)
# cluster-specific replies sent WITHOUT disable-default-response, as RTDS has them
# components that only critical (KRP-signed) commands may carry: cluster << 12 | frame-control kind << 8
# | command id; Metering ChangeSupply, SetUncontrolledFlowThreshold, SetSupplyStatus; Prepayment
# SelectAvailableEmergencyCredit, ChangeDebt, EmergencyCreditSetup, CreditAdjustment,
# ChangePaymentMode, SetLowCreditWarningLevel, SetMaximumCreditLimit, SetOverallDebtCap; the
# supplier's Calendar and Price publications (gas.md §3.1: their use cases are all critical)
_CRITICAL = (0x070210B, 0x070210E, 0x070210D,
             0x0705100, 0x0705102, 0x0705103, 0x0705105, 0x0705106, 0x0705109, 0x070510B, 0x070510C,
             0x0707900, 0x0707901, 0x0707902, 0x0707903, 0x0707904,
             0x0700901, 0x0700902, 0x0700903, 0x0700904, 0x0700905, 0x0700906, 0x0700909)
_PLAIN_REPLY = ((_PRICE, 0x09), (_METERING, 0x07), (_METERING, 0x0C), (_METERING, 0x0D), (_PREPAYMENT, 0x03),
                (_EVENTS, 0x02))
# message codes whose replies all carry disable-default-response (GCS13a/b/c, GCS21f, GCS17)
_DDR_CODES = (0x0074, 0x00B6, 0x00B8, 0x009F, 0x0078)


class Ctx:
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
            fc |= 0x10
        if specific and c.cluster == _DEVICE_MGMT and cmd == 0x04:
            fc = 0x01  # ReportEventConfiguration: the GSME as Device Management client
        self.out.append((Z.Component(c.cluster, fc, c.seq, cmd, payload), enc))

    def dr(self, c, status):
        fc = Z.reply_fc(c.fc, False)
        if c.cluster == _DEVICE_MGMT and c.cmd == 0x05:
            fc = 0x08  # GetEventConfiguration: answered as RTDS has it
        self.out.append((Z.Component(c.cluster, fc, c.seq, _DEFAULT_RESPONSE,
                                     bytes((c.cmd, status))), False))


def answer(dev, m, party, log):
    c = m.content
    if c[:2] != b"\x01\x09":
        from firmware.gas.der import answer as der

        return der(dev, m, party, log)
    try:
        g = Z.parse(c)
    except Reject as e:
        log.append("gbz-format ctr %d %s" % (m.counter, e.detail[:80]))
        return b"\x01\x09\x00"
    gas = dev.gas
    w = gas.begin()
    fault = None
    if dev.store.get(_FAULT_REC) is not None:  # a bench's fault hook armed (firmware/gas/life.py)
        from firmware.gas.life import take_fault

        fault = take_fault(gas, m.counter)
    ctx = Ctx(dev, m, w, dev.now())
    comps = g.components
    for i in range(len(comps)):
        comp = comps[i]
        if fault is not None and i > fault[0]:
            ctx.out.append((Z.Component(comp.cluster, Z.reply_fc(comp.fc, False), comp.seq,
                                        _DEFAULT_RESPONSE, b"\xff\x01"), False))
            continue
        fa = fault[1] if fault is not None and i == fault[0] else None
        try:
            _one(ctx, comp, fa)
        except Reject as e:
            log.append("gbz %04X comp %d %s" % (m.message_code, i, e.detail[:80]))
            ctx.dr(comp, _FAILURE if fa is None else _HARDWARE_FAILURE)
    ctx.w.pop("_seen", None)
    gas.commit()
    out = ctx.out
    if any(e for _, e in out):
        from firmware.gas.route import seal

        return Z.build(Z.Gbz(seal(dev, m, out)))
    return Z.build(Z.Gbz([o for o, _ in out]))


def _one(ctx, c, fail):
    kind = c.fc & 0x0F
    if kind & 1 and not ctx.m.signature and (c.cluster << 12 | kind << 8 | c.cmd) in _CRITICAL:
        # a critical command's component in a command without a KRP signature (a MAC-only command
        # borrowing it): not run, answered NOT_AUTHORIZED, logged (GBCS §6.2.4 authorisation)
        ctx.dev.seclog.append("scope %04X ctr %d code %04X cluster %04X cmd %02X" % (
            0x8F30, ctx.m.counter, ctx.m.message_code, c.cluster, c.cmd))
        return ctx.dr(c, 0x7E)
    if c.cluster == _METERING and kind == 0x01 and c.cmd == 0x0B and fail is None:
        return change_supply(ctx, c, fail)  # the valve: the critical path loads nothing more
    from firmware.gas.route import handler

    return handler(ctx, c, fail)


# -- Metering -----------------------------------------------------------------------------------------
def change_supply(ctx, c, fail):
    p = c.payload
    if len(p) < 18:
        raise Reject("format", None, "ChangeSupply length")
    want = p[16]
    if want > 1:  # 0 OFF, 1 OFF/ARMED; 2 ON
        return ctx.dr(c, _FAILURE)  # no remote opening of the valve (GBCS: no such use case)
    ctx.gas.set_attr(ctx.w, _METERING, 0x0014, 0x30, bytes((want,)))
    if want == 1:
        ctx.gas.queue_alert(ctx.w, 0x8F32, ctx.now)  # supply armed
    ctx.reply(c, 0x0C, p[0:8] + p[12:16] + bytes((want,)))
