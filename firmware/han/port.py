"""The application's view of a node's HAN (what firmware/wan uses): ZCL frames to and from the
other end of a TC link key, APS-secured with it, profile Smart Energy 0x0109, endpoint 1 (ZigBee
spec 2.2.5 APS data; ZCL 07-5123 §2.4). One 802.15.4 frame per ZCL frame: a frame that does not fit
(about 57 bytes of ZCL under NWK + APS security with extended nonces) is refused with
Reject("too-large") (APS fragmentation is firmware/zigbee/frag.py's, not wired here yet).

    port = Port(node)                     # node: hub.Coordinator or device.Joiner
    port.poll()
    port.send(dst_eui8, cluster, zcl)     # Reject("not-joined") without a TC link key with dst
    port.recv() -> (src_eui8, cluster, zcl) or None
    port.joined(eui8) -> bool
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.han.node import eui_bytes, eui_int

QUEUE = const(8)


class Port:
    def __init__(self, node):
        self.node = node
        self.hub = hasattr(node, "short_of")
        self.q = []
        node.on_app = self._in

    def _in(self, eui, f):
        if f.security and len(self.q) < QUEUE:  # only APS-secured application frames
            self.q.append((eui_bytes(eui), f.cluster, f.payload))

    def poll(self):
        self.node.poll()

    def recv(self):
        return self.q.pop(0) if self.q else None

    def joined(self, eui8):
        n = self.node
        if self.hub:
            return n._link_key(eui_int(eui8)) is not None
        return n.joined and eui_int(eui8) == n.tc

    def send(self, dst8, cluster, zcl_frame):
        n = self.node
        if not self.joined(dst8):
            raise Reject("not-joined", None, "no TC link key with %s" % (bytes(dst8).hex(),))
        peer = eui_int(dst8)
        short = n.short_of(peer) if self.hub else n.coord
        n.link.send_app(short, cluster, zcl_frame, peer)
