"""Private-key scalars and fixed-base multiplication for P-256 (FIPS 186-4 B.4: 0 < d < n)."""
from firmware.alerts import Reject
from firmware.crypto.ec256 import N, xyzz_to_affine
from firmware.crypto.gtable import g_table


def scalar(d32, what="private key"):
    """The integer of a 32-byte big-endian private key; Reject("key") unless 0 < d < n."""
    if len(d32) != 32:
        raise Reject("key", None, what + " must be 32 bytes")
    d = int.from_bytes(d32, "big")
    if d == 0 or d >= N:
        raise Reject("key", None, what + " out of range")
    return d


def base_mul(k):
    """k * G (0 < k < n) as affine (x, y) via the G comb table."""
    return xyzz_to_affine(*g_table().add_mul(k))
