"""CS01a (top-up via the token gateway, GBCS use case 2.2; shared/reference/gbcs.md §7.6, §9.4, §9.7):
registers the DLMS ACTION class 115 (token gateway) 0-0:19.40.0.255 method 1 "enter" with the ESME
pipeline (firmware/meter/esme.py dispatch table) and routes the 20-digit token into the one
acceptance function with source REMOTE, the command's originator counter (UTRN counter << 32) and its
recipient. The pipeline leaves CS01a's counter to this module (codes.UTRN_CODES): it is checked and
recorded in the UTRN counter space (cache + prepayment floor), never in the supplier's command counter
(gbcs.md §6 open points).

Action result: 00 success; any rejection -> 01 (the value of the RTDS ERROR response; the reason
and alert code go to the UTRN log). The response is built and MAC'd by the pipeline.
"""
from firmware.alerts import Reject, NO_AUTHORITY
from firmware.compat import const
from firmware.gbcs import dlms
from firmware.utrn.accept import Acceptor, REMOTE

CLASS_TOKEN_GATEWAY = const(115)
OBIS_TOKEN_GATEWAY = b"\x00\x00\x13\x28\x00\xFF"  # 0-0:19.40.0.255
METHOD_ENTER = const(1)
RESULT_REJECTED = const(1)  # DLMS action-result hardware-fault, as in the RTDS CS01a ERROR response


def acceptor_for(esme, clock=None):
    """The Acceptor of an ESME: its EUI-64 and meter model, the supplier's (supplier, KA,
    prePaymentTopUp) cell, Z cached by the security state; the provisioned prepayment floor (an
    originator-counter value, as CS02b carries it) is applied."""
    from firmware.core.trust import KA, PREPAYMENT
    from firmware.gbcs.parties import SUPPLIER

    sec = esme.sec
    cell = sec.cell(SUPPLIER, KA, PREPAYMENT)
    if cell is None:
        raise Reject("no-cell", NO_AUTHORITY, "no supplier prepayment-top-up KA cell")
    a = Acceptor(esme.store, sec.eui, cell.eui, sec.z(cell), esme.model, clock)
    a.boot()
    fl = sec.pp_floor(SUPPLIER)
    if fl:
        a.set_floor64(fl)
    return a


def install(esme, acceptor=None, clock=None):
    """Register the CS01a handler on `esme`; returns the Acceptor used (shared with the keypad)."""
    if acceptor is None:
        acceptor = acceptor_for(esme, clock)

    def enter(ctx, item):
        if item[0] != dlms.OCTET_STRING:
            return dlms.TYPE_UNMATCHED, None
        m = ctx.msg
        try:
            acceptor.accept(item[1], source=REMOTE, counter64=m.counter, target=m.recipient)
        except Reject:  # logged by the acceptor with its alert code
            return RESULT_REJECTED, None
        return dlms.SUCCESS, None

    esme.register_action(CLASS_TOKEN_GATEWAY, OBIS_TOKEN_GATEWAY, METHOD_ENTER, enter)
    return acceptor
