"""DLMS objects of the Comms Hub Function (GBCS §7.2 use-case content for the CHF; RTDS use cases in
shared/reference/usecases.md: CCS01-CCS07, ECS26i/n, ECS35c/d, DBCH01-05): the dispatch table's
`resolve` hook (firmware/core/gate.py Table) for the hub's objects.

    entry = resolve(kind, class_id, obis6, ident)   # (handler, signed, roles) or None

IC 104 ZigBee network control, 0-0:30.3.0.255 (the CHF Device Log) and 0-0:30.3.1.255 (the CHF
Historic Device Log), on the hub's DeviceLog (firmware/hub/devicelog.py):
    method 1 register_device {EUI-64, enum, install code, enum}   CCS01 (with attributes 3, 2)
    method 2 unregister_device EUI-64                             CCS02
    method 4 backup_PAN -> {date-time, PAN id, [{EUI-64, hashed TC link key}]}   CCS07
    method 5 restore_PAN {PAN id, [{EUI-64, hashed key}]}          CCS03
    attribute 2 enable_disable_joining, 3 join_timeout, 4 active_devices (CCS05/CCS04, CCS06)
A command's registrations, removals and restores are staged and applied after its last item, in
one store write per change (join_timeout and enable_disable_joining of the same command apply to
its registration, whatever their order).

IC 1 data: 0-0:96.1.1.255 device identity (the hub's EUI-64), 0-0:96.1.4.255 / 0-0:96.1.6.255
identity strings (ECS26i/n), 0-0:94.44.10.0/1/2 dual-band channel configuration (DBCH01, 03-05),
stored as their A-XDR (firmware/meter/objects.py) and type-checked on SET. IC 7 logs
(firmware/hub/logs.py): ECS35c security log, ECS35d event log, DBCH02 channel log.
"""
from firmware.compat import const
from firmware.gbcs import dlms

_GET = const(1)
_SET = const(2)
_ACTION = const(3)
_GET_SEL = const(4)

DEVLOG = const(b"\x00\x00\x1E\x03\x00\xFF")
HISTLOG = const(b"\x00\x00\x1E\x03\x01\xFF")
DEVICE_ID = const(b"\x00\x00\x60\x01\x01\xFF")
JOIN_TIMEOUT_MAX = const(3600)  # DUIS JoinTimePeriod <= 3600 (han.md §5)

