"""What the coordinator and a joining device share on the HAN (IEEE 802.15.4-2006 §7.2 frames
over a board radio; ZigBee spec 3.3 NWK, 2.2.5 APS, ZCL 07-5123 §2.4 headers): one node's MAC,
NWK, APS and ZCL sequence numbers, its NWK security (network key) and APS security (link keys)
bound to durable frame counters (firmware/zigbee/secure.py), and the send helpers.

Radio: any object with send(psdu) (an MPDU with its FCS, <= 127 bytes) and recv() -> psdu or
None (never blocks): board.radio() on a board, an in-memory medium in tests.

Configuration (store record "han", JSON, written at provisioning; docs/han.md §11):
    hub:    {"pan": PAN id, "channel": n, "peers": {"<EUI-64 hex>": "<KA public key hex>"}}
    device: {"install_code": "<hex, no CRC>", "tc": "<hub EUI-64 hex>", "tc_ka": "<hub KA pub hex>",
             "channel": n, "peers": {...} (optional: CS03 method A partners, firmware/han/partner.py)}
The KA public keys are the GBCS key-agreement keys CBKE runs with (docs/han.md §5, the P-256
deviation). No MAC acknowledgments or retransmissions: a joining device repeats its step after a
timeout instead, and the hub answers a repeated step again.
"""
from firmware.compat import const
from firmware.zigbee import aps, mac, nwk, zcl

CFG_REC = const("han")
EP = const(1)  # the Smart Energy application endpoint
MAX_FRAMES = const(8)  # frames taken from the radio per poll
MAX_APS = const(127 - 11 - 16 - 14 - 4)  # MAC header + FCS, NWK header with source IEEE, aux, MIC


def hexb(s):
    import binascii

    return binascii.unhexlify(s)


def eui_int(b):
    return int.from_bytes(bytes(b), "big")


def eui_bytes(v):
    return v.to_bytes(8, "big")


class Link:
    """One node on the radio: eui (int), pan, short address (None before association)."""

    def __init__(self, radio, eui, pan):
        self.radio = radio
        self.eui = eui
        self.pan = pan
        self.short = None
        self.nwk = None  # firmware.zigbee.secure.NwkSecurity once the network key is known
        self.aps = None  # firmware.zigbee.secure.ApsSecurity
        self._mac = 0
        self._nwk = 0
        self._aps = 0
        self._zcl = 0
        self.sent = 0
        self.dropped = 0  # frames refused by a parser or by security (never acted upon)

    def mac_seq(self):
        self._mac = (self._mac + 1) & 0xFF
        return self._mac

    def zcl_seq(self):
        self._zcl = (self._zcl + 1) & 0xFF
        return self._zcl

    def aps_counter(self):
        self._aps = (self._aps + 1) & 0xFF
        return self._aps

    def send(self, psdu):
        self.sent += 1
        self.radio.send(psdu)

    def send_nwk(self, dst_short, payload, secure=True, radius=30, mac_dst=None):
        """A NWK data frame to dst_short in a MAC data frame (secured with the network key);
        mac_dst: the MAC destination when it is not dst_short (0xFFFF under a NWK broadcast)."""
        self._nwk = (self._nwk + 1) & 0xFF
        f = nwk.NwkFrame(nwk.DATA, dst_short, self.short, self._nwk, radius=radius, payload=payload,
                      src_ext=self.eui if secure else None)
        raw = self.nwk.seal(f) if secure else nwk.build(f)
        self.send(mac.data(self.mac_seq(), self.pan, dst_short if mac_dst is None else mac_dst,
                           self.short, raw, ack_req=False))

    def send_zcl(self, dst_short, cluster, cmd, payload, direction, seq=None, peer=None,
                 ftype=zcl.CLUSTER, profile=aps.PROFILE_SE, ep=EP, delivery=aps.UNICAST):
        """A ZCL command in an APS data frame (APS-secured with the link key of `peer` when
        given), NWK-secured. Returns the ZCL sequence number."""
        if seq is None:
            seq = self.zcl_seq()
        z = zcl.build(zcl.Header(ftype, seq, cmd, direction), payload)
        f = aps.ApsFrame(aps.DATA, self.aps_counter(), dst_ep=ep, cluster=cluster, profile=profile,
                      src_ep=ep, payload=z, delivery=delivery)
        raw = self.aps.seal(f, peer) if peer is not None else aps.build(f)
        self.send_nwk(dst_short, raw)
        return seq

    def send_app(self, dst_short, cluster, zcl_frame, peer):
        """A ready ZCL frame in an APS data frame APS-secured with peer's link key; Reject
        ("too-large") when the MAC frame would exceed 127 bytes."""
        f = aps.ApsFrame(aps.DATA, self.aps_counter(), dst_ep=EP, cluster=cluster,
                      profile=aps.PROFILE_SE, src_ep=EP, payload=zcl_frame)
        raw = self.aps.seal(f, peer)
        if len(raw) > MAX_APS:
            from firmware.alerts import Reject

            raise Reject("too-large", None, "APS frame of %d bytes" % len(raw))
        self.send_nwk(dst_short, raw)

    def receive(self):
        """Up to MAX_FRAMES parsed MAC frames waiting on the radio; frames that do not parse
        are counted in `dropped`."""
        from firmware.alerts import Reject

        out = []
        for _ in range(MAX_FRAMES):
            b = self.radio.recv()
            if b is None:
                break
            try:
                out.append(mac.parse(b))
            except Reject:
                self.dropped += 1
        return out
