"""UTRN MAC (GBCS §14.3.4-14.3.5 as reproduced in shared/reference/gbcs.md §9.3):

    counter64 = UTRN counter << 32
    Z   = ECDH(device KA private, supplier KA public of the (supplier, KA, prePaymentTopUp) cell)
    K   = GBCS KDF(Z, originator = supplier EUI-64, U = 01, counter64, recipient = device EUI-64)
    IV  = supplier EUI-64 || 00000000
    AAD = 11 00 00 00 00 00 || supplier || device || 01 || counter64 || PTUT hi32
    MAC = bytes 12..15 of the 16-byte GCM tag (GMAC, empty plaintext) = PTUT lo32

Z is static per (device key, supplier prepayment key) and is computed once (`shared_z`) and cached by
the caller. The comparison is constant-time (firmware.crypto.ct).

Every UTRN has its own key K, so the GMAC here is a lean single-shot one (NIST SP 800-38D GHASH with
4-bit Shoup tables: 16 entries per key, 4 blocks per UTRN) on the firmware's AES block, instead of
firmware.crypto.gcm.GCM whose 8-bit tables (2 x 256 128-bit ints) pay off only when a key is reused
and do not fit beside the rest of the firmware in a 96 KB heap. It is checked against gcm.gmac and
`cryptography` in the tests.
"""
from firmware.crypto import kdf, ct
from firmware.crypto.aes import AES

_AAD_HEAD = b"\x11\x00\x00\x00\x00\x00"
_R = 0xE1 << 120
_ZERO16 = bytes(16)


def _mulx(v):
    return (v >> 1) ^ _R if v & 1 else v >> 1


def _r4():
    t = []
    for v in range(16):
        for _ in range(4):
            v = _mulx(v)
        t.append(v)
    return tuple(t)


_R4 = _r4()  # reduction of the 4 bits shifted out by a multiplication with x^4


def gmac16(key16, iv12, aad):
    """Full 16-byte GMAC tag (AES-GCM, empty plaintext, 96-bit IV) for one key, computed once."""
    aes = AES(key16)
    h = int.from_bytes(aes.encrypt_block(_ZERO16), "big")
    m = [0] * 16  # m[n] = (n << 124) * H in GCM bit order
    m[8] = h
    m[4] = _mulx(h)
    m[2] = _mulx(m[4])
    m[1] = _mulx(m[2])
    for i in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):
        hi = 8 if i & 8 else (4 if i & 4 else 2)
        m[i] = m[hi] ^ m[i - hi]
    r4 = _R4
    x = 0
    n = len(aad)
    blocks = [aad[o:o + 16] for o in range(0, n, 16)]
    blocks.append(None)  # the length block
    for blk in blocks:
        if blk is None:
            x ^= (n * 8) << 64
        else:
            if len(blk) < 16:
                blk = blk + bytes(16 - len(blk))
            x ^= int.from_bytes(blk, "big")
        z = m[x & 15]
        x >>= 4
        for _ in range(31):
            z = (z >> 4) ^ r4[z & 15] ^ m[x & 15]
            x >>= 4
        x = z
    ek = int.from_bytes(aes.encrypt_block(bytes(iv12) + b"\x00\x00\x00\x01"), "big")
    return (x ^ ek).to_bytes(16, "big")


def tag4(z32, supplier8, device8, counter, hi4):
    """The 4-byte UTRN MAC for UTRN counter `counter` (32-bit int) and PTUT hi32 bytes `hi4`."""
    c8 = (counter << 32).to_bytes(8, "big")
    key = kdf.gbcs_kdf(z32, supplier8, 1, c8, device8)
    aad = _AAD_HEAD + bytes(supplier8) + bytes(device8) + b"\x01" + c8 + bytes(hi4)
    return gmac16(key, bytes(supplier8) + b"\x00\x00\x00\x00", aad)[12:16]


def verify(z32, supplier8, device8, counter, ptut):
    """True when the PTUT's MAC is right for this device, supplier and counter (constant time)."""
    return ct.equal(tag4(z32, supplier8, device8, counter, ptut.hi_bytes()), ptut.mac)


def shared_z(device_ka_private32, supplier_pp_public):
    """Z for the UTRN MAC: x-coordinate of ECDH(device KA private, supplier prepayment KA public).
    Slow on a device (P-256 in Python): call once per trust-anchor change and keep the result."""
    from firmware.crypto import p256

    return p256.ecdh(device_ka_private32, supplier_pp_public)
