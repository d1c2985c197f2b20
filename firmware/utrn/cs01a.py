"""CS01a (top-up via the token gateway, GBCS use case 2.2; shared/reference/gbcs.md §7.6, §9.4, §9.7):
registers the DLMS ACTION class 115 (token gateway) 0-0:19.40.0.255 method 1 "enter"
(firmware/gbcs/cosem.py) on a metering role's dispatch table and routes the 20-digit token into the
one acceptance function with source REMOTE, the command's originator counter (UTRN counter << 32) and
its recipient. The role's table declares CS01a's message code in its own_counters: the counter is
checked and recorded in the UTRN counter space (cache + prepayment floor), never in the supplier's
command counter (gbcs.md §6 open points).

Action result: 00 success; any rejection -> 01 (the value of the RTDS ERROR response; the reason
and alert code go to the UTRN log). The response is built and MAC'd by the command gate.
"""
from firmware.alerts import Reject, NO_AUTHORITY
from firmware.compat import const
from firmware.core import reasons
from firmware.gbcs import dlms, cosem
from firmware.utrn.accept import Acceptor, REMOTE

RESULT_REJECTED = const(1)  # DLMS action-result hardware-fault, as in the RTDS CS01a ERROR response


def acceptor_for(role, clock=None):
    """The Acceptor of a metering role: its EUI-64 and meter model, the supplier's (supplier, KA,
    prePaymentTopUp) cell, Z cached by the trust state; the provisioned prepayment floor (an
    originator-counter value, as CS02b carries it) is applied."""
    from firmware.core.trust import KA, PREPAYMENT
    from firmware.gbcs.parties import SUPPLIER

    t = role.trust
    cell = t.cell(SUPPLIER, KA, PREPAYMENT)
    if cell is None:
        raise Reject(reasons.NO_CELL, NO_AUTHORITY, "no supplier prepayment-top-up KA cell")
    a = Acceptor(role.store, t.eui, cell.eui, t.z(cell), role.model, clock)
    a.boot()
    fl = t.pp_floor(SUPPLIER)
    if fl:
        a.set_floor64(fl)
    return a


def install(role, acceptor=None, clock=None):
    """Register the CS01a handler on `role`'s dispatch table and make the Acceptor (shared with the
    keypad) its `acceptor`; returns it."""
    if acceptor is None:
        acceptor = acceptor_for(role, clock)

    def enter(ctx, item):
        if item[0] != dlms.OCTET_STRING:
            return dlms.TYPE_UNMATCHED, None
        m = ctx.msg
        try:
            acceptor.accept(item[1], source=REMOTE, counter64=m.counter, target=m.recipient)
        except Reject:  # logged by the acceptor with its alert code
            return RESULT_REJECTED, None
        return dlms.SUCCESS, None

    role.table.add(cosem.OBJECTS[-1], enter)  # the token gateway's row
    role.acceptor = acceptor
    return acceptor
