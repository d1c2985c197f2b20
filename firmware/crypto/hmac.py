"""HMAC-SHA256 (RFC 2104 / FIPS 198-1) on `hashlib.sha256`, for RFC 6979 nonces and callers.

MicroPython has no `hmac` module in the standard unix/ESP32 builds, hence this one.
"""
import hashlib

_BLOCK = 64


def _xor_pad(key, v):
    return bytes((c ^ v) for c in key) + bytes([v]) * (_BLOCK - len(key))


class HMAC_SHA256:
    """Keyed HMAC with the inner/outer pads prepared once (reuse for many messages)."""

    __slots__ = ("_ipad", "_opad")

    def __init__(self, key):
        key = bytes(key)
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        self._ipad = _xor_pad(key, 0x36)
        self._opad = _xor_pad(key, 0x5C)

    def digest(self, *parts):
        h = hashlib.sha256(self._ipad)
        for p in parts:
            h.update(p)
        return hashlib.sha256(self._opad + h.digest()).digest()


def hmac_sha256(key, msg):
    """HMAC-SHA256(key, msg) -> 32 bytes."""
    return HMAC_SHA256(key).digest(msg)
