"""The GSME's Prepayment cluster (ZSE 0x0705) commands (GBCS gas use cases CS01b, PCS01, GCS02/03,
GCS04/05, GCS06, GCS15b-e, GCS16b, GCS40a-d; shared/reference/gas.md §3, §5): top-ups through the
role's one UTRN Acceptor (single use, exactly once), credit adjustments, payment mode, emergency
credit, the top-up and debt logs and prepayment snapshots. Loaded on demand by
firmware/gas/usecases.py; handlers are h(ctx, component, fail)."""
from firmware.alerts import Reject
from firmware.gbcs import gbz as Z
from firmware.gbcs import gbzinfo as I
from firmware.gas import model as M
from firmware.gas import life as L
from firmware.gas import route as U


def consumer_top_up(ctx, c, fail):
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
    ctx.reply(c, 0x03, b"\x00" + M.i32(amount) + bytes((origin,)) + M.i32(gas.credit(ctx.w)))


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
    try:
        p, counter = acc.authenticate(utrn, source, counter64, target)
    except Reject:
        # refused there too, and logged: a wrong keypad code counts towards the lockout (GBCS §9.6)
        acc.accept(utrn, source, counter64, target)
        raise
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
    del w["tul"][L.TOP_UP_LOG:]  # the oldest entry goes only with the settled new one
    gas.commit()
    return amount


def credit_adjustment(ctx, c, fail):
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
        cur = ctx.gas.attr(U.METERING, 0x0A00, w)
        b = Z.le(cur[1], 0, 4) if cur else 0
        b = b - v if typ == 3 else v
        ctx.gas.set_attr(w, U.METERING, 0x0A00, 0x23, Z.le_bytes(b & 0xFFFFFFFF, 4))
    ctx.dr(c, I.SUCCESS)


def change_payment_mode(ctx, c, fail):
    p = c.payload
    if len(p) < 18:
        raise Reject("format", None, "ChangePaymentMode length")
    if U.cfg(ctx, c, 8):
        ctx.gas.set_attr(ctx.w, U.PREPAYMENT, 0x0000, 0x19, p[12:14])
    g, w = ctx.gas, ctx.w
    fcv = bytes.fromhex(w["a"].get("friendly", "0000000000"))
    lim = g.attr(U.PREPAYMENT, 0x0010, w)
    thr = g.attr(U.PREPAYMENT, 0x0011, w)
    ctx.reply(c, 0x02, fcv + (lim[1] if lim else bytes(4)) + (thr[1] if thr else bytes(4)))


def emergency_credit(ctx, c, fail):
    """SelectAvailableEmergencyCredit: emergency credit in use from now (FAILURE when it already is)."""
    k = M.pkey(U.PREPAYMENT, 0x00)
    if k in ctx.w["cfg"]:
        return ctx.dr(c, I.FAILURE)
    ctx.w["cfg"][k] = "%08x" % ctx.now
    ctx.dr(c, I.SUCCESS)


def top_up_log(ctx, c, fail):
    p = c.payload
    end = Z.le(p, 0, 4)
    n = p[4] if len(p) > 4 else 1
    since = c.fdt or 0
    recs = [e for e in ctx.w["tul"] if e[4] and since <= e[2] <= end][:n]
    if not recs:
        return ctx.dr(c, I.NOT_FOUND)
    out = bytearray(b"\x00\x01")
    for u, amount, t, _, _ in recs:
        out.append(len(u))
        out += u.encode()
        out += M.i32(amount)
        out += Z.le_bytes(t, 4)
    ctx.reply(c, 0x05, bytes(out))


def prepay_snapshot(ctx, c, fail):
    U.snapshots(ctx, c, 0x01)


def debt_log(ctx, c, fail):
    U.published(ctx, c, 0x06, enc=True)
