"""DLMS/COSEM subset used by GBCS payloads: A-XDR data, the xDLMS ACCESS service request (D9) and
response (DA) (shared/reference/gbcs.md §7.1; IEC 62056-5-3 ACCESS service, A-XDR encoding).

Data values are (tag, value) tuples: null (0, None); array/structure (1|2, [items]); boolean
(3, bool); bit-string (4, (nbits, bytes)); integers (tag, int); octet/visible/utf8 strings and
fixed-size date-time/float types (tag, bytes). `decode(buf)` / `encode(item)` round-trip exactly.
"""
from firmware.compat import const
from firmware.alerts import Reject, INTEGRITY_FAILED

NULL = const(0x00)
ARRAY = const(0x01)
STRUCTURE = const(0x02)
BOOLEAN = const(0x03)
BIT_STRING = const(0x04)
DOUBLE_LONG = const(0x05)
_DOUBLE_LONG_UNSIGNED = const(0x06)
OCTET_STRING = const(0x09)
_VISIBLE_STRING = const(0x0A)
_UTF8_STRING = const(0x0C)
INTEGER = const(0x0F)
_LONG = const(0x10)
UNSIGNED = const(0x11)
LONG_UNSIGNED = const(0x12)
_LONG64 = const(0x14)
_LONG64_UNSIGNED = const(0x15)
ENUM = const(0x16)

GET = const(1)
SET = const(2)
ACTION = const(3)

# data-access-result / action-result codes
SUCCESS = const(0)
HARDWARE_FAULT = const(1)
TEMPORARY_FAILURE = const(2)
READ_WRITE_DENIED = const(3)
OBJECT_UNDEFINED = const(4)
OBJECT_CLASS_INCONSISTENT = const(9)
OBJECT_UNAVAILABLE = const(11)
TYPE_UNMATCHED = const(12)
SCOPE_OF_ACCESS_VIOLATED = const(13)
OTHER_REASON = const(250)

TAG_REQUEST = const(0xD9)
TAG_RESPONSE = const(0xDA)
_TAG_NOTIFICATION = const(0x0F)

# integer tags: size, signed
_INTS = {0x05: (4, True), 0x06: (4, False), 0x0D: (1, False), 0x0F: (1, True), 0x10: (2, True),
         0x11: (1, False), 0x12: (2, False), 0x14: (8, True), 0x15: (8, False), 0x16: (1, False)}
# fixed-size opaque: float32, float64, date-time, date, time
_FIXED = {0x17: 4, 0x18: 8, 0x19: 12, 0x1A: 5, 0x1B: 4}
_STRINGS = (0x09, 0x0A, 0x0C)
_MAX_DEPTH = const(8)
_COMPACT_ARRAY = const(0x13)
GET_WITH_SELECTION = const(4)
SET_WITH_SELECTION = const(5)


def _fmt(detail):
    return Reject("format", INTEGRITY_FAILED, "DLMS: " + detail)


def read_len(buf, p, end):
    """A-XDR length / count (short form or 0x81/0x82 long form)."""
    if p >= end:
        raise _fmt("length missing")
    b = buf[p]
    if b < 0x80:
        return b, p + 1
    k = b & 0x7F
    if k == 0 or k > 2 or p + 1 + k > end:
        raise _fmt("_fmt length form")
    n = 0
    for i in range(k):
        n = (n << 8) | buf[p + 1 + i]
    if n < 0x80 or (k == 2 and n < 0x100):
        raise _fmt("non-minimal length")
    return n, p + 1 + k


def enc_len(n):
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    return bytes((0x82, n >> 8, n & 0xFF))


def decode_at(buf, p, end, depth=0):
    """Decode one data item at buf[p]; return (item, next_pos)."""
    if p >= end:
        raise _fmt("data truncated")
    if depth > _MAX_DEPTH:
        raise _fmt("nesting too deep")
    t = buf[p]
    p += 1
    if t == NULL:
        return (t, None), p
    if t == ARRAY or t == STRUCTURE:
        n, p = read_len(buf, p, end)
        items = []
        for _ in range(n):
            it, p = decode_at(buf, p, end, depth + 1)
            items.append(it)
        return (t, items), p
    if t == BOOLEAN:
        if p >= end:
            raise _fmt("boolean truncated")
        return (t, buf[p] != 0), p + 1
    if t == BIT_STRING:
        nbits, p = read_len(buf, p, end)
        nb = (nbits + 7) >> 3
        if p + nb > end:
            raise _fmt("bit-string truncated")
        return (t, (nbits, bytes(buf[p:p + nb]))), p + nb
    if t in _STRINGS:
        n, p = read_len(buf, p, end)
        if p + n > end:
            raise _fmt("string truncated")
        return (t, bytes(buf[p:p + n])), p + n
    if t in _INTS:
        size, signed = _INTS[t]
        if p + size > end:
            raise _fmt("integer truncated")
        v = 0
        for i in range(size):
            v = (v << 8) | buf[p + i]
        if signed and v >= (1 << (8 * size - 1)):
            v -= 1 << (8 * size)
        return (t, v), p + size
    if t in _FIXED:
        size = _FIXED[t]
        if p + size > end:
            raise _fmt("fixed value truncated")
        return (t, bytes(buf[p:p + size])), p + size
    if t == _COMPACT_ARRAY:
        q = _skip_typedesc(buf, p, end, depth)
        n, r = read_len(buf, q, end)
        if r + n > end:
            raise _fmt("compact-array truncated")
        return (t, (bytes(buf[p:q]), bytes(buf[r:r + n]))), r + n
    raise _fmt("unsupported data tag 0x%02X" % t)


