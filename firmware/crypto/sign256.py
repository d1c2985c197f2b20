"""P-256 ECDSA signing (FIPS 186-4 §6.4) with deterministic nonces (RFC 6979 §3.2, HMAC-SHA256,
qlen = 256), raw 64-byte r||s output (IEEE P1363, GBCS §6.3.3 device signatures).
"""
import os
from firmware.alerts import Reject
from firmware.crypto.hmac import HMAC_SHA256
from firmware.crypto.ec256 import N, inverse
from firmware.crypto.keys import scalar as _scalar, base_mul as _base_mul


def rfc6979_k(d, hash32):
    """Generator of candidate nonces per RFC 6979 §3.2 (HMAC-SHA256, qlen = 256)."""
    x = d.to_bytes(32, "big")
    h = (int.from_bytes(hash32, "big") % N).to_bytes(32, "big")
    V = b"\x01" * 32
    K = bytes(32)
    K = HMAC_SHA256(K).digest(V, b"\x00", x, h)
    V = HMAC_SHA256(K).digest(V)
    K = HMAC_SHA256(K).digest(V, b"\x01", x, h)
    V = HMAC_SHA256(K).digest(V)
    while True:
        V = HMAC_SHA256(K).digest(V)
        k = int.from_bytes(V, "big")
        if 0 < k < N:
            yield k
        K = HMAC_SHA256(K).digest(V, b"\x00")
        V = HMAC_SHA256(K).digest(V)


def sign(d32, hash32):
    """ECDSA P-256 signature of a 32-byte hash -> 64-byte r||s, k per RFC 6979."""
    d = _scalar(d32)
    if len(hash32) != 32:
        raise Reject("format", None, "hash must be 32 bytes")
    e = int.from_bytes(hash32, "big") % N
    for k in rfc6979_k(d, hash32):
        x, _ = _base_mul(k)
        r = x % N
        if r == 0:
            continue
        # blind the nonce inversion: k^-1 = b * (k * b)^-1 (Euclid's time depends on its input)
        bl = int.from_bytes(os.urandom(32), "big") % (N - 1) + 1
        s = bl * inverse(k * bl % N, N) % N * (e + r * d) % N
        if s == 0:
            continue
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
