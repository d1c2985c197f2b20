"""The ESME role (GBCS §4.3.1 device types; use cases in shared/reference/gbcs.md §7): the GBCS secure
core (firmware/core: trust state, command gate, DLMS dispatch, response protection) composed with
the ESME meter model (firmware/meter/model.py), its DLMS handlers (firmware/meter/handlers.py) and
the UTRN prepayment service (CS01a and the keypad share one Acceptor, firmware/utrn/cs01a.py).

    role = build(board, store, table_dir)          # as firmware.roles.build("esme", ...) does
    response = role.process(command)               # Reject (typed, with alert code) when refused

CS01a commands carry UTRN counters (n << 32): the ESME's dispatch table declares their message code
as keeping its own counters, checked in the UTRN counter space (gbcs.md §6 open points).
"""
from firmware.core.trust import Trust, DS
from firmware.core.gate import Gate, Table, RTDS_CLOCK  # noqa: F401 (RTDS_CLOCK: the RTDS corpus clock)
from firmware.gbcs.codes import UTRN_CODES
from firmware.gbcs.parties import SUPPLIER
from firmware.meter import handlers
from firmware.meter.model import MeterModel


def _resolve(kind, cid, obis, ident):
    """The dispatch table's on-demand objects (firmware/meter/catalog.py, loaded on first use)."""
    from firmware.meter import catalog

    return catalog.resolve(kind, cid, obis, ident)


class Esme:
    """ESME role object (interface: firmware/roles/__init__.py): `table` is its dispatch table,
    `gate` its command gate, `seclog` its GBCS security log. Built directly it has no UTRN acceptor until
    firmware.utrn.cs01a.install adds one (build() does)."""

    name = "esme"
    ident = "SMLAB-ESME"

    def __init__(self, store, clock=None, model=None, table_dir=None):
        self.store = store
        self.trust = t = Trust(store, table_dir)
        self.eui = t.eui
        self.model = model if model is not None else MeterModel(store)
        self.table = Table(UTRN_CODES, _resolve)
        handlers.register(self.table)
        self.gate = g = Gate(self, t, self.table, clock)
        self.seclog = g.log
        self.process = g.process
        self.acceptor = None

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
        """Nothing periodic without a board (build() attaches the metering engine's poll)."""
        return None

def build(board, store, table_dir=None):
    """The ESME of `store` with CS01a and the keypad on one UTRN Acceptor (board.time its clock)."""
    from firmware.utrn import cs01a

    e = Esme(store, table_dir=table_dir)
    cs01a.install(e, clock=board.time)
    d = __import__("firmware.meter.dercall", None, None, ("answer",))  # DER: on demand
    e.table.der = d.answer
    e.table.der_fault = d.fault  # a DER command a test fault stops (firmware/core/faults.py)
    from firmware.meter import engine  # metering loads with the application, not with the gate

    engine.attach(e, board)
    return e
