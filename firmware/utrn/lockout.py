"""Keypad (manual entry) lockout for UTRNs and configuration codes (shared/reference/gbcs.md §9.6;
optical.md §1.6-1.7): failed manual entries are counted in a sliding window; the `fails`-th failure
within `window` seconds suspends manual entry for `lock` seconds (event 0x81C4), and entries during
the suspension are refused with 0x81C5. Defaults 5 / 600 s / 3600 s (the Landis+Gyr E470 field
practice; GBCS gives no normative numbers), configurable.

State (failure times, locked-until, latest time seen) is one durable record, written before the
failure is reported, so neither a reboot nor a power cut resets it. Time is the caller's wall clock
in seconds; it is clamped so that it never runs backwards (a clock set back cannot shorten a lock).
"""
from firmware.alerts import Reject, UTRN_LOCKED_OUT, UTRN_ENTRY_SUSPENDED
from firmware.compat import const

_REC = "utrn_lock"
DEFAULT_FAILS = const(5)
DEFAULT_WINDOW = const(600)
DEFAULT_LOCK = const(3600)


class EntryLockout:
    def __init__(self, store, fails=DEFAULT_FAILS, window=DEFAULT_WINDOW, lock=DEFAULT_LOCK):
        if fails < 1 or window < 1 or lock < 0:
            raise Reject("value", None, "lockout parameters")
        self._store = store
        self.fails = fails
        self.window = window
        self.lock = lock
        d = store.get_json(_REC, None) or {}
        self.times = list(d.get("f", ()))
        self.until = d.get("u", 0)
        self.last = d.get("t", 0)

    def _now(self, now):
        return now if now > self.last else self.last

    def locked(self, now):
        return self.until > self._now(now)

    def check(self, now):
        """Raise Reject(UTRN_LOCKED_OUT) while manual entry is suspended."""
        now = self._now(now)
        if self.until > now:
            raise Reject("locked_out", UTRN_LOCKED_OUT, "manual entry suspended for %d s more"
                         % (self.until - now))

    def failed(self, now):
        """Record one failed manual entry (durably). Returns True when this failure started a
        suspension (the caller raises event 0x81C4)."""
        now = self._now(now)
        times = [t for t in self.times if t > now - self.window]
        times.append(now)
        until = self.until
        started = False
        if len(times) >= self.fails:
            until = now + self.lock
            times = []
            started = True
        self._store.put_json(_REC, {"f": times, "u": until, "t": now})
        self.times, self.until, self.last = times, until, now
        return started

    def state(self):
        return {"failures": len(self.times), "locked_until": self.until, "last": self.last}


SUSPENDED = UTRN_ENTRY_SUSPENDED
