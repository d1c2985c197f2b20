"""Host side of UTRNs (host_tools/codes/utrn.py, host_tools/codes/vectors.py) cross-checked against the
firmware (firmware/utrn/): the firmware's lean GMAC and MAC equal `cryptography`'s AES-GCM; codes
generated on the host for our own keys (any counter, class, value) are accepted once by the firmware
acceptance function; the committed vectors equal a regeneration; decode/explain; 10,000 random
keypad entries with the default lockout and 10,000 format-valid codes at the MAC: none accepted.
"""
import json
import os
import random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings, strategies as st

from firmware.alerts import Reject, UTRN_LOCKED_OUT, UTRN_NOT_AUTHENTIC, UTRN_DUPLICATE
from firmware.meter.model import MeterModel
from firmware.store.durable import Store
from firmware.utrn import codec, counters, mac
from firmware.utrn.accept import Acceptor, REMOTE
from host_tools.codes import utrn as U
from host_tools.codes import vectors as utrn_vectors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VEC = os.path.join(ROOT, "tests", "vectors", "utrn")


def _own():
    with open(os.path.join(VEC, "own_keys.json")) as f:
        return json.load(f)


def _acceptor(path, v, clock=lambda: 1700000000, **cfg):
    s = Store(str(path))
    s.boot()
    a = Acceptor(s, bytes.fromhex(v["device_eui"]), bytes.fromhex(v["supplier_eui"]),
                 bytes.fromhex(v["z"]), MeterModel(s), clock)
    if cfg:
        a.configure(**cfg)
    return a


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=12, max_size=12), st.binary(max_size=80))
def test_lean_gmac_equals_cryptography(key, iv, aad):
    assert mac.gmac16(key, iv, aad) == AESGCM(key).encrypt(iv, b"", aad)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=8, max_size=8), st.binary(min_size=8, max_size=8),
       st.integers(0, 0xFFFFFFFF), st.integers(0, 3), st.integers(0, 8191))
def test_firmware_mac_equals_host_mac(z, s, d, counter, vclass, value):
    u = U.generate(z, s, d, counter, vclass, value)
    p = codec.decode(u)
    assert (p.trunc, p.vclass, p.value) == (counter & 0x3FF, vclass, value)
    assert mac.verify(z, s, d, counter, p)
    assert mac.tag4(z, s, d, counter, p.hi_bytes()) == U.tag4(z, s, d, counter, p.hi32)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFFFFFF), st.integers(-511, 511))
def test_reconstruction_window_property(v, delta):
    c = v + delta
    if 0 <= c <= 0xFFFFFFFF:
        assert counters.reconstruct(v, c & 0x3FF) == c


def test_committed_vectors_equal_regeneration():
    if not os.path.isdir(utrn_vectors.KEYSTORE):
        pytest.skip("../shared keystore not present")
    for name, d in utrn_vectors.build().items():
        with open(os.path.join(VEC, name)) as f:
            assert json.load(f) == json.loads(json.dumps(d)), name


def test_rtds_z_both_sides_and_corpus_codes():
    if not os.path.isdir(utrn_vectors.KEYSTORE):
        pytest.skip("../shared keystore not present")
    d = utrn_vectors.rtds()  # asserts device-side Z == supplier-side Z and every corpus code
    assert d["z"] == "5c00001ae96494fedfd740c4679d346e913d89b978beeff76577be69c92bf3ce"  # gbcs.md §9.3


