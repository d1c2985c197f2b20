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

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
_M256 = (1 << 256) - 1
_SQRT_EXP = (P + 1) // 4

# comb width for the built-in G table and default width for per-key tables
G_WIDTH = 7
KEY_WIDTH = 7


# ---------------------------------------------------------------------------------------------
# points: decoding and validation

def on_curve(x, y):
    return 0 <= x < P and 0 <= y < P and (y * y - x * x * x + 3 * x - B) % P == 0


def decode_point(b):
    """SEC1 point (65-byte uncompressed 04||x||y or 33-byte compressed 02/03||x) -> (x, y).

    Rejects wrong length/prefix, the point at infinity (00), coordinates >= p and points not on
    the curve with Reject("key", AUTH_FAILED). P-256 has cofactor 1, so an on-curve point that is
    not infinity lies in the prime-order group."""
    try:
        n = len(b)
    except TypeError:
        raise Reject("key", AUTH_FAILED, "public key is not bytes")
    if n == 65 and b[0] == 4:
        x = int.from_bytes(b[1:33], "big")
        y = int.from_bytes(b[33:65], "big")
        if x >= P or y >= P:
            raise Reject("key", AUTH_FAILED, "point coordinate >= p")
        if not on_curve(x, y):
            raise Reject("key", AUTH_FAILED, "point not on P-256")
        return x, y
    if n == 33 and (b[0] == 2 or b[0] == 3):
        x = int.from_bytes(b[1:33], "big")
        if x >= P:
            raise Reject("key", AUTH_FAILED, "point coordinate >= p")
        a = (x * x * x - 3 * x + B) % P
        y = pow(a, _SQRT_EXP, P)
        if y * y % P != a:
            raise Reject("key", AUTH_FAILED, "compressed x not on P-256")
        if (y & 1) != (b[0] & 1):
            y = P - y
        if y == P:  # a == 0 never happens on P-256, kept for clarity
            y = 0
        return x, y
    if n == 1 and b[0] == 0:
        raise Reject("key", AUTH_FAILED, "point at infinity")
    raise Reject("key", AUTH_FAILED, "bad SEC1 point encoding")


def encode_point(x, y, compressed=False):
    if compressed:
        return bytes((2 | (y & 1),)) + x.to_bytes(32, "big")
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


# ---------------------------------------------------------------------------------------------
# Jacobian arithmetic (Z == 0 is the point at infinity)

def _dbl(X, Y, Z):
    """2*(X,Y,Z), a = -3 (dbl-2001-b): 3M + 5S, each reduced once."""
    if Z == 0 or Y == 0:
        return 1, 1, 0
    p = P
    d = Z * Z % p
    g = Y * Y % p
    b = X * g % p
    a = 3 * (X - d) * (X + d) % p
    X3 = (a * a - 8 * b) % p
    return X3, (a * (4 * b - X3) - 8 * g * g) % p, 2 * Y * Z % p


def _madd(X, Y, Z, x, y):
    """(X,Y,Z) + (x,y) with (x,y) affine and not infinity (madd, 8M + 3S)."""
    if Z == 0:
        return x, y, 1
    p = P
    z2 = Z * Z % p
    H = (x * z2 - X) % p
    R = (y * (Z * z2 % p) - Y) % p
    if H == 0:
        if R == 0:
            return _dbl(X, Y, Z)
        return 1, 1, 0
    HH = H * H % p
    HHH = H * HH % p
    V = X * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    return X3, (R * (V - X3) - Y * HHH) % p, Z * H % p


def inverse(a, m):
    """a^-1 mod m for 0 < a < m, m prime (extended Euclid: ~7x faster than pow(a, m - 2, m) on
    MicroPython; never pow(a, -1, m), which silently returns 0 there). 0 when not invertible."""
    u = a % m
    v = m
    x1 = 1
    x2 = 0
    while u > 1:
        q, r = divmod(v, u)
        v = u
        u = r
        x1, x2 = x2 - q * x1, x1
    if u != 1:
        return 0
    return x1 % m


def _to_affine(X, Y, Z):
    zi = inverse(Z, P)
    zi2 = zi * zi % P
    return X * zi2 % P, Y * zi2 * zi % P


def _affine_batch(pts):
    """Jacobian points (none at infinity) -> affine, with one inversion (Montgomery's trick)."""
    p = P
    pre = []
    acc = 1
    for q in pts:
        pre.append(acc)
        acc = acc * q[2] % p
    inv = inverse(acc, p)
    out = [None] * len(pts)
    i = len(pts) - 1
    while i >= 0:
        X, Y, Z = pts[i]
        zi = inv * pre[i] % p
        inv = inv * Z % p
        zi2 = zi * zi % p
        out[i] = (X * zi2 % p, Y * zi2 * zi % p)
        i -= 1
    return out


