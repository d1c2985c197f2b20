from firmware.alerts import Reject, UTRN_DUPLICATE, name
import _t


def test_reject_carries_reason_and_code():
    e = _t.raises(Reject, lambda: (_ for _ in ()).throw(Reject("duplicate", UTRN_DUPLICATE, "ctr 5")))
    assert e.reason == "duplicate" and e.code == 0x8F51
    assert str(e) == "duplicate (0x8F51 duplicate UTRN entered): ctr 5"


def test_unknown_code_name():
    assert name(0x1234) == "code 0x1234"
