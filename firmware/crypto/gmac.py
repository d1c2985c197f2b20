"""Lean AES-128 GMAC and the GBCS MAC for the device: `gmac(key16, iv12, aad, taglen)` -> tag (NIST
SP 800-38D; with `c`, a ciphertext, it is the GCM tag gcm.py uses) and `gbcs_mac(z32, originator8,
u, counter8, recipient8, aad, taglen)` = GMAC under the GBCS KDF key (SP 800-56A §5.8.1 single step
with SHA-256, GBCS §4.3.3.3; IV = originator || 00000000, GBCS §4.3.3.4; MAC GBCS §6.2.3; UTRN MAC
gbcs.md §9.3). kdf.py / gcm.py hold the general KDF and GCM (hosts, tests).

GHASH is Shoup's 4-bit method (docs/crypto.md §4) on four 32-bit limbs (most significant first):
the 16 multiples of H are a 64-int list built per call, so a MAC allocates ~1.5 KB and no big
ints on a 64-bit port (the 128-bit-int version churned ~95 KB per call). 96-bit IVs only.
"""
from hashlib import sha256
from struct import pack, unpack, unpack_from
from firmware.alerts import Reject

try:
    from cryptolib import aes
except ImportError:  # CPython
    from firmware.crypto.aes import aes

# R[r]: reduction of the 4 bits r shifted out of the low end, in the top limb
_R = (0, 0x1C200000, 0x38400000, 0x24600000, 0x70800000, 0x6CA00000, 0x48C00000, 0x54E00000,
      0xE1000000, 0xFD200000, 0xD9400000, 0xC5600000, 0x91800000, 0x8DA00000, 0xA9C00000, 0xB5E00000)


def gmac(key16, iv12, aad, taglen=12, c=b""):
    """GMAC tag (GCM with empty plaintext) truncated to taglen bytes (12 for GBCS commands and
    responses, 16 for UTRNs), or the GCM tag of ciphertext c; Reject("format") on a wrong key,
    IV or tag length."""
    if len(key16) != 16 or len(iv12) != 12 or taglen < 4 or taglen > 16:
        raise Reject("format", None, "GMAC input length")
    e = aes(bytes(key16), 1).encrypt
    a, b, d, f = unpack(">IIII", e(bytes(16)))
    t = [0] * 64  # t[4v..4v+3] = v * H, nibble v in the lowest-degree position; t[32..35] = H
    o = 32
    while o > 2:
        t[o] = a
        t[o + 1] = b
        t[o + 2] = d
        t[o + 3] = f
        a, b, d, f = (a >> 1 ^ (f & 1) * 0xE1000000, b >> 1 | (a & 1) << 31, d >> 1 | (b & 1) << 31,
                      f >> 1 | (d & 1) << 31)
        o >>= 1
    for i in (8, 16, 32):
        for j in range(4, i):
            t[i + j] = t[i + (j & 3)] ^ t[j]
    a = b = d = f = 0
    pad = bytearray(16)
    for s in (aad, c, pack(">QQ", len(aad) * 8, len(c) * 8)):
        n = len(s)
        for i in range(0, n, 16):
            if n - i < 16:
                pad[:] = bytes(16)
                pad[:n - i] = s[i:]
                s, i = pad, 0
            x = unpack_from(">IIII", s, i)
            x = (f ^ x[3], d ^ x[2], b ^ x[1], a ^ x[0])
            a = b = d = f = 0
            for w in x:  # Horner over the 32 nibbles, highest degree (lowest bits) first
                for _ in range(8):
                    r = f & 15
                    o = (w & 15) << 2
                    w >>= 4
                    f = (f >> 4 | (d & 15) << 28) ^ t[o + 3]
                    d = (d >> 4 | (b & 15) << 28) ^ t[o + 2]
                    b = (b >> 4 | (a & 15) << 28) ^ t[o + 1]
                    a = a >> 4 ^ _R[r] ^ t[o]
    x = unpack(">IIII", e(bytes(iv12) + b"\x00\x00\x00\x01"))
    return pack(">IIII", a ^ x[0], b ^ x[1], d ^ x[2], f ^ x[3])[:taglen]


def gbcs_mac(z32, originator8, u, counter8, recipient8, aad, taglen=12):
    """GBCS MAC: K = SHA-256(00000001 || Z || OtherInfo)[0:16] with OtherInfo = 60857406080300 ||
    originator || 09 || U || counter || recipient (U = 1 command / UTRN, 2 response, 3 alert), then
    GMAC(K, originator || 00000000, aad)[0:taglen]. Byte-string inputs of 32 / 8 bytes."""
    return gmac(gbcs_key(z32, originator8, u, counter8, recipient8), originator8 + b"\x00\x00\x00\x00",
                aad, taglen)


def gbcs_key(z32, originator8, u, counter8, recipient8):
    """The GBCS KDF (one SHA-256 block): the 16-byte AES key of gbcs_mac; kdf.gbcs_kdf uses it."""
    if len(z32) != 32 or len(originator8) != 8 or len(counter8) != 8 or len(recipient8) != 8:
        raise Reject("format", None, "GMAC input length")
    return sha256(b"\x00\x00\x00\x01" + z32 + b"\x60\x85\x74\x06\x08\x03\x00" + originator8
                  + bytes((9, u)) + counter8 + recipient8).digest()[:16]
