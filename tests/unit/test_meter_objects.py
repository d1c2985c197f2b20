"""COSEM attribute store (firmware/meter/objects.py): values kept as their exact A-XDR encoding in
one durable record (byte fixtures of the record layout), staged multi-value commits in one store
write, live providers overriding the store (DLMS/COSEM attributes, GBCS §7.2)."""
import os
from binascii import hexlify, unhexlify

import _t
from firmware.alerts import Reject
from firmware.meter import objects
from firmware.store.durable import Store

CLOCK = unhexlify("0000010000FF")  # 0-0:1.0.0.255
ACCOUNT = unhexlify("0001130000FF")  # 0-1:19.0.0.255


class Tmp:
    def __enter__(self):
        self.path = "/tmp/smlab-objects-" + hexlify(os.urandom(6)).decode()
        return self.path

    def __exit__(self, *a):
        _t.rmtree(self.path)


def test_record_bytes_fixture():
    vals = {objects.key(111, ACCOUNT, 2): unhexlify("0202160116 00".replace(" ", "")),
            objects.key(8, CLOCK, 9): unhexlify("1601")}
    raw = objects.encode(vals)
    # sorted by key: class 8 before class 111
    assert raw == unhexlify("434F01" "0008" "0000010000FF" "09" "000002" "1601"
                            "006F" "0001130000FF" "02" "000006" "020216011600")
    assert objects.decode(raw) == vals
    assert objects.decode(None) == {}


def test_corrupt_records_are_typed():
    assert _t.raises(Reject, objects.decode, b"XX\x01").reason == "store-corrupt"
    raw = objects.encode({objects.key(1, CLOCK, 2): b"\x11\x05"})
    assert _t.raises(Reject, objects.decode, raw[:-1]).reason == "store-corrupt"
    assert _t.raises(Reject, objects.decode, raw[:8]).reason == "store-corrupt"


def test_set_get_persisted_byte_for_byte():
    with Tmp() as root:
        o = objects.Objects(Store(root))
        assert o.get(8, CLOCK, 9) is None
        o.set(8, CLOCK, 9, b"\x16\x01")
        o.set(1, CLOCK, 2, b"\x09\x02\xAB\xCD")
        o2 = objects.Objects(Store(root))
        assert o2.get(8, CLOCK, 9) == b"\x16\x01"
        assert o2.get(1, CLOCK, 2) == b"\x09\x02\xAB\xCD"
        assert o2.get(1, CLOCK, 3) is None


def test_staged_values_are_one_store_write():
    with Tmp() as root:
        st = Store(root)
        o = objects.Objects(st)
        writes = []
        put = st.put
        st.put = lambda n, d: (writes.append(n), put(n, d))
        o.stage(111, ACCOUNT, 2, b"\x02\x02\x16\x02\x16\x00")
        o.stage(111, ACCOUNT, 13, b"\x09\x0C" + bytes(12))
        assert o.get(111, ACCOUNT, 13) == b"\x09\x0C" + bytes(12)  # visible before commit
        assert objects.Objects(Store(root)).get(111, ACCOUNT, 2) is None  # not yet durable
        o.commit()
        assert writes == ["cosem"]
        o.commit()  # nothing staged: no write
        o.set(111, ACCOUNT, 2, b"\x02\x02\x16\x02\x16\x00")  # unchanged value: no write
        assert writes == ["cosem"]
        o2 = objects.Objects(Store(root))
        assert o2.get(111, ACCOUNT, 2) == b"\x02\x02\x16\x02\x16\x00"
        o.stage(1, CLOCK, 2, b"\x00")
        o.discard()
        assert o.get(1, CLOCK, 2) is None


