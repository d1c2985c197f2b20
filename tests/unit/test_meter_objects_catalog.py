"""The ESME's on-demand COSEM catalogue (firmware/meter/catalog.py, ic_base.py, ic_*.py): DLMS type
specifications (byte fixtures of A-XDR values they accept and refuse, defaults), resolve() for
attributes and methods with their signed gates, and the handlers' store effects (DLMS/COSEM
interface classes as GBCS §7.2 uses them)."""
import os
from binascii import hexlify, unhexlify

import _t
from firmware.gbcs import dlms
from firmware.meter import catalog, ic_base as B, objects
from firmware.store.durable import Store

# compiled from source on the test's heap: the class modules, dlms and the store together (the
# device loads them as .mpy, on demand; tests/host/test_gbcs_heap.py holds the device budget)
MP_HEAPSIZE = "256K"


def _d(h):
    return dlms.decode(unhexlify(h))


def test_type_specs_accept_and_refuse():
    assert B.match("dlu", _d("0600000005")) and not B.match("dlu", _d("120005"))
    assert B.match("os12", _d("090c" + "ff" * 12)) and not B.match("os12", _d("0901ff"))
    assert B.match("os", _d("0900")) and not B.match("os", _d("0a00"))
    assert B.match("s(i8,e)", _d("02020f001600")) and not B.match("s(i8,e)", _d("02010f00"))
    assert B.match("a(s(u16,os,u8))", _d("0100"))
    assert B.match("a(s(u16,os,u8))", _d("010102031200010901aa1105"))
    assert not B.match("a(s(u16,os,u8))", _d("010102031200010901aa120005"))
    assert B.match("os12|u16", _d("120001")) and B.match("os12|u16", _d("090c" + "00" * 12))
    assert not B.match("os12|u16", _d("1101"))
    assert B.match("*", _d("00")) and B.match("bs", _d("040880")) and B.match("vs", _d("0a0141"))
    assert _t.raises(ValueError, B.parse, "s(u8")


def test_defaults():
    assert B.default("dlu") == unhexlify("0600000000")
    assert B.default("os12") == unhexlify("090cffffffffffffffffff8000ff")
    assert B.default("s(i8,e)") == unhexlify("02020f001600")
    assert B.default("a(dlu)") == unhexlify("0100")
    assert B.default("carr") == unhexlify("0100")
    assert B.default("os6") == unhexlify("0906000000000000")
    assert B.default("b") == unhexlify("0300")


def test_resolve_gates():
    obis = unhexlify("00005e2c8007")  # IC 9000 non-disablement object: a4 SET by ECS28a (critical)
    h, signed, roles = catalog.resolve(dlms.SET, 9000, obis, 4)
    assert signed is True and roles is None
    assert catalog.resolve(dlms.GET, 9000, obis, 4)[0] is B.denied  # written only
    assert catalog.resolve(dlms.SET, 9000, obis, 99) is None
    assert catalog.resolve(dlms.SET, 12345, obis, 4) is None
    clock = unhexlify("0000010000ff")
    assert catalog.resolve(dlms.ACTION, 8, clock, 5)[1] is True
    assert catalog.resolve(dlms.GET, 1, unhexlify("0000000201ff"), 2)[1] is False  # ECS52
    buf = unhexlify("0000636200ff")  # event log: selective GET allowed, plain SET not
    assert catalog.resolve(dlms.GET_WITH_SELECTION, 7, buf, 2) is not None
    assert catalog.resolve(dlms.SET, 7, buf, 2)[0] is B.denied
    assert catalog.resolve(5, 7, buf, 2) is None  # SET with an access selector: not served
    assert catalog.resolve(dlms.GET_WITH_SELECTION, 1, unhexlify("0000000201ff"), 2) is None


class _Req:
    def __init__(self, sel=None):
        self.selections = [sel]


class _Ctx:
    def __init__(self, dev, sel=None):
        self.device = dev
        self.request = _Req(sel)
        self.index = 0
        self._after = []
        self._staged = {}

    def after(self, fn):
        if fn not in self._after:
            self._after.append(fn)

    def stage(self, k, v):
        self._staged[k] = v

    def staged(self, k, default=None):
        return self._staged.get(k, default)

    def done(self):
        for fn in self._after:
            fn(self)


class _Dev:
    def __init__(self, store):
        self.store = store


