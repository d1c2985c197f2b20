"""UTRN acceptance function (firmware/utrn/accept.py) on the real store and meter model, part:
RTDS a0 vectors accepted by a fresh meter, bad check digit / one digit changed, duplicate, too old
(floor, cache minimum once full); every rejection with its alert code and no state change.
Shared rig: test_utrn_rig.py. References: shared/reference/gbcs.md §9; docs/utrn.md.
"""
from test_utrn_rig import Rig, _rejects  # first: it loads the store before the rest (heap layout)
from firmware.alerts import UTRN_DUPLICATE, UTRN_NOT_AUTHENTIC, CREDIT_ADDED_LOCALLY
from firmware.utrn import codec
from firmware.utrn.accept import REMOTE


def test_rtds_a0_codes_accepted_by_fresh_meter():
    r = Rig()
    try:
        want = 0
        for c in r.v["codes"][:4]:  # the four RTDS a0 UTRNs of the acceptance list, in that order
            res = r.a.accept(c["utrn"])
            amount = c["value"] * (100 if c["value_class"] == 1 else 1)
            want += amount
            assert res["kind"] == "credit" and res["counter"] == c["counter"] and res["amount"] == amount
            assert res["alert"] == CREDIT_ADDED_LOCALLY and res["balance"] == want
        assert r.a.balance == 1000 + 1000 + 10000 + 1234
        assert r.reboot().balance == 13234 and sorted(r.a.cache) == [1, 3, 4, 5]
        assert r.a.log.entries()[-1].find("ok keypad c=4 +12.34") > 0
    finally:
        r.close()


def test_first_code_is_counter_3_ten_pounds():
    r = Rig()
    try:
        res = r.a.accept("73946144332040217315")
        assert (res["counter"], res["amount"], r.a.balance) == (3, 1000, 1000)
    finally:
        r.close()


def test_bad_check_digit_and_one_digit_changed_rejected():
    r = Rig()
    try:
        e = _rejects(r, r.v["bad_check_digit"], UTRN_NOT_AUTHENTIC, "check_digit")
        good = r.v["codes"][0]["utrn"]
        for i in (0, 5, 11, 17, 19):  # one digit changed: the check digit catches it
            d = str((int(good[i]) + 3) % 10)
            _rejects(r, good[:i] + d + good[i + 1:], UTRN_NOT_AUTHENTIC, "check_digit")
        for i in (4, 9, 14, 18):  # one digit changed and the check digit recomputed: the MAC catches it
            d = str((int(good[i]) + 1) % 10)
            p = good[:i] + d + good[i + 1:19]
            _rejects(r, p + str(codec.check_digit(p)), UTRN_NOT_AUTHENTIC)
        assert r.a.accept(good)["amount"] == 1000  # the original still works afterwards
        assert "rej keypad 0x8F63 check_digit" in r.a.log.entries()[0]
    finally:
        r.close()


def test_duplicate_rejected_balance_unchanged():
    r = Rig()
    try:
        u = r.v["codes"][0]["utrn"]
        r.a.accept(u)
        e = _rejects(r, u, UTRN_DUPLICATE, "duplicate")
        e = _rejects(r, u, UTRN_DUPLICATE, "duplicate", source=REMOTE, counter64=3 << 32)
        assert r.a.balance == 1000
    finally:
        r.close()


def test_too_old_below_floor():
    r = Rig()
    try:
        r.a.set_floor64(4 << 32)  # CS02b prepaymentTopUp floor in originator-counter space
        assert r.reboot().floor == 4
        _rejects(r, "73946144332040217315", UTRN_DUPLICATE, "too_old")  # counter 3
        _rejects(r, "73947252416745201637", UTRN_DUPLICATE, "too_old")  # counter 4 == floor
        assert r.a.accept("73948959061972833313")["counter"] == 5
        r.a.set_floor(2)  # never lowered
        assert r.a.floor == 4
    finally:
        r.close()


def test_too_old_below_cache_minimum_once_full():
    r = Rig("own_keys.json", max_balance=1 << 30)
    try:
        a = r.a
        # 99 codes: the cache is not full yet, so an older unused counter still works
        for c in range(201, 300):
            a.accept(r.make(c, 0, 1))
        assert len(a.cache) == 99
        a.accept(r.make(150, 0, 1))  # out of order, older than everything: accepted (cache not full)
        assert len(a.cache) == 100 and min(a.cache) == 150
        a.accept(r.make(300, 0, 1))  # full: evicts 150
        assert len(a.cache) == 100 and min(a.cache) == 201 and 150 not in a.cache
        _rejects(r, r.make(200, 0, 1), UTRN_DUPLICATE, "too_old")  # never used, but below the minimum
        _rejects(r, r.make(150, 0, 1), UTRN_DUPLICATE, "too_old")  # evicted: still refused
        _rejects(r, r.make(250, 0, 1), UTRN_DUPLICATE, "duplicate")
        assert r.a.balance == 101
        assert r.a.accept(r.make(210 + 1024 * 0 + 95, 0, 1))["counter"] == 305  # newer one works
    finally:
        r.close()
