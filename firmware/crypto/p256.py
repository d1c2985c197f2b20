"""NIST P-256 API for the firmware (FIPS 186-4, SEC 1 v2, RFC 6979, SP 800-56A):
public_key, sign (raw 64-byte r||s, deterministic k per RFC 6979 §3.2 with HMAC-SHA256),
verify / VerifyKey (verifykey.py), ecdh (x-coordinate of d*Q after validating Q, SP 800-56A
§5.7.1.2; GBCS §4.3.3.3 Z) and StaticSecret (cached Z per trust anchor).

Layout (small modules so each compiles inside a small MicroPython heap): ec256 (field, points,
encoding, inversion), ecmul (window multiply for arbitrary points), comb (fixed-base comb tables
as bytes), gtable (the G table: frozen / file / RAM), keys (private scalars, k*G), verifykey
(ECDSA verify), ecdh256 (ECDH, StaticSecret), sign256 (RFC 6979 signing). This module
re-exports the public names, so callers only import firmware.crypto.p256. Design and measured
numbers: docs/crypto.md. Pure-Python big integers are not constant-time (docs/crypto.md).
Bad input raises firmware.alerts.Reject (reason "key" / "format"); verify returns False for any
malformed or wrong signature.
"""
import hashlib
from firmware.crypto.ec256 import (  # noqa: F401  (re-exported API)
    P, N, B, GX, GY, on_curve, decode_point, encode_point, inverse, _to_affine, _recode,
    xyzz_to_affine)
from firmware.crypto.ecmul import _mul  # noqa: F401
from firmware.crypto.comb import CombTable, comb_rows, build_table, write_table  # noqa: F401
from firmware.crypto.gtable import (  # noqa: F401
    g_table, set_g_table, g_table_path, load_g_table_into_ram, G_WIDTH)
from firmware.crypto.verifykey import VerifyKey, verify, KEY_WIDTH, _file_size  # noqa: F401
from firmware.crypto.keys import scalar as _scalar, base_mul as _base_mul  # noqa: F401
from firmware.crypto.ecdh256 import ecdh, StaticSecret  # noqa: F401
from firmware.crypto.sign256 import sign, rfc6979_k  # noqa: F401

# ---------------------------------------------------------------------------------------------
# keys

def public_key(d32):
    """Uncompressed SEC1 public key (65 bytes) for the 32-byte private key."""
    d = _scalar(d32)
    x, y = _base_mul(d)
    return encode_point(x, y)


def sha256(data):
    return hashlib.sha256(data).digest()
