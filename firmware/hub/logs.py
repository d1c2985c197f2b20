"""The Comms Hub Function's DLMS logs (IC 7 profile generic, buffer attribute 2, read with a range
selector; GBCS ECS35c security log 0-0:99.98.0.255, ECS35d event log 0-0:99.98.1.255, DBCH02
dual-band channel log 0-0:94.44.10.3; shared/reference/usecases.md): bounded durable logs of
(UTC seconds since 2000-01-01, event code[, detail octets]) and their selective read.

    append(store, obis6, t2000, code, detail=None)
    item = select(store, obis6, selection)       # (compact-array item) or None: selector not served

A read answers a compact-array whose type description is the log's columns (double-long-unsigned
time, long-unsigned code, and for the security and DBCH logs an octet-string detail), holding the
entries whose time lies in the range descriptor's [from, to] (selector 1, restricting object the
UTC time, IEC 62056-6-2 IC 7 range_descriptor), oldest first.
"""
import struct
from firmware.compat import const
from firmware.gbcs import dlms

SECURITY = const(b"\x00\x00\x63\x62\x00\xFF")
EVENT = const(b"\x00\x00\x63\x62\x01\xFF")
DBCH = const(b"\x00\x00\x5E\x2C\x0A\x03")
EPOCH_2000 = const(946684800)  # seconds from 1970-01-01 to 2000-01-01
SIZE = const(64)

# obis -> (store log name, has a detail column)
_LOGS = {SECURITY: ("h_seclog", True), EVENT: ("h_evtlog", False), DBCH: ("h_dbchlog", True)}


def known(obis):
    return bytes(obis) in _LOGS


def append(store, obis, t2000, code, detail=None):
    """Append one entry (one store log write)."""
    name, det = _LOGS[bytes(obis)]
    e = struct.pack(">IH", t2000, code)
    if det:
        e += bytes(detail or b"")[:255]
    store.log(name, SIZE).append(e)


def entries(store, obis):
    name, det = _LOGS[bytes(obis)]
    out = []
    for e in store.log(name, SIZE).entries():
        t, c = struct.unpack(">IH", e[:6])
        out.append((t, c, bytes(e[6:]) if det else None))
    return out


def select(store, obis, sel):
    """The compact-array answer of a range-selective read, or None (a selector other than the range
    descriptor, or a malformed one)."""
    if sel is None:
        lo, hi = 0, 0xFFFFFFFF
    else:
        kind, arg = sel
        if kind != 1 or arg[0] != dlms.STRUCTURE or len(arg[1]) < 3:
            return None
        lo, hi = arg[1][1], arg[1][2]
        if lo[0] != 0x06 or hi[0] != 0x06:
            return None
        lo, hi = lo[1], hi[1]
    det = _LOGS[bytes(obis)][1]
    body = bytearray()
    for t, c, d in entries(store, obis):
        if lo <= t <= hi:
            body += struct.pack(">IH", t, c)
            if det:  # compact-array contents carry no type tags (A-XDR)
                body.append(len(d))
                body += d
    desc = b"\x02\x03\x06\x12\x09" if det else b"\x02\x02\x06\x12"
    return (0x13, (desc, bytes(body)))
