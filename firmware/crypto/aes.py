"""AES-128 block primitive (FIPS 197) used by GCM/GMAC, AES-MMO and CTR.

MicroPython: `cryptolib.aes(key, 1)` (ECB). CPython: a thin shim over `cryptography`'s AES-ECB.
Everything built on top of the block (GHASH, CTR, MMO) is our own code and identical on both.
"""
from firmware.alerts import Reject

try:
    import cryptolib as _cl

    class AES:
        """AES-128 ECB encryptor for one key: encrypt_block(16 bytes) -> 16 bytes."""

        __slots__ = ("_c",)

        def __init__(self, key16):
            if len(key16) != 16:
                raise Reject("format", None, "AES key must be 16 bytes")
            self._c = _cl.aes(bytes(key16), 1)

        def encrypt_block(self, b16):
            if len(b16) != 16:
                raise Reject("format", None, "AES block must be 16 bytes")
            return self._c.encrypt(bytes(b16))

        def encrypt_ecb(self, data):
            """Encrypt a whole number of blocks in one call (ECB)."""
            if len(data) % 16:
                raise Reject("format", None, "ECB data must be a multiple of 16 bytes")
            return self._c.encrypt(bytes(data)) if data else b""

except ImportError:  # CPython
    from cryptography.hazmat.primitives.ciphers import Cipher as _Cipher, algorithms as _alg, modes as _modes

    class AES:
        """AES-128 ECB encryptor for one key: encrypt_block(16 bytes) -> 16 bytes."""

        __slots__ = ("_e",)

        def __init__(self, key16):
            if len(key16) != 16:
                raise Reject("format", None, "AES key must be 16 bytes")
            self._e = _Cipher(_alg.AES(bytes(key16)), _modes.ECB()).encryptor()

        def encrypt_block(self, b16):
            if len(b16) != 16:
                raise Reject("format", None, "AES block must be 16 bytes")
            return self._e.update(bytes(b16))

        def encrypt_ecb(self, data):
            """Encrypt a whole number of blocks in one call (ECB)."""
            if len(data) % 16:
                raise Reject("format", None, "ECB data must be a multiple of 16 bytes")
            return self._e.update(bytes(data)) if data else b""

    class aes:
        """cryptolib.aes look-alike for gmac.py (ECB encryption only; mode is ignored)."""

        def __init__(self, key, mode):
            self.encrypt = _Cipher(_alg.AES(bytes(key)), _modes.ECB()).encryptor().update
