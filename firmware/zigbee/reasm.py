"""Reassembly of fragmented APS ASDUs (ZigBee spec 2.2.8.4.5.2), bounded: the receiving side of
frag.py (see its docstring and docs/han.md §8). Blocks arrive already opened (APS security per
block, secure.ApsSecurity); acks go back unsecured at APS (NWK security applies)."""
from firmware.alerts import Reject
from firmware.zigbee import aps
from firmware.zigbee.frag import (ACK_WAIT_MS, MAX_BLOCKS, MAX_TOTAL, MAX_WINDOW, SLOTS,
                                  TIMEOUT_MS, WINDOW, all_bits)


class _Slot:
    """One reassembly: blocks go into the slot's pool buffer at block number x block-0 length
    once block 0 (the count and the block size) is in; blocks before it wait in `pend`."""

    __slots__ = ("count", "size", "buf", "pend", "have", "got", "nlast", "first", "last", "addr",
                 "win_time")

    def __init__(self, f, now, buf):
        self.count = None  # known once block 0 (the first fragment) is in
        self.size = None  # block size = length of block 0
        self.buf = buf
        self.pend = {}
        self.have = bytearray(32)  # bit per block number received
        self.got = 0
        self.nlast = 0
        self.first = 0  # first block of the window not yet acknowledged
        self.last = now
        self.win_time = now
        self.addr = (f.dst_ep, f.cluster, f.profile, f.src_ep)

    def has(self, i):
        return self.have[i >> 3] & (1 << (i & 7))

    def same(self, i, data):
        if self.pend is not None:
            return self.pend[i] == data
        b = self.size
        return len(data) == (self.nlast if i == self.count - 1 else b) and \
            memoryview(self.buf)[i * b:i * b + len(data)] == data

    def place(self, i, data, max_total):
        """Copy block i into the buffer; Reject when its length breaks the block size."""
        b, n = self.size, len(data)
        if i < self.count - 1:
            if n != b:
                raise Reject("format", None, "block %d is %d bytes, block 0 %d" % (i, n, b))
        else:
            if not 1 <= n <= b:
                raise Reject("format", None, "last block %d bytes, block 0 %d" % (n, b))
            if (self.count - 1) * b + n > max_total:
                raise Reject("too-large", None, "fragmented ASDU over %d bytes" % max_total)
            self.nlast = n
        self.buf[i * b:i * b + n] = data


