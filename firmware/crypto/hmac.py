"""HMAC-SHA256 (RFC 2104 / FIPS 198-1) on `hashlib.sha256`, for RFC 6979 nonces and callers.

MicroPython has no `hmac` module in the standard unix/ESP32 builds, hence this one.
"""
import hashlib

_BLOCK = 64
_I = int.from_bytes(b"\x36" * _BLOCK, "big")
_O = int.from_bytes(b"\x5c" * _BLOCK, "big")


def _xor_pad(key, pad):
    # one big-int XOR instead of a 64-step byte loop (RFC 6979 makes ~10 keyed instances)
    return (int.from_bytes(key + bytes(_BLOCK - len(key)), "big") ^ pad).to_bytes(_BLOCK, "big")


class HMAC_SHA256:
    """Keyed HMAC with the inner/outer pads prepared once (reuse for many messages)."""

    __slots__ = ("_ipad", "_opad")

    def __init__(self, key):
        key = bytes(key)
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        self._ipad = _xor_pad(key, _I)
        self._opad = _xor_pad(key, _O)

    def digest(self, *parts):
        h = hashlib.sha256(self._ipad)
        for p in parts:
            h.update(p)
        return hashlib.sha256(self._opad + h.digest()).digest()


def hmac_sha256(key, msg):
    """HMAC-SHA256(key, msg) -> 32 bytes."""
    return HMAC_SHA256(key).digest(msg)
