"""The ESME role (GBCS §4.3.1 device types; use cases in shared/reference/gbcs.md §7): the GBCS secure
core (authentication, replay protection, response protection) composed with the ESME meter model,
its DLMS handlers and the UTRN prepayment service (CS01a and keypad share one Acceptor).

    role = build(board, store, table_dir)          # as firmware.roles.build("esme", ...) does
    response = role.process(command)               # Reject (typed, with alert code) when refused
"""
from firmware.meter.esme import Esme as _Pipeline
from firmware.gbcs.parties import SUPPLIER
from firmware.core.trust import DS

IDENT = "SMLAB-ESME"


class Esme:
    """ESME role object (interface: firmware/roles/__init__.py). Built without `build` it has no UTRN
    acceptor until firmware.utrn.cs01a.install adds one."""

    name = "esme"
    ident = IDENT

    def __init__(self, store, clock=None, model=None, table_dir=None):
        p = _Pipeline(store, clock, model, table_dir)
        self.pipeline = p
        self.store = store
        self.trust = p.sec
        self.eui = p.sec.eui
        self.model = p.model
        self.acceptor = None
        self.process = p.process

    def hht_anchor(self, issuer):
        """Verify key of the supplier DS anchor when `issuer` is the supplier in the trust anchor
        cells (the cached VerifyKey over its comb table when there is a table directory), else
        None: the HHT login trusts the supplier only (shared/reference/gbcs.md §5.2)."""
        t = self.trust
        if t.party_role(issuer) != SUPPLIER:
            return None
        c = t.party_cell(issuer, DS)
        return None if c is None else t.verify_key(c)

    def poll(self, now):
        """Nothing periodic for the ESME."""
        return None


def build(board, store, table_dir=None):
    """The ESME of `store` with CS01a and the keypad on one UTRN Acceptor (board.time its clock)."""
    from firmware.utrn import cs01a

    e = Esme(store, table_dir=table_dir)
    e.acceptor = cs01a.install(e.pipeline, clock=board.time)
    return e
