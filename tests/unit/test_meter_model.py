"""ESME meter model (firmware/meter/model.py): load-switch state machine and payment mode,
persisted in the durable store (gbcs.md §7.2-§7.5)."""
import os
from binascii import hexlify

import _t
from firmware.alerts import Reject
from firmware.meter.model import MeterModel
from firmware.store.durable import Store


class Tmp:
    def __enter__(self):
        self.path = "/tmp/smlab-meter-" + hexlify(os.urandom(6)).decode()
        return self.path

    def __exit__(self, *a):
        _t.rmtree(self.path)


def test_defaults_and_state_machine():
    with Tmp() as root:
        m = MeterModel(Store(root))
        assert m.supply == "connected" and m.payment_mode == "credit" and m.control_state == 1
        m.disconnect()
        assert m.supply == "disconnected" and m.control_state == 0
        assert m.button_press() is False and m.supply == "disconnected"
        m.arm()
        assert m.supply == "armed" and m.control_state == 2
        assert m.button_press() is True and m.supply == "connected"
        m.arm()  # arming a connected supply changes nothing
        assert m.supply == "connected"
        m.disconnect()
        m.connect()
        assert m.supply == "connected"


def test_persisted_across_reload():
    with Tmp() as root:
        m = MeterModel(Store(root))
        m.disconnect()
        m.arm()
        m.set_payment_mode("prepayment")
        m.set_account("x", [1, "a"])
        s2 = Store(root)
        s2.boot()
        m2 = MeterModel(s2)
        assert (m2.supply, m2.payment_mode, m2.account["x"]) == ("armed", "prepayment", [1, "a"])
        m2.button_press()
        assert MeterModel(Store(root)).supply == "connected"


def test_bad_payment_mode_rejected_without_change():
    with Tmp() as root:
        st = Store(root)
        m = MeterModel(st)
        _t.raises(Reject, m.set_payment_mode, "barter")
        assert MeterModel(st).payment_mode == "credit"
        st.put_json("meter", {"supply": "sideways"})
        _t.raises(Reject, MeterModel, st)
