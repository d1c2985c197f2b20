"""DLMS client side of the GBCS access-request / access-response subset (GBCS §7.2.14 / DLMS Green
Book as summarised in shared/reference/gbcs.md §7): building access-requests and parsing
access-responses, as a head end (host tools, tests) does. The device is the server side
(firmware/gbcs/dlms.py: parse_request, build_response) and never loads this module; both sides use
the one item codec in dlms.py.
"""
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.gbcs.dlms import (TAG_REQUEST, TAG_RESPONSE, GET_WITH_SELECTION, encode, decode_at,
                                read_len, enc_len)


def _fmt(detail):
    return Reject("format", INTEGRITY_FAILED, "DLMS: " + detail)


def build_request(invoke_id, specs, data, date_time=None, selections=None):
    out = bytearray((TAG_REQUEST, (invoke_id >> 24) & 0xFF, (invoke_id >> 16) & 0xFF,
                     (invoke_id >> 8) & 0xFF, invoke_id & 0xFF))
    if date_time is None:
        out.append(0)
    else:
        out.append(12)
        out += date_time
    out += enc_len(len(specs))
    for i in range(len(specs)):
        kind, cid, obis, aid = specs[i]
        out.append(kind)
        out.append(cid >> 8)
        out.append(cid & 0xFF)
        out += obis
        out.append(aid)
        if kind >= GET_WITH_SELECTION:
            sel, it = selections[i]
            out.append(sel)
            encode(it, out)
    out += enc_len(len(data))
    for it in data:
        encode(it, out)
    return bytes(out)


def parse_response(buf):
    """Return (invoke_id, [data items], [(kind, result)])."""
    end = len(buf)
    if end < 8 or buf[0] != TAG_RESPONSE:
        raise _fmt("access-response tag expected")
    inv = (buf[1] << 24) | (buf[2] << 16) | (buf[3] << 8) | buf[4]
    if buf[5] != 0 or buf[6] != 0:
        raise _fmt("access-response date-time / request list not supported")
    n, p = read_len(buf, 7, end)
    data = []
    for _ in range(n):
        it, p = decode_at(buf, p, end)
        data.append(it)
    m, p = read_len(buf, p, end)
    res = []
    for _ in range(m):
        if p + 2 > end:
            raise _fmt("result truncated")
        res.append((buf[p], buf[p + 1]))
        p += 2
    if p != end:
        raise _fmt("trailing bytes after access-response")
    return inv, data, res
