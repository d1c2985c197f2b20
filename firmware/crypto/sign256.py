"""P-256 ECDSA signing (FIPS 186-4 §6.4) with deterministic nonces (RFC 6979 §3.2, HMAC-SHA256,
qlen = 256), raw 64-byte r||s output (IEEE P1363, GBCS §6.3.3 device signatures). A device imports
`sign` from here; k*G goes through the G comb table (gtable.py). The signature is computed with the
small-heap collection threshold suspended (firmware/gcpolicy.py): its big-integer temporaries are
all garbage when it returns.
"""
import os
from hashlib import sha256
from firmware import gcpolicy
from firmware.alerts import Reject
from firmware.crypto.ec256 import N, inverse, scalar
from firmware.crypto.gtable import base_mul


def _hm(k, m):
    """HMAC-SHA256 (RFC 2104) for a 32-byte key k (pads as one big-int XOR each)."""
    k = int.from_bytes(k, "big") << 256
    i = k ^ int.from_bytes(b"\x36" * 64, "big")
    o = k ^ int.from_bytes(b"\x5c" * 64, "big")
    return sha256(o.to_bytes(64, "big") + sha256(i.to_bytes(64, "big") + m).digest()).digest()


def sign(d32, hash32):
    """ECDSA P-256 signature of a 32-byte hash -> 64-byte r||s, k per RFC 6979 §3.2."""
    d = scalar(d32)
    if len(hash32) != 32:
        raise Reject("format", None, "hash must be 32 bytes")
    e = int.from_bytes(hash32, "big") % N
    x = d.to_bytes(32, "big") + e.to_bytes(32, "big")  # int2octets(d) || bits2octets(h1)
    V = b"\x01" * 32
    K = _hm(bytes(32), V + b"\x00" + x)
    V = _hm(K, V)
    K = _hm(K, V + b"\x01" + x)
    V = _hm(K, V)
    while True:
        V = _hm(K, V)
        k = int.from_bytes(V, "big")
        if 0 < k < N:
            gcpolicy.suspend()
            try:
                r = base_mul(k)[0] % N
            finally:
                gcpolicy.resume()
            # blind the nonce inversion: k^-1 = b * (k * b)^-1 (Euclid's time depends on its input)
            b = int.from_bytes(os.urandom(32), "big") % (N - 1) + 1
            s = b * inverse(k * b % N, N) % N * (e + r * d) % N
            if r and s:
                return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        K = _hm(K, V + b"\x00")  # RFC 6979 §3.2 h.3: next candidate
        V = _hm(K, V)