class Tmp:
    def __enter__(self):
        self.path = "/tmp/smlab-catalog-" + hexlify(os.urandom(6)).decode()
        return self.path

    def __exit__(self, *a):
        _t.rmtree(self.path)


def test_handlers_store_and_answer():
    with Tmp() as root:
        dev = _Dev(Store(root))
        obis = unhexlify("00005e2c8007")
        h = catalog.resolve(dlms.SET, 9000, obis, 4)[0]
        c = _Ctx(dev)
        assert h(c, _d("120005")) == (dlms.TYPE_UNMATCHED, None)
        assert h(c, _d("0600000007")) == (dlms.SUCCESS, None)
        assert objects.Objects(Store(root)).get(9000, obis, 4) is None  # not before the command ends
        c.done()
        assert objects.Objects(Store(root)).get(9000, obis, 4) == unhexlify("0600000007")
        # a GET answers the stored bytes, or the default of the type when never written
        g = catalog.resolve(dlms.GET, 1, unhexlify("0000000201ff"), 2)[0]
        assert g(_Ctx(dev), (0, None)) == (dlms.SUCCESS, (dlms.OCTET_STRING, b""))
        objects.of(dev).set(1, unhexlify("0000000201ff"), 2, unhexlify("09040123abcd"))
        assert g(_Ctx(dev), (0, None)) == (dlms.SUCCESS, (dlms.OCTET_STRING, unhexlify("0123abcd")))
        # credit: update_amount adds, set_amount_to_value sets (IC 112 attribute 2)
        credit = unhexlify("0000130a00ff")
        c = _Ctx(dev)
        assert catalog.resolve(dlms.ACTION, 112, credit, 2)[0](c, _d("0500000064")) == (0, None)
        assert catalog.resolve(dlms.ACTION, 112, credit, 1)[0](c, _d("05fffffff6")) == (0, None)
        c.done()
        assert objects.of(dev).get(112, credit, 2) == unhexlify("050000005a")
        # a profile reset empties its buffer; a selective GET answers the stored buffer
        log = unhexlify("0000636200ff")
        objects.of(dev).set(7, log, 2, unhexlify("0101020209010112000a"))
        g = catalog.resolve(dlms.GET_WITH_SELECTION, 7, log, 2)[0]
        sel = (1, _d("0204" + "00" * 4))
        assert g(_Ctx(dev, sel), (0, None))[1] == _d("0101020209010112000a")
        assert g(_Ctx(dev, (9, (0, None))), (0, None)) == (dlms.OTHER_REASON, None)
        c = _Ctx(dev)
        assert catalog.resolve(dlms.ACTION, 7, log, 1)[0](c, _d("0f00")) == (0, None)
        c.done()
        assert objects.of(dev).get(7, log, 2) == unhexlify("0100")


def test_undefined_object_unloads_its_class_module():
    import sys

    assert catalog.resolve(dlms.GET, 3, unhexlify("0100010800ff"), 2) is None
    assert "firmware.meter.ic_3" not in sys.modules


def test_activation_now_makes_passive_values_active():
    with Tmp() as root:
        dev = _Dev(Store(root))
        obis = unhexlify("00005e2c0003")  # IC 9000 0-0:94.44.0.3: a4 passive (boolean), a6 time
        s4 = catalog.resolve(dlms.SET, 9000, obis, 4)[0]
        s6 = catalog.resolve(dlms.SET, 9000, obis, 6)[0]
        get2 = catalog.resolve(dlms.GET, 9000, obis, 2)[0]
        c = _Ctx(dev)
        assert s4(c, _d("03ff")) == (0, None)
        assert s6(c, _d("090cffffffffffffffffff8000ff")) == (0, None)  # never: nothing active
        c.done()
        assert get2(_Ctx(dev), (0, None)) == (0, (dlms.BOOLEAN, False))
        c = _Ctx(dev)
        assert s6(c, _d("090c07ee010fff090000008000ff")) == (0, None)  # future: not yet
        c.done()
        assert get2(_Ctx(dev), (0, None)) == (0, (dlms.BOOLEAN, False))
        c = _Ctx(dev)
        assert s6(c, _d("090c0000000000000000008000ff")) == (0, None)  # now
        c.done()
        assert get2(_Ctx(dev), (0, None)) == (0, (dlms.BOOLEAN, True))
        assert objects.Objects(Store(root)).get(9000, obis, 2) == unhexlify("03ff")
