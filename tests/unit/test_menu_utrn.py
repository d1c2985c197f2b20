"""Engineering menu code entry through the real UTRN acceptance function (firmware.utrn.accept) with
the UTRN vectors of tests/vectors/utrn (RTDS CS01a codes for ESME 00DB1234567890A0)."""
from firmware.store.durable import Store  # noqa: F401,I001  (first: compiled on a fresh heap)
import test_optical_support as S
import json

import _t
from firmware.meter.model import MeterModel
from firmware.core import seclog
from firmware.optical import menu
from firmware.optical.restricted import MeterView
from firmware.optical.service import utrn_code_entry
from firmware.utrn.accept import Acceptor

MP_HEAPSIZE = "160K"  # store + utrn + optical compiled from source (see test_optical_port)


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
        shown = []
        m = menu.Menu(st, shown.append, clock, MeterView(st, S.METER_EUI, clock, model),
                      utrn_code_entry(acc))
        code = v["codes"][0]["utrn"]
        m.feed("2468#4" + code + "#")
        assert shown[-1] == "ACCEPTED CREDIT 10.00"
        assert acc.balance == 1000
        m.feed(code + "#")  # the same code again: refused, balance unchanged
        assert shown[-1].startswith("REJECTED ")
        m.feed(v["bad_check_digit"] + "#")
        assert shown[-1].startswith("REJECTED ")
        assert acc.balance == 1000
        ents = seclog.menu(st).entries()
        assert ents[-3] == "8161 menu code accepted"
        assert ents[-2].startswith("8162 menu code refused") and ents[-1].startswith("8162 menu")
    finally:
        S.rmtree(root)
