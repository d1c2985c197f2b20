"""firmware/wan/framing.py (the hub's WAN framing: 2-byte length frames, refusals, GFI text lines)
and firmware/wan/tunnel.py (the GBCS tunnel over ZSE Tunneling 0x0704: RequestTunnel GB-HRGP,
TransferData PUT both ways, refusal codes, wrong tunnel ids) with an in-memory HAN and a stub role.
Byte fixtures are written from the field layouts (docs/wan.md §1), not produced by the code under test."""
import binascii

import _t
from firmware.alerts import Reject
from firmware.wan import framing as F
from firmware.wan import tunnel as T
from firmware.zigbee import zcl

HUB = binascii.unhexlify("02534D4C01030001")
METER = binascii.unhexlify("02534D4C01010001")
OTHER = binascii.unhexlify("02534D4C01010002")
MSG = binascii.unhexlify("DF09010000000000000001") + bytes(range(40))


def test_binary_frames_split_across_feeds_and_keepalives():
    d = F.Deframer()
    wire = b"\x00\x00" + b"\x00\x33" + MSG[:51 - 10]
    d.feed(wire[:3])
    assert d.next() is None
    d.feed(wire[3:] + MSG[41:51] + b"\x00\x03abc")
    assert d.next() == (F.BINARY, MSG[:51])
    assert d.next() == (F.BINARY, b"abc")
    assert d.next() is None
    assert F.binary(b"abc") == b"\x00\x03abc"
    assert F.alert(F.BINARY, 0x8F84) == b"\x00\x02\x8f\x84"


def test_oversized_frame_refused_with_8f1e():
    d = F.Deframer()
    d.feed(b"\x10\x01")  # 4097 > MAX_MESSAGE
    e = _t.raises(Reject, d.next)
    assert e.code == 0x8F1E and d.buf == b""


def test_gfi_line_parsed_and_written():
    line = b"GBCS:DATA#0:3:0A0BFF\r\n"
    d = F.Deframer()
    d.feed(line[:10])
    assert d.next() is None
    d.feed(line[10:] + b"\x00\x01Z")
    assert d.next() == (F.GFI, b"\x0a\x0b\xff")
    assert d.next() == (F.BINARY, b"Z")
    assert F.gfi(b"\x0a\x0b\xff") == line
    assert F.alert(F.GFI, 0x8F84) == b"GBCS:DATA#0:2:8F84\r\n"
    for bad in (b"GBCS:DATA#0:4:0A0BFF\r\n", b"GBCS:DATA#x:3:0A0BFF\r\n", b"GBCS:DATA#0:3:0A0BFG\r\n",
                b"GBCS:DATA0:3:0A0BFF\r\n", b"GBCS:DATA#0:3\r\n"):
        d = F.Deframer()
        d.feed(bad)
        assert _t.raises(Reject, d.next).code == 0x8F1E, bad


class Han:
    def __init__(self, eui):
        self.eui = eui
        self.out = []

    def send(self, dst, cluster, frame):
        assert cluster == 0x0704
        self.out.append((dst, bytes(frame)))


class Role:
    def __init__(self):
        self.got = []

    def process(self, msg):
        self.got.append(msg)
        if msg == b"bad":
            raise Reject("auth", 0x8F3D, "test")
        return b"R" + msg


def test_tunnel_request_transfer_and_refusal():
    hh, mh = Han(HUB), Han(METER)
    c = T.Client(hh)
    s = T.Server(mh, Role())
    c.send(METER, MSG)
    dst, req = hh.out.pop(0)
    # cluster-specific, client->server, disable default response; RequestTunnel GB-HRGP, mfr FFFF,
    # no flow control, max incoming 1500 (0x05DC)
    assert dst == METER and req[0] == 0x11 and req[2] == 0x00
    assert req[3:] == binascii.unhexlify("06FFFF00DC05")
    assert hh.out == []  # the message waits for the tunnel
    s.on_zcl(HUB, req)
    _, rsp = mh.out.pop(0)
    assert rsp[0] == 0x19 and rsp[1] == req[1] and rsp[2] == 0x00 and rsp[3:] == binascii.unhexlify("010000DC05")
    assert c.on_zcl(METER, rsp) == []
    _, xfer = hh.out.pop(0)
    assert xfer[2] == 0x02 and xfer[3:6] == b"\x01\x00\x03" and xfer[6:] == MSG
    s.on_zcl(HUB, xfer)
    _, back = mh.out.pop(0)
    assert back[2] == 0x01 and back[3:6] == b"\x01\x00\x03"
    assert c.on_zcl(METER, back) == [("msg", METER, b"R" + MSG)]
    c.send(METER, b"bad")  # the tunnel is open: straight to TransferData
    s.on_zcl(HUB, hh.out.pop(0)[1])
    assert c.on_zcl(METER, mh.out.pop(0)[1]) == [("msg", METER, b"\x8f\x3d")]


def test_tunnel_server_refuses_other_protocols_and_foreign_tunnels():
    mh = Han(METER)
    role = Role()
    s = T.Server(mh, role)
    hdr = zcl.build(zcl.Header(zcl.CLUSTER, 7, zcl.TUNNEL_REQUEST, zcl.TO_SERVER, True),
                    zcl.request_tunnel(200, 0xFFFF, False, 1500))
    s.on_zcl(HUB, hdr)
    assert mh.out.pop(0)[1][3:6] == b"\x00\x00\x03"  # tunnel id 0, PROTOCOL_NOT_SUPPORTED
    s.on_zcl(HUB, zcl.build(zcl.Header(zcl.CLUSTER, 8, zcl.TUNNEL_REQUEST, zcl.TO_SERVER, True),
                            zcl.request_tunnel(6, 0xFFFF, False, 1500)))
    tid = mh.out.pop(0)[1][3]
    xfer = zcl.build(zcl.Header(zcl.CLUSTER, 9, zcl.TUNNEL_TRANSFER_TO_SERVER, zcl.TO_SERVER, True),
                     zcl.transfer_data(tid, b"\x03" + MSG))
    s.on_zcl(OTHER, xfer)  # another device on the hub's tunnel id
    dst, err = mh.out.pop(0)
    assert dst == OTHER and err[2] == 0x02 and err[3:] == bytes((tid, 0, 1))  # TransferDataError wrong device
    assert role.got == []
    c = T.Client(Han(HUB))
    assert c.on_zcl(METER, err)[0][0] == "fail"
