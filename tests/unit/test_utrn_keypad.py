"""Keypad entry path (firmware/utrn/keypad.py) on the board HAL keypad (board/hal.py Keypad over a
MemStream): typing, correction, enter, lockout messages, Enable Supply + the supply button."""
from test_utrn_rig import Rig  # first: it loads the store before the rest (heap layout)
from board.hal import Keypad, MemStream
from firmware.utrn import config
from firmware.utrn.keypad import KeypadEntry


def _entry(r):
    s = MemStream()
    shown = []
    return s, shown, KeypadEntry(r.a, Keypad(s), shown.append, r.clock)


def test_keypad_topup_correction_and_duplicate():
    r = Rig()
    try:
        s, shown, ke = _entry(r)
        s.feed(b"7394614433204021731" + b"9*5" + b"#")  # typo corrected with '*'
        assert ke.poll() == ["ACCEPTED +10.00 BALANCE 10.00"]
        s.feed(b"73946144332040217315\n")
        assert ke.poll() == ["REJECTED 8F51 DUPLICATE"] and r.a.balance == 1000
        s.feed(b"#")  # empty entry: nothing
        assert ke.poll() == [] and shown == ["ACCEPTED +10.00 BALANCE 10.00", "REJECTED 8F51 DUPLICATE"]
    finally:
        r.close()


def test_keypad_lockout_messages():
    r = Rig(defaults=True)
    try:
        s, shown, ke = _entry(r)
        s.feed(b"12345678910121314156#" * 5 + b"73946144332040217315#")
        out = ke.poll()
        assert out[:4] == ["REJECTED 8F63 CHECK_DIGIT"] * 4
        assert out[4] == "REJECTED 8F63 - ENTRY SUSPENDED" and out[5] == "LOCKED OUT"
        assert r.a.balance == 0
    finally:
        r.close()


def test_keypad_enable_supply_then_button():
    r = Rig("own_keys.json")
    try:
        s, shown, ke = _entry(r)
        r.meter.disconnect()
        s.feed(r.make(60, 2, config.value(config.ENABLE_SUPPLY)).encode() + b"#")
        assert ke.poll() == ["SUPPLY ARMED - PRESS A"] and r.meter.supply == "armed"
        s.feed(b"A")
        assert ke.poll() == ["SUPPLY ON"] and r.meter.supply == "connected"
        s.feed(b"A")
        assert ke.poll() == []
    finally:
        r.close()
