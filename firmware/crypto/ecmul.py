"""P-256 Jacobian arithmetic (FIPS 186-4 D.1.2.3 curve, a = -3 doubling dbl-2001-b, mixed
Jacobian + affine addition madd, Montgomery batch inversion) and scalar multiplication of an
arbitrary point (ECDH peer keys, keys without a comb table): signed 4-bit windows over an affine
table of 1P..8P, inlined doublings. Also G's coordinates. Used to build comb tables (combbuild.py),
for ECDH and for keys without a table; a device that verifies with table files and signs never
loads it. Reductions happen only after multiplications.
"""
from firmware.crypto.ec256 import P, inverse

GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5


def jac_dbl(X, Y, Z):
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


def jac_madd(X, Y, Z, x, y):
    """(X,Y,Z) + (x,y) with (x,y) affine and not infinity (madd, 8M + 3S)."""
    if Z == 0:
        return x, y, 1
    p = P
    z2 = Z * Z % p
    H = (x * z2 - X) % p
    R = (y * (Z * z2 % p) - Y) % p
    if H == 0:
        if R == 0:
            return jac_dbl(X, Y, Z)
        return 1, 1, 0
    HH = H * H % p
    HHH = H * HH % p
    V = X * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    return X3, (R * (V - X3) - Y * HHH) % p, Z * H % p


def jac_to_xyzz(X, Y, Z):
    zz = Z * Z % P
    return X, Y, zz, zz * Z % P


def jac_to_affine(X, Y, Z):
    zi = inverse(Z, P)
    zi2 = zi * zi % P
    return X * zi2 % P, Y * zi2 * zi % P


def jac_affine_batch(pts):
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


def jac_mul(k, x, y):
    """k * (x, y) for an affine point and 0 <= k < 2^256 -> Jacobian (Z == 0 for infinity).

    Signed 4-bit digits (kept biased by 8 in a 65-byte bytearray: no list growth, which matters
    in a fragmented 64 KB heap) over an affine table of 1P..8P; 256 doublings + <= 65 madds."""
    digits = bytearray(65)
    c = 0
    for i in range(65):
        d = (k & 15) + c
        k >>= 4
        if d > 8:
            d -= 16
            c = 1
        else:
            c = 0
        digits[i] = d + 8
    jac = [(x, y, 1)]
    X, Y, Z = jac_dbl(x, y, 1)
    jac.append((X, Y, Z))
    for _ in range(6):
        X, Y, Z = jac_madd(X, Y, Z, x, y)
        jac.append((X, Y, Z))
    tab = jac_affine_batch(jac)
    jac = None
    p = P
    X, Y, Z = 1, 1, 0
    i = 64
    while i >= 0:
        d = digits[i] - 8
        i -= 1
        if Z:
            # four a = -3 doublings, inlined (dbl-2001-b); Y == 0 cannot occur on P-256
            for _ in range(4):
                dd = Z * Z % p
                g = Y * Y % p
                b = X * g % p
                a = 3 * (X - dd) * (X + dd) % p
                Z = 2 * Y * Z % p
                X = (a * a - 8 * b) % p
                Y = (a * (4 * b - X) - 8 * g * g) % p
        if d == 0:
            continue
        if d > 0:
            tx, ty = tab[d - 1]
        else:
            tx, ty = tab[-d - 1]
            ty = p - ty
        if Z == 0:
            X = tx
            Y = ty
            Z = 1
            continue
        z2 = Z * Z % p
        H = (tx * z2 - X) % p
        R = (ty * (Z * z2 % p) - Y) % p
        if H == 0:
            if R == 0:
                X, Y, Z = jac_dbl(X, Y, Z)
            else:
                X, Y, Z = 1, 1, 0
            continue
        HH = H * H % p
        HHH = H * HH % p
        V = X * HH % p
        X = (R * R - HHH - 2 * V) % p
        Y = (R * (V - X) - Y * HHH) % p
        Z = Z * H % p
    return X, Y, Z
