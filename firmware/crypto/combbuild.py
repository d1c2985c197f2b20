"""Building P-256 comb tables (layout: comb.py): row by row with one batch inversion per row, into
RAM (build_table) or into a file (write_table, fits a 64 KB heap). Loaded only when a table is
built. (The frozen-module source for the G table: frozen.py, host only.)
"""
from firmware.crypto.ecmul import jac_dbl, jac_madd, jac_affine_batch


_CHUNK = 8  # entries per piece / per batch inversion: bounds the working heap for any w


def comb_pieces(x, y, w):
    """Yield the comb table for affine (x, y) in order, as pieces of at most 8 entries: row j
    holds k * 2^(w*j) * P for k = 1..2^(w-1), each entry 64 bytes x||y. Each piece is a
    memoryview of ONE 512-byte buffer allocated up front (before the computation fragments the heap):
    write or copy it before asking for the next. Each piece's points are batch-inverted together
    (k*B = (k-1)*B + B), so the working memory stays a few KB whatever w is."""
    half = 1 << (w - 1)
    buf = bytearray(_CHUNK * 64)
    mv = memoryview(buf)
    bx, by = x, y
    for _ in range(256 // w + 1):
        X, Y, Z = bx, by, 1
        k = 1
        while k <= half:
            jac = []
            while k <= half and len(jac) < _CHUNK:
                jac.append((X, Y, Z))
                if k == 1:
                    X, Y, Z = jac_dbl(bx, by, 1)
                else:
                    X, Y, Z = jac_madd(X, Y, Z, bx, by)
                k += 1
            n = len(jac)
            if k > half:
                # the next row's base is 2^w * B = 2 * (half * B)
                jac.append(jac_dbl(*jac[-1]))
            aff = jac_affine_batch(jac)
            jac = None
            o = 0
            for i in range(n):
                ax, ay = aff[i]
                buf[o:o + 32] = ax.to_bytes(32, "big")
                buf[o + 32:o + 64] = ay.to_bytes(32, "big")
                o += 64
            if k > half:
                bx, by = aff[n]
            aff = None
            yield mv[:o]


def build_table(x, y, w):
    """The whole comb table for (x, y) as one bytearray ((256//w + 1) * 2^(w-1) * 64 bytes)."""
    half = 1 << (w - 1)
    out = bytearray((256 // w + 1) * half * 64)
    o = 0
    for piece in comb_pieces(x, y, w):
        out[o:o + len(piece)] = piece
        o += len(piece)
    return out


def write_table(path, x, y, w):
    """Write the comb table for (x, y) to a file piece by piece (fits a small heap).
    Returns the CRC-32 of the whole table."""
    from binascii import crc32

    crc = 0
    with open(path, "wb") as f:
        for piece in comb_pieces(x, y, w):
            f.write(piece)
            crc = crc32(piece, crc)
    return crc
