"""The GSME's Metering cluster (ZSE 0x0702) reads and commands other than the valve, and Read
Attributes on every cluster (GBCS gas use cases GCS13a/b/c, GCS14, GCS15b/c, GCS16a, GCS17, GCS18,
GCS21a/b/e/f/j/m, GCS24/24a, GCS31, GCS33, GCS38, GCS46, GCS60/60a; shared/reference/gas.md §1.6,
§3): attribute values from the model, the consumption and debt attributes encrypted (KDF U=04),
sampling, snapshots, the uncontrolled-flow and supply-state settings. Loaded on demand by
firmware/gas/usecases.py; handlers are h(ctx, component, fail)."""
from firmware.gbcs import gbz as Z
from firmware.gbcs import gbzinfo as I
from firmware.gas import model as M
from firmware.gas import route as U


def sensitive(cluster, ids):
    if cluster == U.METERING:
        return any(a == 0 or a >> 8 in (0x01, 0x07) for a in ids)  # consumption registers
    if cluster == U.PREPAYMENT:
        return any(a == 0x0005 or a & 0xFF0F == 0x0201 for a in ids)  # debt amounts
    return False


def read(ctx, c, fail):
    ids = I.read_attributes(c.payload)
    out = bytearray()
    for j in range(len(ids)):
        a = ids[j]
        if fail is not None and j == fail:
            out += I.attribute_record(a, I.HARDWARE_FAILURE)
            continue
        v = ctx.gas.attr(c.cluster, a, ctx.w)
        out += I.attribute_record(a, I.UNSUPPORTED_ATTRIBUTE) if v is None else I.attribute_record(
            a, I.SUCCESS, v[0], v[1])
    ctx.reply(c, I.READ_ATTRIBUTES_RESPONSE, bytes(out), sensitive(c.cluster, ids), specific=False)


def start_sampling(ctx, c, fail):
    if fail is not None:
        return ctx.reply(c, 0x0D, b"\xff\xff")
    ctx.w["cfg"][M.pkey(U.METERING, 0x07)] = c.payload.hex()
    ctx.reply(c, 0x0D, Z.le_bytes(U.NETWORK_SAMPLE_ID, 2))


def sampled_data(ctx, c, fail):
    U.published(ctx, c, 0x07, Z.le(c.payload, 0, 2), enc=True)


def snapshot(ctx, c, fail):
    U.snapshots(ctx, c, 0x06)


def set_flow_threshold(ctx, c, fail):
    p = c.payload
    if U.cfg(ctx, c):
        g, w = ctx.gas, ctx.w
        g.set_attr(w, U.METERING, 0x0B10, 0x21, p[8:10])
        g.set_attr(w, U.METERING, 0x0B11, 0x30, p[10:11])
        g.set_attr(w, U.METERING, 0x0B12, 0x21, p[11:13])
        g.set_attr(w, U.METERING, 0x0B13, 0x21, p[13:15])
        g.set_attr(w, U.METERING, 0x0B14, 0x20, p[15:16])
        g.set_attr(w, U.METERING, 0x0B15, 0x21, p[16:18])
    ctx.dr(c, I.SUCCESS)


def set_supply_status(ctx, c, fail):
    p = c.payload
    if U.cfg(ctx, c):
        for i, a in ((4, 0x0607), (5, 0x0608), (6, 0x0609)):
            ctx.gas.set_attr(ctx.w, U.METERING, a, 0x30, p[i:i + 1])
    ctx.dr(c, I.SUCCESS)
