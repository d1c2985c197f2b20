"""Restricted HHT: the "HHT interface specification" allow-list of unsigned local commands, and the
public data readout (seed approach 8; shared/reference/optical.md §4; docs/hht.md).

Only reads and a display test; nothing here can change supply, credit, keys, tariffs or counters,
and nothing writes to the store. Every other address is refused (Reject "refused", 0x8F30) and the
caller logs it.

| cmd | address     | answer                                                    |
|-----|-------------|-----------------------------------------------------------|
| R1  | C.1.0       | meter EUI-64 (hex)                                        |
| R1  | 0.2.0       | firmware version                                          |
| R1  | 0.9.1/0.9.2 | meter time hhmmss / date YYMMDD (UTC)                     |
| R1  | 1.8.x 2.8.x | metering registers, balances, alerts (C.AL(n)): docs/metering.md "Reads" |
| R1  | 96.3.10     | load switch control state (0 disconnected, 1 connected, 2 armed) |
| R1  | C.LS        | load switch state as text                                 |
| R1  | C.PM        | payment mode (credit / prepayment)                        |
| R1  | C.LOG.S(n)  | GBCS security log: n empty -> entry count, else entry n (0 = newest) |
| R1  | C.LOG.O(n)  | optical port security log, same rules                     |
| R1  | C.LOG.M(n)  | engineering menu security log, same rules                 |
| R1  | C.LOG.E(n)  | event log, same rules                                     |

Security logs are read in their coalesced form (firmware.core.seclog: `text [xN]` for N identical
events in a row).
| E2  | C.DT()      | display test pattern on the meter display                 |
"""
from firmware.alerts import Reject, NO_AUTHORITY
from firmware.core import seclog
from firmware.optical import iec, reasons

FIRMWARE = "smlab-1"
EVENT_LOG = "event"  # the store's event log (firmware.store.durable)
LOGS = {"C.LOG.S": seclog.GBCS, "C.LOG.O": seclog.OPTICAL, "C.LOG.M": seclog.MENU,
        "C.LOG.E": EVENT_LOG}
_SAFE = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:;=-_+#<>[]{}%&@$'\"?|~^`"


def _clean(s, limit):
    if isinstance(s, bytes):
        s = s.decode()
    out = ""
    for ch in s[:limit]:
        out += ch if ch in _SAFE else "_"
    return out


def _time_parts(t):
    import time

    tm = time.gmtime(t)
    return "%02d%02d%02d" % (tm[3], tm[4], tm[5]), "%02d%02d%02d" % (tm[0] % 100, tm[1], tm[2])


class MeterView:
    """Read-only view of the meter for the readout and the restricted HHT.

    eui64: 8 bytes; model: firmware.meter.model.MeterModel or None; registers: callable -> list
    of (address, value, unit) from the metrology (None: no registers); display: callable(text).
    """

    def __init__(self, store, eui64, clock, model=None, registers=None, display=None):
        self.store = store
        self.eui64 = bytes(eui64)
        self.clock = clock
        self.model = model
        self.registers = registers
        self.display = display

    def _eui(self):
        import binascii

        return binascii.hexlify(self.eui64).decode().upper()

    def _regs(self):
        if self.registers is None:
            return []
        return list(self.registers())

    def readout_lines(self):
        """Data lines of the public mode C readout: identity, registers, load switch, clock."""
        hh, dd = _time_parts(self.clock.time())
        lines = [iec.data_set("C.1.0", self._eui()), iec.data_set("0.2.0", FIRMWARE),
                 iec.data_set("0.9.1", hh), iec.data_set("0.9.2", dd)]
        for a, v, u in self._regs():
            lines.append(iec.data_set(a, v, u))
        if self.model is not None:
            lines.append(iec.data_set("96.3.10", str(self.model.control_state)))
        return lines

    def read(self, address, arg):
        """R1 of an allow-listed address -> (value, unit or None); Reject(reasons.REFUSED) otherwise."""
        if address == "C.1.0":
            return self._eui(), None
        if address == "0.2.0":
            return FIRMWARE, None
        if address in ("0.9.1", "0.9.2"):
            hh, dd = _time_parts(self.clock.time())
            return (hh if address == "0.9.1" else dd), None
        if address in ("96.3.10", "C.LS", "C.PM") and self.model is not None:
            if address == "96.3.10":
                return str(self.model.control_state), None
            if address == "C.LS":
                return self.model.supply, None
            return self.model.payment_mode, None
        if address == "C.AL" and self.model is not None and getattr(self.model, "engine", None):
            al = self.model.engine.alerts()
            if arg == "":
                return str(len(al)), None
            if not arg.isdigit() or len(arg) > 4 or int(arg) >= len(al):
                raise Reject(reasons.RANGE, None, "no alert %s" % _clean(arg, 8))
            q, t, code, extra = al[len(al) - 1 - int(arg)]
            return _clean("%d %d %04X %s" % (q, t, code, extra), iec.MAX_DS_VALUE), None
        if address in LOGS:
            ents = seclog.read(self.store, LOGS[address])
            if arg == "":
                return str(len(ents)), None
            if not arg.isdigit() or len(arg) > 4:
                raise Reject(reasons.REFUSED, NO_AUTHORITY, "log index %r" % arg)
            i = int(arg)
            if i >= len(ents):
                raise Reject(reasons.RANGE, None, "no log entry %d" % i)
            e = ents[len(ents) - 1 - i]
            if isinstance(e, bytes):
                import binascii

                e = binascii.hexlify(e).decode()
            return _clean(e, iec.MAX_DS_VALUE), None
        for a, v, u in self._regs():
            if a == address:
                return v, u
        raise Reject(reasons.REFUSED, NO_AUTHORITY, "R1 %s not in the HHT interface specification"
                     % _clean(address, 16))

    def execute(self, address, arg):
        """E2 of an allow-listed address (display test only) -> answer text."""
        if address == "C.DT" and arg == "" and self.display is not None:
            self.display("88888888 DISPLAY TEST")
            return "OK"
        raise Reject(reasons.REFUSED, NO_AUTHORITY, "E2 %s not in the HHT interface specification"
                     % _clean(address, 16))