# IC 1 stored attributes: obis -> (type spec, settable)
_DATA = {
    b"\x00\x00\x60\x01\x04\xFF": ("os", False),
    b"\x00\x00\x60\x01\x06\xFF": ("os", False),
    b"\x00\x00\x5E\x2C\x0A\x00": ("s(bs,bs,bs,bs,u16,u16,u8,u16,u8,u8,u16,u8,u16,u16,u16)", True),
    b"\x00\x00\x5E\x2C\x0A\x01": ("u8", True),
    b"\x00\x00\x5E\x2C\x0A\x02": ("bs", False),
}
_NEVER = const(b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x80\x00\xFF")


def resolve(kind, cid, obis, ident):
    obis = bytes(obis)
    if cid == 104 and (obis == DEVLOG or obis == HISTLOG):
        if kind == _ACTION:
            h = _METHODS.get((obis == HISTLOG, ident))
            return None if h is None else (h, False, None)
        if obis == DEVLOG and kind == _GET and ident in (2, 3, 4):
            return _get104, False, None
        if obis == DEVLOG and kind == _SET and ident in (2, 3):
            return _set104, False, None
        return None
    if cid == 1 and ident == 2:
        if obis == DEVICE_ID and kind == _GET:
            return _device_id, False, None
        d = _DATA.get(obis)
        if d is not None and (kind == _GET or (kind == _SET and d[1])):
            return (_get1 if kind == _GET else _set1), False, None
        return None
    if cid == 7 and ident == 2 and kind in (_GET, _GET_SEL):
        from firmware.hub import logs

        if logs.known(obis):
            return _log, False, None
    return None


# -- IC 104 --------------------------------------------------------------------------------------
def _os(item, n=None):
    return item[0] == dlms.OCTET_STRING and (n is None or len(item[1]) == n)


def _register(ctx, item):
    t, v = item
    if t != dlms.STRUCTURE or len(v) != 4 or not _os(v[0], 8) or not _os(v[2]) \
            or len(v[2][1]) not in (6, 8, 12, 16):
        return dlms.TYPE_UNMATCHED, None
    dl = ctx.device.devlog
    eui = v[0][1]
    regs = ctx.staged("reg")
    if regs is None:
        regs = []
        ctx.stage("reg", regs)
    if dl.find(eui) is None and len(dl.euis()) + len(regs) >= dl.capacity:
        return dlms.OTHER_REASON, None  # device log full
    regs.append((eui, v[2][1]))
    ctx.after(_apply)
    return dlms.SUCCESS, None


def _unregister(ctx, item):
    if not _os(item, 8):
        return dlms.TYPE_UNMATCHED, None
    ctx.stage("unreg", ctx.staged("unreg", []) + [item[1]])
    ctx.after(_apply)
    return dlms.SUCCESS, None


def _restore(ctx, item):
    t, v = item
    if t != dlms.STRUCTURE or len(v) != 2 or not _os(v[0], 8) or v[1][0] != dlms.ARRAY:
        return dlms.TYPE_UNMATCHED, None
    devs = []
    for d in v[1][1]:
        if d[0] != dlms.STRUCTURE or len(d[1]) != 2 or not _os(d[1][0], 8) or not _os(d[1][1]):
            return dlms.TYPE_UNMATCHED, None
        devs.append((d[1][0][1], d[1][1][1]))
    if len(devs) > ctx.device.devlog.capacity:
        return dlms.OTHER_REASON, None
    ctx.stage("restore", (v[0][1], devs))
    ctx.after(_apply)
    return dlms.SUCCESS, None


def _backup_of(historic):
    def h(ctx, item):
        from firmware.hub.alerts import dlms_datetime

        dl = ctx.device.devlog
        return dlms.SUCCESS, (dlms.STRUCTURE, [
            (dlms.OCTET_STRING, dlms_datetime(ctx.device.now())), (dlms.OCTET_STRING, dl.pan()),
            (dlms.ARRAY, [(dlms.STRUCTURE, [(dlms.OCTET_STRING, e), (dlms.OCTET_STRING, k)])
                          for e, k in dl.backup(historic)])])
    return h


_METHODS = {(False, 1): _register, (False, 2): _unregister, (False, 4): _backup_of(False),
            (True, 4): _backup_of(True), (False, 5): _restore}


def _set104(ctx, item):
    ident = ctx.request.specs[ctx.index][3]
    if ident == 3:
        if item[0] != dlms.LONG_UNSIGNED or item[1] > JOIN_TIMEOUT_MAX:
            return dlms.TYPE_UNMATCHED, None
        ctx.stage("jt", item[1])
    else:
        if item[0] != dlms.BOOLEAN:
            return dlms.TYPE_UNMATCHED, None
        ctx.stage("je", item[1])
    ctx.after(_apply)
    return dlms.SUCCESS, None


def _apply(ctx):
    """After the command's last item: its Device Log changes, each one store write."""
    dev = ctx.device
    dl = dev.devlog
    now = dev.now()
    jt0, je0 = dl.joining()
    jt, je = ctx.staged("jt", jt0), ctx.staged("je", je0)
    r = ctx.staged("restore")
    if r is not None:
        dl.restore(r[0], r[1], now)
    for eui in ctx.staged("unreg", ()):
        dl.remove(eui, now)
    regs = ctx.staged("reg")
    if regs:
        for eui, code in regs:
            dl.add(eui, code, jt, je, now)
    elif (jt, je) != (jt0, je0):
        dl.set_joining(jt, je)


def _stats_item(eui, st):
    """The active_device structure: the EUI-64, then the 13 stored fields (A-XDR), or for a device
    that has not communicated yet: status 0, RSSI / LQI 0, last communication "never", counts 0."""
    if st is None:
        f = [(dlms.BIT_STRING, (8, b"\x00")), (dlms.INTEGER, 0), (dlms.INTEGER, 0), (dlms.INTEGER, 0),
             (dlms.UNSIGNED, 0), (dlms.UNSIGNED, 0), (dlms.UNSIGNED, 0), (dlms.OCTET_STRING, _NEVER),
             (dlms.UNSIGNED, 0), (dlms.UNSIGNED, 0), (dlms.UNSIGNED, 0), (dlms.UNSIGNED, 0),
             (dlms.UNSIGNED, 0)]
    else:
        f = dlms.decode(st)[1]
    return (dlms.STRUCTURE, [(dlms.OCTET_STRING, eui)] + f)


def _get104(ctx, item):
    ident = ctx.request.specs[ctx.index][3]
    dl = ctx.device.devlog
    if ident == 4:
        return dlms.SUCCESS, (dlms.ARRAY, [_stats_item(e, st) for e, _, st in dl.entries()])
    jt, je = dl.joining()
    return dlms.SUCCESS, ((dlms.LONG_UNSIGNED, jt) if ident == 3 else (dlms.BOOLEAN, je))


def stats_from_item(it):
    """The DeviceLog statistics (A-XDR of the 13 fields after the EUI-64) of an active_device
    structure item: the inverse of the attribute 4 GET."""
    return dlms.encode((dlms.STRUCTURE, it[1][1:]))


# -- IC 1 ----------------------------------------------------------------------------------------
def _obis(ctx):
    return ctx.request.specs[ctx.index][2]


def _device_id(ctx, item):
    return dlms.SUCCESS, (dlms.OCTET_STRING, ctx.device.eui)


def _get1(ctx, item):
    from firmware.meter import objects, ic_base

    obis = _obis(ctx)
    raw = objects.of(ctx.device).get(1, obis, 2)
    return dlms.SUCCESS, dlms.decode(raw if raw is not None else ic_base.default(_DATA[obis][0]))


def _set1(ctx, item):
    from firmware.meter import objects, ic_base

    obis = _obis(ctx)
    if not ic_base.match(_DATA[obis][0], item):
        return dlms.TYPE_UNMATCHED, None
    objects.of(ctx.device).stage(1, obis, 2, dlms.encode(item))
    ctx.after(ic_base.commit)
    return dlms.SUCCESS, None


# -- IC 7 ----------------------------------------------------------------------------------------
def _log(ctx, item):
    from firmware.hub import logs

    r = logs.select(ctx.device.store, _obis(ctx), ctx.request.selections[ctx.index])
    return (dlms.OTHER_REASON, None) if r is None else (dlms.SUCCESS, r)
