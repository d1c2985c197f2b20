"""GBCS key derivation: NIST SP 800-56A rev.2 §5.8.1 single-step (concatenation) KDF with SHA-256,
and the GBCS OtherInfo (GBCS §4.3.3.3; shared/reference/gbcs.md §3.2):

    OtherInfo = 60 85 74 06 08 03 00 || originator system title (8) || 09 || U || counter (8)
                || recipient system title (8)
    K = SHA-256(00 00 00 01 || Z || OtherInfo)[0:16]
"""
import hashlib
from firmware.alerts import Reject

ALGORITHM_ID = b"\x60\x85\x74\x06\x08\x03\x00"
U_COMMAND = 1
U_RESPONSE = 2
U_ALERT = 3
U_PAYLOAD = 4


def kdf_sha256(z, otherinfo, nbytes):
    """SP 800-56A single-step KDF: SHA-256(counter32 || Z || OtherInfo) blocks, truncated."""
    if nbytes < 1 or nbytes > 32 * 255:
        raise Reject("format", None, "KDF length out of range")
    out = b""
    c = 1
    while len(out) < nbytes:
        h = hashlib.sha256(c.to_bytes(4, "big"))
        h.update(z)
        h.update(otherinfo)
        out += h.digest()
        c += 1
    return out[:nbytes]


def gbcs_otherinfo(originator8, u, counter8, recipient8):
    """The 33-byte GBCS OtherInfo. counter8 may be 8 bytes or an int."""
    if isinstance(counter8, int):
        if counter8 < 0 or counter8 >= 1 << 64:
            raise Reject("format", None, "KDF counter out of range")
        counter8 = counter8.to_bytes(8, "big")
    if len(originator8) != 8 or len(recipient8) != 8 or len(counter8) != 8:
        raise Reject("format", None, "KDF originator/counter/recipient must be 8 bytes")
    if not isinstance(u, int) or u < 1 or u > 4:
        raise Reject("format", None, "KDF U must be 1..4")
    return ALGORITHM_ID + bytes(originator8) + bytes((9, u)) + bytes(counter8) + bytes(recipient8)


def gbcs_kdf(z32, originator8, u, counter8, recipient8):
    """GBCS AES-128 key from the ECDH shared secret Z (32 bytes): returns 16 bytes."""
    from firmware.crypto.gmac import gbcs_key

    if len(z32) != 32:
        raise Reject("format", None, "Z must be 32 bytes")
    oi = gbcs_otherinfo(originator8, u, counter8, recipient8)  # validates and normalises the inputs
    return gbcs_key(bytes(z32), oi[7:15], u, oi[17:25], oi[25:33])
