"""CS01a (0x0007) remote top-up: the ESME's DLMS entry for the token gateway, class 115
0-0:19.40.0.255 method 1 "enter" with an octet-string of 20 ASCII digits (gbcs.md §7.6, §9.7),
handed to the one UTRN acceptance function (firmware/utrn/accept.py).

The GBCS transaction counter of a CS01a is the UTRN counter (n << 32); Esme.process does not feed it
into the supplier's command counter (codes.UTRN_CODES, gbcs.md §6 open points). Replay protection
of CS01a is the acceptor's UTRN counter cache and prepayment floor. Result codes: success 0; any
rejection by the acceptor -> hardware-fault (1), as the RTDS CS01a ERROR response shows [U].

    acc = cs01a.acceptor(esme)          # Acceptor on the supplier prepayment KA cell (Z cached)
    cs01a.install(esme, acc)
"""
from firmware.alerts import Reject
from firmware.gbcs import dlms
from firmware.meter import security

OBIS_TOKEN_GATEWAY = b"\x00\x00\x13\x28\x00\xFF"  # 0-0:19.40.0.255, class 115


def acceptor(esme, **kw):
    """firmware.utrn.accept.Acceptor for this ESME: device EUI, the supplier's prepayment-top-up KA
    cell (its EUI and the cached Z), the meter model."""
    from firmware.utrn.accept import Acceptor

    cell = esme.sec.cell(security.SUPPLIER, security.KA, security.PREPAYMENT)
    if cell is None:
        raise Reject("no-cell", None, "no supplier prepayment KA cell")
    return Acceptor(esme.store, esme.sec.eui, cell.eui, esme.sec.z(cell), meter=esme.model, **kw)


def install(esme, acc):
    def enter(ctx, item):
        if item[0] != dlms.OCTET_STRING or len(item[1]) != 20:
            return dlms.TYPE_UNMATCHED, None
        m = ctx.msg
        if m.originator != acc.supplier:
            return dlms.SCOPE_OF_ACCESS_VIOLATED, None
        try:
            acc.accept(item[1].decode(), "remote", counter64=m.counter, target=m.recipient)
        except Reject as e:
            ctx.esme.seclog.append("cs01a %s %04X ctr %d" % (e.reason, e.code or 0, m.counter))
            return dlms.HARDWARE_FAULT, None
        return dlms.SUCCESS, None

    esme.register_action(115, OBIS_TOKEN_GATEWAY, 1, enter, False, (security.SUPPLIER,))
    return enter
