"""IEEE 802.15.4 MAC, ZigBee NWK, APS and ZCL codecs, bit-exact: byte fixtures assembled from the
field tables of IEEE 802.15.4-2006 §7.2-7.3, ZigBee spec 3.3.1 / 2.2.5, ZCL §2.4.1, and the
zbtk Transport-Key capture of han.md §3 (parsed and rebuilt byte for byte)."""
import _t
from firmware.alerts import Reject
from firmware.zigbee import mac, nwk, aps, zcl
from firmware.zigbee import security as sec

U = _t.unhex

# han.md §3 (kristian/zbtk capture, ZEP payload without its 2 LQI-mode metadata bytes)
MHR = U("618833DE8CDEBAD63E")
NWK_HDR = U("4800DEBAD63E0188")
APS_SECURED = U("21D7" "307EB001006C5948FEFFF52E3C"
                "22036185D0EF7C9BA3A70BDB1011BF7784163460F39365F209FB5B7C73F213FBC08484"
                "CF0984E4")
TC = 0x3C2EF5FFFE48596C
JOINER = 0x28DBA7FFFE23B07D


def test_fcs_is_crc16_kermit():
    assert mac.crc16_kermit(b"123456789") == 0x2189
    assert mac.fcs(b"123456789") == b"\x89\x21"
    # han.md §8: the capture's frame has KERMIT 0xDC02 (its last 2 bytes are LQI metadata)
    assert mac.crc16_kermit(MHR + NWK_HDR + APS_SECURED) == 0xDC02


def test_mac_data_frame_from_capture():
    raw = MHR + NWK_HDR + APS_SECURED
    framed = raw + mac.fcs(raw)
    f = mac.parse(framed)
    assert (f.ftype, f.seq, f.dst_pan, f.dst, f.src_pan, f.src) == (mac.DATA, 0x33, 0x8CDE,
                                                                     0xBADE, 0x8CDE, 0x3ED6)
    assert f.ack_req and f.panid_comp and not f.pending
    assert f.payload == NWK_HDR + APS_SECURED
    assert mac.build(f) == framed
    assert mac.data(0x33, 0x8CDE, 0xBADE, 0x3ED6, f.payload) == framed
    # one flipped bit anywhere fails the FCS
    for i in (0, 5, len(framed) - 1):
        bad = bytearray(framed)
        bad[i] ^= 0x10
        e = _t.raises(Reject, mac.parse, bytes(bad))
        assert e.reason == "fcs"


def test_mac_ack_and_beacon_request():
    a = mac.ack(0x42)
    assert a[:3] == U("020042") and len(a) == 5
    f = mac.parse(a)
    assert f.ftype == mac.ACK and f.seq == 0x42
    br = mac.beacon_request(7)
    assert br[:-2] == U("030807FFFFFFFF07")
    f = mac.parse(br)
    assert (f.ftype, f.cmd, f.dst, f.dst_pan, f.src_mode) == (mac.COMMAND, 0x07, 0xFFFF,
                                                              0xFFFF, mac.ADDR_NONE)


def test_mac_beacon():
    b = mac.beacon(9, 0x1A62, 0x0000, 0x00DB123456789000)
    want = (U("0080" "09" "621A" "0000")  # FCF: beacon, src short; seq; src PAN; src 0x0000
            + U("FFCF" "00" "00")  # superframe 0xCFFF (BO=SO=15, CAP 15, coordinator, permit)
            + U("00" "22" "84") + U("009078563412DB00")
            + U("FFFFFF" "00"))
    assert b[:-2] == want
    f = mac.parse(b)
    assert f.ftype == mac.BEACON and f.src == 0 and f.src_pan == 0x1A62
    assert f.superframe == 0xCFFF and f.payload == want[11:]
    assert mac.build(f) == b
    closed = mac.parse(mac.beacon(9, 0x1A62, 0, 1, permit_join=False))
    assert not closed.superframe & 0x8000


