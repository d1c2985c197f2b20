"""ZigBee NWK frames (ZigBee spec 3.3.1-3.3.2): parse and build the NWK header and secure its
payload with the network key (spec 4.3.1, security.py).

Frame control (16 bits LE): bits 0-1 frame type (0 data, 1 command), 2-5 protocol version (2 =
ZigBee PRO), 6-7 discover route, 8 multicast, 9 security, 10 source route, 11 destination IEEE
address, 12 source IEEE address, 13 end-device initiator. Then destination and source short
addresses, radius, sequence number, the optional IEEE addresses (8 bytes LE each), multicast
control (1 byte) and source-route subframe (relay count, relay index, relays), and with security
the auxiliary header (key identifier 1 = network key, extended nonce, key sequence number).
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.zigbee import security as sec

DATA = const(0)
COMMAND = const(1)
VERSION = const(2)

BCAST_ALL = const(0xFFFF)
BCAST_RX_ON = const(0xFFFD)
BCAST_ROUTERS = const(0xFFFC)


class NwkFrame:
    """One NWK frame; `payload` is the plaintext payload (after open_() for a secured frame),
    `header` the raw header bytes as received (the security AAD), `aux` the security header."""

    __slots__ = ("ftype", "version", "discover", "security", "dst", "src", "radius", "seq",
                 "dst_ext", "src_ext", "edi", "mcast", "relays", "relay_index", "aux",
                 "payload", "header")

    def __init__(self, ftype, dst, src, seq, radius=30, payload=b"", dst_ext=None, src_ext=None,
                 discover=1, aux=None, edi=False, mcast=None, relays=None, relay_index=0,
                 version=VERSION):
        self.ftype = ftype
        self.version = version
        self.discover = discover
        self.dst = dst
        self.src = src
        self.seq = seq
        self.radius = radius
        self.payload = bytes(payload)
        self.dst_ext = dst_ext
        self.src_ext = src_ext
        self.aux = aux
        self.security = aux is not None
        self.edi = edi
        self.mcast = mcast
        self.relays = relays
        self.relay_index = relay_index
        self.header = None

    def __repr__(self):
        return "nwk.NwkFrame(type=%d dst=0x%04X src=0x%04X seq=%d sec=%d len=%d)" % (
            self.ftype, self.dst, self.src, self.seq, self.security, len(self.payload))


def header(f):
    """The NWK header bytes of f (without the auxiliary header)."""
    fc = (f.ftype | (f.version << 2) | (f.discover << 6) | (0x100 if f.mcast is not None else 0)
          | (0x200 if f.security else 0) | (0x400 if f.relays is not None else 0)
          | (0x800 if f.dst_ext is not None else 0) | (0x1000 if f.src_ext is not None else 0)
          | (0x2000 if f.edi else 0))
    out = bytearray(fc.to_bytes(2, "little"))
    out += f.dst.to_bytes(2, "little") + f.src.to_bytes(2, "little")
    out += bytes((f.radius, f.seq & 0xFF))
    if f.dst_ext is not None:
        out += f.dst_ext.to_bytes(8, "little")
    if f.src_ext is not None:
        out += f.src_ext.to_bytes(8, "little")
    if f.mcast is not None:
        out.append(f.mcast)
    if f.relays is not None:
        out += bytes((len(f.relays), f.relay_index))
        for r in f.relays:
            out += r.to_bytes(2, "little")
    return bytes(out)


def build(f, key=None):
    """On-air bytes of f; a secured frame (f.aux set) is sealed with the network key `key`."""
    h = header(f)
    if not f.security:
        return h + f.payload
    if key is None:
        raise Reject("format", None, "a secured NWK frame needs the network key")
    if f.aux.key_id != sec.KEY_NWK or not f.aux.ext_nonce:
        raise Reject("format", None, "NWK security uses the network key with extended nonce")
    return sec.seal(h, f.aux, key, f.payload)


def parse(data):
    """NwkFrame of the NWK bytes `data`; for a secured frame `payload` is still ciphertext || MIC
    (call open_)."""
    data = bytes(data)
    n = len(data)
    if n < 8:
        raise Reject("format", None, "NWK header truncated")
    fc = data[0] | (data[1] << 8)
    ftype = fc & 3
    if ftype > COMMAND:
        raise Reject("format", None, "NWK frame type %d" % ftype)
    version = (fc >> 2) & 0xF
    if version != VERSION:
        raise Reject("format", None, "NWK protocol version %d" % version)
    if fc & 0xC000:
        raise Reject("format", None, "reserved NWK frame control bits")
    f = NwkFrame(ftype, data[2] | (data[3] << 8), data[4] | (data[5] << 8), data[7], data[6],
              discover=(fc >> 6) & 3, edi=bool(fc & 0x2000))
    p = 8
    if fc & 0x800:
        if p + 8 > n:
            raise Reject("format", None, "NWK destination IEEE truncated")
        f.dst_ext = int.from_bytes(data[p:p + 8], "little")
        p += 8
    if fc & 0x1000:
        if p + 8 > n:
            raise Reject("format", None, "NWK source IEEE truncated")
        f.src_ext = int.from_bytes(data[p:p + 8], "little")
        p += 8
    if fc & 0x100:
        if p + 1 > n:
            raise Reject("format", None, "NWK multicast control truncated")
        f.mcast = data[p]
        p += 1
    if fc & 0x400:
        if p + 2 > n:
            raise Reject("format", None, "NWK source route truncated")
        cnt = data[p]
        f.relay_index = data[p + 1]
        p += 2
        if p + 2 * cnt > n:
            raise Reject("format", None, "NWK relay list truncated")
        f.relays = [data[p + 2 * i] | (data[p + 2 * i + 1] << 8) for i in range(cnt)]
        p += 2 * cnt
    f.header = data[:p]
    if fc & 0x200:
        f.aux, p = sec.parse_aux(data, p)
        f.security = True
        if f.aux.key_id != sec.KEY_NWK or not f.aux.ext_nonce:
            raise Reject("format", None, "NWK security uses the network key with extended nonce")
        if n - p < sec.MIC_LEN:
            raise Reject("format", None, "NWK secured payload shorter than its MIC")
    f.payload = data[p:]
    return f


def open_(f, key):
    """Decrypt and verify a parsed secured NWK frame in place with the network key; returns the
    plaintext payload (Reject("mic") if it does not verify)."""
    if not f.security:
        return f.payload
    f.payload = sec.open_(f.header, f.aux, key, f.payload)
    return f.payload
