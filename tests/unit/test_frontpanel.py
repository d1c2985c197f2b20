"""The front panel (firmware/frontpanel.py) of a role on a detached unix board: consumer keypad entry
and CS01a share one acceptor; keys typed while the engineering menu holds the keypad (PIN prompt,
lock shown) never reach consumer code entry nor count towards its manual-entry lockout."""
from firmware.store.durable import Store  # noqa: F401,I001  (first: compiled on a fresh heap)
import test_optical_support as S
import json

import _t
from board.hal import MemStream
from board.unix import Board
from firmware.frontpanel import FrontPanel, MENU_KEY
from firmware.meter.model import MeterModel
from firmware.optical import menu
from firmware.utrn.accept import Acceptor
from test_menu_utrn import CodeRole

MP_HEAPSIZE = "288K"  # store + utrn + optical + metering hooks (+ the GBCS pipeline in the CS01a test) compiled from source


class Panel:
    def __init__(self):
        with open(_t.ROOT + "/tests/vectors/utrn/rtds_a0.json") as f:
            self.v = json.load(f)
        v = self.v
        self.root = S.scratch_dir()
        self.clock = S.Clock()
        st = self.store = S.store_at(self.root)
        model = MeterModel(st)
        self.acc = Acceptor(st, _t.unhex(v["device_eui"]), _t.unhex(v["supplier_eui"]),
                            _t.unhex(v["z"]), model, self.clock.time)
        self.acc.boot()
        menu.set_pin(st, "2468", b"0123456789abcdef")
        self.kp = MemStream()
        b = self.board = Board(self.root + "/board", streams={"keypad": self.kp})
        b.ticks_ms = self.clock.ticks_ms
        b.time = self.clock.time
        self.panel = FrontPanel(b, CodeRole(st, S.METER_EUI, model, self.acc))

    def keys(self, text):
        self.kp.feed(text.encode())
        for _ in range(len(text) // 32 + 1):
            self.panel.poll()
        return self.board.displayed[-1]

    def close(self):
        S.rmtree(self.root)


def test_keys_while_the_menu_is_locked_never_reach_consumer_entry():
    p = Panel()
    try:
        code = p.v["codes"][0]["utrn"]
        assert p.keys(MENU_KEY + "1111#") == "WRONG PIN"
        assert p.keys("2222#") == "WRONG PIN"  # still the PIN prompt: not a consumer code
        assert p.keys("3333#") == "LOCKED 60 S"
        # the engineer keeps typing: codes, a valid UTRN, the menu key again
        for text in ("12345678901234567890#", code + "#", MENU_KEY + "2468#", "99999#" * 5):
            assert p.keys(text) == "LOCKED 60 S"
        assert p.acc.balance == 0
        assert p.store.get("utrn_lock") is None  # nothing counted towards the consumer lockout
        assert p.acc.lock.state()["failures"] == 0
        assert p.panel.menu.state == menu.LOCKED
        # '*' gives the keypad back to the consumer
        assert p.keys("*") == ""
        assert p.panel.menu.state == menu.OUT
        assert p.keys(code + "#") == "ACCEPTED +10.00 BALANCE 10.00"
        assert p.acc.balance == 1000
    finally:
        p.close()


def test_menu_prompt_keeps_the_keypad_until_left():
    p = Panel()
    try:
        assert p.keys(MENU_KEY) == "PIN?"
        assert p.keys("12345678901234567890#") == "WRONG PIN"
        assert p.keys("*") == "PIN?"
        assert p.keys("*") == ""  # '*' on the bare prompt leaves the menu
        assert p.panel.menu.state == menu.OUT
        assert p.acc.balance == 0 and p.store.get("utrn_lock") is None
        # a lock shown and left by the idle timeout also gives the keypad back
        p.keys(MENU_KEY + "1111#2222#3333#")
        assert p.panel.menu.state == menu.LOCKED
        p.clock.advance(menu.IDLE_MS + 1)
        p.panel.poll()
        assert p.panel.menu.state == menu.OUT
        # logged in: every key is the menu's; exit returns the keypad
        p.clock.advance(60000)
        assert p.keys(MENU_KEY + "2468#") == menu.MAIN_TEXT
        assert p.keys("2").startswith("ID 00DB1234567890A0")
        assert p.keys("0") == ""
        assert p.keys(p.v["codes"][0]["utrn"] + "#").startswith("ACCEPTED +10.00")
    finally:
        p.close()


def test_two_entry_paths_one_acceptor_on_a_board():
    # the keypad of a (detached) unix board and CS01a share one acceptance function and state
    from firmware.gbcs import frame
    from test_utrn_cs01a import A0, _load

    d = A0()
    try:
        kp = MemStream()
        b = Board(d.root + "/board", streams={"keypad": kp})
        panel = FrontPanel(b, d.esme)
        assert panel.port.ident == "SMLAB-ESME" and panel.entry.acceptor is d.acc
        kp.feed(b"73946144332040217315#")
        panel.poll()
        assert b.displayed == ["ACCEPTED +10.00 BALANCE 10.00"]  # shown on the board's display
        r = frame.parse(d.esme.process(_load("SUCCESS_COMMAND")))  # same UTRN by CS01a: used
        assert r.content[-1] == 1 and d.acc.balance == 1000
    finally:
        d.close()
