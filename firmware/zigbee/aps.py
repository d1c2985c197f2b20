"""ZigBee APS frames (ZigBee spec 2.2.5): parse and build data, command and acknowledgment frames,
APS security with link keys (spec 4.4.1, security.py) and the Transport-Key command (spec 4.4.10.1).

Frame control (1 byte): bits 0-1 frame type (0 data, 1 command, 2 ack), 2-3 delivery mode
(0 unicast, 2 broadcast, 3 group), 4 ack format, 5 security, 6 ack request, 7 extended header.
Data frame: destination endpoint (or group address), cluster id, profile id, source endpoint,
APS counter. Command frame: APS counter, then (inside the secured payload) command id + fields.
Secured frames carry the auxiliary header after the APS header; the additional data is the APS
header || auxiliary header (level 5).

Extended header (spec 2.2.5.1.8), after the APS counter when frame control bit 7 is set: extended
frame control (bits 0-1 fragmentation: 0 none, 1 first fragment, 2 later fragment; bits 2-7
reserved), block number (with fragmentation: the block count in the first fragment, the block
number in a later one; in an ack the first block of the window acknowledged), ack bitfield (acks
with fragmentation only; bit i = block number + i received). It is part of the header, so of the
additional data of a secured frame: APS security applies to each block as its own frame.
Fragmentation is for unicast data frames and their acks only (firmware/zigbee/frag.py).
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.zigbee import security as sec

DATA = const(0)
COMMAND = const(1)
ACK = const(2)

UNICAST = const(0)
BROADCAST = const(2)
GROUP = const(3)

PROFILE_ZDP = const(0x0000)
PROFILE_SE = const(0x0109)
PROFILE_HA = const(0x0104)

CMD_TRANSPORT_KEY = const(0x05)
CMD_UPDATE_DEVICE = const(0x06)
CMD_REQUEST_KEY = const(0x08)

FRAG_NONE = const(0)
FRAG_FIRST = const(1)
FRAG_PART = const(2)

KEY_TYPE_NWK = const(0x01)
KEY_TYPE_APP_LINK = const(0x03)
KEY_TYPE_TC_LINK = const(0x04)


class ApsFrame:
    """One APS frame; `payload` is the plaintext (after open_() for a secured frame)."""

    __slots__ = ("ftype", "delivery", "ack_format", "security", "ack_req", "dst_ep", "group",
                 "cluster", "profile", "src_ep", "counter", "aux", "payload", "header", "ext",
                 "frag", "block", "ack_bits")

    def __init__(self, ftype, counter, dst_ep=None, cluster=None, profile=None, src_ep=None,
                 payload=b"", delivery=UNICAST, group=None, ack_req=False, aux=None,
                 ack_format=False, frag=FRAG_NONE, block=0, ack_bits=0):
        self.ftype = ftype
        self.counter = counter
        self.dst_ep = dst_ep
        self.cluster = cluster
        self.profile = profile
        self.src_ep = src_ep
        self.payload = bytes(payload)
        self.delivery = delivery
        self.group = group
        self.ack_req = ack_req
        self.aux = aux
        self.security = aux is not None
        self.ack_format = ack_format
        self.header = None
        self.ext = frag != FRAG_NONE  # extended header present (also with fragmentation 0)
        self.frag = frag
        self.block = block
        self.ack_bits = ack_bits

    def __repr__(self):
        return "aps.ApsFrame(type=%d cluster=%r profile=%r counter=%d sec=%d len=%d)" % (
            self.ftype, self.cluster, self.profile, self.counter, self.security,
            len(self.payload))


def _has_addressing(f):
    return f.ftype == DATA or (f.ftype == ACK and not f.ack_format)


def header(f):
    ext = f.ext or f.frag != FRAG_NONE
    fc = (f.ftype | (f.delivery << 2) | (0x10 if f.ack_format else 0)
          | (0x20 if f.security else 0) | (0x40 if f.ack_req else 0) | (0x80 if ext else 0))
    out = bytearray((fc,))
    if _has_addressing(f):
        if f.delivery == GROUP:
            out += f.group.to_bytes(2, "little")
        else:
            out.append(f.dst_ep)
        out += f.cluster.to_bytes(2, "little") + f.profile.to_bytes(2, "little")
        out.append(f.src_ep)
    out.append(f.counter & 0xFF)
    if ext:
        out.append(f.frag)
        if f.frag != FRAG_NONE:
            _check_frag(f)
            out.append(f.block & 0xFF)
            if f.ftype == ACK:
                out.append(f.ack_bits & 0xFF)
    return bytes(out)


def _check_frag(f):
    if f.frag > FRAG_PART:
        raise Reject("format", None, "reserved APS fragmentation value")
    if f.delivery != UNICAST or f.ftype == COMMAND or (f.ftype == ACK and f.ack_format):
        raise Reject("format", None, "APS fragmentation is for unicast data frames and their acks")


def build(f, key=None, src=None):
    """On-air bytes of f; a secured frame is sealed with `key` (already the key-transport /
    key-load hash where the key identifier says so: security.aps_key)."""
    h = header(f)
    if not f.security:
        return h + f.payload
    if key is None:
        raise Reject("format", None, "a secured APS frame needs its key")
    if f.aux.key_id == sec.KEY_NWK:
        raise Reject("format", None, "APS security uses a link key")
    return sec.seal(h, f.aux, key, f.payload, src)


def parse(data):
    """ApsFrame of the APS bytes; for a secured frame `payload` is ciphertext || MIC (open_)."""
    data = bytes(data)
    n = len(data)
    if n < 2:
        raise Reject("format", None, "APS header truncated")
    fc = data[0]
    ftype = fc & 3
    if ftype > ACK:
        raise Reject("format", None, "APS frame type %d" % ftype)
    delivery = (fc >> 2) & 3
    if delivery == 1:
        raise Reject("format", None, "reserved APS delivery mode")
    f = ApsFrame(ftype, 0, delivery=delivery, ack_req=bool(fc & 0x40), ack_format=bool(fc & 0x10))
    p = 1
    if _has_addressing(f):
        need = 7 if delivery == GROUP else 6
        if p + need + 1 > n:
            raise Reject("format", None, "APS addressing truncated")
        if delivery == GROUP:
            f.group = data[p] | (data[p + 1] << 8)
            p += 2
        else:
            f.dst_ep = data[p]
            p += 1
        f.cluster = data[p] | (data[p + 1] << 8)
        f.profile = data[p + 2] | (data[p + 3] << 8)
        f.src_ep = data[p + 4]
        p += 5
    if p + 1 > n:
        raise Reject("format", None, "APS counter missing")
    f.counter = data[p]
    p += 1
    if fc & 0x80:
        p = _parse_ext(f, data, p)
    f.header = data[:p]
    if fc & 0x20:
        f.aux, p = sec.parse_aux(data, p)
        f.security = True
        if f.aux.key_id == sec.KEY_NWK:
            raise Reject("format", None, "APS security uses a link key")
        if n - p < sec.MIC_LEN:
            raise Reject("format", None, "APS secured payload shorter than its MIC")
    f.payload = data[p:]
    if ftype == COMMAND and not f.security and not f.payload:
        raise Reject("format", None, "APS command id missing")
    return f


def _parse_ext(f, data, p):
    n = len(data)
    if p >= n:
        raise Reject("format", None, "APS extended header truncated")
    efc = data[p]
    if efc & 0xFC:
        raise Reject("format", None, "reserved APS extended frame control bits")
    f.ext = True
    f.frag = efc & 3
    p += 1
    if f.frag == FRAG_NONE:
        return p
    _check_frag(f)
    need = 2 if f.ftype == ACK else 1
    if p + need > n:
        raise Reject("format", None, "APS extended header truncated")
    f.block = data[p]
    if f.ftype == ACK:
        f.ack_bits = data[p + 1]
    return p + need


def open_(f, link_key, src=None):
    """Decrypt and verify a parsed secured APS frame in place; `link_key` is the link key (the
    key identifier picks the key, security.aps_key); `src` the sender's EUI-64 when the aux
    header has no extended nonce. Returns the plaintext payload."""
    if not f.security:
        return f.payload
    f.payload = sec.open_(f.header, f.aux, sec.aps_key(link_key, f.aux.key_id), f.payload, src)
    if f.ftype == COMMAND and not f.payload:
        raise Reject("format", None, "APS command id missing")
    return f.payload


# -- Transport-Key (spec 4.4.10.1) --------------------------------------------------------------

def transport_key(key_type, key, dst_ext, src_ext, key_seq=0):
    """Transport-Key command payload (command id first): NWK key (type 1: key, sequence number,
    destination and source EUI-64) or TC link key (type 4: key, destination, source)."""
    if len(key) != 16:
        raise Reject("format", None, "transported key must be 16 bytes")
    out = bytes((CMD_TRANSPORT_KEY, key_type)) + bytes(key)
    if key_type == KEY_TYPE_NWK:
        out += bytes((key_seq,))
    elif key_type != KEY_TYPE_TC_LINK:
        raise Reject("format", None, "key type %d not transported here" % key_type)
    return out + dst_ext.to_bytes(8, "little") + src_ext.to_bytes(8, "little")


def parse_transport_key(payload):
    """(key_type, key, key_seq or None, dst_ext, src_ext) of a Transport-Key command payload."""
    if len(payload) < 2 or payload[0] != CMD_TRANSPORT_KEY:
        raise Reject("format", None, "not a Transport-Key command")
    kt = payload[1]
    if kt == KEY_TYPE_NWK:
        want, p = 35, 19
    elif kt == KEY_TYPE_TC_LINK:
        want, p = 34, 18
    else:
        raise Reject("format", None, "key type %d not supported" % kt)
    if len(payload) != want:
        raise Reject("format", None, "Transport-Key length %d" % len(payload))
    seq = payload[18] if kt == KEY_TYPE_NWK else None
    return (kt, bytes(payload[2:18]), seq, int.from_bytes(payload[p:p + 8], "little"),
            int.from_bytes(payload[p + 8:p + 16], "little"))
