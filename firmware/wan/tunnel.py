"""The GBCS tunnel over the ZSE Tunneling cluster 0x0704 (ZSE 1.x Tunneling; GBCS §10.2.2.1 as the
Silicon Labs GB CHF implements it: the Comms Hub is the tunnel CLIENT of an ESME, which serves the
tunnel): RequestTunnel with protocol id 6 (GB-HRGP), manufacturer code 0xFFFF (none), no flow
control; then TransferData in both directions, each carrying the GBCS tunnel header byte 0x03 PUT
followed by one whole GBCS message (the commands GET 0x01 / GET-RESPONSE 0x02 serve sleepy devices
and are not used here; Wireshark's "GBCS Tunnel" dissector reads the same header).

    c = Client(han)                      # hub side, one per HAN
    c.send(dst_eui8, gbcs)               # opens the tunnel on first use, then TransferData PUT
    c.on_zcl(src_eui8, zcl) -> [("msg", src, gbcs) | ("fail", src, reason)]
    s = Server(han, role)                # meter side
    s.on_zcl(src_eui8, zcl)              # serves RequestTunnel and TransferData PUT with role.process
    s.push(gbcs)                         # an alert to the hub through the open tunnel

`han` is the node's HAN interface: han.send(dst_eui8, cluster, zcl_frame). A command the meter's
gate refuses is answered through the tunnel with PUT + the 2-byte GBCS alert code (the WAN framing's
refusal form; a GBCS device would raise an alert instead: docs/wan.md §7).
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.zigbee import zcl

PROTOCOL_GB_HRGP = const(6)
MFR_NONE = const(0xFFFF)
MAX_IN = const(1500)  # maximum incoming transfer size the ends announce
GET = const(1)
GET_RESPONSE = const(2)
PUT = const(3)
# ZSE Tunneling commands not in firmware.zigbee.zcl
TRANSFER_DATA_ERROR_TO_CLIENT = const(0x02)  # server -> client
# RequestTunnelResponse statuses
OK = const(0)
BUSY = const(1)
NO_MORE_IDS = const(2)
PROTOCOL_NOT_SUPPORTED = const(3)
FLOW_CONTROL_NOT_SUPPORTED = const(4)
# TransferDataError statuses
NO_SUCH_TUNNEL = const(0)
WRONG_DEVICE = const(1)
MAX_TUNNELS = const(16)


def _frame(seq, cmd, direction, payload):
    return zcl.build(zcl.Header(zcl.CLUSTER, seq, cmd, direction, True), payload)


def _hex(b):
    import binascii

    return binascii.hexlify(bytes(b)).decode()


def refusal(code):
    return bytes((PUT, (code >> 8) & 0xFF, code & 0xFF))


class Client:
    """The hub's end: tunnels to the devices it talks to, opened on first use."""

    def __init__(self, han):
        self.han = han
        self.ids = {}  # peer eui -> tunnel id
        self.waiting = {}  # peer eui -> [gbcs] sent once the tunnel is open
        self.seq = 0

    def _next_seq(self):
        self.seq = (self.seq + 1) & 0xFF
        return self.seq

    def send(self, dst, gbcs):
        dst = bytes(dst)
        tid = self.ids.get(dst)
        if tid is not None:
            self.han.send(dst, zcl.TUNNELING, _frame(self._next_seq(), zcl.TUNNEL_TRANSFER_TO_SERVER, zcl.TO_SERVER,
                                                     zcl.transfer_data(tid, bytes((PUT,)) + bytes(gbcs))))
            return
        w = self.waiting.get(dst)
        if w is None:
            self.waiting[dst] = [bytes(gbcs)]
            self.han.send(dst, zcl.TUNNELING, _frame(self._next_seq(), zcl.TUNNEL_REQUEST, zcl.TO_SERVER,
                                                     zcl.request_tunnel(PROTOCOL_GB_HRGP, MFR_NONE, False, MAX_IN)))
        elif len(w) < 4:
            w.append(bytes(gbcs))
        else:
            raise Reject("busy", None, "tunnel to %s not open yet" % _hex(dst))

    def close(self, dst):
        """Forget the tunnel to dst (device removed from the Device Log, or gone)."""
        self.ids.pop(bytes(dst), None)
        self.waiting.pop(bytes(dst), None)

    def on_zcl(self, src, frame):
        """Events from one Tunneling frame of `src` (server -> client direction)."""
        src = bytes(src)
        h, p = zcl.parse(frame)
        if h.ftype != zcl.CLUSTER or h.direction != zcl.TO_CLIENT:
            return []
        if h.cmd == zcl.TUNNEL_REQUEST_RSP:
            if len(p) < 3:
                raise Reject("format", None, "RequestTunnelResponse length")
            tid = p[0] | (p[1] << 8)
            w = self.waiting.pop(src, [])
            if p[2] != OK:
                return [("fail", src, "tunnel refused, status %d" % p[2])] * max(1, len(w))
            self.ids[src] = tid
            for g in w:
                self.send(src, g)
            return []
        if h.cmd == zcl.TUNNEL_TRANSFER_TO_CLIENT:
            tid, data = zcl.parse_transfer_data(p)
            if self.ids.get(src) != tid or not data:
                return [("fail", src, "TransferData on unknown tunnel %d" % tid)]
            if data[0] == PUT:
                return [("msg", src, data[1:])]
            return [("fail", src, "tunnel header 0x%02X" % data[0])]
        if h.cmd == TRANSFER_DATA_ERROR_TO_CLIENT:
            self.ids.pop(src, None)  # reopened on the next send
            return [("fail", src, "TransferDataError %r" % (bytes(p),))]
        return []


