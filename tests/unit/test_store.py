"""Durable store (firmware/store/durable.py): records, generations, corruption, logs, counters.

Runs under CPython (plain directory) and the MicroPython unix port (plain directory via VfsPosix;
test_store_lfs.py repeats the core on littlefs2).
"""
import os
import struct
from binascii import hexlify

import _t
from firmware.alerts import Reject
from firmware.store.durable import Store, encode_record, decode_record


class Tmp:
    def __enter__(self):
        self.path = "/tmp/smlab-store-" + hexlify(os.urandom(6)).decode()
        os.mkdir(self.path)
        return self.path

    def __exit__(self, *a):
        _t.rmtree(self.path)


def _raw(root, fname):
    with open(root + "/" + fname, "rb") as f:
        return f.read()


def _write(root, fname, b):
    with open(root + "/" + fname, "wb") as f:
        f.write(b)


def test_put_get_roundtrip_and_missing():
    with Tmp() as d:
        s = Store(d + "/state")
        assert s.get("tariff") is None
        s.put("tariff", b"\x00\x01\xff")
        s.put("label", "text")
        assert s.get("tariff") == b"\x00\x01\xff"
        assert s.get("label") == b"text"
        s.put_json("cfg", {"a": 1, "b": [1, 2]})
        assert s.get_json("cfg") == {"a": 1, "b": [1, 2]}
        assert s.get_json("nothing", 7) == 7
        s2 = Store(d + "/state")  # a fresh boot sees the same values
        assert s2.boot() == []
        assert s2.get("tariff") == b"\x00\x01\xff" and s2.get_json("cfg")["b"] == [1, 2]


def test_generations_alternate_and_newest_wins():
    with Tmp() as d:
        s = Store(d)
        for i in range(5):
            s.put("k", b"v%d" % i)
        assert s.get("k") == b"v4"
        names = sorted(os.listdir(d))
        assert names == ["R.k.a", "R.k.b"], names
        seqs = sorted(decode_record(_raw(d, n))[0] for n in names)
        assert seqs == [4, 5]
        assert Store(d).get("k") == b"v4"


def test_bad_names_and_types_rejected():
    with Tmp() as d:
        s = Store(d)
        for bad in ("", "a/b", "a.b", "x" * 33, "../x", 5):
            e = _t.raises(Reject, s.put, bad, b"1")
            assert e.reason == "store-name"
        assert _t.raises(Reject, s.put, "ok", 12).reason == "store-type"


def test_bad_crc_falls_back_to_last_good_and_logs():
    with Tmp() as d:
        s = Store(d)
        s.put("credit", b"old")
        s.put("credit", b"new")  # lives in slot b
        raw = bytearray(_raw(d, "R.credit.b"))
        raw[11] ^= 0x01  # flip a bit of the data
        _write(d, "R.credit.b", raw)
        s2 = Store(d)
        assert s2.get("credit") == b"old"  # never the default, never the torn bytes
        ev = s2.log("event").entries()
        assert len(ev) == 1 and "R.credit.b" in ev[0] and "crc" in ev[0], ev
        assert s2.get("credit") == b"old"
        assert len(s2.log("event").entries()) == 1  # the corrupt slot was dropped, logged once
        s2.put("credit", b"next")
        assert Store(d).get("credit") == b"next"


def test_unknown_version_detected_at_boot():
    with Tmp() as d:
        s = Store(d)
        s.put("mode", b"credit")
        _write(d, "R.mode.b", encode_record(2, b"prepay", 9))  # newer seq, unknown version
        s2 = Store(d)
        rep = s2.boot()
        assert rep == [("R.mode.b", "version 9")], rep
        assert s2.get("mode") == b"credit"
        assert "version 9" in s2.log("event").entries()[0]


def test_truncated_record_detected():
    with Tmp() as d:
        s = Store(d)
        s.put("t", b"first")
        s.put("t", b"second")
        _write(d, "R.t.b", _raw(d, "R.t.b")[:-3])
        assert Store(d).get("t") == b"first"


