"""Engineering menu code entry through the real UTRN acceptance function (firmware.utrn.accept) with
the UTRN vectors of tests/vectors/utrn (RTDS CS01a codes for ESME 00DB1234567890A0), on the front
panel wiring boards use (firmware.frontpanel) with a role that has only a model and an acceptor."""
from firmware.store.durable import Store  # noqa: F401,I001  (first: compiled on a fresh heap)
import test_optical_support as S
import json

import _t
from board.hal import MemStream
from board.unix import Board
from firmware.core import seclog
from firmware.frontpanel import FrontPanel
from firmware.meter.model import MeterModel
from firmware.optical import menu
from firmware.utrn.accept import Acceptor

MP_HEAPSIZE = "256K"  # store + utrn + the optical port, menu and front panel compiled from source (see test_optical_port)


class CodeRole:
    """The role interface (firmware/roles/__init__.py) with nothing but a model and an acceptor."""

    name = "test"
    ident = "SMLAB-TEST"

    def __init__(self, store, eui, model, acceptor):
        self.store, self.eui, self.model, self.acceptor = store, eui, model, acceptor
        self.trust = None

    def process(self, buf):
        raise AssertionError("no GBCS here")

    def hht_anchor(self, issuer):
        return None

    def poll(self, now):
        return None


def test_menu_code_entry_accepts_once():
    with open(_t.ROOT + "/tests/vectors/utrn/rtds_a0.json") as f:
        v = json.load(f)
    root = S.scratch_dir()
    try:
        clock = S.Clock()
        st = S.store_at(root)
        model = MeterModel(st)
        acc = Acceptor(st, _t.unhex(v["device_eui"]), _t.unhex(v["supplier_eui"]), _t.unhex(v["z"]),
                       model, clock.time)
        acc.boot()
        menu.set_pin(st, "2468", b"0123456789abcdef")
        kp = MemStream()
        b = Board(root + "/board", streams={"keypad": kp})
        b.ticks_ms = clock.ticks_ms
        b.time = clock.time
        panel = FrontPanel(b, CodeRole(st, S.METER_EUI, model, acc))
        shown = b.displayed

        def keys(text):
            kp.feed(text.encode())
            panel.poll()

        code = v["codes"][0]["utrn"]
        keys("D2468#4" + code + "#")
        assert panel.menu.state == menu.CODE
        assert shown[-1] == "ACCEPTED CREDIT 10.00"
        assert acc.balance == 1000
        keys(code + "#")  # the same code again: refused, balance unchanged
        assert shown[-1].startswith("REJECTED ")
        keys(v["bad_check_digit"] + "#")
        assert shown[-1].startswith("REJECTED ")
        assert acc.balance == 1000
        ents = seclog.menu(st).entries()
        assert ents[-3] == "8161 menu code accepted"
        assert ents[-2].startswith("8162 menu code refused") and ents[-1].startswith("8162 menu")
    finally:
        S.rmtree(root)
