"""Scalar multiplication of an arbitrary P-256 point (ECDH peer keys, keys without a comb table):
signed 4-bit windows over an affine table of 1P..8P (batch-inverted), Jacobian accumulator with
inlined a = -3 doublings (FIPS 186-4 curve; formulas dbl-2001-b and madd, see ec256.py).
"""
from firmware.crypto.ec256 import P, _dbl, _madd, _affine_batch


def _mul(k, x, y):
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
    X, Y, Z = _dbl(x, y, 1)
    jac.append((X, Y, Z))
    for _ in range(6):
        X, Y, Z = _madd(X, Y, Z, x, y)
        jac.append((X, Y, Z))
    tab = _affine_batch(jac)
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
                X, Y, Z = _dbl(X, Y, Z)
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
