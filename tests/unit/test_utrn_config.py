"""UTRN acceptance function (firmware/utrn/accept.py) on the real store and meter model, part:
Configuration codes (docs/config-codes.md): Switch to Credit Mode, Enable Supply through the load-switch
state machine, single use, configuration floor, meter-specific, reserved class / unknown opcode, pending
action completed at boot.
Shared rig: test_utrn_rig.py. References: shared/reference/gbcs.md §9; docs/utrn.md.
"""
from test_utrn_rig import Rig, _rejects  # first: it loads the store before the rest (heap layout)
from firmware.alerts import UTRN_DUPLICATE, UTRN_NOT_AUTHENTIC, UI_COMMAND_FAILED
from firmware.utrn import config
from firmware.utrn.accept import pack_state, unpack_state


def test_config_switch_to_credit_single_use():
    r = Rig("own_keys.json")
    try:
        r.meter.set_payment_mode("prepayment")
        code = [c for c in r.v["codes"] if c.get("op") == "switch_to_credit"][0]
        res = r.a.accept(code["utrn"])
        assert res["kind"] == "config" and res["op"] == "switch_to_credit" and res["counter"] == code["counter"]
        assert r.meter.payment_mode == "credit" and r.a.balance == 0
        r.reboot()
        assert r.meter.payment_mode == "credit" and r.a.config_floor == code["counter"]
        r.meter.set_payment_mode("prepayment")
        _rejects(r, code["utrn"], UTRN_DUPLICATE, "duplicate")  # accepted once only
        assert r.meter.payment_mode == "prepayment"
        # an unused configuration code older than the last accepted one is dead ("set" rule)
        _rejects(r, r.make(code["counter"] - 1, 2, config.value(config.SWITCH_TO_CREDIT)),
                 UTRN_DUPLICATE, "too_old")
        # ... while an older unused top-up is still fine
        assert r.a.accept(r.make(code["counter"] - 2, 0, 100))["amount"] == 100
    finally:
        r.close()


def test_config_enable_supply_respects_load_switch():
    r = Rig("own_keys.json")
    try:
        r.meter.disconnect()
        code = [c for c in r.v["codes"] if c.get("op") == "enable_supply"][0]
        res = r.a.accept(code["utrn"])
        assert res["result"] == "armed" and r.meter.supply == "armed"  # not connected by the code
        r.reboot()
        assert r.meter.supply == "armed"
        assert r.meter.button_press() and r.meter.supply == "connected"  # the consumer connects
        _rejects(r, code["utrn"], UTRN_DUPLICATE)
        res = r.a.accept(r.make(40, 2, config.value(config.ENABLE_SUPPLY)))
        assert res["result"] == "already connected" and r.meter.supply == "connected"
    finally:
        r.close()


def test_config_codes_meter_specific_and_well_formed():
    r = Rig("own_keys.json")
    try:
        r.meter.set_payment_mode("prepayment")
        v = config.value(config.SWITCH_TO_CREDIT)
        other = r.make(50, 2, v, z=r.v["z_other"], device=r.v["other_eui"])
        _rejects(r, other, UTRN_NOT_AUTHENTIC, "mac")
        _rejects(r, r.make(51, 3, v), UTRN_NOT_AUTHENTIC, "class")  # class 11: never valid
        _rejects(r, r.make(52, 2, config.value(9)), UI_COMMAND_FAILED, "config_op")
        _rejects(r, r.make(53, 2, config.value(config.SWITCH_TO_CREDIT, 7)), UI_COMMAND_FAILED, "config_arg")
        r.a.configure(config_codes=False)
        _rejects(r, r.make(54, 2, v), UTRN_NOT_AUTHENTIC, "class")
        r.a.configure(config_codes=True)
        assert r.a.accept(r.make(54, 2, v))["op"] == "switch_to_credit"
        # the rejected-but-authentic codes 52 and 53 were not burned: the cache holds only 54
        assert r.a.cache == [54]
    finally:
        r.close()


def test_pending_configuration_action_completed_at_boot():
    # the state a power cut leaves between the commit and the action (exercised for real by
    # test_utrn_powercut.py): code used + pending action recorded, meter unchanged
    r = Rig("own_keys.json")
    try:
        r.meter.set_payment_mode("prepayment")
        st = {"c": [20], "f": 0, "cf": 20, "b": 0, "p": [20, config.SWITCH_TO_CREDIT], "n": 1}
        r.store.put("utrn", pack_state(st))
        r.reboot()  # Acceptor.boot() completes it
        assert r.meter.payment_mode == "credit" and r.a._st["p"] is None
        r.reboot()
        assert r.meter.payment_mode == "credit" and r.a.cache == [20]
        assert "boot completed switch_to_credit" in r.a.log.entries()[-1]
        assert unpack_state(pack_state(st)) == st
    finally:
        r.close()