class Reassembler:
    """Incoming fragmented ASDUs of several senders, bounded. add(src, frame) -> (asdu or None,
    ack frame or None): the whole ASDU once its last block is in, as a memoryview of a pool
    buffer valid until the next add() (copy it with bytes() to keep it); an ack to send back when
    a window completes (or again for a repeated block of an acknowledged window). poll() ->
    (partial acks, expired keys) for the caller's timer. The `slots` buffers of `max_total`
    bytes are allocated once, here (a device creates its Reassembler at start, before the heap
    fragments); nothing else grows with the message size but the blocks that arrive before
    block 0 (bounded by max_total)."""

    def __init__(self, clock, max_total=MAX_TOTAL, slots=SLOTS, timeout=TIMEOUT_MS,
                 window=WINDOW, ack_wait=ACK_WAIT_MS):
        if not 1 <= window <= MAX_WINDOW:
            raise Reject("format", None, "window size %d" % window)
        self.clock = clock
        self.max_total = max_total
        self.nslots = slots
        self.timeout = timeout
        self.win = window
        self.ack_wait = ack_wait
        self.slots = {}  # (src, counter) -> _Slot
        self.pool = [bytearray(max_total) for _ in range(slots)]
        self.done = []  # recently completed: [(key, count, addr, time)], at most `slots`

    def __len__(self):
        return len(self.slots)

    def _ack(self, key, addr, first, bits):
        dst_ep, cluster, profile, src_ep = addr
        return aps.ApsFrame(aps.ACK, key[1], src_ep, cluster, profile, dst_ep,
                         frag=aps.FRAG_FIRST if first == 0 else aps.FRAG_PART, block=first,
                         ack_bits=bits)

    def _done_ack(self, key, i):
        for k, count, addr, _t in self.done:
            if k == key:
                if i >= count:
                    raise Reject("format", None, "block %d of %d" % (i, count))
                first = i - i % self.win
                return self._ack(key, addr, first, 0xFF)
        return None

    def add(self, src, f):
        if f.frag == aps.FRAG_NONE:
            return f.payload, None
        if f.ftype != aps.DATA:
            raise Reject("format", None, "a fragment must be an APS data frame")
        data = f.payload
        if not data:
            raise Reject("format", None, "empty APS block")
        now = self.clock()
        self._expire(now)
        key = (src, f.counter)
        if f.frag == aps.FRAG_FIRST:
            i, count = 0, f.block
            if count == 0:
                raise Reject("format", None, "fragmented ASDU of 0 blocks")
        else:
            i, count = f.block, None
            if i == 0:
                raise Reject("format", None, "later fragment numbered 0")
        s = self.slots.get(key)
        if s is None:
            ack = self._done_ack(key, i)
            if ack is not None:
                return None, ack
            if len(self.slots) >= self.nslots:
                raise Reject("no-resources", None, "%d reassemblies in progress" % self.nslots)
            s = _Slot(f, now, self.pool.pop())
        elif s.count is not None and i >= s.count:
            raise Reject("format", None, "block %d of %d" % (i, s.count))
        elif count is not None and s.count is not None and count != s.count:
            raise Reject("format", None, "block count %d then %d" % (s.count, count))
        if s.has(i):
            if not s.same(i, data):
                raise Reject("format", None, "block %d repeated with other bytes" % i)
            s.last = now
            if i < s.first:
                return None, self._ack(key, s.addr, i - i % self.win, 0xFF)
            return None, None
        new = key not in self.slots
        try:
            if count is not None:
                self._start(s, count, data)
            elif s.pend is None:
                s.place(i, data, self.max_total)
            else:
                if sum(len(v) for v in s.pend.values()) + len(data) > self.max_total:
                    raise Reject("too-large", None, "fragmented ASDU over %d bytes"
                                 % self.max_total)
                s.pend[i] = data
        except Reject as e:
            if new:
                self.pool.append(s.buf)
            elif e.reason == "too-large" or count is not None:
                self._drop(key)  # this message cannot complete
            raise
        self.slots[key] = s
        s.have[i >> 3] |= 1 << (i & 7)
        s.got += 1
        s.last = now
        ack = None
        if s.count is not None:
            ack = self._window_ack(key, s, now)
            if s.got == s.count:
                out = memoryview(s.buf)[:(s.count - 1) * s.size + s.nlast]
                self._drop(key)
                self.done.append((key, s.count, s.addr, now))
                if len(self.done) > self.nslots:
                    self.done.pop(0)
                return out, ack
        return None, ack

    def _start(self, s, count, data):
        """Block 0: the count and the block size; move the waiting blocks into the buffer."""
        b = len(data)
        for j in s.pend:
            if j >= count:
                raise Reject("format", None, "block %d of %d: reassembly dropped" % (j, count))
        if (count - 1) * b + 1 > self.max_total:
            raise Reject("too-large", None, "%d blocks of %d bytes" % (count, b))
        s.count, s.size = count, b
        s.place(0, data, self.max_total)
        pend, s.pend = s.pend, None
        for j in pend:
            s.place(j, pend[j], self.max_total)

    def _window_ack(self, key, s, now):
        """The ack of the current window when all its blocks are in (and move the window)."""
        ack = None
        while s.first < s.count:
            bits = self._bits(s)
            if bits != 0xFF:
                break
            ack = self._ack(key, s.addr, s.first, 0xFF)
            s.first += self.win
            s.win_time = now
        return ack

    def _bits(self, s):
        bits = all_bits(s.first, MAX_BLOCKS if s.count is None else s.count, self.win)
        for j in range(self.win):
            if s.first + j < 256 and s.has(s.first + j):
                bits |= 1 << j
        return bits

    def _drop(self, key):
        s = self.slots.pop(key, None)
        if s is not None:
            self.pool.append(s.buf)

    def _expire(self, now):
        gone = []
        for key in list(self.slots):
            if now - self.slots[key].last >= self.timeout:
                self._drop(key)
                gone.append(key)
        self.done = [d for d in self.done if now - d[3] < self.timeout]
        return gone

    def poll(self):
        """([(src, ack frame)] partial acks of windows idle for ack_wait ms with some but not
        all of their blocks, [(src, counter)] reassemblies dropped after timeout ms idle)."""
        now = self.clock()
        gone = self._expire(now)
        acks = []
        for key, s in self.slots.items():
            if now - s.last < self.ack_wait or now - s.win_time < self.ack_wait:
                continue
            bits = self._bits(s)
            count = MAX_BLOCKS if s.count is None else s.count
            have = bits & ~all_bits(s.first, count, self.win) & 0xFF
            if have and bits != 0xFF:
                acks.append((key[0], self._ack(key, s.addr, s.first, bits)))
                s.win_time = now
        return acks, gone
