"""The GSME's Price (0x0700), Calendar (0x0707), Messaging (0x0703), Device Management (0x0708) and
Events (0x0709) commands (GBCS gas use cases GCS01a/b, GCS05 calendar, GCS07, GCS09-11, GCS20/20r,
GCS21a-m, GCS23, GCS25/25a, GCS36, GCS41, GCS44, CS10a/b, CS11; shared/reference/gas.md §3): the
supplier's Publish... commands kept (immediate, future-dated or cancelled by their start time) for the
Get... commands that read them back, configuration commands kept in force, the event logs. Loaded on
demand by firmware/gas/usecases.py; handlers are h(ctx, component, fail)."""
from firmware.gbcs import gbz as Z
from firmware.gbcs import gbzinfo as I
from firmware.gas import model as M
from firmware.gas import route as U

# (cluster, command) -> offset of the start time in a Publish... payload (None: none of its own)
_START = {
    (0x0707, 0x00): 12, (0x0707, 0x04): 12, (0x0700, 0x04): 12, (0x0700, 0x05): 8, (0x0700, 0x06): 8,
    (0x0700, 0x09): 8, (0x0700, 0x01): 8, (0x0705, 0x03): 4, (0x0705, 0x0C): 8, (0x0705, 0x0B): 8,
}
# Get... (cluster, command) -> the Publish... command that answers it
_GET = {
    (0x0707, 0x01): 0x01, (0x0707, 0x02): 0x02, (0x0707, 0x03): 0x03, (0x0707, 0x04): 0x04,
    (0x0700, 0x00): 0x00, (0x0700, 0x0B): 0x09, (0x0708, 0x05): 0x04,
}


def publish(ctx, c, fail):
    store_publish(ctx, c, _START.get((c.cluster, c.cmd)))


def ack(ctx, c, fail):
    """A configuration command acknowledged once kept (U.cfg)."""
    U.cfg(ctx, c, _START.get((c.cluster, c.cmd)))
    ctx.dr(c, I.SUCCESS)


def get(ctx, c, fail):
    U.published(ctx, c, _GET[(c.cluster, c.cmd)])


def store_publish(ctx, c, start_at):
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
        w["fd"].append([start, k, p.hex(), ctx.m.message_code, ctx.m.counter, c.fc])
    else:
        seen = w.setdefault("_seen", [])
        if k not in seen:
            seen.append(k)
            w["p"][k] = []
        w["p"][k].append(p.hex())
    ctx.dr(c, I.SUCCESS)


def event_log(ctx, c, fail):
    U.published(ctx, c, 0x01, c.payload[0] & 0x0F)


def clear_event_log(ctx, c, fail):
    lid = c.payload[0] if c.payload else 0
    if fail is not None:
        return ctx.reply(c, 0x02, b"\x00")
    ctx.w["p"].pop(M.pkey(U.EVENTS, 0x01, lid), None)
    ctx.reply(c, 0x02, bytes((1 << lid if lid < 8 else 0,)))


def site_id(ctx, c, fail):
    p = c.payload
    ctx.gas.set_attr(ctx.w, U.METERING, 0x0307, 0x41, p[12:])
    ctx.dr(c, I.SUCCESS)


def conversion_factor(ctx, c, fail):
    p = c.payload
    if U.cfg(ctx, c, 4):
        ctx.gas.set_attr(ctx.w, U.PRICE, 0x0302, 0x23, p[8:12])
        ctx.gas.set_attr(ctx.w, U.PRICE, 0x0303, 0x18, p[12:13])
    ctx.dr(c, I.SUCCESS)


def calorific_value(ctx, c, fail):
    p = c.payload
    if U.cfg(ctx, c, 4):
        ctx.gas.set_attr(ctx.w, U.PRICE, 0x0304, 0x23, p[8:12])
        ctx.gas.set_attr(ctx.w, U.PRICE, 0x0305, 0x30, p[12:13])
        ctx.gas.set_attr(ctx.w, U.PRICE, 0x0306, 0x18, p[13:14])
    ctx.dr(c, I.SUCCESS)
