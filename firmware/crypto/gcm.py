"""AES-128-GCM encryption / decryption (NIST SP 800-38D) as GBCS uses it (GBCS §4.3.3.4: IV =
originator system title || 00000000; payload encryption with U=04), for tests and host tools.

The tag (GHASH) is firmware.crypto.gmac, which the device imports alone for its MACs (GBCS §6.2.3);
this module adds CTR mode, the constant-time tag check and the `GCM(key)` wrapper kept for callers
that hold a key. Only 96-bit IVs (J0 = IV || 00000001); tags of 4..16 bytes.
"""
from firmware.alerts import Reject, INTEGRITY_FAILED
from firmware.crypto.aes import AES
from firmware.crypto import ct
from firmware.crypto.gmac import gmac


def _ctr(key16, iv12, data):
    """CTR mode from counter 2 (inc32 of J0), one ECB call over the whole keystream."""
    n = len(data)
    if not n:
        return b""
    nb = (n + 15) >> 4
    if nb > (1 << 32) - 2:
        raise Reject("format", None, "GCM message too long")
    ctrs = bytearray(nb * 16)
    for i in range(nb):
        o = i * 16
        ctrs[o:o + 12] = iv12
        ctrs[o + 12:o + 16] = (i + 2).to_bytes(4, "big")
    ks = AES(key16).encrypt_ecb(ctrs)
    v = int.from_bytes(data, "big") ^ (int.from_bytes(ks, "big") >> (8 * (nb * 16 - n)))
    return v.to_bytes(n, "big")


def encrypt(key16, iv12, plaintext, aad=b"", taglen=16):
    """AES-128-GCM encryption -> (ciphertext, tag)."""
    gmac(key16, iv12, b"", taglen)  # checks the lengths before any work
    c = _ctr(key16, bytes(iv12), bytes(plaintext))
    return c, gmac(key16, iv12, bytes(aad), taglen, c)


def decrypt(key16, iv12, ciphertext, aad, tag):
    """AES-128-GCM decryption; Reject("tag", INTEGRITY_FAILED) when the tag does not match."""
    c = bytes(ciphertext)
    if not ct.equal(gmac(key16, iv12, bytes(aad), len(tag), c), tag):
        raise Reject("tag", INTEGRITY_FAILED, "GCM tag mismatch")
    return _ctr(key16, bytes(iv12), c)


class GCM:
    """AES-128-GCM for one key (the API of the earlier table-caching class)."""

    def __init__(self, key16):
        AES(key16)  # Reject("format") on a wrong key length now, as before
        self._k = bytes(key16)

    def gmac(self, iv12, aad, taglen=12):
        return gmac(self._k, iv12, aad, taglen)

    def encrypt(self, iv12, plaintext, aad=b"", taglen=16):
        return encrypt(self._k, iv12, plaintext, aad, taglen)

    def decrypt(self, iv12, ciphertext, aad, tag):
        return decrypt(self._k, iv12, ciphertext, aad, tag)

    def verify_gmac(self, iv12, aad, tag):
        """Check a GMAC tag (any length 4..16) in constant time; Reject("tag") when wrong."""
        if not ct.equal(gmac(self._k, iv12, aad, len(tag)), tag):
            raise Reject("tag", INTEGRITY_FAILED, "GMAC tag mismatch")
