"""APS fragmentation and reassembly (ZigBee spec 2.2.8.4.5; extended header 2.2.5.1.8, aps.py).

An ASDU longer than one frame is sent as blocks: unicast APS data frames with one APS counter, the
ack request bit and an extended header (block 0: fragmentation 1 and the block COUNT; block i > 0:
fragmentation 2 and i), all but the last `block` bytes, at most 255. With APS security each block
is sealed and opened as its own frame. The sender sends a window (1..8 blocks) and waits for an
APS ack whose extended header holds the window's first block and a bitfield (bit j = block
first + j received; bits past the window or the last block set, so complete = 0xFF); the receiver
acks a complete window at once and an incomplete one `ack_wait` ms after its last block (poll).
Bounds: `max_total` bytes per ASDU, `slots` reassemblies, `timeout` ms idle on `clock()` (ms).
Typed rejections: "format" (block out of range, conflicting repeat), "too-large" (reassembly
dropped), "no-resources", "no-ack". docs/han.md §8 has the details and the block sizes.
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.zigbee import aps

PSDU = const(127)
MAC_OVERHEAD = const(11)
NWK_HEADER = const(8)
NWK_SECURITY = const(18)
APS_HEADER = const(10)
APS_SECURITY = const(9)
MAX_BLOCKS = const(255)
MAX_WINDOW = const(8)
WINDOW = const(8)
MAX_TOTAL = const(4096)
SLOTS = const(2)
TIMEOUT_MS = const(10000)
ACK_WAIT_MS = const(1500)
RETRIES = const(3)


def max_block(nwk_secure=True, aps_secure=True, src_ieee=False, dst_ieee=False, ext_nonce=False,
              relays=0):
    """Largest block payload (bytes) for one fragment under the given framing."""
    n = PSDU - MAC_OVERHEAD - NWK_HEADER - APS_HEADER
    n -= 8 * (bool(src_ieee) + bool(dst_ieee))
    if relays:
        n -= 2 + 2 * relays
    if nwk_secure:
        n -= NWK_SECURITY
    if aps_secure:
        n -= APS_SECURITY + (8 if ext_nonce else 0)
    if n < 1:
        raise Reject("format", None, "no room for an APS block")
    return n


def block_count(size, block):
    """Number of blocks for an ASDU of `size` bytes; Reject("too-large") beyond 255 blocks."""
    if block < 1:
        raise Reject("format", None, "block size %d" % block)
    n = (size + block - 1) // block
    if n > MAX_BLOCKS:
        raise Reject("too-large", None, "%d bytes need %d blocks of %d" % (size, n, block))
    return n


def all_bits(first, count, window):
    """Bitfield with the bits of blocks outside [first, min(first + window, count)) set."""
    bits = 0
    for j in range(8):
        if j >= window or first + j >= count:
            bits |= 1 << j
    return bits


class Sender:
    """One outgoing ASDU as fragments. frame(i) -> aps.ApsFrame of block i (plaintext; seal it like
    any APS frame); window() -> block numbers to send now; on_ack(ack frame) -> True when every
    block is acknowledged. A payload of one block is sent unfragmented (one frame, plain ack)."""

    def __init__(self, payload, counter, dst_ep, cluster, profile, src_ep, block,
                 window=WINDOW, max_total=MAX_TOTAL, retries=RETRIES):
        payload = bytes(payload)
        if not payload:
            raise Reject("format", None, "empty ASDU")
        if len(payload) > max_total:
            raise Reject("too-large", None, "ASDU %d > %d bytes" % (len(payload), max_total))
        if not 1 <= window <= MAX_WINDOW:
            raise Reject("format", None, "window size %d" % window)
        self.payload = payload
        self.counter = counter & 0xFF
        self.addr = (dst_ep, cluster, profile, src_ep)
        self.block = block
        self.count = block_count(len(payload), block)
        self.win = window
        self.first = 0
        self.acked = 0  # bitfield of the current window
        self.retries = retries
        self.tries = 0
        self.done = False

    @property
    def fragmented(self):
        return self.count > 1

    def frame(self, i):
        if not 0 <= i < self.count:
            raise Reject("format", None, "block %d of %d" % (i, self.count))
        dst_ep, cluster, profile, src_ep = self.addr
        part = self.payload[i * self.block:(i + 1) * self.block]
        if self.count == 1:
            return aps.ApsFrame(aps.DATA, self.counter, dst_ep, cluster, profile, src_ep, part,
                             ack_req=True)
        return aps.ApsFrame(aps.DATA, self.counter, dst_ep, cluster, profile, src_ep, part,
                         ack_req=True, frag=aps.FRAG_FIRST if i == 0 else aps.FRAG_PART,
                         block=self.count if i == 0 else i)

    def window(self):
        """Blocks of the current window not yet acknowledged (empty when done). Each call is
        one (re)transmission of the window; Reject("no-ack") after 1 + retries calls without
        the window completing."""
        if self.done:
            return []
        if self.tries > self.retries:
            raise Reject("no-ack", None, "window at block %d unacknowledged" % self.first)
        self.tries += 1
        out = []
        for j in range(self.win):
            i = self.first + j
            if i >= self.count:
                break
            if not self.acked & (1 << j):
                out.append(i)
        return out

    def on_ack(self, f):
        """Take an APS ack; acks of other messages or of an old window are ignored (False)."""
        if self.done or f.ftype != aps.ACK or f.counter != self.counter:
            return self.done
        if self.count == 1:
            if f.frag == aps.FRAG_NONE:
                self.done = True
            return self.done
        if f.frag == aps.FRAG_NONE or f.block != self.first:
            return False
        self.acked |= f.ack_bits & ~all_bits(self.first, self.count, self.win) & 0xFF
        if self.acked | all_bits(self.first, self.count, self.win) == 0xFF:
            self.first += self.win
            self.acked = 0
            self.tries = 0
            if self.first >= self.count:
                self.done = True
        return self.done


def Reassembler(clock, **kw):
    """The receiving side (firmware/zigbee/reasm.py, loaded when first needed)."""
    from firmware.zigbee.reasm import Reassembler as R

    return R(clock, **kw)
