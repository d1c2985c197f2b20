"""pcap writer and reader for HAN captures: every ZEP datagram as Ethernet II / IPv4 / UDP to port
17754 (LINKTYPE_ETHERNET = 1, classic libpcap format, microsecond timestamps), so Wireshark and tshark
decode ZEP -> IEEE 802.15.4 -> ZigBee NWK -> APS -> ZCL with their default port table.

Each node gets a fixed address: MAC 02:00:00:00:hh:ll and IPv4 10.54.hh.ll from its ZEP device
id; the destination is the "air" (10.54.255.254). IPv4 header and UDP checksums are computed.
"""
import struct
import time

from host_tools.han import zep

LINKTYPE_ETHERNET = 1
AIR_ID = 0xFFFE


def _ip(dev):
    return bytes((10, 54, (dev >> 8) & 0xFF, dev & 0xFF))


def _mac(dev):
    return bytes((2, 0, 0, 0, (dev >> 8) & 0xFF, dev & 0xFF))


def _csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp_ipv4_ethernet(payload, src_dev, dst_dev=AIR_ID, sport=zep.PORT, dport=zep.PORT, ident=0):
    """An Ethernet frame carrying `payload` in UDP/IPv4 from node src_dev to node dst_dev."""
    sip, dip = _ip(src_dev), _ip(dst_dev)
    ulen = 8 + len(payload)
    pseudo = sip + dip + struct.pack(">BBH", 0, 17, ulen)
    u0 = struct.pack(">HHHH", sport, dport, ulen, 0)
    uc = _csum(pseudo + u0 + payload) or 0xFFFF
    udp = struct.pack(">HHHH", sport, dport, ulen, uc) + payload
    ih = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64, 17, 0,
                     sip, dip)
    ih = ih[:10] + struct.pack(">H", _csum(ih)) + ih[12:]
    return _mac(dst_dev) + _mac(src_dev) + b"\x08\x00" + ih + udp


class Writer:
    """pcap file of ZEP datagrams: add(psdu, device_id) appends one 802.15.4 frame."""

    def __init__(self, path, channel=11, start=None):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        self.channel = channel
        self.t = time.time() if start is None else start
        self.seq = 0
        self.count = 0

    def add_datagram(self, datagram, src_dev, when=None, dst_dev=AIR_ID):
        t = self.t if when is None else when
        frame = udp_ipv4_ethernet(datagram, src_dev, dst_dev, ident=self.count)
        sec = int(t)
        self.f.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(frame), len(frame)))
        self.f.write(frame)
        self.count += 1

    def add(self, psdu, device_id, when=None, lqi=255):
        """Append the MAC frame `psdu` (with FCS) sent by node `device_id`; timestamps advance
        1 ms per frame unless `when` (Unix time) is given."""
        t = self.t if when is None else when
        self.seq += 1
        self.add_datagram(zep.encode(psdu, self.channel, device_id, self.seq, lqi, t), device_id, t)
        if when is None:
            self.t += 0.001

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_KINDS = {0: "beacon", 1: "data", 2: "ack", 3: "command"}


def read_frames(path, offset=24):
    """[(time, device id, PSDU length, description)] of the capture's records from byte `offset`,
    and the offset after the last whole record (the records Writer writes: Ethernet/IPv4/UDP/ZEP,
    the ZEP payload at byte 42; IEEE 802.15.4 MAC frame kinds named, 802.15.4 §7.2.1.1)."""
    from firmware.zigbee import mac

    out = []
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    p = 0
    while len(data) - p >= 16:
        ts, us, n, _ = struct.unpack("<IIII", data[p:p + 16])
        if len(data) - p - 16 < n:
            break
        rec = data[p + 16:p + 16 + n]
        p += 16 + n
        try:
            z = zep.decode(rec[42:])
            m = mac.parse(z["psdu"])
        except Exception as e:  # noqa: BLE001 - a record that does not decode is listed as unreadable
            out.append((ts + us / 1e6, None, n, "unreadable: %s" % e))
            continue
        src = getattr(m, "src", None)
        dst = getattr(m, "dst", None)
        desc = "%s %s -> %s" % (_KINDS.get(m.ftype, m.ftype), "%X" % src if src is not None else "-",
                                "%X" % dst if dst is not None else "-")
        out.append((ts + us / 1e6, z["device_id"], len(z["psdu"]), desc))
    return out, offset + p
