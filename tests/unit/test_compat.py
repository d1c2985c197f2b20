"""The compat shim gives the same behaviour under both interpreters."""
from firmware.compat import const, ticks_ms, ticks_diff
import _t


def test_const_is_identity():
    assert const(0x8F51) == 0x8F51


def test_ticks_monotonic():
    a = ticks_ms()
    b = ticks_ms()
    assert ticks_diff(b, a) >= 0


def test_shared_path_skips_when_absent():
    e = _t.raises(BaseException, _t.shared_path, "no", "such", "file")
    assert "not present" in str(e) or type(e).__name__ in ("Skip", "Skipped")
