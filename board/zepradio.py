"""A board radio carrying IEEE 802.15.4 frames as ZEP v2 datagrams over UDP (docs/han.md §9):
what a virtual board's board.radio() is, and the UDP half of the ESP32's ESP-NOW bridge.

ZEP v2 data header (32 bytes, as Wireshark's ZEP dissector reads it): "EX", version 2, type 1,
channel, device id (BE 16), mode 1 = CRC (the PSDU ends in its FCS, CRC-16/KERMIT), LQI, NTP
timestamp (8), sequence (BE 32), 10 reserved bytes, PSDU length; then the PSDU. On open the radio
sends the air's hello b"EX\\x02\\xfe" + device id so it receives frames before it sends any.

    r = UdpZepRadio(("127.0.0.1", 17754), device_id=2)
    r.send(psdu)          # the MPDU with its FCS, <= 127 bytes
    r.recv()              # the next PSDU with a valid FCS, or None (never blocks)
"""
import socket
import struct
import time

from firmware.alerts import Reject
from firmware.compat import const

HEADER_LEN = const(32)
NTP_OFFSET = const(2208988800)
_HELLO = b"EX\x02\xfe"


def _fcs_ok(psdu):
    from firmware.zigbee.mac import fcs

    return len(psdu) >= 2 and fcs(psdu[:-2]) == psdu[-2:]


def encode(psdu, channel, device_id, seq):
    t = int(time.time())
    if t < 946684800:  # an epoch-2000 clock (MicroPython ports other than unix)
        t += 946684800
    return (b"EX\x02\x01" + struct.pack(">BHBB", channel, device_id, 1, 255)
            + struct.pack(">II", (t + NTP_OFFSET) & 0xFFFFFFFF, 0)
            + struct.pack(">I", seq & 0xFFFFFFFF) + bytes(10) + bytes((len(psdu),)) + psdu)


def decode(d):
    """The PSDU of a ZEP v2 data datagram in CRC mode with a valid FCS, else None."""
    if len(d) < HEADER_LEN or d[:4] != b"EX\x02\x01" or d[7] != 1:
        return None
    n = d[31]
    if len(d) != HEADER_LEN + n:
        return None
    psdu = bytes(d[HEADER_LEN:])
    return psdu if _fcs_ok(psdu) else None


def _addr(host, port):
    return socket.getaddrinfo(host, port)[0][-1]


class UdpZepRadio:
    def __init__(self, air, device_id, channel=11, bind=("0.0.0.0", 0)):
        self.air = _addr(air[0], air[1])
        self.device_id = device_id
        self.channel = channel
        self.seq = 0
        self.bad = 0
        s = self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(_addr(bind[0], bind[1]))
        s.setblocking(False)
        s.sendto(_HELLO + struct.pack(">H", device_id), self.air)

    def send(self, psdu):
        if len(psdu) > 127:
            raise Reject("format", None, "PSDU of %d bytes" % len(psdu))
        self.seq += 1
        self.sock.sendto(encode(bytes(psdu), self.channel, self.device_id, self.seq), self.air)

    def recv(self):
        while True:
            try:
                d = self.sock.recv(256)
            except OSError:  # EAGAIN: nothing waiting
                return None
            p = decode(d)
            if p is not None:
                return p
            self.bad += 1

    def close(self):
        self.sock.close()
