"""NWK and APS security of one node bound to its durable frame counters (ZigBee spec 4.3.1 and
4.4.1; docs/han.md §2-3): outgoing frames take their counter from an OutCounter (reserved
write-ahead, never reused across a power cut); incoming frames go parse -> replay check -> MIC
-> counter persisted -> returned to be acted upon, so a frame is used only when it is authentic,
new, and its counter already durable.
"""
from firmware.alerts import Reject
from firmware.zigbee import aps, nwk
from firmware.zigbee import security as sec
from firmware.zigbee.counters import BLOCK, InCounters, OutCounter


class NwkSecurity:
    """The network key of a node (eui: own EUI-64) with its NWK frame counters in `store`."""

    def __init__(self, store, eui, key, key_seq=0, prefix="zbn", block=BLOCK, capacity=32):
        self.eui = eui
        self.key = key
        self.key_seq = key_seq
        self.out = OutCounter(store, prefix + "-out", block)
        self.inc = InCounters(store, prefix + "-in", capacity)

    def seal(self, f):
        """On-air bytes of NWK frame f (plaintext payload), secured with the next counter."""
        f.aux = sec.Aux(sec.KEY_NWK, self.out.next(), src=self.eui, key_seq=self.key_seq)
        f.security = True
        return nwk.build(f, self.key)

    def open(self, raw):
        """The parsed frame with its plaintext payload; Reject on a bad frame, a replay, a
        foreign key sequence or a MIC that does not verify (nothing is persisted then)."""
        f = nwk.parse(raw)
        if not f.security:
            return f
        if f.aux.key_seq != self.key_seq:
            raise Reject("key", None, "network key sequence %d" % f.aux.key_seq)
        self.inc.check(f.aux.src, f.aux.fc)
        nwk.open_(f, self.key)
        self.inc.accept(f.aux.src, f.aux.fc)
        return f


class ApsSecurity:
    """APS link-key security of a node: link_key(eui) -> 16-byte link key or None."""

    def __init__(self, store, eui, link_key, prefix="zba", capacity=32):
        self.eui = eui
        self.link_key = link_key
        self.out = OutCounter(store, prefix + "-out")
        self.inc = InCounters(store, prefix + "-in", capacity)

    def seal(self, f, peer, key_id=sec.KEY_DATA):
        """On-air APS bytes of f to `peer`, secured with the peer's link key (or its
        key-transport / key-load hash per key_id), extended nonce."""
        k = self.link_key(peer)
        if k is None:
            raise Reject("key", None, "no link key for %016X" % peer)
        f.aux = sec.Aux(key_id, self.out.next(), src=self.eui)
        f.security = True
        return aps.build(f, sec.aps_key(k, key_id))

    def open(self, raw, sender):
        """The parsed APS frame from `sender` (EUI-64, known from the NWK layer) with its
        plaintext; same order and rejections as NwkSecurity.open."""
        f = aps.parse(raw)
        if not f.security:
            return f
        src = f.aux.src if f.aux.ext_nonce else sender
        if src != sender:
            raise Reject("format", None, "APS source %016X is not the NWK sender" % src)
        k = self.link_key(src)
        if k is None:
            raise Reject("key", None, "no link key for %016X" % src)
        self.inc.check(src, f.aux.fc)
        aps.open_(f, k, src)
        self.inc.accept(src, f.aux.fc)
        return f
