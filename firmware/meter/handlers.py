"""ESME DLMS handlers (GBCS §7.2 use-case content; shared/reference/gbcs.md §7.2-§7.5): the load
switch (ECS42 close, ECS43 open, ECS44 arm: IC 9 script execute; ECS45: IC 70 state reads) and the
payment mode and account configuration (ECS02 -> credit, ECS03 -> prepayment: IC 111 and IC 9000
SETs), registered on a role's dispatch table (firmware/core/gate.py Table) from the one table of COSEM
objects (firmware/gbcs/cosem.py). Handlers act on ctx.device.model (firmware/meter/model.py).

The SETs of one command stage their values on its CommandContext (firmware/core/gate.py) and one
after-action applies them all in one model write (atomic across a power cut, GBCS §7.2 ECS02/ECS03
multi-item commands). A payment mode with a future activation date-time is staged as `pending_mode` (with the command's message
code and originator counter); the metering engine (firmware/meter/engine.py) runs it exactly once at
its time and raises the future-dated outcome alert 0x8F66 / 0x8F67 (gbcs.md §7.9, §8).
"""
from firmware.compat import const
from firmware.gbcs import dlms, cosem, parties
from firmware.core.trust import hexs as _h

_ACCOUNT = const("account")  # staged account changes {key: value}
_MODE = const("mode")  # staged payment mode
_ACTIVATION = const("activation")  # staged payment-mode activation date-time


def register(table):
    """Add the ESME's objects (cosem.OBJECTS rows 0-7, in order) to a dispatch table; the critical
    ones answer supplier-originated commands only."""
    sup = (parties.SUPPLIER,)
    fns = (_load_switch, _output_state, _control_state, _set_account_mode,
           _set_credit_charge_config, _set_account_activation, _set_disablement_threshold,
           _set_threshold_activation)
    for i in range(len(fns)):
        o = cosem.OBJECTS[i]
        table.add(o, fns[i], sup if o[4] else None)


def _all(dt, v):
    """Date and time fields of a date-time all `v`: 0 is GBCS 'now' (00…00 80 00 FF), 0xFF 'never'
    (FF…FF 80 00 FF, cancels a future-dated change)."""
    for i in range(9):
        if dt[i] != v:
            return False
    return True


def _load_switch(ctx, item):
    """ECS42/43/44: script table execute with a long-unsigned script selector."""
    if item[0] != dlms.LONG_UNSIGNED:
        return dlms.TYPE_UNMATCHED, None
    model = ctx.device.model
    sel = item[1]
    if sel == cosem.SCRIPT_CLOSE:
        model.connect()
    elif sel == cosem.SCRIPT_OPEN:
        model.disconnect()
    elif sel == cosem.SCRIPT_ARM:
        model.arm()
    else:
        return dlms.OBJECT_UNDEFINED, None
    return dlms.SUCCESS, None


def _output_state(ctx, item):
    return dlms.SUCCESS, (dlms.BOOLEAN, ctx.device.model.supply == "connected")


def _control_state(ctx, item):
    """ECS45: IC 70 control_state enum (0 disconnected, 1 connected, 2 ready for reconnection)."""
    return dlms.SUCCESS, (dlms.ENUM, ctx.device.model.control_state)


def _stage(ctx, key, value):
    """Stage an account change of this command; _apply_account writes them all at once."""
    acc = ctx.staged(_ACCOUNT)
    if acc is None:
        acc = {}
        ctx.stage(_ACCOUNT, acc)
    acc[key] = value
    ctx.after(_apply_account)


def _apply_account(ctx):
    """After all SETs of one command: apply the staged account changes and the payment mode (now,
    or scheduled by its activation date-time) in one model write."""
    acc = ctx.staged(_ACCOUNT) or {}
    mode = ctx.staged(_MODE)
    now = None
    if mode is not None:
        at = ctx.staged(_ACTIVATION)
        if at is None or _all(at, 0):
            now = mode
            acc["pending_mode"] = None  # applied now: any scheduled change is void
        elif _all(at, 0xFF):
            acc["pending_mode"] = None
        else:
            m = ctx.msg  # kept for the outcome alert (gbcs.md §7.9: code, counter, object)
            acc["pending_mode"] = {"mode": mode, "at": _h(at), "mc": m.message_code, "ctr": m.counter}
    ctx.device.model.update(acc, now)


def _set_account_mode(ctx, item):
    """IC 111 attribute 2 account_mode_and_status: structure {enum payment mode, enum status}."""
    if item[0] != dlms.STRUCTURE or len(item[1]) != 2 or item[1][0][0] != dlms.ENUM \
            or item[1][1][0] != dlms.ENUM:
        return dlms.TYPE_UNMATCHED, None
    mode = item[1][0][1]
    if mode == cosem.MODE_CREDIT:
        ctx.stage(_MODE, "credit")
    elif mode == cosem.MODE_PREPAYMENT:
        ctx.stage(_MODE, "prepayment")
    else:
        return dlms.OTHER_REASON, None
    ctx.after(_apply_account)
    return dlms.SUCCESS, None


def _set_credit_charge_config(ctx, item):
    """IC 111 attribute 11: array of {credit OBIS, charge OBIS, collection bit-string}, kept as one
    hex string per entry: credit OBIS (12 digits), charge OBIS (12), bit count (2), the bits (one
    string, not a list of four: ECS03's 13 entries stay small on a 96K heap)."""
    if item[0] != dlms.ARRAY:
        return dlms.TYPE_UNMATCHED, None
    cfg = []
    for e in item[1]:
        if e[0] != dlms.STRUCTURE or len(e[1]) != 3:
            return dlms.TYPE_UNMATCHED, None
        a, b, c = e[1]
        if a[0] != dlms.OCTET_STRING or len(a[1]) != 6 or b[0] != dlms.OCTET_STRING \
                or len(b[1]) != 6 or c[0] != dlms.BIT_STRING or c[1][0] > 255:
            return dlms.TYPE_UNMATCHED, None
        cfg.append(_h(a[1] + b[1] + bytes((c[1][0],)) + c[1][1]))
    _stage(ctx, "credit_charge_configuration", cfg)
    return dlms.SUCCESS, None


def _date_time_item(item):
    return item[0] == dlms.OCTET_STRING and len(item[1]) == 12


def _set_account_activation(ctx, item):
    if not _date_time_item(item):
        return dlms.TYPE_UNMATCHED, None
    ctx.stage(_ACTIVATION, item[1])
    ctx.after(_apply_account)
    return dlms.SUCCESS, None


def _set_disablement_threshold(ctx, item):
    if item[0] != dlms.DOUBLE_LONG:
        return dlms.TYPE_UNMATCHED, None
    _stage(ctx, "disablement_threshold_passive", item[1])
    return dlms.SUCCESS, None


def _set_threshold_activation(ctx, item):
    if not _date_time_item(item):
        return dlms.TYPE_UNMATCHED, None
    _stage(ctx, "disablement_threshold_activation", _h(item[1]))
    return dlms.SUCCESS, None