def test_provided_attribute_overrides_store_and_takes_sets():
    with Tmp() as root:
        o = objects.Objects(Store(root))
        o.set(8, CLOCK, 2, b"\x09\x0C" + bytes(12))
        got = []
        o.provide(8, CLOCK, 2, lambda: b"\x09\x0C" + b"\x07" * 12, got.append)
        assert o.get(8, CLOCK, 2) == b"\x09\x0C" + b"\x07" * 12
        assert o.stored(8, CLOCK, 2) == b"\x09\x0C" + bytes(12)
        o.set(8, CLOCK, 2, b"\x09\x0C" + b"\x01" * 12)
        assert got == [b"\x09\x0C" + b"\x01" * 12]
        assert o.stored(8, CLOCK, 2) == b"\x09\x0C" + bytes(12)  # the setter took it
        o.provide(8, CLOCK, 4, lambda: b"\x11\x00")  # no setter: SETs are stored
        o.set(8, CLOCK, 4, b"\x11\x05")
        assert o.get(8, CLOCK, 4) == b"\x11\x00" and o.stored(8, CLOCK, 4) == b"\x11\x05"


class _Dev:
    def __init__(self, store):
        self.store = store


def test_of_device_is_one_instance():
    with Tmp() as root:
        d = _Dev(Store(root))
        a = objects.of(d)
        assert objects.of(d) is a and d.objects is a


BUF = unhexlify("0000636200ff")  # a profile buffer (IC 7 0-0:99.98.0.255 a2)


def _big(n, fill):
    return b"\x01\x82" + bytes((n >> 8, n & 0xFF)) + bytes((fill,)) * n  # not decoded here


def test_large_value_in_its_own_record_fixture():
    with Tmp() as root:
        st = Store(root)
        o = objects.Objects(st)
        big = _big(300, 0x11)
        o.set(7, BUF, 2, big)
        o.set(8, CLOCK, 9, b"\x16\x01")
        k = objects.key(7, BUF, 2)
        # main record: the large value is a reference (length FFFFFF, generation 1)
        assert st.get("cosem") == unhexlify("434F01" "0007" "0000636200FF" "02" "FFFFFF" "00000001"
                                            "0008" "0000010000FF" "09" "000002" "1601")
        assert st.get("cx" + hexlify(k).decode() + "00000001") == big
        o2 = objects.Objects(Store(root))
        assert o2.get(7, BUF, 2) == big and o2.get(8, CLOCK, 9) == b"\x16\x01"
        # a new value: generation 2, the old record removed; small again: inline, record removed
        big2 = _big(400, 0x22)
        o2.set(7, BUF, 2, big2)
        assert st.get("cx" + hexlify(k).decode() + "00000001") is None
        assert objects.Objects(Store(root)).get(7, BUF, 2) == big2
        o2.set(7, BUF, 2, b"\x01\x00")
        assert Store(root).get("cx" + hexlify(k).decode() + "00000002") is None
        assert objects.Objects(Store(root)).get(7, BUF, 2) == b"\x01\x00"


class _Cut(Exception):
    pass


def test_power_cut_between_large_value_and_main_record():
    """The main record is the one switch: cut after the large value's record is written and before
    the main record, and the reloaded store holds every old value; the next commit succeeds."""
    with Tmp() as root:
        st = Store(root)
        o = objects.Objects(st)
        o.set(7, BUF, 2, _big(300, 0x11))
        o.set(8, CLOCK, 9, b"\x16\x01")
        put = st.put

        def cut(name, data):
            if name == "cosem":
                raise _Cut()
            put(name, data)

        st.put = cut
        o.stage(7, BUF, 2, _big(300, 0x33))
        o.stage(8, CLOCK, 9, b"\x16\x02")
        assert _t.raises(_Cut, o.commit)
        o2 = objects.Objects(Store(root))
        assert o2.get(7, BUF, 2) == _big(300, 0x11) and o2.get(8, CLOCK, 9) == b"\x16\x01"
        o2.stage(7, BUF, 2, _big(300, 0x44))
        o2.stage(8, CLOCK, 9, b"\x16\x03")
        o2.commit()
        o3 = objects.Objects(Store(root))
        assert o3.get(7, BUF, 2) == _big(300, 0x44) and o3.get(8, CLOCK, 9) == b"\x16\x03"


def test_missing_large_value_record_is_corrupt():
    with Tmp() as root:
        st = Store(root)
        objects.Objects(st).set(7, BUF, 2, _big(300, 0x11))
        st.delete("cx" + hexlify(objects.key(7, BUF, 2)).decode() + "00000001")
        e = _t.raises(Reject, objects.Objects(Store(root)).get, 7, BUF, 2)
        assert e.reason == "store-corrupt"
