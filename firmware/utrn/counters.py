"""UTRN counter discipline (shared/reference/gbcs.md §9.4-9.5; GBCS v0.8.1 Table 27, §14.1, §14.3.6).

* Manual entry carries only the low 10 bits of the 32-bit UTRN counter; the meter reconstructs the
  full counter within +-512 of the highest counter in its cache (`reconstruct`).
* Single use: a circular cache of the last 100 accepted UTRN counters plus a floor (set by CS02b
  prepaymentTopUp floor or by configuration codes). A counter is usable iff it is above the floor,
  not in the cache, and - once the cache is full - not below the cache minimum (`replay_check`).
  Inserting into a full cache evicts the lowest counter (`inserted`).

Pure functions over plain lists and ints: the acceptance function (accept.py) persists the result.
"""
from firmware.alerts import Reject, UTRN_DUPLICATE, UTRN_NOT_AUTHENTIC
from firmware.compat import const

CACHE_SIZE = const(100)
MAX_COUNTER = const(0xFFFFFFFF)


def reconstruct(highest, trunc):
    """Full 32-bit UTRN counter from the 10-bit truncated counter `trunc` and the highest counter
    `highest` known to the meter (cache maximum, or the floor while the cache is empty)."""
    p = highest & 0x3FF
    q = highest - p
    if trunc < p - 512:
        s = trunc + 1024
    elif trunc > p + 512:
        s = trunc - 1024
    else:
        s = trunc
    c = q + s
    if c < 0 or c > MAX_COUNTER:
        raise Reject("counter", UTRN_NOT_AUTHENTIC, "reconstructed counter out of range")
    return c


def from_originator(counter64, trunc):
    """UTRN counter from a CS01a/CS01b originator counter (UTRN counter << 32); its bits 32-41 must
    equal the PTUT's truncated counter and its low 32 bits must be zero."""
    if not 0 <= counter64 <= 0xFFFFFFFFFFFFFFFF or counter64 & 0xFFFFFFFF:
        raise Reject("counter", UTRN_NOT_AUTHENTIC, "originator counter is not a UTRN counter")
    c = counter64 >> 32
    if c & 0x3FF != trunc:
        raise Reject("counter", UTRN_NOT_AUTHENTIC, "originator counter does not match the UTRN")
    return c


def highest(cache, floor):
    """The reference value V for reconstruction."""
    return max(cache) if cache else max(floor, 0)


def replay_check(cache, floor, counter):
    """Raise Reject(UTRN_DUPLICATE) when `counter` was used or is too old; else return None."""
    if counter <= floor:
        raise Reject("too_old", UTRN_DUPLICATE, "counter %d at or below floor %d" % (counter, floor))
    if counter in cache:
        raise Reject("duplicate", UTRN_DUPLICATE, "counter %d already used" % counter)
    if len(cache) >= CACHE_SIZE and counter < min(cache):
        raise Reject("too_old", UTRN_DUPLICATE, "counter %d below cache minimum" % counter)


def inserted(cache, counter):
    """A new cache list with `counter` added (evicting the lowest when full); `cache` unchanged."""
    out = list(cache)
    if len(out) >= CACHE_SIZE:
        out.remove(min(out))
    out.append(counter)
    return out