def test_mac_association():
    dev = 0x00DB123456789093
    coord = 0x00DB1234567890A2
    req = mac.association_request(1, 0x1A62, 0x0000, dev)
    # FCF 0xC823: command, ack request, dst short, src extended; src PAN 0xFFFF
    assert req[:-2] == U("23C801" "621A" "0000" "FFFF" "939078563412DB00"
                         + "0180")
    f = mac.parse(req)
    assert (f.cmd, f.src, f.src_pan, f.payload) == (mac.CMD_ASSOC_REQ, dev, 0xFFFF, b"\x80")
    assert mac.build(f) == req
    rsp = mac.association_response(2, 0x1A62, dev, coord, 0x1234, mac.ASSOC_SUCCESS)
    # FCF 0xCC63: command, ack request, PAN ID compression, dst and src extended
    assert rsp[:-2] == U("63CC02" "621A" "939078563412DB00"
                         + "A29078563412DB00" + "02" "3412" "00")
    f = mac.parse(rsp)
    assert (f.cmd, f.dst, f.src, f.payload) == (mac.CMD_ASSOC_RSP, dev, coord, U("341200"))
    denied = mac.parse(mac.association_response(3, 0x1A62, dev, coord, 0xFFFF,
                                                mac.ASSOC_ACCESS_DENIED))
    assert denied.payload == U("FFFF02")
    dr = mac.parse(mac.data_request(4, 0x1A62, 0, dev))
    assert dr.cmd == mac.CMD_DATA_REQ and dr.payload == b""


def test_mac_rejects():
    _t.raises(Reject, mac.parse, b"\x01\x00")
    ok = mac.beacon_request(1)
    _t.raises(Reject, mac.parse, ok[:4] + mac.fcs(ok[:4]))  # truncated address
    sec_bit = bytearray(ok[:-2])
    sec_bit[0] |= 0x08
    _t.raises(Reject, mac.parse, bytes(sec_bit) + mac.fcs(bytes(sec_bit)))
    bad_len = mac.association_request(1, 1, 0, 5)[:-2] + b"\x00"
    _t.raises(Reject, mac.parse, bad_len + mac.fcs(bad_len))
    reserved_mode = U("0304" "01" "FFFF" "FFFF" "07")  # dst addressing mode 1
    _t.raises(Reject, mac.parse, reserved_mode + mac.fcs(reserved_mode))


def test_nwk_header_from_capture():
    f = nwk.parse(NWK_HDR + APS_SECURED)
    assert (f.ftype, f.version, f.discover, f.dst, f.src, f.radius, f.seq) == (
        nwk.DATA, 2, 1, 0xBADE, 0x3ED6, 1, 0x88)
    assert not f.security and f.header == NWK_HDR and f.payload == APS_SECURED
    assert nwk.build(f) == NWK_HDR + APS_SECURED


def test_nwk_optional_fields_round_trip():
    f = nwk.NwkFrame(nwk.COMMAND, 0x0000, 0x1234, 0x55, radius=5, payload=b"\x08",
                  dst_ext=0x00DB1234567890A2, src_ext=0x00DB123456789093, mcast=0x01,
                  relays=[0x2222, 0x3333], relay_index=1, edi=True)
    raw = nwk.build(f)
    # FCF: command, v2, discover 1, multicast, source route, dst IEEE, src IEEE, EDI = 0x3D49
    assert raw[:8] == U("493D" "0000" "3412" "05" "55")
    assert raw[8:24] == U("A29078563412DB00" + "939078563412DB00")
    assert raw[24:] == U("01" "02" "01" "2222" "3333" "08")
    g = nwk.parse(raw)
    assert (g.dst_ext, g.src_ext, g.mcast, g.relays, g.relay_index, g.edi) == (
        f.dst_ext, f.src_ext, 1, [0x2222, 0x3333], 1, True)
    assert nwk.build(g) == raw


def test_nwk_rejects():
    _t.raises(Reject, nwk.parse, NWK_HDR[:7])
    v3 = U("4C00") + NWK_HDR[2:]
    _t.raises(Reject, nwk.parse, v3)
    _t.raises(Reject, nwk.parse, U("4808") + NWK_HDR[2:])  # dst IEEE flagged, missing
    # security flagged but the aux header is not a network-key header
    _t.raises(Reject, nwk.parse, U("4802") + NWK_HDR[2:] + U("30") + bytes(12) + bytes(4))


def test_aps_command_from_capture():
    f = aps.parse(APS_SECURED)
    assert (f.ftype, f.counter, f.security, f.delivery) == (aps.COMMAND, 0xD7, True, aps.UNICAST)
    assert f.header == U("21D7")
    assert (f.aux.key_id, f.aux.level, f.aux.fc, f.aux.src) == (sec.KEY_TRANSPORT, 0, 110718, TC)
    assert f.aux.encode(0) == U("307EB001006C5948FEFFF52E3C")
    assert f.aux.encode(5) == U("357EB001006C5948FEFFF52E3C")


