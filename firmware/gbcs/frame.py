"""GBCS message framing: MAC Header (general-ciphering, GBCS §7.2.5), Grouping Header
(general-signing, GBCS §7.2.7), signature field and MAC (shared/reference/gbcs.md §2).

    [DD 00*6 len 11 00000000] DF 09 cra ctr8 08 orig8 08 recip8 (00|0C dt12) len other-info
    len content [00 | 40 sig64] [mac12]

`parse(buf)` returns a `Message`; `build(msg)` gives back exactly the parsed bytes (all BER lengths are
minimal, which the parser enforces). The message keeps the offsets that authentication needs:
`signed()` (the bytes the KRP signature covers, §3.1) and `mac_aad()` (the GMAC AAD, §3.3).
"""
from firmware.compat import const
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.gbcs.ber import decode_len, encode_len

_TAG_CIPHER = const(0xDD)
_TAG_SIGN = const(0xDF)
CRA_COMMAND = const(1)
CRA_RESPONSE = const(2)
CRA_ALERT = const(3)

_SEC_HEADER = const(b"\x11\x00\x00\x00\x00")
_AAD_PREFIX = const(b"\x11\x00\x00\x00\x00\x00")  # gbcs.md §3.3 [U origin, V corpus]
_MAC_LEN = const(12)
_SIG_LEN = const(64)


def _fmt(detail):
    return Reject("format", INTEGRITY_FAILED, detail)


def _u64(b, p):
    n = 0
    for i in range(8):
        n = (n << 8) | b[p + i]
    return n


def u64(n):
    return bytes(((n >> s) & 0xFF for s in (56, 48, 40, 32, 24, 16, 8, 0)))


class Message:
    """Parsed form of one GBCS message.

    mac_header: a MAC Header is present (then `mac` holds the 12-byte MAC).
    signature: None = no signature-length field (pre-command), b"" = length 00, else 64 bytes r||s.
    date_time: None or the 12-byte DLMS date-time of the Grouping Header.
    Other-information: message_code, supp_remote_id (8 bytes), supp_remote_counter,
    supp_orig_counter (ints) and ka_cert (DER bytes), each None when absent.
    """

    __slots__ = ("mac_header", "cra", "counter", "originator", "recipient", "date_time",
                 "message_code", "supp_remote_id", "supp_remote_counter", "supp_orig_counter",
                 "ka_cert", "content", "signature", "mac", "raw", "gs_start", "signed_end",
                 "sig_end")

    def __init__(self, cra=CRA_COMMAND, counter=0, originator=b"", recipient=b"", message_code=0,
                 content=b"", date_time=None, signature=b"", mac_header=True, mac=None):
        self.mac_header = mac_header
        self.cra = cra
        self.counter = counter
        self.originator = originator
        self.recipient = recipient
        self.date_time = date_time
        self.message_code = message_code
        self.supp_remote_id = None
        self.supp_remote_counter = None
        self.supp_orig_counter = None
        self.ka_cert = None
        self.content = content
        self.signature = signature
        self.mac = mac
        self.raw = None
        self.gs_start = self.signed_end = self.sig_end = 0

    # --- authentication views of the raw bytes (valid after parse() or build()) ---
    def signed(self):
        """Bytes covered by the KRP signature: after the DF tag through the last content byte."""
        return memoryview(self.raw)[self.gs_start + 1:self.signed_end]

    def mac_aad(self):
        """GMAC AAD: 11 00 00 00 00 00 || DF … end of the signature field."""
        return _AAD_PREFIX + bytes(memoryview(self.raw)[self.gs_start:self.sig_end])

    def other_info(self):
        oi = bytes(((self.message_code >> 8) & 0xFF, self.message_code & 0xFF))
        if self.supp_remote_id is not None:
            oi += self.supp_remote_id
            if self.supp_remote_counter is not None:
                oi += u64(self.supp_remote_counter)
                if self.supp_orig_counter is not None:
                    oi += u64(self.supp_orig_counter)
                elif self.ka_cert is not None:
                    oi += self.ka_cert
        return oi


def _parse_other_info(m, oi):
    n = len(oi)
    if n < 2:
        raise _fmt("other-information too short")
    m.message_code = (oi[0] << 8) | oi[1]
    if n == 2:
        return
    if n < 10:
        raise _fmt("bad other-information length %d" % n)
    m.supp_remote_id = bytes(oi[2:10])
    if n == 10:
        return
    if n < 18:
        raise _fmt("bad other-information length %d" % n)
    m.supp_remote_counter = _u64(oi, 10)
    if n == 18:
        return
    if n == 26:
        m.supp_orig_counter = _u64(oi, 18)
        return
    if oi[18] != 0x30:
        raise _fmt("other-information: certificate expected")
    ln, p = decode_len(oi, 19, n)
    if p + ln != n:
        raise _fmt("other-information: certificate length")
    m.ka_cert = bytes(oi[18:])