class Server:
    """The meter's end: one tunnel per peer (the hub), GBCS commands served by role.process exactly
    as over the optical port."""

    def __init__(self, han, role):
        self.han = han
        self.role = role
        self.peers = {}  # tunnel id -> peer eui
        self.next_id = 1
        self.seq = 0  # ZCL sequence of the messages this end starts (alerts)

    def push(self, gbcs):
        """An unsolicited message (the meter's alert) to the peer of the open tunnel: TransferData
        PUT. False when no tunnel is open (the hub has not asked yet)."""
        for tid, peer in self.peers.items():
            self.seq = (self.seq + 1) & 0xFF
            self._reply(peer, self.seq, zcl.TUNNEL_TRANSFER_TO_CLIENT,
                        zcl.transfer_data(tid, bytes((PUT,)) + bytes(gbcs)))
            return True
        return False

    def _reply(self, dst, seq, cmd, payload):
        self.han.send(dst, zcl.TUNNELING, _frame(seq, cmd, zcl.TO_CLIENT, payload))

    def on_zcl(self, src, frame):
        src = bytes(src)
        h, p = zcl.parse(frame)
        if h.ftype != zcl.CLUSTER or h.direction != zcl.TO_SERVER:
            return
        if h.cmd == zcl.TUNNEL_REQUEST:
            self._request(src, h.seq, p)
        elif h.cmd == zcl.TUNNEL_TRANSFER_TO_SERVER:
            tid, data = zcl.parse_transfer_data(p)
            peer = self.peers.get(tid)
            if peer != src:
                self._reply(src, h.seq, TRANSFER_DATA_ERROR_TO_CLIENT,
                            zcl.transfer_data(tid, bytes((NO_SUCH_TUNNEL if peer is None else WRONG_DEVICE,))))
                return
            if not data or data[0] != PUT:
                return  # GET is for sleepy devices' queues: an ESME has none
            try:
                out = bytes((PUT,)) + self.role.process(bytes(data[1:]))
            except Reject as e:  # the gate logged it
                out = refusal(e.code or 0x8F1E)
            self._reply(src, h.seq, zcl.TUNNEL_TRANSFER_TO_CLIENT, zcl.transfer_data(tid, out))

    def _request(self, src, seq, p):
        if len(p) < 6:
            raise Reject("format", None, "RequestTunnel length")
        proto, mfr, flow = p[0], p[1] | (p[2] << 8), p[3]
        status = OK
        tid = 0
        if proto != PROTOCOL_GB_HRGP or mfr != MFR_NONE:
            status = PROTOCOL_NOT_SUPPORTED
        elif flow:
            status = FLOW_CONTROL_NOT_SUPPORTED
        else:
            for t, e in self.peers.items():
                if e == src:
                    tid = t  # a peer asking again (after its reset) gets its tunnel back
            if not tid:
                if len(self.peers) >= MAX_TUNNELS:
                    status = NO_MORE_IDS
                else:
                    tid = self.next_id
                    self.next_id = (self.next_id % 0xFFFE) + 1
                    self.peers[tid] = src
        self._reply(src, seq, zcl.TUNNEL_REQUEST_RSP, zcl.request_tunnel_response(tid, status, MAX_IN))
