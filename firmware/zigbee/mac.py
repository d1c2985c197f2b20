"""IEEE 802.15.4-2006 MAC frames (§7.2): parse and build beacon, data, acknowledgment and MAC
command frames (association request/response §7.3.1-7.3.2, data request §7.3.4, beacon request
§7.3.7), with the 2-byte FCS = CRC-16/KERMIT (ITU-T CRC-16, poly 0x1021 reflected, init 0, §7.2.1.9).

Frame control (little-endian 16 bits): bits 0-2 frame type, 3 security enabled, 4 frame pending,
5 ack request, 6 PAN ID compression, 10-11 destination addressing mode, 12-13 frame version,
14-15 source addressing mode (0 none, 2 short, 3 extended). Multi-byte fields are little-endian on
air; extended addresses are held as ints (EUI-64 value, printed most-significant byte first).
ZigBee does not use MAC-layer security, so a frame with the security bit is refused.
The ZigBee beacon payload (ZigBee spec 3.6.7, 15 bytes) is coded by beacon_payload().
"""
from firmware.alerts import Reject
from firmware.compat import const

BEACON = const(0)
DATA = const(1)
ACK = const(2)
COMMAND = const(3)

ADDR_NONE = const(0)
ADDR_SHORT = const(2)
ADDR_EXT = const(3)

CMD_ASSOC_REQ = const(0x01)
CMD_ASSOC_RSP = const(0x02)
CMD_DATA_REQ = const(0x04)
CMD_BEACON_REQ = const(0x07)

ASSOC_SUCCESS = const(0x00)
ASSOC_PAN_FULL = const(0x01)
ASSOC_ACCESS_DENIED = const(0x02)

BROADCAST = const(0xFFFF)


def crc16_kermit(data):
    """CRC-16/KERMIT (the 802.15.4 FCS): poly 0x1021 reflected (0x8408), init 0, no xorout."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0x8408
            else:
                crc >>= 1
    return crc


def fcs(data):
    """The 2 FCS bytes (least-significant first) of a frame's MHR + payload."""
    c = crc16_kermit(data)
    return bytes((c & 0xFF, c >> 8))


class MacFrame:
    """One MAC frame. `payload`: the MAC payload (beacon: superframe/GTS/pending/beacon payload
    left in `payload` after the 4 fixed bytes are decoded; command: after the command id)."""

    __slots__ = ("ftype", "pending", "ack_req", "panid_comp", "version", "seq",
                 "dst_mode", "dst_pan", "dst", "src_mode", "src_pan", "src",
                 "cmd", "superframe", "payload")

    def __init__(self, ftype, seq, dst=None, dst_pan=None, src=None, src_pan=None,
                 dst_mode=None, src_mode=None, ack_req=False, pending=False, panid_comp=None,
                 version=0, cmd=None, superframe=None, payload=b""):
        self.ftype = ftype
        self.seq = seq
        self.dst = dst
        self.dst_pan = dst_pan
        self.src = src
        self.src_pan = src_pan
        self.dst_mode = dst_mode if dst_mode is not None else _mode_of(dst)
        self.src_mode = src_mode if src_mode is not None else _mode_of(src)
        self.ack_req = ack_req
        self.pending = pending
        if panid_comp is None:
            panid_comp = (self.dst_mode != ADDR_NONE and self.src_mode != ADDR_NONE
                          and dst_pan == src_pan)
        self.panid_comp = panid_comp
        self.version = version
        self.cmd = cmd
        self.superframe = superframe
        self.payload = bytes(payload)

    def __repr__(self):
        return "mac.MacFrame(type=%d seq=%d dst=%r src=%r cmd=%r len=%d)" % (
            self.ftype, self.seq, self.dst, self.src, self.cmd, len(self.payload))


def _mode_of(addr):
    if addr is None:
        return ADDR_NONE
    return ADDR_SHORT if addr <= 0xFFFF else ADDR_EXT


def _addr(mode, v):
    if mode == ADDR_SHORT:
        return v.to_bytes(2, "little")
    if mode == ADDR_EXT:
        return v.to_bytes(8, "little")
    return b""


def build(f, with_fcs=True):
    """Bytes of frame f (MHR || payload || FCS)."""
    if f.ftype not in (BEACON, DATA, ACK, COMMAND):
        raise Reject("format", None, "MAC frame type %d" % f.ftype)
    fc = (f.ftype | (0x10 if f.pending else 0) | (0x20 if f.ack_req else 0)
          | (0x40 if f.panid_comp else 0) | (f.dst_mode << 10) | (f.version << 12)
          | (f.src_mode << 14))
    out = bytearray(fc.to_bytes(2, "little"))
    out.append(f.seq & 0xFF)
    if f.dst_mode:
        out += f.dst_pan.to_bytes(2, "little") + _addr(f.dst_mode, f.dst)
    if f.src_mode:
        if not (f.panid_comp and f.dst_mode):
            out += f.src_pan.to_bytes(2, "little")
        out += _addr(f.src_mode, f.src)
    if f.ftype == BEACON:
        out += (f.superframe or 0).to_bytes(2, "little") + b"\x00\x00"  # no GTS, no pending addrs
    elif f.ftype == COMMAND:
        out.append(f.cmd)
    out += f.payload
    if with_fcs:
        out += fcs(out)
    return bytes(out)


