"""NIST P-256 API for the firmware (FIPS 186-4, SEC 1 v2, RFC 6979, SP 800-56A):
public_key, sign (raw 64-byte r||s, deterministic k per RFC 6979 §3.2 with HMAC-SHA256),
verify / VerifyKey (verifykey.py), ecdh (x-coordinate of d*Q after validating Q, SP 800-56A
§5.7.1.2; GBCS §4.3.3.3 Z) and StaticSecret (cached Z per trust anchor).

Layout (small modules so each compiles inside a small MicroPython heap): ec256 (constants, point
encoding, private scalars, inversion), ecmul (Jacobian formulas, window multiply for arbitrary
points, G), comb (fixed-base comb tables as bytes), combbuild (building them), keyfile (tables in
files), gtable (the G table: frozen / file / RAM; k*G), verifykey (ECDSA verify), ecdh256 (ECDH),
sign256 (RFC 6979 signing). This facade is for hosts and tests: it loads the verify path and loads
signing, ECDH and table building on first use. A device imports verifykey.VerifyKey and
sign256.sign directly (docs/crypto.md §1). Design and measured numbers: docs/crypto.md. Pure-Python big integers are not constant-time (docs/crypto.md).
Bad input raises firmware.alerts.Reject (reason "key" / "format"); verify returns False for any
malformed or wrong signature.
"""
import hashlib
from firmware.crypto.ec256 import (  # noqa: F401  (re-exported API)
    P, N, B, on_curve, decode_point, encode_point, inverse)
from firmware.crypto.ecmul import GX, GY  # noqa: F401
from firmware.crypto.comb import CombTable  # noqa: F401
from firmware.crypto.gtable import (  # noqa: F401
    g_table, set_g_table, g_table_path, G_WIDTH)
from firmware.crypto.verifykey import VerifyKey, verify, KEY_WIDTH  # noqa: F401

# Signing, ECDH and table building are imported on first use (below).


def public_key(d32):
    """Uncompressed SEC1 public key (65 bytes) for the 32-byte private key (Reject("key") unless
    0 < d < n)."""
    from firmware.crypto.ec256 import scalar
    from firmware.crypto.gtable import base_mul

    x, y = base_mul(scalar(d32))
    return encode_point(x, y)


def sign(d32, hash32):
    """ECDSA P-256 signature of a 32-byte hash -> 64-byte r||s, k per RFC 6979 (sign256.py)."""
    from firmware.crypto.sign256 import sign as _sign

    return _sign(d32, hash32)


def ecdh(d32, peer):
    """ECDH: x-coordinate of d * Q (32 bytes); peer = SEC1 bytes (validated) or a VerifyKey
    (its comb table is used). Reject("key") on an invalid key (ecdh256.py)."""
    from firmware.crypto.ecdh256 import ecdh as _ecdh

    return _ecdh(d32, peer)


def build_table(x, y, w):
    """Comb table for affine (x, y) as a bytearray (combbuild.py)."""
    from firmware.crypto.combbuild import build_table as _b

    return _b(x, y, w)


def write_table(path, x, y, w):
    """Comb table for affine (x, y) written to a file; returns its CRC-32 (combbuild.py)."""
    from firmware.crypto.combbuild import write_table as _w

    return _w(path, x, y, w)


def _file_size(path):
    import os

    return os.stat(path)[6]


def load_g_table_into_ram():
    """Read the shipped G table file fully into RAM (hosts / boards with PSRAM)."""
    with open(g_table_path(), "rb") as f:
        set_g_table(CombTable(G_WIDTH, buf=f.read()))


class StaticSecret:
    """Caches ECDH shared secrets Z for one static private key and fixed peer keys (trust
    anchors): Z is constant per (own key, peer key), so compute it once and reuse it.
    Call forget(peer) (or forget()) when a trust anchor changes; the cache is keyed by the peer's
    encoded key, so a replaced key never matches a stale entry anyway."""

    def __init__(self, d32):
        from firmware.crypto.ec256 import scalar

        scalar(d32)
        self._d = bytes(d32)
        self._z = {}

    def z(self, peer):
        """Z for the peer key (SEC1 bytes or a VerifyKey), computed once and then cached."""
        k = peer.pub if isinstance(peer, VerifyKey) else bytes(peer)
        z = self._z.get(k)
        if z is None:
            z = ecdh(self._d, peer)
            self._z[k] = z
        return z

    def forget(self, peer=None):
        """Drop the cached Z for one peer key (its trust anchor changed), or all of them."""
        if peer is None:
            self._z = {}
        else:
            self._z.pop(peer.pub if isinstance(peer, VerifyKey) else bytes(peer), None)


def sha256(data):
    return hashlib.sha256(data).digest()