def test_host_generated_codes_round_trip(tmp_path):
    v = _own()
    z, s, d = bytes.fromhex(v["z"]), v["supplier_eui"], v["device_eui"]
    rnd = random.Random(5)
    a = _acceptor(tmp_path / "st", v, max_credit=1 << 30, max_balance=1 << 40, lock_fails=10 ** 6)
    counter = rnd.randrange(1, 1 << 31)
    a.set_floor(counter - 1)
    total = 0
    for i in range(60):
        counter += rnd.randrange(1, 500)  # manual entry: steps < 512 reconstruct correctly
        pennies = rnd.choice([rnd.randrange(1, 8192), 100 * rnd.randrange(82, 8192)])
        code = U.topup(z, s, d, counter, pennies)
        r = a.accept(code)
        assert (r["counter"], r["amount"]) == (counter, pennies)
        total += pennies
        e = pytest.raises(Reject, a.accept, code).value
        assert e.code == UTRN_DUPLICATE
    # remote path with a far jump (> 512: manual entry could not reconstruct it)
    counter += 5000
    code = U.topup(z, s, d, counter, 1234)
    assert pytest.raises(Reject, a.accept, code).value.code == UTRN_NOT_AUTHENTIC
    assert a.accept(code, source=REMOTE, counter64=counter << 32)["amount"] == 1234
    assert a.balance == total + 1234


def test_host_config_codes_act_once(tmp_path):
    v = _own()
    z, s, d = bytes.fromhex(v["z"]), v["supplier_eui"], v["device_eui"]
    a = _acceptor(tmp_path / "st", v)
    a.meter.set_payment_mode("prepayment")
    code = U.config_code(z, s, d, 77, "switch_to_credit")
    assert U.decode(code)["operation"] == "switch_to_credit" and U.decode(code)["value_class"] == 2
    assert a.accept(code)["op"] == "switch_to_credit" and a.meter.payment_mode == "credit"
    assert pytest.raises(Reject, a.accept, code).value.code == UTRN_DUPLICATE
    with pytest.raises(U.UtrnError):
        U.config_code(z, s, d, 78, "make_tea")


def test_decode_and_explain():
    if not os.path.isdir(utrn_vectors.KEYSTORE):
        pytest.skip("../shared keystore not present")
    d = U.decode("73946144332040217315")
    assert (d["truncated_counter"], d["value_class"], d["value"], d["amount_pennies"], d["mac"]) == \
        (3, 1, 10, 1000, "9cd029e3")
    r = utrn_vectors.rtds()
    z = bytes.fromhex(r["z"])
    text = U.explain("73947252416745201637", z, r["supplier_eui"], r["device_eui"])
    assert "credit          £12.34" in text and "MAC check       ok" in text and "UTRN counter 4" in text
    assert "check digit     6 (expected 0): WRONG" in U.explain("12345678910121314156")
    other = U.explain(r["other_meter"]["utrn"], z, r["supplier_eui"], r["device_eui"])
    assert "MAC check       FAILED" in other
    with pytest.raises(U.UtrnError):
        U.decode("12345678910121314156")


def test_brute_force_10000_keypad_entries(tmp_path):
    v = _own()
    clock = [1700000000]
    a = _acceptor(tmp_path / "st", v, clock=lambda: clock[0])  # default lockout 5 / 10 min / 1 h
    rnd = random.Random(20261123)
    accepted = locked = failed = suspensions = 0
    for i in range(10000):
        code = "%020d" % rnd.randrange(10 ** 20)
        try:
            a.accept(code)
            accepted += 1
        except Reject as e:
            if e.code == UTRN_LOCKED_OUT:
                locked += 1
            else:
                failed += 1
                suspensions += bool(getattr(e, "events", None))
        clock[0] += 10
    # 10 s apart: 5 failures in 50 s -> 1 h lock; 10,000 entries = 27.8 h -> 28 suspensions
    assert accepted == 0 and a.balance == 0 and a.cache == []
    assert suspensions == 28 and failed == 5 * 28 and locked == 10000 - failed


def test_brute_force_10000_format_valid_codes_at_the_mac(tmp_path):
    v = _own()
    a = _acceptor(tmp_path / "st", v)
    rnd = random.Random(7)
    passed = 0
    for i in range(10000):
        code = codec.encode(rnd.randrange(1024) & 0x1FF, rnd.randrange(2), rnd.randrange(8192),
                            rnd.randbytes(4))
        try:
            a.authenticate(code)
            passed += 1
        except Reject as e:
            assert e.code == UTRN_NOT_AUTHENTIC
    assert passed == 0