def parse(data, with_fcs=True):
    """MacFrame of `data` (checking the FCS when with_fcs); Reject("format"/"fcs") on bad input."""
    data = bytes(data)
    if with_fcs:
        if len(data) < 5:
            raise Reject("format", None, "MAC frame too short")
        if fcs(data[:-2]) != data[-2:]:
            raise Reject("fcs", None, "MAC FCS mismatch")
        data = data[:-2]
    if len(data) < 3:
        raise Reject("format", None, "MAC frame too short")
    fc = data[0] | (data[1] << 8)
    ftype = fc & 7
    if ftype > COMMAND:
        raise Reject("format", None, "MAC frame type %d" % ftype)
    if fc & 0x08:
        raise Reject("format", None, "MAC security is not used by ZigBee")
    dmode = (fc >> 10) & 3
    smode = (fc >> 14) & 3
    if dmode == 1 or smode == 1:
        raise Reject("format", None, "reserved MAC addressing mode")
    comp = bool(fc & 0x40)
    p = 3
    dpan = dst = span = src = None

    def take(n):
        nonlocal p
        if p + n > len(data):
            raise Reject("format", None, "MAC header truncated")
        v = int.from_bytes(data[p:p + n], "little")
        p += n
        return v

    if dmode:
        dpan = take(2)
        dst = take(2 if dmode == ADDR_SHORT else 8)
    if smode:
        span = dpan if (comp and dmode) else take(2)
        src = take(2 if smode == ADDR_SHORT else 8)
    f = MacFrame(ftype, data[2], dst, dpan, src, span, dmode, smode, bool(fc & 0x20),
              bool(fc & 0x10), comp, (fc >> 12) & 3)
    if ftype == BEACON:
        sf = take(2)
        gts = take(1)
        if gts & 7:
            raise Reject("format", None, "GTS descriptors are not used")
        pend = take(1)
        p += 2 * (pend & 7) + 8 * ((pend >> 4) & 7)
        if p > len(data):
            raise Reject("format", None, "pending address list truncated")
        f.superframe = sf
    elif ftype == COMMAND:
        f.cmd = take(1)
        n = {CMD_ASSOC_REQ: 1, CMD_ASSOC_RSP: 3, CMD_DATA_REQ: 0, CMD_BEACON_REQ: 0}.get(f.cmd)
        if n is not None and len(data) - p != n:
            raise Reject("format", None, "MAC command 0x%02X length" % f.cmd)
    elif ftype == ACK and (dmode or smode or len(data) != 3):
        raise Reject("format", None, "MAC ack carries no addresses or payload")
    f.payload = data[p:]
    return f


# -- builders for the frames a join uses --------------------------------------------------------

def ack(seq, pending=False):
    return build(MacFrame(ACK, seq, pending=pending))


def beacon_request(seq):
    return build(MacFrame(COMMAND, seq, dst=BROADCAST, dst_pan=BROADCAST, dst_mode=ADDR_SHORT,
                       cmd=CMD_BEACON_REQ))


def beacon_payload(ext_pan, router_capacity=True, depth=0, end_device_capacity=True,
                   update_id=0):
    """ZigBee beacon payload (ZigBee spec Table 3.56): protocol id 0, stack profile 2 (PRO) and
    protocol version 2, capacity/depth byte, extended PAN ID, TX offset 0xFFFFFF, update id."""
    b = ((0x04 if router_capacity else 0) | ((depth & 0xF) << 3)
         | (0x80 if end_device_capacity else 0))
    return (b"\x00\x22" + bytes((b,)) + ext_pan.to_bytes(8, "little") + b"\xff\xff\xff"
            + bytes((update_id,)))


def beacon(seq, pan, src_short, ext_pan, permit_join=True, superframe=None):
    """Beacon of a non-beacon-enabled PAN coordinator (superframe: BO = SO = 15, final CAP slot
    15, PAN coordinator, association permit = permit_join)."""
    if superframe is None:
        superframe = 0x4FFF | (0x8000 if permit_join else 0)
    return build(MacFrame(BEACON, seq, src=src_short, src_pan=pan, src_mode=ADDR_SHORT,
                       superframe=superframe, payload=beacon_payload(ext_pan)))


def association_request(seq, pan, coord_short, device_ext, capability=0x80):
    """Association request (§7.3.1): to the coordinator, from the device's extended address with
    source PAN 0xFFFF; capability 0x80 = allocate address (a sleepy end device), 0x8E = router."""
    return build(MacFrame(COMMAND, seq, dst=coord_short, dst_pan=pan, src=device_ext,
                       src_pan=BROADCAST, src_mode=ADDR_EXT, ack_req=True, panid_comp=False,
                       cmd=CMD_ASSOC_REQ, payload=bytes((capability,))))


def association_response(seq, pan, device_ext, coord_ext, short, status):
    """Association response (§7.3.2): short address allocated (0xFFFF when refused) and status."""
    return build(MacFrame(COMMAND, seq, dst=device_ext, dst_pan=pan, src=coord_ext, src_pan=pan,
                       dst_mode=ADDR_EXT, src_mode=ADDR_EXT, ack_req=True, cmd=CMD_ASSOC_RSP,
                       payload=short.to_bytes(2, "little") + bytes((status,))))


def data_request(seq, pan, coord_short, device_ext):
    return build(MacFrame(COMMAND, seq, dst=coord_short, dst_pan=pan, src=device_ext, src_pan=pan,
                       src_mode=ADDR_EXT, ack_req=True, cmd=CMD_DATA_REQ))


def data(seq, pan, dst_short, src_short, payload, ack_req=None):
    """Data frame (short addresses, PAN ID compression); ack requested unless broadcast."""
    if ack_req is None:
        ack_req = dst_short != BROADCAST
    return build(MacFrame(DATA, seq, dst=dst_short, dst_pan=pan, src=src_short, src_pan=pan,
                       dst_mode=ADDR_SHORT, src_mode=ADDR_SHORT, ack_req=ack_req,
                       payload=payload))
