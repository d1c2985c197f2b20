"""ECDSA P-256 verification (FIPS 186-4 §6.4 / SEC 1 §4.1.4) with raw 64-byte r||s signatures
(IEEE P1363, as GBCS §6.3.3 uses) over a 32-byte SHA-256 hash, and VerifyKey: a trusted key with
its own comb table (bytes in RAM or flash, or a file read on demand). The verify equation is
checked without a final inversion: x(u1*G + u2*Q) == r (mod n) as X == r*ZZ or (r + n)*ZZ.
A device imports `VerifyKey` from here (a table file per trusted key); the window multiplication
(ecmul.py) is loaded only for keys without a table and for verify() with key bytes.
Each verify runs with the small-heap collection threshold suspended (firmware/gcpolicy.py): its
big-integer temporaries are all garbage when it returns.
"""
from firmware import gcpolicy
from firmware.crypto.ec256 import N, P, decode_point, encode_point, inverse
from firmware.crypto.comb import CombTable
from firmware.crypto.gtable import g_table

KEY_WIDTH = 7


def _check_xr(X, ZZ, r):
    """True when the affine x = X / ZZ (XYZZ coordinates) is congruent to r mod n, without an
    inversion: X == r * ZZ, or (r + n) * ZZ when r + n < p."""
    if ZZ == 0:
        return False
    if X == r * ZZ % P:
        return True
    r += N
    return r < P and X == r * ZZ % P


def _sig_scalars(hash32, sig64):
    """(r, u1, u2) for a well-formed signature (lengths, 0 < r, s < n), else None."""
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
    (built once, reused while `path + ".key"` names the same key and width and the table's CRC-32
    matches; fits a 64 KB heap).
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
            from firmware.crypto.keyfile import file_table

            self.table = file_table(path, self.pub, self.x, self.y, w)
        else:
            try:
                from firmware.crypto.combbuild import build_table

                self.table = CombTable(w, buf=build_table(self.x, self.y, w))
            except MemoryError:
                self.table = None
        self.mode = "window" if self.table is None else ("ram" if path is None or table is not None else "file")

    def verify(self, hash32, sig64):
        """ECDSA verify of a 32-byte hash and 64-byte r||s -> True/False (never raises)."""
        if self.table is None:
            return verify(self, hash32, sig64)
        v = _sig_scalars(hash32, sig64)
        if v is None:
            return False
        gcpolicy.suspend()
        try:
            X, Y, ZZ, ZZZ = self.table.add_mul(v[2], *g_table().add_mul(v[1]))
        finally:
            gcpolicy.resume()
        return _check_xr(X, ZZ, v[0])

    def close(self):
        if self.table is not None:
            self.table.close()


def verify(pub, hash32, sig64):
    """ECDSA P-256 verify of a 32-byte hash and 64-byte r||s. pub: SEC1 bytes (validated,
    Reject("key") when invalid) or a VerifyKey. Returns True/False, never raises for a malformed
    signature or hash."""
    if isinstance(pub, VerifyKey):
        if pub.table is not None:
            return pub.verify(hash32, sig64)
        qx, qy = pub.x, pub.y
    else:
        qx, qy = decode_point(pub)
    from firmware.crypto.ecmul import jac_mul, jac_to_xyzz

    v = _sig_scalars(hash32, sig64)
    if v is None:
        return False
    r, u1, u2 = v
    gcpolicy.suspend()
    try:
        X, Y, Z = jac_mul(u2, qx, qy)
        X, Y, ZZ, ZZZ = g_table().add_mul(u1, *jac_to_xyzz(X, Y, Z))
    finally:
        gcpolicy.resume()
    return _check_xr(X, ZZ, r)


