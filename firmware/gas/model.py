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

Fault hook (benches, RTDS ERROR variants; the GBZ analogue of firmware/core/faults.py): record
"gas_fault" holds entries `component | attribute | originator counter (8 BE)`; the command with
that counter answers component K as a device failure (HARDWARE_FAILURE, or attribute A failed in a
Read Attributes Response) and every later component Default Response FAILURE (gas.md §1.5). The
entry is consumed in the command's one store write.
"""
from firmware.compat import const

REC = const("gas")
FAULT_REC = const("gas_fault")
SUPPLY = const("0702.0014")
CREDIT = const("0705.0001")
BILL_TO_DATE = const("0702.0a00")
OFF = const(0)
ARMED = const(1)
ON = const(2)
ALERT_ARMED = const(0x8F32)  # supply armed (gbcs.md §8)
ALERT_QUEUE_MAX = const(16)
TOP_UP_LOG = const(5)  # top-up log entries kept (GCS15e reads 5)
WAKE_INTERVAL = const(1800)  # seconds between HAN wakes (configurable: record "gas" "wi")


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
        self.st = store.get_json(REC, None) or {}
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
        self.store.put_json(REC, w)
        if "_f" in w:
            rest = bytes.fromhex(w.pop("_f"))
            if rest:
                self.store.put(FAULT_REC, rest)
            else:
                self.store.delete(FAULT_REC)
            self.store.put_json(REC, w)
        self.st = w

    def discard(self):
        self.w = None
        self._fault = None

    # -- values --------------------------------------------------------------------------------
    def attr(self, cluster, a, w=None):
        """(ZCL type, value bytes) of attribute `a`, or None (live values computed)."""
        s = w if w is not None else self.st
        k = key(cluster, a)
        if k == CREDIT:
            return 0x2B, _i32(self.credit(s))
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

    def supply(self):
        v = self.st["a"].get(SUPPLY)
        return ON if v is None else bytes.fromhex(v)[1]

    # -- the valve -----------------------------------------------------------------------------
    def button(self):
        """The consumer's button: an ARMED valve opens (ON); a closed (OFF) one stays closed.
        Returns the supply state after."""
        if self.supply() != ARMED:
            return self.supply()
        w = self.begin()
        self.set_attr(w, 0x0702, 0x0014, 0x30, b"\x02")
        self.commit()
        return ON

    # -- alerts for the next wake --------------------------------------------------------------
    def queue_alert(self, w, code, t):
        q = w["q"]
        q.append([code, t])
        if len(q) > ALERT_QUEUE_MAX:
            del q[0]

    def alerts(self):
        return [tuple(x) for x in self.st["q"]]

    def delivered(self, n):
        """The first n queued alerts were sent at a wake: drop them (one store write)."""
        w = self.begin()
        del w["q"][:n]
        self.commit()

    # -- sleepy HAN interface --------------------------------------------------------------------
    def interval(self):
        return self.st.get("wi", WAKE_INTERVAL)

    def due(self, now):
        """True when the HAN interface is to be woken at time `now` (seconds since 2000)."""
        return now >= self.st["wk"]

    def woke(self, now):
        """Record a wake at `now`: the next one is one interval later (one store write)."""
        w = self.begin()
        w["wk"] = now + self.interval()
        self.commit()

    # -- fault hook ----------------------------------------------------------------------------
    def take_fault(self, counter):
        """(component, attribute) of the fault armed for `counter` (or for any command: counter 0),
        consumed by the next commit(); None when none."""
        raw = self.store.get(FAULT_REC)
        if not raw:
            return None
        hit = None
        keep = bytearray()
        for i in range(0, len(raw) - 9, 10):
            c = int.from_bytes(raw[i + 2:i + 10], "big")
            if hit is None and (c == counter or c == 0):
                hit = (raw[i], raw[i + 1])
            else:
                keep += raw[i:i + 10]
        if hit is not None:
            self._fault = bytes(keep)
        return hit

    # -- power-on ------------------------------------------------------------------------------
    def boot(self):
        """Settle a top-up log entry committed before its acceptor commit: kept when the acceptor
        took the UTRN (its counter in the acceptor's cache or under its floor), dropped otherwise."""
        if "_f" in self.st:  # a cut inside commit(): finish handing the fault record over
            self.w = self.st
            self._fault = bytes.fromhex(self.st.pop("_f"))
            self.commit()
        acc = self.acceptor
        t = self.st["tul"]
        if acc is None or not any(not e[4] for e in t):
            return
        cache = acc.cache
        w = self.begin()
        done = [e[3] for e in t if e[4]]
        w["tul"] = [e[:4] + [1] for e in t if e[4] or (e[3] in cache and e[3] not in done)]
        del w["tul"][TOP_UP_LOG:]
        self.commit()


def arm_fault(store, component, attribute=0, counter=0):
    """Arm the GBZ fault hook (module docstring); durable when this returns."""
    raw = store.get(FAULT_REC) or b""
    store.put(FAULT_REC, bytes(raw) + bytes((component, attribute)) + counter.to_bytes(8, "big"))


def _i32(v):
    v &= 0xFFFFFFFF
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, v >> 24))