def _skip_typedesc(buf, p, end, depth):
    """Skip a compact-array type description; return the position after it."""
    if p >= end or depth > _MAX_DEPTH:
        raise _fmt("type description")
    t = buf[p]
    p += 1
    if t == STRUCTURE:
        n, p = read_len(buf, p, end)
        for _ in range(n):
            p = _skip_typedesc(buf, p, end, depth + 1)
        return p
    if t == ARRAY:
        return _skip_typedesc(buf, p + 2, end, depth + 1)
    if t == NULL or t == BOOLEAN or t == BIT_STRING or t in _STRINGS or t in _INTS or t in _FIXED:
        return p
    raise _fmt("type description tag 0x%02X" % t)


def decode(buf):
    item, p = decode_at(buf, 0, len(buf))
    if p != len(buf):
        raise _fmt("trailing bytes after data")
    return item


def encode(item, out=None):
    """Encode a (tag, value) item; returns bytes (or appends to bytearray `out`)."""
    top = out is None
    if top:
        out = bytearray()
    t, v = item
    out.append(t)
    if t == NULL:
        pass
    elif t == ARRAY or t == STRUCTURE:
        out += enc_len(len(v))
        for it in v:
            encode(it, out)
    elif t == BOOLEAN:
        out.append(0xFF if v else 0x00)
    elif t == BIT_STRING:
        out += enc_len(v[0])
        out += v[1]
    elif t in _STRINGS:
        out += enc_len(len(v))
        out += v
    elif t in _INTS:
        size = _INTS[t][0]
        v &= (1 << (8 * size)) - 1
        for s in range(size - 1, -1, -1):
            out.append((v >> (8 * s)) & 0xFF)
    elif t == _COMPACT_ARRAY:
        out += v[0]
        out += enc_len(len(v[1]))
        out += v[1]
    elif t in _FIXED:
        if len(v) != _FIXED[t]:
            raise _fmt("fixed value size")
        out += v
    else:
        raise _fmt("cannot encode tag 0x%02X" % t)
    return bytes(out) if top else out


class Request:
    """Decoded access-request: invoke_id (int), date_time (bytes or None), specs [(kind,
    class_id, obis6, attr_or_method)], selections [None or (selector, item)] (get/set-with-selection
    only), data [(tag, value)] (one per spec)."""

    __slots__ = ("invoke_id", "date_time", "specs", "selections", "data")


def parse_request(buf):
    end = len(buf)
    if end < 7 or buf[0] != TAG_REQUEST:
        raise _fmt("access-request tag expected")
    r = Request()
    r.invoke_id = (buf[1] << 24) | (buf[2] << 16) | (buf[3] << 8) | buf[4]
    p = 5
    dl = buf[p]
    if dl == 0:
        r.date_time = None
        p += 1
    elif dl == 12 and p + 13 <= end:
        r.date_time = bytes(buf[p + 1:p + 13])
        p += 13
    else:
        raise _fmt("access-request date-time")
    n, p = read_len(buf, p, end)
    specs = []
    sels = []
    for _ in range(n):
        if p + 10 > end:
            raise _fmt("request specification truncated")
        kind = buf[p]
        if kind < GET or kind > SET_WITH_SELECTION:
            raise _fmt("request kind %d" % kind)
        specs.append((kind, (buf[p + 1] << 8) | buf[p + 2], bytes(buf[p + 3:p + 9]), buf[p + 9]))
        p += 10
        if kind >= GET_WITH_SELECTION:
            if p >= end:
                raise _fmt("access-selector missing")
            sel = buf[p]
            it, p = decode_at(buf, p + 1, end)
            sels.append((sel, it))
        else:
            sels.append(None)
    nd, p = read_len(buf, p, end)
    if nd != n:
        raise _fmt("%d data items for %d specifications" % (nd, n))
    data = []
    for _ in range(nd):
        it, p = decode_at(buf, p, end)
        data.append(it)
    if p != end:
        raise _fmt("trailing bytes after access-request")
    r.specs = specs
    r.selections = sels
    r.data = data
    return r


def build_response(invoke_id, results):
    """access-response: results is a list of (kind, result_code, data_item_or_None)."""
    out = bytearray((TAG_RESPONSE, (invoke_id >> 24) & 0xFF, (invoke_id >> 16) & 0xFF,
                     (invoke_id >> 8) & 0xFF, invoke_id & 0xFF, 0x00, 0x00))
    out += enc_len(len(results))
    for _, _, item in results:
        encode(item if item is not None else (NULL, None), out)
    out += enc_len(len(results))
    for kind, code, _ in results:
        out.append(kind)
        out.append(code)
    return bytes(out)
