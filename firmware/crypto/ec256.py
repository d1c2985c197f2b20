"""P-256 (secp256r1, FIPS 186-4 D.1.2.3) field and point arithmetic for firmware.crypto.p256:
SEC 1 v2 §2.3.3-2.3.4 point encoding with validation (§3.2.2.1), Jacobian coordinates with the
a = -3 doubling (dbl-2001-b), mixed Jacobian + affine addition (madd), XYZZ doubling and
conversions (for the comb accumulator, comb.py), extended-Euclid inversion, Montgomery batch
inversion. Reductions happen only after multiplications. Window
multiplication lives in ecmul.py; kept apart so each module compiles in a small heap.
"""
from firmware.alerts import Reject, AUTH_FAILED

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
_M256 = (1 << 256) - 1
_SQRT_EXP = (P + 1) // 4  # p = 3 mod 4: sqrt(a) = a^((p+1)/4)


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


def _dbl_xyzz(X, Y, ZZ, ZZZ):
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


def jac_to_xyzz(X, Y, Z):
    zz = Z * Z % P
    return X, Y, zz, zz * Z % P


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
        out[i] = (X * zi2 % p, Y * zi2 % p * zi % p)
        i -= 1
    return out
