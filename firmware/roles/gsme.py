"""The gas meter role, GSME (GBCS §4.3.1 device types; gas use cases in shared/reference/gas.md §3,
the GSME's duties §4, §5): the GBCS secure core (firmware/core: trust state, command gate,
response protection — critical responses signed, the others MAC'd) composed with the gas model
(firmware/gas/model.py), its GBZ use cases (firmware/gas/usecases.py, loaded with the first GBZ
command through the dispatch table's content hook) and the UTRN prepayment service (CS01b and the
keypad share one Acceptor, firmware/utrn/accept.py: single use, exactly once).

    role = build(board, store, table_dir)        # as firmware.roles.build("gsme", ...) does
    response = role.process(command)             # Reject (typed, with alert code) when refused
    role.button()                                # the consumer's button: an armed valve opens
    role.poll(now)                               # sleepy HAN: True when the interface is awake

Sleepy behaviour: the HAN interface is off except at wake-ups every `interval` seconds of the
role's clock (model record "gas" "wi", default 30 min); poll() reports a due wake, and the alerts
queued durably since the last one (role.alerts()) are what it sends then. The HAN fetch itself
(GET / `02 n msg` / PUT over ZSE tunnelling) is the transport's.

The GSME's clock: board.time() (epoch seconds) plus a durable offset a GCS28 clock set adjusts;
now() is seconds since 2000-01-01 UTC (the ZCL UTCTime base).
"""
from firmware.core.trust import Trust
from firmware.core.gate import Gate, Table
from firmware.compat import const

EPOCH_2000 = const(946684800)
CLOCK_REC = const("gas_clk")
CS01B = const(0x0097)
PCS01 = const(0x009B)


def _gbz(device, m, party, log):
    """The dispatch table's hook for content that is not a DLMS request (GBZ and DER)."""
    from firmware.gas.usecases import answer

    return answer(device, m, party, log)


class Gsme:
    """GSME role object (interface: firmware/roles/__init__.py). `gas` is its GasModel, `table` its
    dispatch table, `gate` its command gate, `seclog` its GBCS security log."""

    name = "gsme"
    ident = "SMLAB-GSME"
    model = None  # no restricted optical meter view yet

    def __init__(self, store, time_fn, table_dir=None):
        from firmware.gas.model import GasModel

        self.store = store
        self.time = time_fn
        self.trust = t = Trust(store, table_dir)
        self.eui = t.eui
        self.table = tb = Table((CS01B, PCS01))  # UTRN counters, checked by the acceptor
        tb.der = _gbz
        self.gate = g = Gate(self, t, tb, self._dlms_now)
        self.seclog = g.log
        self.process = g.process
        self.acceptor = None
        self.gas = GasModel(store)
        self._off = store.get_json(CLOCK_REC, 0) or 0

    def now(self):
        """Seconds since 2000-01-01 UTC on the GSME's clock."""
        return self.time() - EPOCH_2000 + self._off

    def set_clock(self, t2000):
        self._off = t2000 - (self.time() - EPOCH_2000)
        self.store.put_json(CLOCK_REC, self._off)

    def _dlms_now(self):
        from firmware.hub.alerts import dlms_datetime

        return dlms_datetime(self.now() + EPOCH_2000)

    def hht_anchor(self, issuer):
        """No HHT log-in on the GSME yet."""
        return None

    def button(self):
        return self.gas.button()

    def keypad(self, code):
        """A UTRN entered at the GSME's keypad: the amount taken (1e-5 GBP), or Reject (logged)."""
        from firmware.gas.usecases import top_up
        from firmware.utrn.accept import KEYPAD

        return top_up(self, code, KEYPAD)

    def alerts(self):
        return self.gas.alerts()

    def poll(self, now=None):
        """True when the HAN interface is due to wake (the next wake is then scheduled)."""
        t = self.now() if now is None else now
        if not self.gas.due(t):
            return False
        self.gas.woke(t)
        return True


def build(board, store, table_dir=None):
    """The GSME of `store` with CS01b and the keypad on one UTRN Acceptor (board.time its clock)."""
    g = Gsme(store, board.time, table_dir)
    from firmware.utrn import cs01a

    try:
        g.acceptor = cs01a.acceptor_for(g, board.time)
    except Exception as e:  # noqa: BLE001 - no prepayment cell: a credit-mode GSME without top-ups
        g.seclog.append("utrn off: %s" % e)
    g.gas.acceptor = g.acceptor
    g.gas.boot()
    return g