def _recode(e, w):
    """Signed base-2^w digits of 0 <= e < 2^256, least significant first, each in
    [-(2^(w-1) - 1), 2^(w-1)]; 256//w + 1 digits (the last absorbs the final carry)."""
    half = 1 << (w - 1)
    full = 1 << w
    mask = full - 1
    out = []
    c = 0
    for _ in range(256 // w + 1):
        v = (e & mask) + c
        e >>= w
        if v > half:
            v -= full
            c = 1
        else:
            c = 0
        out.append(v)
    return out


# ---------------------------------------------------------------------------------------------
# arbitrary-point multiplication (signed 4-bit windows)

def _mul(k, x, y):
    """k * (x, y) for an affine point and 0 <= k < 2^256 -> Jacobian (Z == 0 for infinity)."""
    # table of 1P..8P in affine form
    jac = [(x, y, 1)]
    X, Y, Z = _dbl(x, y, 1)
    jac.append((X, Y, Z))
    for _ in range(6):
        X, Y, Z = _madd(X, Y, Z, x, y)
        jac.append((X, Y, Z))
    tab = _affine_batch(jac)
    digits = _recode(k, 4)
    p = P
    X, Y, Z = 1, 1, 0
    i = len(digits) - 1
    while i >= 0:
        d = digits[i]
        if Z:
            X, Y, Z = _dbl(X, Y, Z)
            X, Y, Z = _dbl(X, Y, Z)
            X, Y, Z = _dbl(X, Y, Z)
            X, Y, Z = _dbl(X, Y, Z)
        if d > 0:
            tx, ty = tab[d - 1]
            X, Y, Z = _madd(X, Y, Z, tx, ty)
        elif d < 0:
            tx, ty = tab[-d - 1]
            X, Y, Z = _madd(X, Y, Z, tx, p - ty)
        i -= 1
    return X, Y, Z


# ---------------------------------------------------------------------------------------------
# fixed-base comb tables (bytes)

def comb_rows(x, y, w):
    """Yield the rows of the comb table for affine (x, y): row j = k * 2^(w*j) * P for
    k = 1..2^(w-1), as bytes of 64-byte x||y entries. One row in memory at a time."""
    half = 1 << (w - 1)
    bx, by = x, y
    for _ in range(256 // w + 1):
        jac = [(bx, by, 1)]
        X, Y, Z = _dbl(bx, by, 1)
        jac.append((X, Y, Z))
        for _ in range(half - 2):
            X, Y, Z = _madd(X, Y, Z, bx, by)
            jac.append((X, Y, Z))
        # next base: 2^w * base = 2 * (2^(w-1) * base)
        jac.append(_dbl(X, Y, Z))
        aff = _affine_batch(jac)
        row = bytearray(half * 64)
        for i in range(half):
            ax, ay = aff[i]
            row[i * 64:i * 64 + 64] = ((ax << 256) | ay).to_bytes(64, "big")
        bx, by = aff[half]
        yield bytes(row)


class CombTable:
    """A comb table for one point: in memory (bytes/memoryview, e.g. frozen into flash) or in a
    file read 64 bytes at a time (fits a 64 KB heap). `w` is the digit width."""

    def __init__(self, w, buf=None, path=None):
        self.w = w
        self.half = 1 << (w - 1)
        self.rows = 256 // w + 1
        self.nbytes = self.rows * self.half * 64
        self._mv = None
        self._f = None
        if buf is not None:
            if len(buf) != self.nbytes:
                raise Reject("format", None, "comb table has the wrong size")
            self._mv = memoryview(buf)
        elif path is not None:
            self._f = open(path, "rb")
            self._buf = bytearray(64)
        else:
            raise Reject("format", None, "comb table needs buf or path")

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

    def entry(self, off):
        """The entry at byte offset off as one int x << 256 | y."""
        if self._mv is not None:
            return int.from_bytes(self._mv[off:off + 64], "big")
        f = self._f
        f.seek(off)
        f.readinto(self._buf)
        return int.from_bytes(self._buf, "big")

    def add_mul(self, e, X, Y, Z):
        """(X,Y,Z) + e * P for 0 <= e < 2^256, using only mixed additions (no doublings).

        The signed recoding is done inline: digit d in [-(2^(w-1) - 1), 2^(w-1)]; a negative
        digit uses entry |d| with y negated (the carry flag c marks it)."""
        p = P
        m = _M256
        mv = self._mv
        half = self.half
        w = self.w
        full = 1 << w
        mask = full - 1
        step = half * 64
        off = -64
        c = 0
        for _ in range(self.rows):
            d = (e & mask) + c
            e >>= w
            if d > half:
                d = full - d
                c = 1
            else:
                c = 0
            if d:
                o = off + d * 64
                if mv is not None:
                    v = int.from_bytes(mv[o:o + 64], "big")
                else:
                    v = self.entry(o)
                x = v >> 256
                y = v & m
                if c:
                    y = p - y
                if Z == 0:
                    X = x
                    Y = y
                    Z = 1
                else:
                    z2 = Z * Z % p
                    H = (x * z2 - X) % p
                    R = (y * (Z * z2 % p) - Y) % p
                    if H == 0:
                        if R == 0:
                            X, Y, Z = _dbl(X, Y, Z)
                        else:
                            X = Y = 1
                            Z = 0
                    else:
                        HH = H * H % p
                        HHH = H * HH % p
                        V = X * HH % p
                        x = (R * R - HHH - 2 * V) % p
                        Y = (R * (V - x) - Y * HHH) % p
                        X = x
                        Z = Z * H % p
            off += step
        return X, Y, Z


def build_table(x, y, w):
    """The whole comb table for (x, y) as one bytes object (size (256//w + 1) * 2^(w-1) * 64)."""
    half = 1 << (w - 1)
    out = bytearray((256 // w + 1) * half * 64)
    o = 0
    for row in comb_rows(x, y, w):
        out[o:o + len(row)] = row
        o += len(row)
    return out


def write_table(path, x, y, w):
    """Write the comb table for (x, y) to a file, one row at a time (fits a small heap)."""
    with open(path, "wb") as f:
        for row in comb_rows(x, y, w):
            f.write(row)


_G = None


def _here():
    f = __file__
    i = f.rfind("/")
    return f[:i] if i >= 0 else "."


def g_table_path():
    return _here() + "/p256_g%d.bin" % G_WIDTH


def set_g_table(table):
    """Install the comb table used for G (a CombTable), e.g. one in RAM for speed."""
    global _G
    if _G is not None and _G is not table:
        _G.close()
    _G = table


def g_table():
    """The comb table for G: a frozen module `firmware.crypto.p256_gtab` when present (flash on an
    ESP32), else the shipped file read on demand, else built into RAM (slow, large)."""
    global _G
    if _G is None:
        try:
            from firmware.crypto import p256_gtab  # generated for frozen firmware builds only

            _G = CombTable(p256_gtab.W, buf=p256_gtab.TABLE)
        except ImportError:
            try:
                _G = CombTable(G_WIDTH, path=g_table_path())
            except OSError:
                _G = CombTable(G_WIDTH, buf=build_table(GX, GY, G_WIDTH))
    return _G


def load_g_table_into_ram():
    """Read the shipped G table file fully into RAM (hosts / boards with PSRAM)."""
    with open(g_table_path(), "rb") as f:
        set_g_table(CombTable(G_WIDTH, buf=f.read()))


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
    return g_table().add_mul(k, 1, 1, 0)


def public_key(d32):
    """Uncompressed SEC1 public key (65 bytes) for the 32-byte private key."""
    d = _scalar(d32)
    x, y = _to_affine(*_base_mul(d))
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

def _check_xr(X, Z, r):
    """True when the affine x of (X, Y, Z) is congruent to r mod n, without inverting Z."""
    if Z == 0:
        return False
    z2 = Z * Z % P
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
    """A trusted ECDSA public key with its comb table (bytes) for fast verification.

    VerifyKey(pub) builds the table in RAM ((256//w + 1) * 2^(w-1) * 64 bytes: 151 KB for w=7,
    33 KB for w=4); VerifyKey(pub, path=...) keeps it in a file read on demand (built on first
    use when the file does not match); VerifyKey(pub, table=bytes) uses a table built earlier
    (e.g. frozen). The key is validated first (Reject("key"))."""

    def __init__(self, pub_bytes, w=KEY_WIDTH, path=None, table=None):
        self.x, self.y = decode_point(pub_bytes)
        self.pub = encode_point(self.x, self.y)
        if table is not None:
            self.table = CombTable(w, buf=table)
        elif path is not None:
            hdr_ok = False
            try:
                with open(path + ".key", "rb") as f:
                    hdr_ok = f.read() == self.pub + bytes((w,))
            except OSError:
                hdr_ok = False
            if not hdr_ok:
                write_table(path, self.x, self.y, w)
                with open(path + ".key", "wb") as f:
                    f.write(self.pub + bytes((w,)))
            self.table = CombTable(w, path=path)
            if self.table.nbytes != _file_size(path):
                self.table.close()
                raise Reject("format", None, "comb table file has the wrong size")
        else:
            self.table = CombTable(w, buf=build_table(self.x, self.y, w))

    def verify(self, hash32, sig64):
        v = _sig_scalars(hash32, sig64)
        if v is None:
            return False
        r, u1, u2 = v
        X, Y, Z = g_table().add_mul(u1, 1, 1, 0)
        X, Y, Z = self.table.add_mul(u2, X, Y, Z)
        return _check_xr(X, Z, r)

    def close(self):
        self.table.close()


def _file_size(path):
    import os

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
    X, Y, Z = g_table().add_mul(u1, X, Y, Z)
    return _check_xr(X, Z, r)


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
        x, _ = _to_affine(*_base_mul(k))
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
