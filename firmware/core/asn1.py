"""A small ASN.1 DER codec for the GBCS DER use cases (GBCS §7.3 and its ASN.1 annex: CS02 credential
management, CS03/CS04 device log, CS06 firmware activation; X.690 §8 basic and §10 distinguished
encoding rules; X.509 certificates as RFC 5280 §4.1). Only what those use cases need: single-byte
tags, definite lengths of at most 3 length bytes, non-negative INTEGERs, and the ECDSA signature
value (RFC 5480 §2.2, ECDSA-Sig-Value) <-> the raw r||s the crypto code uses. Loaded on demand.

    el = head(buf, off)                 # (tag, s, e, h): content buf[s:e], header at h
    els = items(buf, s, e)              # [(tag, s, e, h), ...] of a constructed content
    n = uint(buf, s, e)                 # non-negative INTEGER / ENUMERATED content
    b = seq(integer(0), octets(b"..")) # encoders return bytes
    rs = sig_raw(der) / der = sig_der(rs)

Lengths are read in any definite form (RTDS writes every length >= 128 as 82 nn nn, a BER form
GBCS messages use) and written the same way, so answers match DCC's byte for byte. Malformed input
raises Reject("der", INTEGRITY_FAILED, ...): indefinite lengths, multi-byte tags, lengths past the
end, negative or non-minimal INTEGERs.
"""
from firmware.alerts import Reject, INTEGRITY_FAILED

BOOLEAN = 0x01
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
ENUMERATED = 0x0A
GENERALIZED_TIME = 0x18
SEQUENCE = 0x30
SET = 0x31


def _bad(what):
    return Reject("der", INTEGRITY_FAILED, what)


def head(buf, off, end=None):
    """(tag, content start, content end, header offset) of the element at `off` (in buf[:end])."""
    if end is None:
        end = len(buf)
    if off + 2 > end:
        raise _bad("truncated header")
    tag = buf[off]
    if tag & 0x1F == 0x1F:
        raise _bad("multi-byte tag")
    n = buf[off + 1]
    s = off + 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or s + k > end:
            raise _bad("length form")
        n = 0
        for i in range(k):
            n = (n << 8) | buf[s + i]
        s += k
    if s + n > end:
        raise _bad("length past the end")
    return tag, s, s + n, off


def items(buf, s, e):
    """The elements of constructed content buf[s:e], as (tag, start, end, header offset)."""
    out = []
    while s < e:
        el = head(buf, s, e)
        out.append(el)
        s = el[2]
    return out


def raw(buf, el):
    """The whole encoding (header + content) of element `el`."""
    return bytes(buf[el[3]:el[2]])


def expect(el, tag):
    if el[0] != tag:
        raise _bad("tag %02X where %02X expected" % (el[0], tag))
    return el


def uint(buf, s, e, size=9):
    """Value of a non-negative INTEGER / ENUMERATED content of at most `size` bytes."""
    if s >= e or e - s > size:
        raise _bad("integer length")
    if buf[s] & 0x80:
        raise _bad("negative integer")
    if e - s > 1 and buf[s] == 0 and not buf[s + 1] & 0x80:
        raise _bad("non-minimal integer")
    n = 0
    for i in range(s, e):
        n = (n << 8) | buf[i]
    return n


def length(n, minimal=False):
    """Length octets as GBCS writes them: short form below 128, else 82 nn nn; `minimal`: the
    X.690 §10.1 DER form (81 nn below 256), as certificates and certification requests use."""
    if n < 0x80:
        return bytes((n,))
    if minimal and n < 0x100:
        return bytes((0x81, n))
    if n < 0x10000:
        return bytes((0x82, n >> 8, n & 0xFF))
    raise _bad("length over 65535")


def tlv(tag, body, minimal=False):
    return bytes((tag,)) + length(len(body), minimal) + bytes(body)


def _ubytes(n):
    k = 1
    while n >> (8 * k):
        k += 1
    b = n.to_bytes(k, "big")
    return b"\x00" + b if b[0] & 0x80 else b


def integer(n, tag=INTEGER):
    """DER of a non-negative INTEGER (or ENUMERATED / implicitly tagged with `tag`)."""
    if n < 0:
        raise _bad("negative integer")
    return tlv(tag, _ubytes(n))


def enum(n):
    return integer(n, ENUMERATED)


def octets(b):
    return tlv(OCTET_STRING, b)


def null():
    return b"\x05\x00"


def seq(*parts):
    return tlv(SEQUENCE, b"".join(parts))


def sig_raw(buf, s=0, e=None):
    """r||s (64 bytes) of a DER ECDSA-Sig-Value SEQUENCE { r INTEGER, s INTEGER } for P-256."""
    t, cs, ce, _ = head(buf, s, e)
    if t != SEQUENCE:
        raise _bad("signature not a SEQUENCE")
    el = items(buf, cs, ce)
    if len(el) != 2:
        raise _bad("signature fields")
    out = b""
    for x in el:
        expect(x, INTEGER)
        v = uint(buf, x[1], x[2], 33)
        if v >> 256:
            raise _bad("signature value size")
        out += v.to_bytes(32, "big")
    return out


def sig_der(rs):
    """DER ECDSA-Sig-Value of a 64-byte r||s."""
    return seq(integer(int.from_bytes(rs[:32], "big")), integer(int.from_bytes(rs[32:], "big")))
