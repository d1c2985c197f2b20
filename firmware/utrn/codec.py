"""UTRN codec: 20 decimal digits = 19-digit PPTD + GBCS check digit (GBCS §14.8, a Verhoeff
variant with GBCS tables 14.8a/b/c); PPTD = PTUT + 7394156990786306048; PTUT (64 bits) =
7 zero bits | 10-bit truncated UTRN counter | 2-bit value class | 13-bit value | 32-bit MAC.
Reference: shared/reference/gbcs.md §9.1-9.2.

Pure functions, no state. Every malformed input raises Reject(..., UTRN_NOT_AUTHENTIC): the meter
cannot tell a typo from a forgery, and both count towards the keypad lockout.
"""
from firmware.alerts import Reject, UTRN_NOT_AUTHENTIC
from firmware.compat import const

PPTD_OFFSET = const(7394156990786306048)  # 0x669D529B714A0000
PTUT_LIMIT = const(1 << 57)  # top 7 PTUT bits are zero

CLASS_PENNIES = const(0)  # value in 1/100 currency unit
CLASS_POUNDS = const(1)  # value in currency units
CLASS_CONFIG = const(2)  # project extension: configuration code (docs/config-codes.md)
CLASS_RESERVED = const(3)  # unused by GBCS and by this project: always rejected

# GBCS Table 14.8a (A[k][d]), 14.8b (B[c][x]), 14.8c (C[c]); rows as 10-char strings (small heap)
_A = (
    b"0123456789",
    b"1576283094",
    b"5803796142",
    b"8916043527",
    b"9453126870",
    b"4286573901",
    b"2793806415",
    b"7046913258",
)
_B = (
    b"0123456789",
    b"1234067895",
    b"2340178956",
    b"3401289567",
    b"4012395678",
    b"5987604321",
    b"6598710432",
    b"7659821043",
    b"8765932104",
    b"9876543210",
)
_C = b"1267583094"
_ZERO = const(48)  # ord("0")


def check_digit(pptd_digits):
    """GBCS check digit (an int 0..9) of a 19-digit PPTD given as str/bytes of ASCII digits."""
    c = 0
    k = 4
    for ch in pptd_digits:
        d = (ch if isinstance(ch, int) else ord(ch)) - _ZERO
        c = _B[c][_A[k][d] - _ZERO] - _ZERO
        k = (k + 1) & 7
    return _C[c] - _ZERO


def _digits(utrn):
    """The 20-character ASCII digit string of a UTRN given as str, bytes or bytearray."""
    if isinstance(utrn, (bytes, bytearray, memoryview)):
        try:
            utrn = bytes(utrn).decode()
        except UnicodeError:
            raise Reject("format", UTRN_NOT_AUTHENTIC, "not ASCII")
    if not isinstance(utrn, str):
        raise Reject("format", UTRN_NOT_AUTHENTIC, "not a string")
    if len(utrn) != 20:
        raise Reject("format", UTRN_NOT_AUTHENTIC, "%d digits, need 20" % len(utrn))
    for ch in utrn:
        if ch < "0" or ch > "9":
            raise Reject("format", UTRN_NOT_AUTHENTIC, "non-digit")
    return utrn


class Ptut:
    """Decoded PTUT fields: trunc (10-bit truncated counter), vclass, value, mac (4 bytes), hi32."""

    __slots__ = ("trunc", "vclass", "value", "mac", "hi32")

    def __init__(self, trunc, vclass, value, mac):
        self.trunc = trunc
        self.vclass = vclass
        self.value = value
        self.mac = mac
        self.hi32 = (trunc << 15) | (vclass << 13) | value

    def hi_bytes(self):
        return self.hi32.to_bytes(4, "big")

    def amount_pennies(self):
        """Credit in pennies for the top-up classes; None for other classes."""
        if self.vclass == CLASS_PENNIES:
            return self.value
        if self.vclass == CLASS_POUNDS:
            return self.value * 100
        return None


def decode(utrn):
    """Parse and check a UTRN: 20 digits, check digit, PTUT range -> Ptut. Does not check the class
    (the acceptance function decides which classes it takes) nor the MAC."""
    s = _digits(utrn)
    if check_digit(s[:19]) != ord(s[19]) - _ZERO:
        raise Reject("check_digit", UTRN_NOT_AUTHENTIC, "check digit")
    pptd = int(s[:19])
    ptut = pptd - PPTD_OFFSET
    if ptut < 0 or ptut >= PTUT_LIMIT:
        raise Reject("range", UTRN_NOT_AUTHENTIC, "PTUT out of range")
    hi = ptut >> 32
    return Ptut((hi >> 15) & 0x3FF, (hi >> 13) & 3, hi & 0x1FFF, (ptut & 0xFFFFFFFF).to_bytes(4, "big"))


def encode(trunc, vclass, value, mac4):
    """The 20-digit UTRN string for PTUT fields (host tools and tests build codes with this)."""
    if not (0 <= trunc < 1024 and 0 <= vclass < 4 and 0 <= value < 8192 and len(mac4) == 4):
        raise Reject("format", None, "PTUT field out of range")
    ptut = (((trunc << 15) | (vclass << 13) | value) << 32) | int.from_bytes(bytes(mac4), "big")
    s = str(ptut + PPTD_OFFSET)
    return s + chr(_ZERO + check_digit(s))
