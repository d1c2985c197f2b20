"""UTRN acceptance function (firmware/utrn/accept.py) on the real store and meter model, part:
Keypad lockout (default 5 failures in 10 min -> 1 h; configurable; persisted across reboots; clock
set back does not shorten it; remote path exempt) and brute force (keypad path + authentication fast path).
Shared rig: test_utrn_rig.py. References: shared/reference/gbcs.md §9; docs/utrn.md.
"""
from test_utrn_rig import Rig, _rejects  # first: it loads the store before the rest (heap layout)
import _t
from firmware.alerts import Reject, UTRN_NOT_AUTHENTIC, UTRN_ENTRY_SUSPENDED, UTRN_LOCKED_OUT
from firmware.utrn import codec
from firmware.utrn.accept import REMOTE


def test_lockout_engages_persists_and_expires():
    r = Rig(defaults=True)
    try:
        assert (r.a.cfg["lock_fails"], r.a.cfg["lock_window"], r.a.cfg["lock_time"]) == (5, 600, 3600)
        bad = "73946144332040217316"  # wrong check digit
        for i in range(4):
            e = _rejects(r, bad, UTRN_NOT_AUTHENTIC)
            r.clock.t += 60
        e = _t.raises(Reject, r.a.accept, bad)  # 5th failure within 10 min: suspension starts
        assert e.code == UTRN_NOT_AUTHENTIC and e.events == (UTRN_ENTRY_SUSPENDED,)
        good = "73946144332040217315"
        e = _rejects(r, good, UTRN_LOCKED_OUT, "locked_out")  # even a valid code is refused
        r.reboot()  # a reboot does not reset it
        r.clock.t += 1800
        _rejects(r, good, UTRN_LOCKED_OUT)
        r.clock.t -= 100000  # a clock set back does not shorten it
        _rejects(r, good, UTRN_LOCKED_OUT)
        r.clock.t += 100000 + 1801  # one hour after the 5th failure
        assert r.a.accept(good)["balance"] == 1000
        # the remote path is not subject to the keypad lockout
        for i in range(5):
            _t.raises(Reject, r.a.accept, bad)
        _rejects(r, "73948959061972833313", UTRN_LOCKED_OUT)
        assert r.a.accept("73948959061972833313", source=REMOTE, counter64=5 << 32)["balance"] == 2000
        log = r.a.log.entries()
        assert sum(1 for x in log if "0x81C4" in x) == 2
        assert sum(1 for x in log if "0x81C5" in x) >= 2
    finally:
        r.close()


def test_lockout_window_slides_and_is_configurable():
    r = Rig(lock_fails=3, lock_window=60, lock_time=120)
    try:
        bad = "73946144332040217316"
        for i in range(6):  # 3 failures but never 3 within 60 s
            _t.raises(Reject, r.a.accept, bad)
            r.clock.t += 31
        assert not r.a.lock.locked(r.clock.t)
        _t.raises(Reject, r.a.accept, bad)
        e = _t.raises(Reject, r.a.accept, bad)  # 2 within the window + this one
        assert getattr(e, "events", None) == (UTRN_ENTRY_SUSPENDED,)
        r.clock.t += 119
        _rejects(r, "73946144332040217315", UTRN_LOCKED_OUT)
        r.clock.t += 1
        assert r.a.accept("73946144332040217315")["balance"] == 1000
    finally:
        r.close()


def test_brute_force_keypad_path_locks_out():
    r = Rig(defaults=True)
    try:
        seed = 12345
        accepted = locked = other = suspended = 0
        for i in range(300):
            seed = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
            code = "%020d" % (seed % 10 ** 20)
            try:
                r.a.accept(code)
                accepted += 1
            except Reject as e:
                if e.code == UTRN_LOCKED_OUT:
                    locked += 1
                else:
                    other += 1
                    if getattr(e, "events", None):
                        suspended += 1
            r.clock.t += 10  # 10 s per attempt: 300 attempts = 50 min, one suspension
        assert accepted == 0 and r.a.balance == 0 and r.a.cache == []
        assert other == 5 and suspended == 1 and locked == 295
    finally:
        r.close()


def test_brute_force_fast_path():
    # the authentication step alone (no lockout, no writes): random codes with a valid format and
    # check digit, so that every one reaches the MAC check; none may pass
    r = Rig()
    try:
        seed = 99
        passed = 0
        for i in range(400):
            seed = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
            trunc = seed & 0x1FF
            vclass = (seed >> 10) & 1
            value = (seed >> 12) & 0x1FFF
            m = ((seed >> 25) & 0xFFFFFFFF).to_bytes(4, "big")
            try:
                r.a.authenticate(codec.encode(trunc, vclass, value, m))
                passed += 1
            except Reject as e:
                assert e.code == UTRN_NOT_AUTHENTIC and e.reason == "mac"
        assert passed == 0
    finally:
        r.close()