def test_no_good_copy_refuses_never_defaults():
    with Tmp() as d:
        s = Store(d)
        s.put("lockout", b"\x03")
        raw = bytearray(_raw(d, "R.lockout.a"))
        raw[-1] ^= 0xFF
        _write(d, "R.lockout.a", raw)
        s2 = Store(d)
        rep = s2.boot()
        assert rep == [("R.lockout.a", "crc, no good copy")], rep
        e = _t.raises(Reject, s2.get, "lockout")
        assert e.reason == "store-corrupt"
        assert _t.raises(Reject, s2.get_json, "lockout").reason == "store-corrupt"
        assert _t.raises(Reject, Store(d).get, "lockout").reason == "store-corrupt"  # stays refused
        s2.put("lockout", b"\x05")  # an explicit rewrite repairs it
        assert Store(d).get("lockout") == b"\x05"


def test_boot_code_is_loaded_only_by_boot():
    import sys
    import firmware.store as pkg

    sys.modules.pop("firmware.store.repair", None)
    if hasattr(pkg, "repair"):
        delattr(pkg, "repair")
    with Tmp() as d:
        s = Store(d)
        s.put("a", b"1")
        assert s.get("a") == b"1" and "firmware.store.repair" not in sys.modules
        for _ in range(2):
            assert s.boot() == []
            assert "firmware.store.repair" in sys.modules


def test_stale_tmp_removed_at_boot():
    with Tmp() as d:
        s = Store(d)
        s.put("a", b"1")
        _write(d, "R.a.b.tmp", b"half a rec")
        _write(d, "L.event.0.tmp", b"")
        rep = Store(d).boot()
        assert sorted(rep) == [("L.event.0.tmp", "stale tmp"), ("R.a.b.tmp", "stale tmp")], rep
        assert sorted(os.listdir(d)) == ["R.a.a"]
        assert Store(d).get("a") == b"1"


def test_log_append_entries_types_and_reopen():
    with Tmp() as d:
        s = Store(d)
        lg = s.log("security", max_entries=8)
        lg.append("login ok")
        lg.append(b"\x00\x01")
        assert lg.entries() == ["login ok", b"\x00\x01"]
        assert s.log("security") is lg
        assert Store(d).log("security", 8).entries() == ["login ok", b"\x00\x01"]
        assert _t.raises(Reject, lg.append, b"x" * 1025).reason == "store-entry-size"
        assert _t.raises(Reject, lg.append, 5).reason == "store-type"


def test_log_segment_larger_than_the_heap_is_read_frame_by_frame():
    # 127 entries of 1000 bytes: a 128 KB segment, more than the 96K heap the unit tests run in,
    # so boot and the first append after a reboot must not read the segment in one piece
    with Tmp() as d:
        lg = Store(d).log("event", 256)
        for i in range(127):
            lg.append(b"%03d" % i + b"." * 997)
        lg = None
        s = Store(d)
        assert s.boot() == []
        lg = s.log("event", 256)
        lg.append("last of segment 0")
        lg.append("first of segment 1")
        assert sorted(n for n in os.listdir(d) if n.startswith("L.")) == ["L.event.0", "L.event.1"]


def test_log_rotation_is_bounded_and_keeps_newest():
    with Tmp() as d:
        s = Store(d)
        lg = s.log("event", max_entries=6)
        for i in range(20):
            lg.append("e%d" % i)
            got = lg.entries()
            assert 3 <= len(got) <= 6 or i < 3, got
            assert got[-1] == "e%d" % i
            assert got == ["e%d" % j for j in range(i - len(got) + 1, i + 1)]
        segs = [n for n in os.listdir(d) if n.startswith("L.event.")]
        assert len(segs) == 2, segs
        again = Store(d).log("event", 6)
        assert again.entries() == lg.entries()
        again.append("e20")
        assert again.entries()[-1] == "e20" and len(again.entries()) <= 6


def test_log_segment_gone_since_the_scan_leaves_the_other_readable():
    with Tmp() as d:
        s = Store(d)
        lg = s.log("event", max_entries=4)
        for i in range(4):  # two segments of two entries
            lg.append("e%d" % i)
        segs = sorted(n for n in os.listdir(d) if n.startswith("L.event."))
        assert len(segs) == 2 and lg.entries() == ["e0", "e1", "e2", "e3"]
        os.remove(d + "/" + segs[0])  # rotated away by another reader of the same store
        assert lg.entries() == ["e2", "e3"]


def test_log_torn_tail_repaired_at_boot():
    with Tmp() as d:
        s = Store(d)
        lg = s.log("security", 10)
        lg.append("one")
        lg.append("two")
        with open(d + "/L.security.0", "ab") as f:  # half a frame, as a cut on a plain FS leaves
            f.write(struct.pack(">HBI", 40, 1, 0) + b"thr")
        s2 = Store(d)
        rep = s2.boot()
        assert rep == [("L.security.0", "torn log tail")], rep
        lg2 = s2.log("security", 10)
        lg2.append("three")
        assert lg2.entries() == ["one", "two", "three"]


