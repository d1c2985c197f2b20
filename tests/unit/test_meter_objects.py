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
