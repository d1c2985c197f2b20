"""AES-128-GCM and GMAC built on the AES block (NIST SP 800-38D), as GBCS uses them (GBCS §6.2.3:
GMAC with a 12-byte tag over the 6-byte security header + General-Signing APDU; GBCS §4.3.3.4:
IV = originator system title || 00000000; payload encryption with U=04).

GHASH multiplies in GF(2^128) with the GCM bit order (block = 128-bit big-endian integer, bit 0 of
the spec is the most significant bit). `GCM(key)` precomputes Shoup's 4-bit table for H once:
M[v] = v*H for every nibble v placed in the lowest-degree position, and the shared R4[v] = the
reduction of the 4 bits shifted out when multiplying by x^4, so one block costs 32 table steps.
(8-bit tables would halve the steps but cost ~18 KB of heap per key as MicroPython big ints.)
Only 96-bit IVs are supported (J0 = IV || 00000001), which is all GBCS needs.
Tags are compared in constant time (firmware.crypto.ct).
"""
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.crypto.aes import AES
from firmware.crypto import ct

_R = 0xE1 << 120
_ZERO16 = bytes(16)


def _mulx(v):
    if v & 1:
        return (v >> 1) ^ _R
    return v >> 1


def _r4():
    t = []
    for v in range(16):
        for _ in range(4):
            v = _mulx(v)
        t.append(v)
    return tuple(t)


_R4 = _r4()


class GCM:
    """AES-128-GCM for one key; caches H's 16-entry GHASH table (about 1 KB of heap)."""

    def __init__(self, key16):
        self._aes = AES(key16)
        h = int.from_bytes(self._aes.encrypt_block(_ZERO16), "big")
        # M[v] = (v << 124) * H; M[8] = H, halving the nibble = multiplying by x
        m = [0] * 16
        m[8] = h
        m[4] = _mulx(h)
        m[2] = _mulx(m[4])
        m[1] = _mulx(m[2])
        for i in (2, 4, 8):
            mi = m[i]
            for j in range(1, i):
                m[i + j] = mi ^ m[j]
        self._m = tuple(m)

    def _ghash(self, x, data):
        """Fold `data` (zero-padded to 16-byte blocks) into the GHASH state x (an int)."""
        n = len(data)
        mv = memoryview(data)
        mul = self._mul_h
        for off in range(0, n, 16):
            blk = mv[off:off + 16]
            if len(blk) < 16:
                blk = bytes(blk) + bytes(16 - len(blk))
            x = mul(x ^ int.from_bytes(blk, "big"))
        return x

    def _s(self, aad, c):
        x = self._ghash(0, aad) if aad else 0
        if c:
            x = self._ghash(x, c)
        x ^= ((len(aad) * 8) << 64) | (len(c) * 8)
        return self._mul_h(x)

    def _mul_h(self, x):
        """x * H in GF(2^128): Horner over the 32 nibbles, highest degree first."""
        m = self._m
        r4 = _R4
        z = m[x & 15]
        x >>= 4
        for _ in range(31):
            z = (z >> 4) ^ r4[z & 15] ^ m[x & 15]
            x >>= 4
        return z

    def _ctr(self, iv12, data, first):
        """CTR mode from counter value `first` (inc32 of J0 = 2), ECB over the whole keystream."""
        n = len(data)
        if not n:
            return b""
        nb = (n + 15) >> 4
        if first + nb > 1 << 32:
            raise Reject("format", None, "GCM message too long")
        ctrs = bytearray(nb * 16)
        for i in range(nb):
            o = i * 16
            ctrs[o:o + 12] = iv12
            ctrs[o + 12:o + 16] = (first + i).to_bytes(4, "big")
        ks = self._aes.encrypt_ecb(ctrs)
        v = int.from_bytes(data, "big") ^ (int.from_bytes(ks, "big") >> (8 * (nb * 16 - n)))
        return v.to_bytes(n, "big")

    def _tag(self, iv12, aad, c, taglen):
        s = self._s(aad, c)
        ek = int.from_bytes(self._aes.encrypt_block(bytes(iv12) + b"\x00\x00\x00\x01"), "big")
        return (s ^ ek).to_bytes(16, "big")[:taglen]

    @staticmethod
    def _check(iv12, taglen):
        if len(iv12) != 12:
            raise Reject("format", None, "GCM IV must be 12 bytes")
        if taglen < 4 or taglen > 16:
            raise Reject("format", None, "GCM tag length must be 4..16")

    def gmac(self, iv12, aad, taglen=12):
        self._check(iv12, taglen)
        return self._tag(iv12, bytes(aad), b"", taglen)

    def encrypt(self, iv12, plaintext, aad=b"", taglen=16):
        self._check(iv12, taglen)
        iv12 = bytes(iv12)
        c = self._ctr(iv12, bytes(plaintext), 2)
        return c, self._tag(iv12, bytes(aad), c, taglen)

    def decrypt(self, iv12, ciphertext, aad, tag):
        self._check(iv12, len(tag))
        iv12 = bytes(iv12)
        ciphertext = bytes(ciphertext)
        t = self._tag(iv12, bytes(aad), ciphertext, len(tag))
        if not ct.equal(t, tag):
            raise Reject("tag", INTEGRITY_FAILED, "GCM tag mismatch")
        return self._ctr(iv12, ciphertext, 2)

    def verify_gmac(self, iv12, aad, tag):
        """Check a GMAC tag (any length 4..16) in constant time; Reject("tag") when wrong."""
        self._check(iv12, len(tag))
        if not ct.equal(self._tag(bytes(iv12), bytes(aad), b"", len(tag)), tag):
            raise Reject("tag", INTEGRITY_FAILED, "GMAC tag mismatch")


def gmac(key16, iv12, aad, taglen=12):
    """GMAC tag (GCM with empty plaintext), truncated to taglen bytes (12 for GBCS)."""
    return GCM(key16).gmac(iv12, aad, taglen)


def encrypt(key16, iv12, plaintext, aad=b"", taglen=16):
    """AES-128-GCM encryption -> (ciphertext, tag)."""
    return GCM(key16).encrypt(iv12, plaintext, aad, taglen)


def decrypt(key16, iv12, ciphertext, aad, tag):
    """AES-128-GCM decryption; Reject("tag", INTEGRITY_FAILED) when the tag does not match."""
    return GCM(key16).decrypt(iv12, ciphertext, aad, tag)