def parse(buf):
    """Parse one GBCS message; raise Reject("format", 0x8F1E) on any malformation."""
    if not isinstance(buf, (bytes, bytearray)):
        buf = bytes(buf)
    end = len(buf)
    m = Message()
    m.raw = buf
    p = 0
    if end < 1:
        raise _fmt("empty message")
    if buf[0] == _TAG_CIPHER:
        m.mac_header = True
        if end < 7 or buf[1:7] != b"\x00\x00\x00\x00\x00\x00":
            raise _fmt("MAC Header fields")
        ln, p = decode_len(buf, 7, end)
        if p + ln != end:
            raise _fmt("MAC Header length %d != %d" % (ln, end - p))
        if buf[p:p + 5] != _SEC_HEADER:
            raise _fmt("security header")
        p += 5
        if end - p < _MAC_LEN + 1:
            raise _fmt("too short for MAC")
        gend = end - _MAC_LEN
        m.mac = bytes(buf[gend:])
    else:
        m.mac_header = False
        gend = end
    if p >= gend or buf[p] != _TAG_SIGN:
        raise _fmt("general-signing tag expected")
    m.gs_start = p
    p += 1
    # transaction-id: 09 cra counter8
    if gend - p < 9 + 1 + 9 + 9 + 1 or buf[p] != 9:
        raise _fmt("transaction-id")
    cra = buf[p + 1]
    if cra < 1 or cra > 3:
        raise _fmt("CRA flag %d" % cra)
    m.cra = cra
    m.counter = _u64(buf, p + 2)
    p += 10
    if buf[p] != 8:
        raise _fmt("originator system title")
    m.originator = bytes(buf[p + 1:p + 9])
    p += 9
    if buf[p] != 8:
        raise _fmt("recipient system title")
    m.recipient = bytes(buf[p + 1:p + 9])
    p += 9
    dl = buf[p]
    if dl == 0:
        m.date_time = None
        p += 1
    elif dl == 12:
        if p + 13 > gend:
            raise _fmt("date-time truncated")
        m.date_time = bytes(buf[p + 1:p + 13])
        p += 13
    else:
        raise _fmt("date-time length %d" % dl)
    ln, p = decode_len(buf, p, gend)
    _parse_other_info(m, memoryview(buf)[p:p + ln])
    p += ln
    ln, p = decode_len(buf, p, gend)
    m.content = bytes(buf[p:p + ln])
    p += ln
    m.signed_end = p
    if p == gend:
        if m.mac_header:
            raise _fmt("signature-length field missing")
        m.signature = None
    else:
        sl = buf[p]
        if sl == 0:
            m.signature = b""
            p += 1
        elif sl == _SIG_LEN:
            if p + 1 + _SIG_LEN > gend:
                raise _fmt("signature truncated")
            m.signature = bytes(buf[p + 1:p + 1 + _SIG_LEN])
            p += 1 + _SIG_LEN
        else:
            raise _fmt("signature length %d" % sl)
        if p != gend:
            raise _fmt("%d trailing bytes" % (gend - p))
    m.sig_end = p
    return m


def build_grouping(m):
    """General-Signing APDU (DF … signature field) and the signed-region offsets in it."""
    oi = m.other_info()
    parts = [b"\xDF\x09", bytes((m.cra,)), u64(m.counter), b"\x08", m.originator, b"\x08", m.recipient]
    if m.date_time is None:
        parts.append(b"\x00")
    else:
        if len(m.date_time) != 12:
            raise _fmt("date-time must be 12 bytes")
        parts.append(b"\x0C")
        parts.append(m.date_time)
    parts.append(encode_len(len(oi)))
    parts.append(oi)
    parts.append(encode_len(len(m.content)))
    parts.append(m.content)
    body = b"".join(parts)
    signed_end = len(body)
    if m.signature is not None:
        if len(m.signature) == 0:
            body += b"\x00"
        elif len(m.signature) == _SIG_LEN:
            body += b"\x40" + m.signature
        else:
            raise _fmt("signature must be 0 or 64 bytes")
    return body, signed_end


def build(m, mac=None):
    """Serialise m; with a MAC Header the 12-byte MAC is `mac` (or m.mac, or 12 zero bytes as a
    placeholder to be filled by the caller). Sets m.raw and the offsets."""
    body, signed_end = build_grouping(m)
    if m.mac_header:
        if mac is None:
            mac = m.mac if m.mac is not None else bytes(12)
        if len(mac) != _MAC_LEN:
            raise _fmt("MAC must be 12 bytes")
        inner = len(_SEC_HEADER) + len(body) + _MAC_LEN
        head = b"\xDD\x00\x00\x00\x00\x00\x00" + encode_len(inner) + _SEC_HEADER
        raw = head + body + mac
        m.mac = bytes(mac)
        off = len(head)
    else:
        raw = body
        off = 0
    m.raw = raw
    m.gs_start = off
    m.signed_end = off + signed_end
    m.sig_end = off + len(body)
    return raw


def set_mac(m, mac):
    """Replace the trailing MAC of a built message (m.raw) and return the new bytes."""
    m.mac = bytes(mac)
    m.raw = m.raw[:len(m.raw) - _MAC_LEN] + m.mac
    return m.raw
