"""ZigBee Cluster Library frame header (ZCL rev. 6, 07-5123, §2.4.1) and the clusters the Comms
Hub uses: Basic 0x0000, Metering 0x0702, Prepayment 0x0705, ZSE Tunneling 0x0704 and Key
Establishment 0x0800 (ZSE 1.x, profile 0x0109).

Frame control (1 byte): bits 0-1 frame type (0 profile-wide/global, 1 cluster-specific),
2 manufacturer specific, 3 direction (1 = server to client), 4 disable default response. Then the
manufacturer code (2 bytes LE, only when manufacturer specific), transaction sequence number and
command identifier; the rest is the command payload.
"""
from firmware.alerts import Reject
from firmware.compat import const

GLOBAL = const(0)
CLUSTER = const(1)

TO_SERVER = const(0)
TO_CLIENT = const(1)

BASIC = const(0x0000)
METERING = const(0x0702)
TUNNELING = const(0x0704)
PREPAYMENT = const(0x0705)
KEY_ESTABLISHMENT = const(0x0800)
CLUSTERS = (BASIC, METERING, TUNNELING, PREPAYMENT, KEY_ESTABLISHMENT)

# global (profile-wide) commands
READ_ATTRIBUTES = const(0x00)
READ_ATTRIBUTES_RSP = const(0x01)
DEFAULT_RSP = const(0x0B)

# ZSE Tunneling cluster commands (client -> server / server -> client)
TUNNEL_REQUEST = const(0x00)
TUNNEL_CLOSE = const(0x01)
TUNNEL_TRANSFER = const(0x02)  # TransferData, both directions
TUNNEL_REQUEST_RSP = const(0x00)


class Header:
    __slots__ = ("ftype", "mfr", "direction", "no_default_rsp", "seq", "cmd")

    def __init__(self, ftype, seq, cmd, direction=TO_SERVER, no_default_rsp=False, mfr=None):
        self.ftype = ftype
        self.seq = seq
        self.cmd = cmd
        self.direction = direction
        self.no_default_rsp = no_default_rsp
        self.mfr = mfr

    def __repr__(self):
        return "zcl.Header(type=%d dir=%d seq=%d cmd=0x%02X mfr=%r)" % (
            self.ftype, self.direction, self.seq, self.cmd, self.mfr)


def build(h, payload=b""):
    fc = (h.ftype | (0x04 if h.mfr is not None else 0) | (h.direction << 3)
          | (0x10 if h.no_default_rsp else 0))
    out = bytes((fc,))
    if h.mfr is not None:
        out += h.mfr.to_bytes(2, "little")
    return out + bytes((h.seq & 0xFF, h.cmd)) + bytes(payload)


def parse(data):
    """(Header, payload) of a ZCL frame; Reject("format") on a truncated or reserved header."""
    data = bytes(data)
    if len(data) < 3:
        raise Reject("format", None, "ZCL header truncated")
    fc = data[0]
    ftype = fc & 3
    if ftype > CLUSTER or fc & 0xE0:
        raise Reject("format", None, "reserved ZCL frame control bits")
    p = 1
    mfr = None
    if fc & 0x04:
        if len(data) < 5:
            raise Reject("format", None, "ZCL header truncated")
        mfr = data[1] | (data[2] << 8)
        p = 3
    h = Header(ftype, data[p], data[p + 1], (fc >> 3) & 1, bool(fc & 0x10), mfr)
    return h, data[p + 2:]


def read_attributes(ids):
    """Payload of a Read Attributes command: attribute ids, 2 bytes LE each."""
    return b"".join(i.to_bytes(2, "little") for i in ids)


def parse_read_attributes(payload):
    if len(payload) % 2:
        raise Reject("format", None, "Read Attributes payload length")
    return [payload[i] | (payload[i + 1] << 8) for i in range(0, len(payload), 2)]


def default_response(cmd, status):
    return bytes((cmd, status))
