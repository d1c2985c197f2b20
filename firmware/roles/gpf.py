"""The Gas Proxy Function role, GPF (GBCS §4.3.1 device types; shared/reference/gas.md §4): the
GBCS secure core (firmware/core: trust state, command gate, responses MAC'd, critical ones signed)
composed with the GPF's duties (firmware/gas/gpf.py, loaded with its first command): GPF-addressed
reads answered from the mirror of the GSME's data with the GSME clock time of the data, the queue
of messages for the sleepy GSME, tap-off messages applied to the mirror, the GPF Device Log (GCS59,
GCS62) and the credential use cases (CS02b) as the ESME answers them.

    role = build(board, store, table_dir)        # as firmware.roles.build("gpf", ...) does
    response = role.process(command)             # Reject (typed, with alert code) when refused
    gpf.queue(role, raw) / gpf.get(role) / gpf.put(role, rsp) / gpf.report(role, content)
                                                 # firmware/gas/gpf.py: the sleepy GSME's side

The GPF's clock: board.time() (epoch seconds); now() is seconds since 2000-01-01 UTC.
"""
from firmware.core.trust import Trust
from firmware.core.gate import Gate, Table
from firmware.compat import const
from firmware.gas.model import GasModel

_EPOCH_2000 = const(946684800)


def _content(dev, m, party, log):
    from firmware.gas.gpf import answer

    return answer(dev, m, party, log)


class Gpf:
    """GPF role object (interface: firmware/roles/__init__.py). `gas` is the mirror (a GasModel on
    the GPF's store), `stamp` the (GSME time, clock status) of the last answer's data."""

    name = "gpf"
    ident = "SMLAB-GPF"
    model = None
    acceptor = None
    # a DCC-controlled device: the ACB (role 4) authorises the replacement of its supplier and
    # network operator anchors (CS02b handover, firmware/core/credentials.py)
    handover_roles = (4,)

    def __init__(self, store, time_fn, table_dir=None):
        self.store = store
        self.time = time_fn
        self.trust = t = Trust(store, table_dir)
        self.eui = t.eui
        self.table = tb = Table(())
        tb.der = _content
        self.gate = g = Gate(self, t, tb, self._dlms_now)
        self.seclog = g.log
        self.process = g.process
        self.gas = GasModel(store)
        self.stamp = None

    def now(self):
        """Seconds since 2000-01-01 UTC on the GPF's clock."""
        return self.time() - _EPOCH_2000

    def _dlms_now(self):
        from firmware.gas.gpf import dlms_stamp

        s = self.stamp
        return dlms_stamp(s if s is not None else (self.now(), 0xFF))

    def hht_anchor(self, issuer):
        """The supplier's DS anchor for an HHT log-in at the hub's optical port (firmware/gas/optical.py)."""
        from firmware.gas.optical import hht_anchor

        return hht_anchor(self, issuer)

    def poll(self, now=None):
        """Messages whose lifetime has passed at board time `now` (epoch seconds, as the application
        passes board.time(); default the GPF's clock) leave the queue ("not retrieved" events)."""
        from firmware.gas.gpf import expire

        return expire(self, None if now is None else now - _EPOCH_2000)


def build(board, store, table_dir=None):
    """The GPF of `store` (board.time its clock)."""
    return Gpf(store, board.time, table_dir)
