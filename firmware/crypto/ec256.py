"""P-256 (secp256r1, FIPS 186-4 D.1.2.3) core that a device loads to verify and sign: curve
constants, SEC 1 v2 §2.3.3-2.3.4 point encoding with validation (§3.2.2.1), private scalars
(FIPS 186-4 B.4: 0 < d < n), the XYZZ doubling and conversion used by the comb accumulator
(comb.py), extended-Euclid inversion. Jacobian formulas, batch inversion, G's coordinates and
window multiplication (table building, ECDH, keys without a table) live in ecmul.py.
"""
from firmware.alerts import Reject, AUTH_FAILED

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


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
        y = pow(a, (P + 1) >> 2, P)  # p = 3 mod 4: sqrt(a) = a^((p+1)/4)
        if y * y % P != a:
            raise Reject("key", AUTH_FAILED, "compressed x not on P-256")
        if (y & 1) != (b[0] & 1):
            y = P - y
        if y == P:  # y = 0 is its own negative
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
# scalars and the XYZZ accumulator

def scalar(d32):
    """The integer of a 32-byte big-endian private key; Reject("key") unless 0 < d < n."""
    d = int.from_bytes(d32, "big")
    if len(d32) != 32 or d == 0 or d >= N:
        raise Reject("key", None, "private key must be 32 bytes, 0 < d < n")
    return d


def xyzz_dbl(X, Y, ZZ, ZZZ):
    """2*(X, Y, ZZ, ZZZ) in XYZZ coordinates, a = -3 (dbl-2008-s-1)."""
    if ZZ == 0 or Y == 0:
        return 1, 1, 0, 0
    p = P
    U = 2 * Y
    V = U * U % p
    W = U * V % p
    S = X * V % p
    M = 3 * (X - ZZ) * (X + ZZ) % p
    X3 = (M * M - 2 * S) % p
    return X3, (M * (S - X3) - W * Y) % p, V * ZZ % p, W * ZZZ % p


def xyzz_to_affine(X, Y, ZZ, ZZZ):
    """Affine (x, y) of an XYZZ point (not infinity), one inversion."""
    t = inverse(ZZ * ZZZ % P, P)
    return X * t * ZZZ % P, Y * t * ZZ % P


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