def test_aps_data_group_and_ack_frames():
    d = aps.ApsFrame(aps.DATA, 0x10, dst_ep=1, cluster=zcl.TUNNELING, profile=aps.PROFILE_SE,
                  src_ep=2, payload=b"\x01\x02", ack_req=True)
    raw = aps.build(d)
    assert raw == U("40" "01" "0407" "0901" "02" "10" "0102")
    g = aps.parse(raw)
    assert (g.dst_ep, g.cluster, g.profile, g.src_ep, g.counter, g.ack_req) == (
        1, 0x0704, 0x0109, 2, 0x10, True)
    grp = aps.ApsFrame(aps.DATA, 1, cluster=0x0006, profile=aps.PROFILE_HA, src_ep=1,
                    delivery=aps.GROUP, group=0x0102, payload=b"\x00")
    assert aps.build(grp) == U("0C" "0201" "0600" "0401" "01" "01" "00")
    assert aps.parse(aps.build(grp)).group == 0x0102
    ack = aps.ApsFrame(aps.ACK, 0x10, dst_ep=2, cluster=0x0704, profile=0x0109, src_ep=1)
    assert aps.build(ack) == U("02" "02" "0407" "0901" "01" "10")
    cack = aps.ApsFrame(aps.ACK, 0x11, ack_format=True)
    assert aps.build(cack) == U("12" "11")
    assert aps.parse(U("1211")).counter == 0x11
    _t.raises(Reject, aps.parse, U("80" "00"))  # extended header
    _t.raises(Reject, aps.parse, U("04" "00"))  # reserved delivery mode
    _t.raises(Reject, aps.parse, U("40" "01" "0407"))
    _t.raises(Reject, aps.parse, U("01" "05"))  # command frame without command id


def test_transport_key_payload():
    key = U("52F0FE8052EBB35907DAA243C95A2FF4")
    p = aps.transport_key(aps.KEY_TYPE_NWK, key, JOINER, TC, 0)
    assert p == U("0501" "52F0FE8052EBB35907DAA243C95A2FF4" "00" "7DB023FEFFA7DB28"
                  "6C5948FEFFF52E3C")
    assert aps.parse_transport_key(p) == (1, key, 0, JOINER, TC)
    t = aps.transport_key(aps.KEY_TYPE_TC_LINK, key, JOINER, TC)
    assert len(t) == 34 and aps.parse_transport_key(t) == (4, key, None, JOINER, TC)
    _t.raises(Reject, aps.parse_transport_key, p[:-1])
    _t.raises(Reject, aps.parse_transport_key, b"\x06" + p[1:])
    _t.raises(Reject, aps.transport_key, aps.KEY_TYPE_NWK, key[:15], JOINER, TC)


def test_zcl_headers():
    # Read Attributes of Basic (ZCL version, attr 0x0000), to server, default response enabled
    raw = zcl.build(zcl.Header(zcl.GLOBAL, 0x21, zcl.READ_ATTRIBUTES), zcl.read_attributes([0]))
    assert raw == U("00" "21" "00" "0000")
    h, p = zcl.parse(raw)
    assert (h.ftype, h.seq, h.cmd, h.direction, h.mfr) == (zcl.GLOBAL, 0x21, 0, 0, None)
    assert zcl.parse_read_attributes(p) == [0]
    # cluster-specific, server to client, disable default response, manufacturer code 0x1234
    raw = zcl.build(zcl.Header(zcl.CLUSTER, 7, 0x02, zcl.TO_CLIENT, True, 0x1234), b"\xAA")
    assert raw == U("1D" "3412" "07" "02" "AA")
    h, p = zcl.parse(raw)
    assert (h.ftype, h.direction, h.no_default_rsp, h.mfr, h.seq, h.cmd, p) == (
        zcl.CLUSTER, 1, True, 0x1234, 7, 2, b"\xAA")
    assert zcl.build(h, p) == raw
    for cl in zcl.CLUSTERS:  # the hub's clusters inside an APS frame
        f = aps.ApsFrame(aps.DATA, 3, dst_ep=1, cluster=cl, profile=aps.PROFILE_SE, src_ep=1,
                      payload=zcl.build(zcl.Header(zcl.CLUSTER, 1, 0)))
        assert aps.parse(aps.build(f)).cluster == cl
    _t.raises(Reject, zcl.parse, b"\x00\x01")
    _t.raises(Reject, zcl.parse, b"\x04\x01\x02\x03")
    _t.raises(Reject, zcl.parse, b"\x20\x01\x02")
