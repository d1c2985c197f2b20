"""Constant-time comparison of byte strings (for MACs and tags; GBCS §6.2.3 tag check).

The loop always runs over the full length of `b`; a length mismatch is folded into the result
rather than returning early, so timing depends only on the lengths, never on the content.
"""


def equal(a, b):
    """True when a == b, comparing every byte regardless of where the first difference is."""
    la = len(a)
    lb = len(b)
    diff = la ^ lb
    if la == 0:
        return lb == 0
    for i in range(lb):
        diff |= a[i % la] ^ b[i]
    return diff == 0
