"""Fixed-base comb tables for P-256 (used by firmware.crypto.p256 for G and for trusted keys).

Row j of the table for a point P holds k * 2^(w*j) * P for k = 1..2^(w-1) in affine form, each a
64-byte x||y entry, all rows in one `bytes` object (or a file read on demand, or a frozen bytes
constant in flash on an ESP32). With signed base-2^w digits a 256-bit scalar costs 256//w + 1
mixed additions and no doublings; a negative digit uses the entry with y negated.
Sizes: (256//w + 1) * 2^(w-1) * 64 bytes, 33 KB for w=4, 151 KB for w=7, 270 KB for w=8.
"""
from firmware.alerts import Reject
from firmware.crypto.ec256 import P, GX, GY, _M256, _dbl, _madd, _affine_batch, _dbl_xyzz

G_WIDTH = 7

# ---------------------------------------------------------------------------------------------
# fixed-base comb tables (bytes)

def comb_rows(x, y, w):
    """Yield the rows of the comb table for affine (x, y): row j = k * 2^(w*j) * P for
    k = 1..2^(w-1), 64-byte x||y entries. Yields the SAME bytearray each time (allocated once,
    before the computation fragments the heap): copy or write it out before the next row."""
    half = 1 << (w - 1)
    row = bytearray(half * 64)
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
        jac = None
        for i in range(half):
            ax, ay = aff[i]
            row[i * 64:i * 64 + 32] = ax.to_bytes(32, "big")
            row[i * 64 + 32:i * 64 + 64] = ay.to_bytes(32, "big")
        bx, by = aff[half]
        aff = None
        yield row


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

    def add_mul(self, e, X=1, Y=1, ZZ=0, ZZZ=0):
        """(X, Y, ZZ, ZZZ) + e * P for 0 <= e < 2^256, using only mixed additions (no doublings).

        The accumulator is in XYZZ coordinates (x = X/ZZ, y = Y/ZZZ, ZZ^3 = ZZZ^2; ZZ == 0 is
        infinity): a mixed addition costs 8M + 2S with 9 reductions (madd-2008-s), one fewer
        than Jacobian. The signed recoding is inline: digit d in [-(2^(w-1) - 1), 2^(w-1)];
        a negative digit uses entry |d| with y negated (the carry flag c marks it)."""
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
                if ZZ == 0:
                    X = x
                    Y = y
                    ZZ = ZZZ = 1
                else:
                    H = (x * ZZ - X) % p
                    R = (y * ZZZ - Y) % p
                    if H == 0:
                        if R == 0:
                            X, Y, ZZ, ZZZ = _dbl_xyzz(X, Y, ZZ, ZZZ)
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


def write_frozen_module(path, w=None):
    """Write a Python module `W = w; TABLE = b"..."` holding the G comb table, for a firmware
    build that freezes it (manifest.py: module("p256_gtab.py", base_path=...), installed as
    firmware/crypto/p256_gtab.py): a frozen bytes constant lives in flash, so g_table() then
    costs no heap. Run on the host; the table is read from the shipped file when present."""
    w = G_WIDTH if w is None else w
    try:
        with open(_here() + "/p256_g%d.bin" % w, "rb") as f:
            tab = f.read()
    except OSError:
        tab = bytes(build_table(GX, GY, w))
    with open(path, "w") as f:
        f.write('"""Generated by firmware.crypto.comb.write_frozen_module: P-256 G comb table, ')
        f.write('w=%d (see comb.py). Freeze into flash; do not edit."""\n' % w)
        f.write("W = %d\nTABLE = (\n" % w)
        for i in range(0, len(tab), 48):
            f.write("    b'%s'\n" % "".join("\\x%02x" % c for c in tab[i:i + 48]))
        f.write(")\n")


def load_g_table_into_ram():
    """Read the shipped G table file fully into RAM (hosts / boards with PSRAM)."""
    with open(g_table_path(), "rb") as f:
        set_g_table(CombTable(G_WIDTH, buf=f.read()))


