"""A scripted install-code join on one HAN, written as a pcap (docs/han.md §7): every frame is
built by firmware/zigbee (the codecs and security the boards run), so the capture is what tshark
judges. Sequence: beacon request / beacon, MAC association (request, data request, response with
acks), APS Transport-Key of the network key under the key-transport key of the joiner's
install-code link key, NWK-secured Device_annce, the CBKE exchange on cluster 0x0800 (P-256
deviation, NWK-secured), then ZCL traffic APS-secured with the TC link key CBKE produced: Basic
and Metering Read Attributes, a Prepayment read and a ZSE Tunneling request/transfer, then GBCS
commands from the hub to the meter in TransferData too long for one frame (RTDS ECS42, 146 bytes,
and, with the RTDS corpus present, a 3,986-byte CS02b), APS-fragmented (ZigBee spec 2.2.8.4.5:
every block APS-secured on its own, window acks from the meter; firmware/zigbee/frag.py) and
reassembled by tshark.

`python -m host_tools.han.capture OUT.pcap` writes it and prints the keys in Wireshark's
`zigbee_pc_keys` form and the tshark command line that decrypts it.
"""
import os
import sys

from firmware.crypto import zigbee as zb
from firmware.zigbee import aps, cbke, frag, mac, nwk, zcl
from firmware.zigbee import security as sec
from host_tools.han import pcap

PAN = 0x1A62
CHF_EUI = 0x00DB1234567890A2
ESME_EUI = 0x00DB123456789093
ESME_SHORT = 0x4F21
INSTALL_CODE = b"0123456789ABCDEF"  # RTDS CCS01's 16-byte install code (han.md §1)
CHF_DEV, ESME_DEV = 1, 2
EP = 1
GBCS_PROTOCOL = 200  # RequestTunnel protocol id for GBCS (what Wireshark dissects as GBCS)


def demo_gbcs_response():
    """A 63-byte GBCS Response in the shape of RTDS CS03B's (message code 0x000E, content
    02 01 00 = join success) from the ESME to an ACB, its MAC computed under a DEMO shared
    secret: real framing for the dissector, not a response any party would accept."""
    from firmware.crypto.gmac import gbcs_mac
    from firmware.gbcs import frame

    orig = ESME_EUI.to_bytes(8, "big")
    recip = bytes.fromhex("90B3D51F30010000")
    m = frame.Message(frame.CRA_RESPONSE, 0x3E9, orig, recip, 0x000E, b"\x02\x01\x00")
    frame.build(m)
    z = bytes(range(32))  # demo shared secret
    return frame.set_mac(m, gbcs_mac(z, orig, 2, (0x3E9).to_bytes(8, "big"), recip, m.mac_aad(), 12))


RTDS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), "..", "shared", "interop", "rtds", "RTDS-4.5.0")
ECS42_FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), "tests", "vectors", "gbcs", "cmd_ecs42.hex")


def _hex_file(path):
    with open(path) as f:
        return bytes.fromhex("".join(f.read().split()))


def tunnel_commands():
    """[(label, GBCS bytes)] the hub tunnels to the meter fragmented: RTDS ECS42 SUCCESS (146
    bytes; the project's own 146-byte ECS42 fixture when the corpus is absent) and, with the
    corpus, the 3,986-byte CS02bAnyExceptAbnormalRootByRecovery command."""
    ecs42 = os.path.join(RTDS_DIR, "7.1_ECS42", "ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX")
    big = os.path.join(RTDS_DIR, "NA_CS02bAnyExceptAbnormalRootByRecovery",
                       "CS02bAnyExceptAbnormalRootByRecovery_NA_SUCCESS_COMMAND_GBCS.HEX")
    if os.path.exists(ecs42):
        out = [("RTDS ECS42", _hex_file(ecs42))]
    else:
        out = [("ECS42 fixture", _hex_file(ECS42_FIXTURE))]
    if os.path.exists(big):
        out.append(("RTDS CS02b", _hex_file(big)))
    return out