def test_log_extra_segment_trimmed_at_boot():
    with Tmp() as d:
        s = Store(d)
        lg = s.log("event", 4)
        for i in range(6):
            lg.append("x%d" % i)
        segs = sorted(n for n in os.listdir(d) if n.startswith("L."))
        assert segs == ["L.event.1", "L.event.2"], segs
        _write(d, "L.event.0", _raw(d, "L.event.1"))  # as if the drop of the oldest was cut
        rep = Store(d).boot()
        assert rep == [("L.event.0", "extra log segment")], rep


def test_counter_monotonic_and_durable():
    with Tmp() as d:
        s = Store(d)
        c = s.counter("cra")
        assert c.value == 0
        c.advance_to(10)
        c.advance_to(10)  # equal: no-op
        assert c.increment() == 11
        e = _t.raises(Reject, c.advance_to, 9)
        assert e.reason == "counter-backwards"
        assert _t.raises(Reject, c.advance_to, -1).reason == "counter-range"
        assert _t.raises(Reject, c.advance_to, 1 << 64).reason == "counter-range"
        assert Store(d).counter("cra").value == 11
        c.advance_to(0xFFFFFFFFFFFFFFFF)
        assert Store(d).counter("cra").value == 0xFFFFFFFFFFFFFFFF
        assert Store(d).get("cra") is None  # counters and records do not share names


def test_counter_corrupt_falls_back():
    with Tmp() as d:
        s = Store(d)
        c = s.counter("seq")
        c.advance_to(5)
        c.advance_to(6)
        raw = bytearray(_raw(d, "C.seq.b"))
        raw[12] ^= 0x40
        _write(d, "C.seq.b", raw)
        s2 = Store(d)
        assert s2.counter("seq").value == 5
        assert "C.seq.b" in s2.log("event").entries()[0]


def test_decode_rejects_garbage():
    for raw in (b"", b"R\x01", b"\x00" * 14, encode_record(1, b"abc")[:-1]):
        assert _t.raises(Reject, decode_record, raw).reason == "store-corrupt"
    assert decode_record(encode_record(7, b"abc")) == (7, b"abc")


def test_log_bound_is_the_callers_even_after_boot():
    with Tmp() as d:
        s = Store(d)
        s.log("security", 4).append("a")
        s2 = Store(d)
        s2.boot()  # boot scans every log without fixing its bound
        lg = s2.log("security", 4)
        for i in range(10):
            lg.append("x%d" % i)
        assert lg.entries() == ["x6", "x7", "x8", "x9"] or lg.entries()[-2:] == ["x8", "x9"]
        assert 2 <= len(lg.entries()) <= 4
        assert s2.log("security", 2) is lg and lg.per_seg == 1
        assert _t.raises(Reject, s2.log, "other", 1).reason == "store-log-size"


def test_corrupt_older_log_segment_reported_and_logged():
    with Tmp() as d:
        s = Store(d)
        lg = s.log("security", 4)
        for i in range(3):
            lg.append("s%d" % i)
        raw = bytearray(_raw(d, "L.security.0"))
        raw[-1] ^= 0x55  # the second entry of the older (full) segment
        _write(d, "L.security.0", raw)
        s2 = Store(d)
        assert s2.boot() == [("L.security.0", "corrupt log segment")]
        assert s2.log("security", 4).entries() == ["s0", "s2"]
        ev = s2.log("event").entries()
        assert len(ev) == 1 and "L.security.0" in ev[0]


def test_get_json_of_non_json_record_is_refused():
    with Tmp() as d:
        s = Store(d)
        s.put("cfg", b"{not json")
        e = _t.raises(Reject, s.get_json, "cfg")
        assert e.reason == "store-corrupt" and "cfg" in e.detail


def test_delete_removes_both_generations():
    with Tmp() as d:
        s = Store(d)
        s.put("k", b"1")
        s.put("k", b"2")
        s.delete("k")
        assert s.get("k") is None and Store(d).get("k") is None
        assert [n for n in os.listdir(d) if n.startswith("R.")] == []
        s.delete("k")  # deleting nothing is fine
        s.put("k", b"3")
        assert Store(d).get("k") == b"3"
