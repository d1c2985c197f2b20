"""The GSME's GBZ command routing beyond the valve (firmware/gas/usecases.py runs ChangeSupply itself):
component -> handler by cluster, frame-control kind and command id, the cluster modules loaded with
their first command; the helpers they share (stored publications, configuration commands held by
start time); the encryption of sensitive replies (KDF U=04 for the party the response is for, one
IV for every encrypted component of the message, AH frame counter 0, 1, ...; shared/reference/gas.md
§1.6). Loaded on demand: the valve path does not need it."""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.gbcs import gbz as Z
from firmware.gbcs import gbzinfo as I
from firmware.gas import model as M

METERING = const(0x0702)
PREPAYMENT = const(0x0705)
PRICE = const(0x0700)
EVENTS = const(0x0709)
NETWORK_SAMPLE_ID = const(2)  # the sample StartSampling controls (GCS31 / GCS18, gas.md §6 [U])
_UNSUP = const(0x81)  # UNSUP_CLUSTER_COMMAND


def handler(ctx, c, fail):
    """Run the handler of component `c` (module loaded on demand)."""
    kind = c.fc & 0x0F
    if kind in (I.FC_GLOBAL_C2S, I.FC_GLOBAL_S2C):
        if c.cmd == I.READ_ATTRIBUTES:
            from firmware.gas.metering import read

            return read(ctx, c, fail)
        return ctx.dr(c, _UNSUP)
    r = ROUTE.get((c.cluster << 16) | (kind << 8) | c.cmd)
    if r is None:
        return ctx.dr(c, _UNSUP)
    if fail is not None and r not in ("mstart_sampling", "tclear_event_log"):
        return ctx.dr(c, I.HARDWARE_FAILURE)
    if r[0] == "u":
        from firmware.gas.usecases import change_supply as h
    else:  # a cluster module loaded with its first command
        mod = "firmware.gas." + ("prepay" if r[0] == "p" else "tariff" if r[0] == "t" else "metering")
        h = getattr(__import__(mod, None, None, (r[1:],)), r[1:])
    return h(ctx, c, fail)


# (cluster << 16 | frame-control kind << 8 | command id) -> handler: "u" the valve (firmware/gas/usecases.py), "m"
# firmware/gas/metering.py, "p" firmware/gas/prepay.py, "t" firmware/gas/tariff.py (loaded on demand)
ROUTE = {
    0x07020100 | 0x0B: "u", 0x07020100 | 0x07: "mstart_sampling",
    0x07020100 | 0x08: "msampled_data", 0x07020100 | 0x06: "msnapshot",
    0x07020100 | 0x0E: "mset_flow_threshold", 0x07020100 | 0x0D: "mset_supply_status",
    0x07050100 | 0x04: "pconsumer_top_up", 0x07050100 | 0x05: "pcredit_adjustment",
    0x07050100 | 0x06: "pchange_payment_mode", 0x07050100 | 0x00: "pemergency_credit",
    0x07050100 | 0x03: "tack", 0x07050100 | 0x0C: "tack", 0x07050100 | 0x09: "tack",
    0x07050100 | 0x0B: "tack", 0x07050100 | 0x02: "tack",
    0x07050100 | 0x07: "pprepay_snapshot", 0x07050100 | 0x08: "ptop_up_log", 0x07050100 | 0x0A: "pdebt_log",
    0x07090100 | 0x00: "tevent_log", 0x07090100 | 0x01: "tclear_event_log",
    0x07070100 | 0x01: "tget", 0x07070100 | 0x02: "tget", 0x07070100 | 0x03: "tget", 0x07070100 | 0x04: "tget",
    0x07070900 | 0x00: "tpublish", 0x07070900 | 0x01: "tpublish", 0x07070900 | 0x02: "tpublish",
    0x07070900 | 0x03: "tpublish", 0x07070900 | 0x04: "tpublish",
    0x07000100 | 0x00: "tget", 0x07000100 | 0x0B: "tget",
    0x07000900 | 0x02: "tconversion_factor", 0x07000900 | 0x03: "tcalorific_value",
    0x07000900 | 0x04: "tpublish", 0x07000900 | 0x05: "tpublish", 0x07000900 | 0x06: "tpublish",
    0x07000900 | 0x09: "tpublish", 0x07000900 | 0x01: "tpublish",
    0x07030900 | 0x00: "tack", 0x07080900 | 0x00: "tack", 0x07080900 | 0x01: "tack",
    0x07080900 | 0x02: "tack", 0x07080900 | 0x03: "tsite_id", 0x07080900 | 0x04: "tack",
    0x07080900 | 0x05: "tget", 0x07080900 | 0x06: "tack",
}


# -- stored publications ------------------------------------------------------------------------------
def published(ctx, c, pcmd, k=None, enc=False):
    """Every stored publication of (cluster, pcmd, k), each as its own reply; none -> NOT_FOUND."""
    lst = ctx.w["p"].get(M.pkey(c.cluster, pcmd, k)) or []
    if not lst:
        return ctx.dr(c, I.NOT_FOUND)
    for h in lst:
        ctx.reply(c, pcmd, bytes.fromhex(h), enc)


def snapshots(ctx, c, pcmd):
    """GetSnapshot (Metering) / GetPrepaySnapshot (Prepayment), payload: earliest and latest
    snapshot time (UTC, LE 4 each), offset (1), snapshot cause (LE 4): of the snapshots stored for
    the cause and taken in that window, oldest first, the one at the offset is published (its
    snapshot time at bytes 4..8 of the publication), encrypted; none there -> NOT_FOUND."""
    p = c.payload
    start, end = Z.le(p, 0, 4), Z.le(p, 4, 4)
    hits = []
    for h in ctx.w["p"].get(M.pkey(c.cluster, pcmd, Z.le(p, 9, 4))) or ():
        b = bytes.fromhex(h)
        t = Z.le(b, 4, 4)
        if start <= t <= end:
            hits.append((t, b))
    if p[8] >= len(hits):
        return ctx.dr(c, I.NOT_FOUND)
    hits.sort()
    ctx.reply(c, pcmd, hits[p[8]][1], True)


def cfg(ctx, c, start_at=None):
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
        w["fd"].append([start, k, p.hex(), ctx.m.message_code, ctx.m.counter, c.fc])
    else:
        w["cfg"][k] = p.hex()
        return True
    return False


def seal(dev, m, out):
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
