"""NIST P-256 (secp256r1) for the firmware: point decoding/validation (SEC 1 v2 §2.3.3-2.3.4,
§3.2.2.1), ECDSA verify and sign over a SHA-256 hash with raw 64-byte r||s signatures (FIPS 186-4
§6.4, IEEE P1363 encoding as GBCS §6.3.3 uses), deterministic nonces (RFC 6979 §3.2), and ECDH
returning the x-coordinate of the shared point (SP 800-56A §5.7.1.2; GBCS §4.3.3.3 Z).

Arithmetic: Jacobian coordinates with the a = -3 doubling, mixed Jacobian + affine additions,
reductions only after multiplications, one inversion per conversion (Montgomery batch inversion
when building tables), and no final inversion in verify (X == r*Z^2 mod p, also r + n).

Scalar multiplication:
* fixed base (G and trusted keys): a signed-digit comb. Table row j holds k * 2^(w*j) * P for
  k = 1..2^(w-1) in affine form as 64-byte x||y entries in one `bytes` object (or a file read on
  demand), so a 256-bit scalar costs 256//w + 1 mixed additions and no doublings. The tables are
  plain bytes so they can be frozen into flash on an ESP32 (see docs/crypto.md).
* arbitrary points (ECDH peer keys, keys without tables): signed 4-bit windows over an affine
  table of 1P..8P.

Timing: pure Python big integers are not constant-time; see docs/crypto.md for what this means.
Bad input raises firmware.alerts.Reject (reason "key" / "format"); verify returns False for any
malformed or wrong signature.
"""
import hashlib
import os
from firmware.alerts import Reject, AUTH_FAILED
from firmware.crypto.hmac import HMAC_SHA256
from firmware.crypto.ec256 import (  # noqa: F401  (re-exported API)
    P, N, B, GX, GY, on_curve, decode_point, encode_point, inverse, _mul, _to_affine, _recode,
    jac_to_xyzz, xyzz_to_affine)
from firmware.crypto.comb import (  # noqa: F401
    CombTable, comb_rows, build_table, write_table, g_table, set_g_table, g_table_path,
    load_g_table_into_ram, G_WIDTH)

KEY_WIDTH = 7

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


# ---------------------------------------------------------------------------------------------
# ECDSA

def _check_xr(X, ZZ, r):
    """True when the affine x = X / ZZ (XYZZ coordinates) is congruent to r mod n, without an
    inversion: X == r * ZZ, or (r + n) * ZZ when r + n < p."""
    if ZZ == 0:
        return False
    z2 = ZZ
    if X == r * z2 % P:
        return True
    r += N
    return r < P and X == r * z2 % P


def _sig_scalars(hash32, sig64):
    """(e, u-values) checks shared by both verify paths; None when malformed."""
    if len(hash32) != 32 or len(sig64) != 64:
        return None
    r = int.from_bytes(sig64[:32], "big")
    s = int.from_bytes(sig64[32:], "big")
    if r == 0 or s == 0 or r >= N or s >= N:
        return None
    e = int.from_bytes(hash32, "big") % N
    w = inverse(s, N)
    return r, e * w % N, r * w % N


class VerifyKey:
    """A trusted ECDSA public key (e.g. a Trust Anchor Cell's DS key) prepared for fast verifies.

    VerifyKey(pub) builds the key's comb table in RAM ((256//w + 1) * 2^(w-1) * 64 bytes: 151 KB
    for w=7, 33 KB for w=4). VerifyKey(pub, path=...) keeps it in a file read 64 bytes at a time
    (built once, reused while `path + ".key"` names the same key and width; fits a 64 KB heap).
    VerifyKey(pub, table=bytes) uses a table built earlier (e.g. frozen into flash).
    The key is validated first (Reject("key")). When an in-RAM table does not fit the heap the
    key still works, through the table-less window method (`mode` says which is in use)."""

    def __init__(self, pub_bytes, w=KEY_WIDTH, path=None, table=None):
        self.x, self.y = decode_point(pub_bytes)
        self.pub = encode_point(self.x, self.y)
        self.table = None
        if table is not None:
            self.table = CombTable(w, buf=table)
        elif path is not None:
            self.table = _file_table(path, self.pub, self.x, self.y, w)
        else:
            try:
                self.table = CombTable(w, buf=build_table(self.x, self.y, w))
            except MemoryError:
                self.table = None
        self.mode = "window" if self.table is None else ("file" if path is not None and table is None else "ram")

    def verify(self, hash32, sig64):
        """ECDSA verify of a 32-byte hash and 64-byte r||s -> True/False (never raises)."""
        v = _sig_scalars(hash32, sig64)
        if v is None:
            return False
        r, u1, u2 = v
        if self.table is None:
            X, Y, ZZ, ZZZ = g_table().add_mul(u1, *jac_to_xyzz(*_mul(u2, self.x, self.y)))
        else:
            X, Y, ZZ, ZZZ = g_table().add_mul(u1)
            X, Y, ZZ, ZZZ = self.table.add_mul(u2, X, Y, ZZ, ZZZ)
        return _check_xr(X, ZZ, r)

    def close(self):
        if self.table is not None:
            self.table.close()


def _file_table(path, pub, x, y, w):
    """Open (or build, then open) the comb table file for key `pub` at `path`."""
    tag = pub + bytes((w,))
    nbytes = (256 // w + 1) * (1 << (w - 1)) * 64
    try:
        with open(path + ".key", "rb") as f:
            ok = f.read() == tag
        ok = ok and _file_size(path) == nbytes
    except OSError:
        ok = False
    if not ok:
        write_table(path, x, y, w)
        with open(path + ".key", "wb") as f:
            f.write(tag)
        if _file_size(path) != nbytes:
            raise Reject("format", None, "comb table file has the wrong size")
    return CombTable(w, path=path)


def _file_size(path):
    return os.stat(path)[6]


def verify(pub, hash32, sig64):
    """ECDSA P-256 verify of a 32-byte hash and 64-byte r||s. pub: SEC1 bytes (validated,
    Reject("key") when invalid) or a VerifyKey. Returns True/False, never raises for a malformed
    signature or hash."""
    if isinstance(pub, VerifyKey):
        return pub.verify(hash32, sig64)
    qx, qy = decode_point(pub)
    v = _sig_scalars(hash32, sig64)
    if v is None:
        return False
    r, u1, u2 = v
    X, Y, Z = _mul(u2, qx, qy)
    X, Y, ZZ, ZZZ = g_table().add_mul(u1, *jac_to_xyzz(X, Y, Z))
    return _check_xr(X, ZZ, r)


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
