"""The application's view of a node's HAN (what firmware/wan uses): ZCL frames to and from the
other end of a TC link key, APS-secured with it, profile Smart Energy 0x0109, endpoint 1 (ZigBee
spec 2.2.5 APS data; ZCL 07-5123 §2.4). A ZCL frame that fits one 802.15.4 frame (about 57 bytes
under NWK + APS security with extended nonces) goes as one APS data frame; a longer one (a GBCS
message in the tunnel) as APS fragments (ZigBee spec 2.2.8.4.5, firmware/zigbee/frag.py): blocks of
BLOCK bytes, each APS-secured, a window of 8, retransmitted every RETRY_MS until the peer's APS ack
covers it (Reject "no-ack" after 1 + 3 tries: the message is dropped and counted in `failed`); one
message in flight per peer, later ones wait (QUEUE). Incoming fragments are reassembled
(firmware/zigbee/reasm.py, created on the first fragment) and acknowledged.

    port = HanPort(node)                     # node: hub.Coordinator or device.Joiner
    port.poll()
    port.send(dst_eui8, cluster, zcl)     # Reject("not-joined") without a link key with dst
    port.recv() -> (src_eui8, cluster, zcl) or None
    port.joined(eui8) -> bool
"""
from firmware.alerts import Reject
from firmware.compat import const, ticks_diff
from firmware.han.node import EP, MAX_APS, eui_bytes, eui_int
from firmware.zigbee import aps

QUEUE = const(8)
BLOCK = const(55)  # frag.max_block(src_ieee=True, ext_nonce=True): NWK source IEEE + APS extended nonce
RETRY_MS = const(300)
MAX_TOTAL = const(4096)  # frag.MAX_TOTAL: the largest ASDU a peer reassembles


class HanPort:
    def __init__(self, node):
        self.node = node
        self.hub = hasattr(node, "short_of")
        self.q = []
        # the Reassembler's buffers (2 x 4096 bytes) are allocated here, at boot, before the heap
        # fragments (on a 512K virtual meter the allocation failed on the first fragment); a heap
        # without room even now tries again on the first fragment
        self.rx = None
        self._reassembler()
        self.tx = {}  # peer eui -> [Sender, short, last send ms, [waiting (cluster, zcl)]]
        self.failed = 0
        node.on_app = self._in
        node.on_ack = self._ack

    def _in(self, eui, f):
        if not f.security:  # only APS-secured application frames
            return
        if f.frag != aps.FRAG_NONE:
            rx = self.rx if self.rx is not None else self._reassembler()
            if rx is None:
                raise Reject("no-resources", None, "no heap for the reassembly buffers")
            asdu, ack = rx.add(eui, f)
            if ack is not None:
                self._send_ack(eui, ack)
            if asdu is None:
                return
            data = bytes(asdu)
        else:
            data = f.payload
        if len(self.q) < QUEUE:
            self.q.append((eui_bytes(eui), f.cluster, data))

    def _reassembler(self):
        from firmware.zigbee import frag

        try:
            self.rx = frag.Reassembler(self.node.ms)
        except MemoryError:  # no 8 KB for the buffers now: fragments are refused until there is
            self.rx = None
        return self.rx

    def _short(self, peer):
        return self.node.short_of(peer) if self.hub else self.node.short_to(peer)

    def _send_ack(self, peer, ack):
        self.node.link.send_nwk(self._short(peer), aps.build(ack))

    def _ack(self, eui, f):
        t = self.tx.get(eui)
        if t is None or not t[0].on_ack(f):
            return
        waiting = t[3]
        del self.tx[eui]
        if waiting:
            cluster, z = waiting.pop(0)
            self._start(eui, cluster, z, waiting)

    def _start(self, peer, cluster, z, waiting=None):
        from firmware.zigbee import frag

        lk = self.node.link
        tx = frag.Sender(z, lk.aps_counter(), EP, cluster, aps.PROFILE_SE, EP, BLOCK)
        self.tx[peer] = t = [tx, self._short(peer), 0, waiting or []]
        self._window(peer, t)

    def _window(self, peer, t):
        lk = self.node.link
        try:
            blocks = t[0].window()
        except Reject:  # "no-ack": the peer did not acknowledge; drop this message
            self.failed += 1
            waiting = t[3]
            del self.tx[peer]
            if waiting:
                cluster, z = waiting.pop(0)
                self._start(peer, cluster, z, waiting)
            return
        for i in blocks:
            lk.send_nwk(t[1], lk.aps.seal(t[0].frame(i), peer))
        t[2] = self.node.ms()

    def poll(self):
        self.node.poll()
        if self.tx:
            now = self.node.ms()
            for peer in list(self.tx):
                t = self.tx.get(peer)
                if t is not None and ticks_diff(now, t[2]) >= RETRY_MS:
                    self._window(peer, t)
        if self.rx is not None and len(self.rx):
            acks, _expired = self.rx.poll()
            for peer, ack in acks:
                self._send_ack(peer, ack)

    def wait_ms(self):
        """Until the next retransmission or partial ack (the radio wakes the loop for input)."""
        return 50 if (self.tx or (self.rx is not None and len(self.rx))) else 1000

    def recv(self):
        return self.q.pop(0) if self.q else None

    def joined(self, eui8):
        n = self.node
        if self.hub:
            return n._link_key(eui_int(eui8)) is not None
        return n.linked(eui_int(eui8))

    def send(self, dst8, cluster, zcl_frame):
        n = self.node
        if not self.joined(dst8):
            raise Reject("not-joined", None, "no TC link key with %s" % (bytes(dst8).hex(),))
        peer = eui_int(dst8)
        if len(zcl_frame) <= MAX_APS - 8 - 13 - 4:  # APS header, aux with extended nonce, MIC: one frame
            n.link.send_app(self._short(peer), cluster, zcl_frame, peer)
            return
        if len(zcl_frame) > MAX_TOTAL:
            raise Reject("too-large", None, "ZCL frame of %d bytes (reassembly limit %d)" % (len(zcl_frame), MAX_TOTAL))
        t = self.tx.get(peer)
        if t is not None:
            if len(t[3]) >= QUEUE:
                raise Reject("busy", None, "%d messages waiting for %016X" % (QUEUE, peer))
            t[3].append((cluster, bytes(zcl_frame)))
            return
        self._start(peer, cluster, bytes(zcl_frame))
