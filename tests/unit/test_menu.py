"""Engineering menu: PIN login with persisted lockout, non-critical functions only, code entry
through the UTRN acceptance function, idle logout (firmware/optical/menu.py)."""
import test_optical_support as S  # noqa: I001
import _t
from firmware.alerts import Reject
from firmware.core import seclog
from firmware.optical import menu
from firmware.optical.restricted import MeterView

MP_HEAPSIZE = "160K"  # compiling store + optical from source (see test_optical_port)


class Rig:
    def __init__(self, root=None, pin="2468", code_entry=None, clock=None):
        self.root = root or S.scratch_dir()
        self.clock = clock or S.Clock()
        self.store = S.store_at(self.root)
        if pin and root is None:
            menu.set_pin(self.store, pin, b"0123456789abcdef")
        self.shown = []
        self.view = MeterView(self.store, S.METER_EUI, self.clock)
        self.menu = menu.Menu(self.store, self.shown.append, self.clock, self.view, code_entry)

    def keys(self, text):
        self.menu.feed(text)
        return self.shown[-1]

    def reboot(self):
        return Rig(self.root, None, clock=self.clock)

    def security(self):
        return seclog.menu(self.store).entries()


def test_pin_login_and_functions():
    r = Rig()
    try:
        assert r.keys("2") == "PIN *"
        assert r.keys("468#") == menu.MAIN_TEXT
        assert r.menu.state == menu.MAIN
        assert r.keys("1") == "88888888 DISPLAY TEST"
        assert r.keys("2") == "ID 00DB1234567890A0 smlab-1"
        assert r.keys("3") == "0 8161 menu display test"
        assert r.keys("#") == "1 8161 menu login"
        assert r.keys("#") == "LOG END"
        assert r.keys("*") == menu.MAIN_TEXT
        assert r.keys("4") == "CODE?"
        assert r.keys("123#") == "CODE ENTRY N/A"
        assert r.keys("*") == menu.MAIN_TEXT
        # no other menu entries exist: unknown keys just redisplay the menu
        for k in "56789#":
            assert r.keys(k) == menu.MAIN_TEXT
        assert r.keys("0") == ""
        assert r.menu.state == menu.OUT
        assert r.security()[-1] == "8161 menu logout exit"
    finally:
        S.rmtree(r.root)


def test_wrong_pins_lock_and_survive_reboot():
    r = Rig()
    try:
        before_model = r.store.get("meter")
        assert r.keys("1111#") == "WRONG PIN"
        assert r.keys("2222#") == "WRONG PIN"
        assert r.keys("3333#") == "LOCKED 60 S"
        # even the right PIN is refused while locked, also after a reboot
        assert r.keys("2468#") == "LOCKED 60 S"
        r2 = r.reboot()
        r2.clock.advance(30000)
        assert r2.keys("2468#") == "LOCKED 30 S"
        r2.clock.advance(30000)
        assert r2.keys("2468#") == menu.MAIN_TEXT
        ents = r2.security()
        assert sum(1 for e in ents if e.startswith("8F53 menu PIN wrong")) == 3
        assert sum(1 for e in ents if e.startswith("8F53 menu use while locked")) == 2
        assert r2.menu.lock.failures() == 0
        assert r2.store.get("meter") == before_model
        # after a lock, the next wrong PIN locks again at double length
        r2.keys("0")
        for pin in ("1111#", "1112#"):
            r2.keys(pin)
        assert r2.keys("1113#") == "LOCKED 60 S"
        r2.clock.advance(60000)
        assert r2.keys("9999#") == "LOCKED 120 S"
    finally:
        S.rmtree(r.root)


def test_short_and_long_pins():
    r = Rig()
    try:
        assert r.keys("24#") == "WRONG PIN"  # too short: a failure, never a match
        assert r.keys("2468000000#") == "WRONG PIN"  # digits beyond 8 are dropped
        assert r.keys("*") == "PIN?"
        _t.raises(Reject, menu.set_pin, r.store, "12", b"s" * 16)
        _t.raises(Reject, menu.set_pin, r.store, "12ab", b"s" * 16)
    finally:
        S.rmtree(r.root)


def test_menu_disabled_without_pin():
    r = Rig(pin=None)
    try:
        assert r.keys("1") == "MENU DISABLED"
        assert r.menu.state == menu.OUT
    finally:
        S.rmtree(r.root)


def test_code_entry_calls_acceptance_function():
    got = []

    def accept(code):
        got.append(code)
        if code.endswith("9"):
            raise Reject("mac", 0x8F63, "not authentic")
        return "CREDIT 5.00"

    r = Rig(code_entry=accept)
    try:
        r.keys("2468#4")
        assert r.keys("12345678901234567890123#") == "ACCEPTED CREDIT 5.00"
        assert got == ["12345678901234567890"]  # at most 20 digits
        assert r.keys("19#") == "REJECTED mac"
        ents = r.security()
        assert ents[-2] == "8161 menu code accepted"
        assert ents[-1] == "8162 menu code refused: mac"
    finally:
        S.rmtree(r.root)


def test_idle_logout_and_console_noise():
    r = Rig()
    try:
        r.keys("2468\r")
        assert r.menu.state == menu.MAIN
        r.menu.feed("abc\x00\x1b[A")  # console noise is ignored
        assert r.menu.state == menu.MAIN
        r.clock.advance(menu.IDLE_MS + 1)
        r.menu.poll()
        assert r.menu.state == menu.OUT
        assert r.security()[-1] == "8161 menu logout timeout"
        stream = S.MemStream()
        stream.rx += b"2468#2"
        r.menu.poll(stream)
        assert r.shown[-1].startswith("ID 00DB")
    finally:
        S.rmtree(r.root)
