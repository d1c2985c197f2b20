"""UTRN acceptance function (firmware/utrn/accept.py) on the real store and meter model, part:
Other meter (keypad 0x8F63 / remote 0x8F64), own-key round trips and out-of-order entry, the remote
(CS01a) counter rules, credit thresholds (0x8F5B / 0x8F47) that refuse without burning the code.
Shared rig: test_utrn_rig.py. References: shared/reference/gbcs.md §9; docs/utrn.md.
"""
from test_utrn_rig import Rig, _rejects  # first: it loads the store before the rest (heap layout)
import _t
from firmware.alerts import (UTRN_NOT_AUTHENTIC, UTRN_NOT_FOR_DEVICE, UTRN_OVER_MAX_CREDIT,
                             UTRN_OVER_MAX_BALANCE)
from firmware.utrn.accept import REMOTE


def test_other_meter():
    r = Rig("own_keys.json")
    try:
        for c in r.v["other_meter_codes"]:
            # keypad: the MAC cannot tell "other meter" from "forged" -> not authentic
            _rejects(r, c["utrn"], UTRN_NOT_AUTHENTIC, "mac")
            # remote: the command names its recipient -> not for this device
            _rejects(r, c["utrn"], UTRN_NOT_FOR_DEVICE, "target", source=REMOTE,
                     counter64=c["counter"] << 32, target=_t.unhex(r.v["other_eui"]))
            _rejects(r, c["utrn"], UTRN_NOT_AUTHENTIC, "mac", source=REMOTE, counter64=c["counter"] << 32,
                     target=_t.unhex(r.v["device_eui"]))
        assert r.a.balance == 0
    finally:
        r.close()
    r = Rig()
    try:  # the corpus' CS01b UTRN for GSME a1 entered at ESME a0
        _rejects(r, r.v["other_meter"]["utrn"], UTRN_NOT_AUTHENTIC, "mac")
    finally:
        r.close()


def test_own_keys_roundtrip_and_out_of_order():
    r = Rig("own_keys.json")
    try:
        codes = [c for c in r.v["codes"] if c["kind"] == "credit"]
        by = {}
        for c in codes:
            by[c["counter"]] = c
        total = 0
        for n in (3, 2, 1, 8, 7):  # out of order: each newer or older code still works once
            assert r.a.accept(by[n]["utrn"])["amount"] == by[n]["amount"]
            total += by[n]["amount"]
        assert r.a.balance == total
        # counter 1000 is more than 512 above the highest used (8): manual entry reconstructs the
        # wrong counter and the MAC fails; the remote path carries the full counter and works
        _rejects(r, by[1000]["utrn"], UTRN_NOT_AUTHENTIC, "counter")
        assert r.a.accept(by[1000]["utrn"], source=REMOTE, counter64=1000 << 32)["amount"] == 150
        assert r.a.accept(by[1500]["utrn"])["counter"] == 1500  # now within the window by keypad
        assert r.reboot().balance == total + 450
    finally:
        r.close()


def test_remote_counter_must_match():
    r = Rig()
    try:
        u = "73946144332040217315"
        _rejects(r, u, UTRN_NOT_AUTHENTIC, "counter", source=REMOTE, counter64=5 << 32)
        _rejects(r, u, UTRN_NOT_AUTHENTIC, "counter", source=REMOTE, counter64=(3 << 32) | 1)
        _rejects(r, u, UTRN_NOT_AUTHENTIC, "mac", source=REMOTE, counter64=1027 << 32)
        _rejects(r, u, UTRN_NOT_AUTHENTIC, "counter", source=REMOTE)
        assert r.a.accept(u, source=REMOTE, counter64=3 << 32)["alert"] is None
    finally:
        r.close()


def test_thresholds_refuse_without_burning():
    r = Rig(max_credit=999)
    try:
        u = "73946144332040217315"  # £10
        _rejects(r, u, UTRN_OVER_MAX_CREDIT, "max_credit")
        r.a.configure(max_credit=1000, max_balance=1500)
        r.a.accept("73948959061972833313")  # balance £10
        _rejects(r, u, UTRN_OVER_MAX_BALANCE, "max_balance")
        _rejects(r, "73943680956463432551", UTRN_OVER_MAX_CREDIT)  # £8191
        r.a.debit(600)
        assert r.reboot().balance == 400 and r.a.cfg["max_balance"] == 1500
        assert r.a.accept(u)["balance"] == 1400  # the refused code was not burned
        # thresholds refuse a credit but never a lockout-countable failure
        assert r.a.lock.state()["failures"] == 0
    finally:
        r.close()


def test_rig_reboot_keeps_state():
    r = Rig("own_keys.json")
    try:
        r.a.accept(r.make(9, 0, 123))
        r.meter.disconnect()
        r.reboot()
        assert r.a.balance == 123 and r.a.cache == [9] and r.meter.supply == "disconnected"
    finally:
        r.close()
