"""UTRN codec, check digit, MAC and counter arithmetic (firmware/utrn/codec.py, mac.py, counters.py;
shared/reference/gbcs.md §9.1-9.4). Vectors: tests/vectors/utrn/*.json (made by
host_tools/codes/vectors.py, cross-checked against `cryptography` in tests/host/test_utrn_host.py)."""
import json

import _t
from firmware.alerts import Reject, UTRN_NOT_AUTHENTIC, UTRN_DUPLICATE
from firmware.utrn import codec, counters, mac


def _vec(name):
    with open(_t.ROOT + "/tests/vectors/utrn/" + name) as f:
        return json.load(f)


VALID = ("73943333457189043313", "74301825837596672005", "73946144332040217315", "73947252416745201637")


def test_check_digit_vectors():
    for u in VALID:
        assert codec.check_digit(u[:19]) == int(u[19]), u
    bad = "12345678910121314156"  # RTDS CS01b ERROR command: deliberately wrong
    assert codec.check_digit(bad[:19]) != int(bad[19])
    e = _t.raises(Reject, codec.decode, bad)
    assert e.reason == "check_digit" and e.code == UTRN_NOT_AUTHENTIC


def test_every_single_digit_change_is_detected():
    # the Verhoeff-type check digit catches every single substitution (and so does our decoder)
    for u in VALID:
        for i in range(20):
            for d in "0123456789":
                if d == u[i]:
                    continue
                v = u[:i] + d + u[i + 1:]
                assert codec.check_digit(v[:19]) != int(v[19]), v


def test_adjacent_transpositions_detected():
    for u in VALID:
        for i in range(18):
            if u[i] != u[i + 1]:
                v = u[:i] + u[i + 1] + u[i] + u[i + 2:]
                assert codec.check_digit(v[:19]) != int(v[19]), v


def test_decode_worked_example():
    p = codec.decode("73946144332040217315")
    assert (p.trunc, p.vclass, p.value) == (3, codec.CLASS_POUNDS, 10)
    assert p.hi32 == 0x0001A00A and p.mac == _t.unhex("9cd029e3")
    assert p.amount_pennies() == 1000
    p = codec.decode(b"73947252416745201637")
    assert (p.trunc, p.vclass, p.value, p.amount_pennies()) == (4, codec.CLASS_PENNIES, 1234, 1234)
    assert codec.decode("74301825837596672005").vclass == 3


def test_encode_roundtrip_and_range():
    for trunc, vc, v, m in ((0, 0, 0, b"\0\0\0\0"), (1023, 3, 8191, b"\xff\xff\xff\xff"), (3, 1, 10, b"\x9c\xd0\x29\xe3")):
        u = codec.encode(trunc, vc, v, m)
        assert len(u) == 20
        p = codec.decode(u)
        assert (p.trunc, p.vclass, p.value, p.mac) == (trunc, vc, v, m)
    assert codec.encode(3, 1, 10, _t.unhex("9cd029e3")) == "73946144332040217315"
    # smallest and largest PPTD; one below / above the PTUT range is refused
    lo = str(codec.PPTD_OFFSET)
    assert codec.decode(lo + str(codec.check_digit(lo))).value == 0
    for pptd in (codec.PPTD_OFFSET - 1, codec.PPTD_OFFSET + codec.PTUT_LIMIT):
        s = str(pptd)
        e = _t.raises(Reject, codec.decode, s + str(codec.check_digit(s)))
        assert e.reason == "range" and e.code == UTRN_NOT_AUTHENTIC
    _t.raises(Reject, codec.encode, 1024, 0, 0, b"\0\0\0\0")
    _t.raises(Reject, codec.encode, 0, 0, 8192, b"\0\0\0\0")


def test_format_rejections():
    for bad in ("", "7394614433204021731", "739461443320402173155", "7394614433204021731a",
                " 3946144332040217315", "７３946144332040217315", 73946144332040217315, None,
                b"\xff" * 20):
        e = _t.raises(Reject, codec.decode, bad)
        assert e.code == UTRN_NOT_AUTHENTIC and e.reason == "format", bad