def wireshark_key_prefs(keys):
    """tshark `-o` arguments giving Wireshark the keys: zigbee_pc_keys UAT rows
    "key","Normal","label" (key as 32 hex digits in the on-air byte order)."""
    out = []
    for label, key in keys:
        out += ["-o", 'uat:zigbee_pc_keys:"%s","Normal","%s"' % (key.hex().upper(), label)]
    return out


class _Node:
    def __init__(self, eui, short, dev):
        self.eui = eui
        self.short = short
        self.dev = dev
        self.mac_seq = 0
        self.nwk_seq = 0
        self.aps_counter = 0
        self.nwk_fc = 0
        self.aps_fc = 0
        self.zcl_seq = 0

    def next(self, attr):
        v = getattr(self, attr)
        setattr(self, attr, v + 1)
        return v & 0xFFFFFFFF if attr.endswith("fc") else v & 0xFF


def build(path, nwk_key=None, start=1.7e9):
    """Write the capture to `path`; returns dict(keys=[(label, key)], frames=N, link_key,
    tc_link_key, nwk_key)."""
    nwk_key = nwk_key or bytes.fromhex("C0FFEE00112233445566778899AABBCC")
    link_key = zb.install_code_link_key_without_crc(INSTALL_CODE)
    chf = _Node(CHF_EUI, 0x0000, CHF_DEV)
    esme = _Node(ESME_EUI, None, ESME_DEV)
    w = pcap.Writer(path, channel=11, start=start)

    def send(node, frame):
        w.add(frame, node.dev)

    def mac_data(src, dst_short, payload, dst_node=None):
        seq = src.next("mac_seq")
        send(src, mac.data(seq, PAN, dst_short, src.short, payload))
        if dst_short != mac.BROADCAST and dst_node is not None:
            send(dst_node, mac.ack(seq))

    def nwk_frame(src, dst_short, payload, secure=True, radius=30, src_ext=True):
        aux = None
        if secure:
            aux = sec.Aux(sec.KEY_NWK, src.next("nwk_fc"), src=src.eui, key_seq=0)
        f = nwk.NwkFrame(nwk.DATA, dst_short, src.short, src.next("nwk_seq"), radius=radius,
                      payload=payload, aux=aux, src_ext=src.eui if secure and src_ext else None)
        return nwk.build(f, nwk_key)

    def zcl_frame(src, dst, cluster, ftype, cmd, payload, direction, link=None, seq=None,
                  compact=False):
        """One ZCL command src -> dst; `seq` echoes a request's sequence number in a response;
        compact: no IEEE source in the NWK header and no extended nonce in the APS auxiliary
        header (the receiver knows the sender's EUI-64), for payloads near the 127-byte PSDU."""
        if seq is None:
            seq = src.next("zcl_seq")
        z = zcl.build(zcl.Header(ftype, seq, cmd, direction), payload)
        aux = None
        if link:
            aux = sec.Aux(sec.KEY_DATA, src.next("aps_fc"), src=None if compact else src.eui)
        a = aps.ApsFrame(aps.DATA, src.next("aps_counter"), dst_ep=EP, cluster=cluster,
                      profile=aps.PROFILE_SE, src_ep=EP, payload=z, aux=aux)
        n = nwk_frame(src, dst.short, aps.build(a, link, src.eui), src_ext=not compact)
        mac_data(src, dst.short, n, dst)
        return seq

    # discovery and MAC association
    send(esme, mac.beacon_request(esme.next("mac_seq")))
    send(chf, mac.beacon(chf.next("mac_seq"), PAN, chf.short, CHF_EUI))
    s = esme.next("mac_seq")
    send(esme, mac.association_request(s, PAN, chf.short, ESME_EUI))
    send(chf, mac.ack(s))
    s = esme.next("mac_seq")
    send(esme, mac.data_request(s, PAN, chf.short, ESME_EUI))
    send(chf, mac.ack(s, pending=True))
    s = chf.next("mac_seq")
    send(chf, mac.association_response(s, PAN, ESME_EUI, CHF_EUI, ESME_SHORT, mac.ASSOC_SUCCESS))
    send(esme, mac.ack(s))
    esme.short = ESME_SHORT

    # network key to the joiner: NWK-unsecured, APS-secured with the key-transport key
    from firmware.zigbee import keytransport

    tk = keytransport.seal_nwk_key(link_key, nwk_key, 0, CHF_EUI, ESME_EUI,
                                   chf.next("aps_counter"), chf.next("aps_fc"))
    mac_data(chf, ESME_SHORT, nwk_frame(chf, ESME_SHORT, tk, secure=False, radius=1), esme)

    # Device_annce (ZDO cluster 0x0013), NWK-secured broadcast
    annce = (bytes((esme.next("zcl_seq"),)) + ESME_SHORT.to_bytes(2, "little")
             + ESME_EUI.to_bytes(8, "little") + b"\x80")
    a = aps.ApsFrame(aps.DATA, esme.next("aps_counter"), dst_ep=0, cluster=0x0013,
                  profile=aps.PROFILE_ZDP, src_ep=0, payload=annce, delivery=aps.BROADCAST)
    mac_data(esme, mac.BROADCAST, nwk_frame(esme, nwk.BCAST_RX_ON, aps.build(a)))

    # CBKE (P-256 deviation): the meter initiates, the hub (Trust Centre) responds
    d_esme = bytes.fromhex("1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809")
    d_chf = bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0")
    stored = {}
    u = cbke.Initiator(ESME_EUI, d_esme, {CHF_EUI: cbke.public_key_of(d_chf)},
                       lambda p, k: stored.__setitem__("esme", k), rng=os.urandom)
    v = cbke.Responder(CHF_EUI, d_chf, {ESME_EUI: cbke.public_key_of(d_esme)},
                       lambda p, k: stored.__setitem__("chf", k), rng=os.urandom)
    ke, cl = cbke.CLUSTER, zcl.CLUSTER
    req = u.start()
    q = zcl_frame(esme, chf, ke, cl, cbke.CMD_INITIATE, req, zcl.TO_SERVER)
    rsp = v.on_initiate_request(req, ESME_EUI)
    zcl_frame(chf, esme, ke, cl, cbke.CMD_INITIATE, rsp, zcl.TO_CLIENT, seq=q)
    qeu = u.on_initiate_response(rsp, CHF_EUI)
    q = zcl_frame(esme, chf, ke, cl, cbke.CMD_EPHEMERAL, qeu, zcl.TO_SERVER)
    qev = v.on_ephemeral_request(qeu)
    zcl_frame(chf, esme, ke, cl, cbke.CMD_EPHEMERAL, qev, zcl.TO_CLIENT, seq=q)
    macu = u.on_ephemeral_response(qev)
    q = zcl_frame(esme, chf, ke, cl, cbke.CMD_CONFIRM, macu, zcl.TO_SERVER)
    macv = v.on_confirm_request(macu)
    zcl_frame(chf, esme, ke, cl, cbke.CMD_CONFIRM, macv, zcl.TO_CLIENT, seq=q)
    tc_link = u.on_confirm_response(macv)
    assert stored["esme"] == stored["chf"] == tc_link

    # application traffic, APS-secured with the TC link key
    g, rd, rr = zcl.GLOBAL, zcl.READ_ATTRIBUTES, zcl.READ_ATTRIBUTES_RSP
    q = zcl_frame(chf, esme, zcl.BASIC, g, rd, zcl.read_attributes([0x0000]), zcl.TO_SERVER, tc_link)
    zcl_frame(esme, chf, zcl.BASIC, g, rr, b"\x00\x00\x00\x20\x03", zcl.TO_CLIENT, tc_link,
              seq=q)  # attribute 0 (ZCLVersion): success, uint8, 3
    q = zcl_frame(chf, esme, zcl.METERING, g, rd, zcl.read_attributes([0x0000]), zcl.TO_SERVER,
                  tc_link)
    zcl_frame(esme, chf, zcl.METERING, g, rr, b"\x00\x00\x00\x25" + (123456).to_bytes(6, "little"),
              zcl.TO_CLIENT, tc_link, seq=q)  # CurrentSummationDelivered: uint48
    q = zcl_frame(chf, esme, zcl.PREPAYMENT, g, rd, zcl.read_attributes([0x0000]), zcl.TO_SERVER,
                  tc_link)
    zcl_frame(esme, chf, zcl.PREPAYMENT, g, rr, b"\x00\x00\x00\x19\x01\x00", zcl.TO_CLIENT,
              tc_link, seq=q)  # PaymentControlConfiguration: bitmap16
    # ZSE Tunneling: the meter (client) asks the hub (server) for a tunnel, then a GBCS message
    q = zcl_frame(esme, chf, zcl.TUNNELING, cl, zcl.TUNNEL_REQUEST, zcl.request_tunnel(GBCS_PROTOCOL),
                  zcl.TO_SERVER, tc_link)
    zcl_frame(chf, esme, zcl.TUNNELING, cl, zcl.TUNNEL_REQUEST_RSP, zcl.request_tunnel_response(1),
              zcl.TO_CLIENT, tc_link, seq=q)
    zcl_frame(esme, chf, zcl.TUNNELING, cl, zcl.TUNNEL_TRANSFER_TO_SERVER,
              zcl.transfer_data(1, demo_gbcs_response()), zcl.TO_SERVER, tc_link, compact=True)
    # GBCS commands hub -> meter in TransferData, APS-fragmented: each block APS-secured with the
    # TC link key (compact framing: 71-byte blocks fill the 127-byte PSDU), the meter opens and
    # reassembles them with the firmware and acks each window (APS ack, NWK-secured)
    tunnelled = []
    for label, cmd in tunnel_commands():
        asdu = zcl.build(zcl.Header(cl, chf.next("zcl_seq"), zcl.TUNNEL_TRANSFER_TO_CLIENT,
                                    zcl.TO_CLIENT), zcl.transfer_data(1, cmd))
        tx = frag.Sender(asdu, chf.next("aps_counter"), EP, zcl.TUNNELING, aps.PROFILE_SE, EP,
                         frag.max_block())
        rx = frag.Reassembler(lambda: 0)
        got = None
        while not tx.done:
            for i in tx.window():
                a = tx.frame(i)
                a.aux = sec.Aux(sec.KEY_DATA, chf.next("aps_fc"))
                a.security = True
                raw = aps.build(a, tc_link, chf.eui)
                mac_data(chf, esme.short, nwk_frame(chf, esme.short, raw, src_ext=False), esme)
                g = aps.parse(raw)
                aps.open_(g, tc_link, chf.eui)
                out, ack = rx.add(chf.short, g)
                if out is not None:
                    got = bytes(out)
                if ack is not None:
                    mac_data(esme, chf.short, nwk_frame(esme, chf.short, aps.build(ack),
                                                        src_ext=False), chf)
                    tx.on_ack(ack)
        assert got == asdu
        tunnelled.append({"label": label, "gbcs": cmd, "asdu": asdu, "blocks": tx.count})
    w.close()
    keys = [("NWK key", nwk_key), ("install-code link key ESME", link_key),
            ("TC link key ESME (CBKE)", tc_link)]
    return {"keys": keys, "frames": w.count, "link_key": link_key, "tc_link_key": tc_link,
            "nwk_key": nwk_key, "tunnelled": tunnelled}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m host_tools.han.capture OUT.pcap", file=sys.stderr)
        return 2
    r = build(argv[0])
    print("%d frames written to %s" % (r["frames"], argv[0]))
    for label, key in r["keys"]:
        print("  %-28s %s" % (label, key.hex().upper()))
    args = " ".join("'%s'" % a if a != "-o" else a for a in wireshark_key_prefs(r["keys"]))
    print("tshark -r %s %s -V" % (argv[0], args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
