"""The GSME's data model, persisted as ONE store record so every command's effects land in one store
write (a power cut leaves a command fully applied or never seen; GBCS §6.2.4 order: the gate has
already persisted the originator counter). ZSE clusters as GBCS gas use cases touch them
(shared/reference/gas.md §3, §5): Metering 0x0702, Prepayment 0x0705, Price 0x0700, Calendar 0x0707,
Events 0x0709, Device Management 0x0708, Basic 0x0000.

Record "gas" (JSON):
  a    {"cccc.aaaa": hex(ZCL type | value)}  attributes served by Read Attributes (ZCL §2.5.1)
  p    {"cccc.pp[.k]": [hex payload, ...]}   data a Get... command answers with Publish... replies
                                            (calendar, price, billing period, snapshots, logs)
  cfg  {"cccc.cc": hex payload}              configuration commands in force (immediate)
  fd   [[time, "cccc.cc", hex payload]]     future-dated configuration (applied when due)
  cb   credit base (1e-5 GBP); credit remaining = cb + 1000 x the UTRN acceptor's balance (pennies)
  q    [[alert code, time]]                 alerts waiting for the next HAN wake (sleepy GSME)
  tul  [[UTRN text, amount, time, counter, done]]   top-up log (done 0: committed before the
                                            acceptor's commit; boot() settles it)
  wk   next wake time (seconds since 2000) of the HAN interface

The valve is Metering SupplyStatus 0x0702:0x0014 (enum8: 0 OFF, 1 OFF/ARMED, 2 ON): a remote party
closes (GCS32) or arms (GCS39) it; only the consumer's button opens an armed valve (button()).

The valve's button, the alert queue's delivery, the sleepy wake schedule, the fault hook and the
power-on settling are functions of firmware/gas/life.py (not on the valve's command path).

Fault hook (benches, RTDS ERROR variants; the GBZ analogue of firmware/core/faults.py): record
"gas_fault" holds entries `component | attribute | originator counter (8 BE)`; the command with
that counter answers component K as a device failure (HARDWARE_FAILURE, or attribute A failed in a
Read Attributes Response) and every later component Default Response FAILURE (gas.md §1.5). The
entry is consumed in the command's one store write.
"""
from firmware.compat import const

_REC = const("gas")
_FAULT_REC = const("gas_fault")  # firmware/gas/life.py FAULT_REC
_SUPPLY = const("0702.0014")
_CREDIT = const("0705.0001")
_ON = const(2)
_ALERT_QUEUE_MAX = const(16)


def key(cluster, n):
    return "%04x.%04x" % (cluster, n)


def pkey(cluster, cmd, k=None):
    return "%04x.%02x" % (cluster, cmd) if k is None else "%04x.%02x.%d" % (cluster, cmd, k)


class GasModel:
    """The GSME's state (module docstring): `st` the committed dict; commands work on a copy
    (begin()) written by commit() in one store write."""

    def __init__(self, store, acceptor=None):
        self.store = store
        self.acceptor = acceptor
        self.st = store.get_json(_REC, None) or {}
        for k, v in (("a", {}), ("p", {}), ("cfg", {}), ("fd", []), ("cb", 0), ("q", []), ("tul", []),
                     ("wk", 0)):
            if k not in self.st:
                self.st[k] = v
        self.w = None
        self._fault = None

    # -- one command ---------------------------------------------------------------------------
    def begin(self):
        import json

        self.w = json.loads(json.dumps(self.st))  # a deep copy: nothing changes until commit()
        return self.w

    def commit(self):
        """The command's one store write (state and, when one was taken, the fault record)."""
        w = self.w
        self.w = None
        if self._fault is not None:
            rest = self._fault
            self._fault = None
            w["_f"] = rest.hex()  # carried in the same write; the fault record follows it
        self.store.put_json(_REC, w)
        if "_f" in w:
            rest = bytes.fromhex(w.pop("_f"))
            if rest:
                self.store.put(_FAULT_REC, rest)
            else:
                self.store.delete(_FAULT_REC)
            self.store.put_json(_REC, w)
        self.st = w

    # -- values --------------------------------------------------------------------------------
    def attr(self, cluster, a, w=None):
        """(ZCL type, value bytes) of attribute `a`, or None (live values computed)."""
        s = w if w is not None else self.st
        k = key(cluster, a)
        if k == _CREDIT:
            return 0x2B, i32(self.credit(s))
        v = s["a"].get(k)
        if v is None:
            return None
        b = bytes.fromhex(v)
        return b[0], b[1:]

    def set_attr(self, w, cluster, a, typ, value):
        w["a"][key(cluster, a)] = (bytes((typ,)) + bytes(value)).hex()

    def credit(self, s=None):
        s = s if s is not None else self.st
        acc = self.acceptor
        return s["cb"] + (acc.balance * 1000 if acc is not None else 0)

    def queue_alert(self, w, code, t, rec=None):
        """Queue an alert for the next HAN wake (in the working copy `w`); `rec` the hex of a
        future-dated-executed record (firmware/gas/life.py run_due)."""
        q = w["q"]
        q.append([code, t] if rec is None else [code, t, rec])
        if len(q) > _ALERT_QUEUE_MAX:
            del q[0]

    def button(self):
        """The consumer's button: an ARMED valve opens (ON); a closed (OFF) one stays closed.
        Returns the supply state after (one store write when it opens)."""
        if self.supply() != 1:
            return self.supply()
        w = self.begin()
        self.set_attr(w, 0x0702, 0x0014, 0x30, b"\x02")
        self.commit()
        return _ON

    def supply(self):
        v = self.st["a"].get(_SUPPLY)
        return _ON if v is None else bytes.fromhex(v)[1]


def i32(v):
    v &= 0xFFFFFFFF
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, v >> 24))
