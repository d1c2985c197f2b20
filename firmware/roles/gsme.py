"""The gas meter role, GSME (GBCS §4.3.1 device types; gas use cases in shared/reference/gas.md §3,
the GSME's duties §4, §5): the GBCS secure core (firmware/core: trust state, command gate,
response protection — critical responses signed, the others MAC'd) composed with the gas model
(firmware/gas/model.py), its GBZ use cases (firmware/gas/usecases.py: the valve path at boot,
the other clusters' handlers on demand, through the dispatch table's content hook) and the UTRN prepayment service (CS01b and the
keypad share one Acceptor, firmware/utrn/accept.py: single use, exactly once).

    role = build(board, store, table_dir)        # as firmware.roles.build("gsme", ...) does
    response = role.process(command)             # Reject (typed, with alert code) when refused
    role.poll(board_time)                        # sleepy HAN: True when the interface is awake
    life.button(role) / life.keypad(role, utrn)  # firmware/gas/life.py: the consumer's button (an
    life.alerts(role) / life.delivered(role, n)  # armed valve opens), a UTRN at the keypad, the alerts
                                                 # queued for the next wake

Sleepy behaviour: the HAN interface is off except at wake-ups every `interval` seconds of the
role's clock (model record "gas" "wi", default 30 min); poll() reports a due wake, and the alerts
queued durably since the last one (life.alerts(role)) are what it sends then. The HAN fetch itself
(GET / `02 n msg` / PUT over ZSE tunnelling) is the transport's.

The GSME's clock: board.time() (epoch seconds) plus a durable offset a GCS28 clock set adjusts;
now() is seconds since 2000-01-01 UTC (the ZCL UTCTime base).
"""
from firmware.core.trust import Trust
from firmware.core.gate import Gate, Table
from firmware.compat import const
# the command path loads at boot, before any data (a module loaded in the middle of a command would
# sit between its temporaries and fragment the heap: docs/board-memory.md)
from firmware.gas.model import GasModel
from firmware.gas.usecases import answer as _content

_EPOCH_2000 = const(946684800)
_CLOCK_REC = const("gas_clk")


class Gsme:
    """GSME role object (interface: firmware/roles/__init__.py). `gas` is its GasModel, `table` its
    dispatch table, `gate` its command gate, `seclog` its GBCS security log. Only the valve's
    command path is here; the rest of its life is firmware/gas/life.py, loaded when used."""

    name = "gsme"
    ident = "SMLAB-GSME"
    model = None  # no restricted optical meter view yet
    acceptor = None  # the UTRN Acceptor (build(): when the store holds a prepayment cell)

    def __init__(self, store, time_fn, table_dir=None):
        self.store = store
        self.time = time_fn
        self.trust = t = Trust(store, table_dir)
        self.eui = t.eui
        self.table = tb = Table((0x0097, 0x009B))  # CS01b, PCS01: UTRN counters, the acceptor checks them
        tb.der = _content  # content that is not a DLMS request: GBZ (and DER)
        self.gate = g = Gate(self, t, tb, self._dlms_now)
        self.seclog = g.log
        self.process = g.process
        self.gas = GasModel(store)
        self._off = store.get_json(_CLOCK_REC, 0) or 0

    def now(self):
        """Seconds since 2000-01-01 UTC on the GSME's clock."""
        return self.time() - _EPOCH_2000 + self._off

    def _dlms_now(self):
        from firmware.gas import life

        return life.dlms_now(self)

    def hht_anchor(self, issuer):
        """The supplier's DS anchor for an HHT log-in (firmware/gas/optical.py)."""
        from firmware.gas.optical import hht_anchor

        return hht_anchor(self, issuer)

    def poll(self, now=None):
        """True when the HAN interface is due to wake at board time `now` (epoch seconds, as the
        application passes board.time()); the next wake is then scheduled and `woken` set for the
        HAN session (firmware/gas/life.py poll, firmware/gas/node.py)."""
        from firmware.gas import life

        return life.poll(self, now)


def build(board, store, table_dir=None):
    """The GSME of `store` with CS01b and the keypad on one UTRN Acceptor (board.time its clock)."""
    from firmware.gas import life

    return life.start(Gsme(store, board.time, table_dir), board)
