"""NIST P-256 API for the firmware (FIPS 186-4, SEC 1 v2, RFC 6979, SP 800-56A):
public_key, sign (raw 64-byte r||s, deterministic k per RFC 6979 §3.2 with HMAC-SHA256),
verify / VerifyKey (verifykey.py), ecdh (x-coordinate of d*Q after validating Q, SP 800-56A
§5.7.1.2; GBCS §4.3.3.3 Z) and StaticSecret (cached Z per trust anchor).

Layout (small modules so each compiles inside a small MicroPython heap): ec256 (field, points,
encoding, inversion), ecmul (window multiply for arbitrary points), comb (fixed-base comb tables
as bytes), gtable (the G table: frozen / file / RAM), verifykey (ECDSA verify). Design and measured
numbers: docs/crypto.md. Pure-Python big integers are not constant-time (docs/crypto.md).
Bad input raises firmware.alerts.Reject (reason "key" / "format"); verify returns False for any
malformed or wrong signature.
"""
import hashlib
import os
from firmware.alerts import Reject, AUTH_FAILED
from firmware.crypto.hmac import HMAC_SHA256
from firmware.crypto.ec256 import (  # noqa: F401  (re-exported API)
    P, N, B, GX, GY, on_curve, decode_point, encode_point, inverse, _to_affine, _recode,
    xyzz_to_affine)
from firmware.crypto.ecmul import _mul
from firmware.crypto.comb import CombTable, comb_rows, build_table, write_table  # noqa: F401
from firmware.crypto.gtable import (  # noqa: F401
    g_table, set_g_table, g_table_path, load_g_table_into_ram, G_WIDTH)
from firmware.crypto.verifykey import VerifyKey, verify, KEY_WIDTH, _file_size  # noqa: F401

# ---------------------------------------------------------------------------------------------
# keys

def _scalar(d32, what="private key"):
    if len(d32) != 32:
        raise Reject("key", None, what + " must be 32 bytes")
    d = int.from_bytes(d32, "big")
    if d == 0 or d >= N:
        raise Reject("key", None, what + " out of range")
    return d


def _base_mul(k):
    """k * G (0 < k < n) as affine (x, y) via the G comb table."""
    return xyzz_to_affine(*g_table().add_mul(k))


def public_key(d32):
    """Uncompressed SEC1 public key (65 bytes) for the 32-byte private key."""
    d = _scalar(d32)
    x, y = _base_mul(d)
    return encode_point(x, y)


def ecdh(d32, peer_pub_bytes):
    """ECDH (SP 800-56A §5.7.1.2): x-coordinate of d * peer, 32 bytes. The peer key is validated
    (decode_point); Reject("key") on any invalid key."""
    d = _scalar(d32)
    px, py = decode_point(peer_pub_bytes)
    X, Y, Z = _mul(d, px, py)
    if Z == 0:
        raise Reject("key", AUTH_FAILED, "shared point at infinity")
    x, _ = _to_affine(X, Y, Z)
    return x.to_bytes(32, "big")


class StaticSecret:
    """Caches ECDH shared secrets Z for one static private key and fixed peer keys (trust
    anchors): Z is constant per (own key, peer key), so compute it once and reuse it.
    Call forget(peer) (or forget()) when a trust anchor changes; the cache is keyed by the peer's
    encoded key, so a replaced key never matches a stale entry anyway."""

    def __init__(self, d32):
        _scalar(d32)
        self._d = bytes(d32)
        self._z = {}

    def z(self, peer_pub_bytes):
        k = bytes(peer_pub_bytes)
        z = self._z.get(k)
        if z is None:
            z = ecdh(self._d, k)
            self._z[k] = z
        return z

    def forget(self, peer_pub_bytes=None):
        if peer_pub_bytes is None:
            self._z = {}
        else:
            self._z.pop(bytes(peer_pub_bytes), None)


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
        bl = int.from_bytes(_urandom(32), "big") % (N - 1) + 1
        s = bl * inverse(k * bl % N, N) % N * (e + r * d) % N
        if s == 0:
            continue
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _urandom(n):
    return os.urandom(n)


def sha256(data):
    return hashlib.sha256(data).digest()
