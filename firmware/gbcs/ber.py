"""BER length octets as used by GBCS MAC and Grouping Headers (gbcs.md §2.3; X.690 §8.1.3).

Short form 0x00-0x7F and long forms 0x81 nn, 0x82 nn nn, 0x83 nn nn nn. Decoding is strict: the long
form must be minimal (DER rule), longer forms are rejected and a length must not run past the buffer.
"""
from firmware.alerts import Reject, INTEGRITY_FAILED


def fmt(detail):
    return Reject("format", INTEGRITY_FAILED, detail)


def decode_len(buf, pos, end):
    """Return (length, next_pos); the length's content must fit in buf[next_pos:end]."""
    if pos >= end:
        raise fmt("length missing at %d" % pos)
    b = buf[pos]
    pos += 1
    if b < 0x80:
        n = b
    else:
        k = b & 0x7F
        if k == 0 or k > 3:
            raise fmt("unsupported BER length form 0x%02X" % b)
        if pos + k > end:
            raise fmt("truncated BER length")
        n = 0
        for i in range(k):
            n = (n << 8) | buf[pos + i]
        pos += k
        # minimal encoding only
        if n < 0x80 or (k > 1 and n < (1 << (8 * (k - 1)))):
            raise fmt("non-minimal BER length")
    if pos + n > end:
        raise fmt("length %d runs past the buffer" % n)
    return n, pos


def encode_len(n):
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    if n < 0x10000:
        return bytes((0x82, n >> 8, n & 0xFF))
    if n < 0x1000000:
        return bytes((0x83, n >> 16, (n >> 8) & 0xFF, n & 0xFF))
    raise Reject("format", INTEGRITY_FAILED, "length too large")
