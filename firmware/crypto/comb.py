"""Fixed-base comb tables for P-256 (used by firmware.crypto.p256 for G and for trusted keys).

Row j of the table for a point P holds k * 2^(w*j) * P for k = 1..2^(w-1) in affine form, each a
64-byte x||y entry, all rows in one `bytes` object (or a file read on demand, or a frozen bytes
constant in flash on an ESP32). With signed base-2^w digits a 256-bit scalar costs 256//w + 1
mixed additions and no doublings; a negative digit uses the entry with y negated.
Sizes: (256//w + 1) * 2^(w-1) * 64 bytes, 33 KB for w=4, 151 KB for w=7, 270 KB for w=8.
Building tables (comb_pieces, build_table, write_table) lives in combbuild.py.
"""
from firmware.alerts import Reject
from firmware.crypto.ec256 import P, xyzz_dbl


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
        self._buf = None
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

    def add_mul(self, e, X=1, Y=1, ZZ=0, ZZZ=0):
        """(X, Y, ZZ, ZZZ) + e * P for 0 <= e < 2^256, using only mixed additions (no doublings).

        The accumulator is in XYZZ coordinates (x = X/ZZ, y = Y/ZZZ, ZZ^3 = ZZZ^2; ZZ == 0 is
        infinity): a mixed addition costs 8M + 2S with 9 reductions (madd-2008-s), one fewer
        than Jacobian. The signed recoding is inline: digit d in [-(2^(w-1) - 1), 2^(w-1)];
        a negative digit uses entry |d| with y negated (the carry flag c marks it)."""
        p = P
        m = (1 << 256) - 1
        mv = self._mv
        f = self._f
        buf = self._buf
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
                    f.seek(o)
                    f.readinto(buf)
                    v = int.from_bytes(buf, "big")
                x = v >> 256
                y = v & m
                if c:
                    y = p - y
                if ZZ == 0:
                    X = x
                    Y = y
                    ZZ = ZZZ = 1
                else:
                    H = (x * ZZ - X) % p
                    R = (y * ZZZ - Y) % p
                    if H == 0:
                        if R == 0:
                            X, Y, ZZ, ZZZ = xyzz_dbl(X, Y, ZZ, ZZZ)
                        else:
                            ZZ = ZZZ = 0
                    else:
                        HH = H * H % p
                        HHH = H * HH % p
                        Q = X * HH % p
                        X = (R * R - HHH - 2 * Q) % p
                        Y = (R * (Q - X) - Y * HHH) % p
                        ZZ = ZZ * HH % p
                        ZZZ = ZZZ * HHH % p
            off += step
        return X, Y, ZZ, ZZZ