def test_mac_rtds_vectors_device_side():
    v = _vec("rtds_a0.json")
    z = _t.unhex(v["z"])
    s = _t.unhex(v["supplier_eui"])
    d = _t.unhex(v["device_eui"])
    for c in v["codes"]:
        p = codec.decode(c["utrn"])
        assert p.trunc == c["counter"] & 0x3FF and (p.vclass, p.value) == (c["value_class"], c["value"])
        assert mac.verify(z, s, d, c["counter"], p)
        assert not mac.verify(z, s, d, c["counter"] + 1024, p)  # same truncation, other counter
        assert not mac.verify(z, d, s, c["counter"], p)  # EUIs swapped
    # worked numbers of gbcs.md §9.3: full tag a7aabfef5774934aecb084c6 9cd029e3
    assert mac.tag4(z, s, d, 3, _t.unhex("0001a00a")) == _t.unhex("9cd029e3")
    o = v["other_meter"]  # the CS01b UTRN for GSME a1 never verifies as a0's
    assert not mac.verify(z, s, d, o["counter"], codec.decode(o["utrn"]))


def test_mac_own_key_vectors():
    v = _vec("own_keys.json")
    z = _t.unhex(v["z"])
    s = _t.unhex(v["supplier_eui"])
    d = _t.unhex(v["device_eui"])
    for c in v["codes"]:
        assert mac.verify(z, s, d, c["counter"], codec.decode(c["utrn"])), c
    for c in v["other_meter_codes"]:
        p = codec.decode(c["utrn"])
        assert not mac.verify(z, s, d, c["counter"], p)
        assert mac.verify(_t.unhex(v["z_other"]), s, _t.unhex(v["other_eui"]), c["counter"], p)


def test_reconstruct_worked_example_and_window():
    # GBCS v0.8.1 Table 27 example (gbcs.md §9.4)
    assert counters.reconstruct(2458896167, 812) == 2458896172
    v = 2458896167  # p = 807
    assert counters.reconstruct(v, 1023) == v - 807 + 1023  # 1023 <= 807 + 512: same block
    assert counters.reconstruct(v, 294) == v - 807 + 294 + 1024  # 294 < 807 - 512 -> next block
    assert counters.reconstruct(v, 295) == v - 807 + 295  # within the window
    assert counters.reconstruct(1100, 1000) == 1000  # p=76: 1000 > 588 -> previous block
    assert counters.reconstruct(1000, 3) == 1027  # p=1000: 3 < 488 -> next block
    assert counters.reconstruct(0, 3) == 3 and counters.reconstruct(0, 512) == 512
    e = _t.raises(Reject, counters.reconstruct, 0, 513)  # 513 > 0 + 512 -> -511: negative
    assert e.code == UTRN_NOT_AUTHENTIC
    # every counter within -511..+511 of V reconstructs exactly from its low 10 bits; at exactly
    # 512 away the two candidates tie and the Table 27 rule keeps s = r
    for V in (5000, 5000 + 1023, 1 << 31, 0xFFFFFFFF - 600):
        for c in range(V - 511, V + 512, 37):
            assert counters.reconstruct(V, c & 0x3FF) == c, (V, c)
        assert counters.reconstruct(V, (V - 511) & 0x3FF) == V - 511
        assert counters.reconstruct(V, (V + 511) & 0x3FF) == V + 511
    assert counters.reconstruct(512, 0) == 0  # V + 512 = 1024 and V - 512 = 0 tie: s = r
    _t.raises(Reject, counters.reconstruct, 0xFFFFFFFF - 10, (0xFFFFFFFF + 400) & 0x3FF)


def test_from_originator():
    assert counters.from_originator(3 << 32, 3) == 3
    assert counters.from_originator((1027 << 32), 3) == 1027
    for c64, t in (((3 << 32) + 1, 3), (4 << 32, 3), (-1, 0), (1 << 64, 0)):
        e = _t.raises(Reject, counters.from_originator, c64, t)
        assert e.code == UTRN_NOT_AUTHENTIC


def test_cache_rules():
    cache = []
    counters.replay_check(cache, 0, 1)
    e = _t.raises(Reject, counters.replay_check, cache, 0, 0)  # at the (factory) floor
    assert e.reason == "too_old" and e.code == UTRN_DUPLICATE
    for c in range(10, 110):
        cache = counters.inserted(cache, c)
    assert len(cache) == 100 and min(cache) == 10
    e = _t.raises(Reject, counters.replay_check, cache, 0, 50)
    assert e.reason == "duplicate" and e.code == UTRN_DUPLICATE
    e = _t.raises(Reject, counters.replay_check, cache, 0, 9)
    assert e.reason == "too_old"
    counters.replay_check(cache, 0, 200)
    c2 = counters.inserted(cache, 200)
    assert len(c2) == 100 and 10 not in c2 and 200 in c2 and 10 in cache  # input not mutated
    assert counters.highest(c2, 0) == 200 and counters.highest([], 77) == 77
