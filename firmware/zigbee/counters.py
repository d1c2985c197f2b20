"""ZigBee security frame counters kept through power cuts (ZigBee spec 4.3.1.1 / 4.4.1.1: an
outgoing frame counter is never reused with the same key; 4.3.1.2 / 4.4.1.2 step 5: an incoming
frame counter not greater than the last one accepted from that sender is a replay).

Outgoing (OutCounter): write-ahead in blocks. The durable store holds a reservation R; frames use
counters below R without touching flash, and before the first counter >= R is used the store is
advanced to R + block (one atomic write). After a power cut or reset the next counter is the
stored R, so a counter handed out before the cut is never handed out again (at most block - 1
values are skipped per restart). The NWK and APS counters are separate records.

Incoming (InCounters): the last accepted counter per sender EUI-64, checked before anything of a
frame is used and persisted before the frame is acted upon (authenticate -> replay -> persist ->
act). `every` = 1 (default) writes every accepted counter; a larger value writes every n-th and
then, after a power cut, up to n - 1 frames accepted before the cut could be accepted again (the
GBCS layer above has its own replay protection); docs/han.md records the choice.
"""
import struct

from firmware.alerts import Reject, UNUSUAL_COMMANDS
from firmware.compat import const

BLOCK = const(256)
MAX_FC = const(0xFFFFFFFF)
_ENTRY = const(12)  # EUI-64 (8, big-endian) + counter (4)


class OutCounter:
    """Outgoing 32-bit frame counter, durable through the store's monotonic Counter `name`."""

    def __init__(self, store, name, block=BLOCK):
        if block < 1:
            raise Reject("format", None, "counter block must be >= 1")
        self._c = store.counter(name)
        self.block = block
        self._next = self._c.value  # everything below the stored reservation may have been used

    def next(self):
        """The next frame counter, reserved durably before it is returned."""
        v = self._next
        if v > MAX_FC:
            raise Reject("counter-exhausted", None, "frame counter space used up: new key needed")
        if v >= self._c.value:
            self._c.advance_to(min(v + self.block, MAX_FC + 1))
        self._next = v + 1
        return v

    @property
    def reserved(self):
        return self._c.value


class InCounters:
    """Last accepted incoming frame counter per sender, persisted in record `name`."""

    def __init__(self, store, name, capacity=32, every=1):
        self.store = store
        self.name = name
        self.capacity = capacity
        self.every = every
        self._last = {}
        self._dirty = 0
        raw = store.get(name)
        if raw:
            if len(raw) % _ENTRY:
                raise Reject("store-corrupt", None, "%s: length %d" % (name, len(raw)))
            for off in range(0, len(raw), _ENTRY):
                eui, fc = struct.unpack_from(">QI", raw, off)
                self._last[eui] = fc

    def last(self, src):
        return self._last.get(src)

    def check(self, src, fc):
        """Reject("replay") unless fc is newer than the last counter accepted from src."""
        old = self._last.get(src)
        if old is not None and fc <= old:
            raise Reject("replay", UNUSUAL_COMMANDS, "frame counter %d <= %d" % (fc, old))
        if old is None and len(self._last) >= self.capacity:
            raise Reject("no-resources", None, "incoming counter table full")

    def accept(self, src, fc):
        """Record fc as the last accepted counter of src (checks first); durable on return when
        every = 1."""
        self.check(src, fc)
        self._last[src] = fc
        self._dirty += 1
        if self._dirty >= self.every:
            self.flush()

    def forget(self, src):
        if self._last.pop(src, None) is not None:
            self.flush()

    def flush(self):
        out = bytearray()
        for eui in sorted(self._last):
            out += struct.pack(">QI", eui, self._last[eui])
        self.store.put(self.name, bytes(out))
        self._dirty = 0
