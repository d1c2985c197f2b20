"""Persisted COSEM attribute store of the ESME (DLMS/COSEM object model, IEC 62056-6-2 interface
classes as GBCS profiles them; GBCS §7.2 use-case content; shared/reference/gbcs.md §7.1): the value
of every attribute a DLMS command writes or reads, kept as its exact A-XDR encoding so a GET answers
byte for byte what was SET (or seeded), plus live attributes other parts of the meter provide.

    objs = objects.of(device)              # the role's one Objects (created on first use, lazily)
    objs.get(cid, obis6, attr)             # encoded DLMS data bytes, or None (never written)
    objs.set(cid, obis6, attr, data)       # persisted, durable when it returns
    objs.stage(cid, obis6, attr, data)     # several values of one command ...
    objs.commit()                          # ... written in ONE store write (atomic across a cut)
    objs.provide(cid, obis6, attr, getter, setter=None)
                                           # live attribute: getter() -> encoded bytes overrides the
                                           # store; setter(data) (if given) receives SETs instead

Storage: one durable record ("cosem") holding every stored attribute, so a multi-item command is
applied whole or, after a power cut, not at all. Record layout (version 1):

    b"CO\\x01" then per attribute: class id (2, big-endian) | OBIS (6) | attribute (1) |
                                   length (3, big-endian) | A-XDR data (length bytes)

A value longer than 256 bytes (a profile buffer, a long tariff table) is kept in a record of its
own, "cx" + key hex + generation (8 hex digits), and the entry holds length FFFFFF and the 4-byte
generation: a commit writes the new generation's record first, then the main record that refers
to it (the one atomic switch), then removes the superseded generation, so a power cut leaves the
old or the new set of values and at most an unreferenced record (reused by the next commit). Large
values are read from their record when asked for, never held with the main record.

Attributes are keyed by the 9 bytes class id | OBIS | attribute (methods are not stored). A record
that does not parse raises Reject("store-corrupt").
"""
from firmware.compat import const
from firmware.alerts import Reject

_REC = const("cosem")
_MAGIC = const(b"CO\x01")
_MAX_VALUE = const(0xFFFFFE)
_EXT = const(0xFFFFFF)  # length marking a value kept in its own record
_BIG = const(256)  # values longer than this are kept in their own record


def key(cid, obis6, attr):
    """The 9-byte key of one attribute."""
    return bytes((cid >> 8, cid & 0xFF)) + bytes(obis6) + bytes((attr,))


def of(device):
    """The Objects of a role object (kept as `device.objects`; created from device.store when the
    first handler or provider asks, so nothing of it loads at boot)."""
    o = getattr(device, "objects", None)
    if o is None:
        o = Objects(device.store)
        device.objects = o
    return o


class Objects:
    """COSEM attribute values of one device (see the module docstring)."""

    def __init__(self, store):
        self._store = store
        self._vals = None  # key -> bytes, loaded on first use
        self._live = {}  # key -> (getter, setter)
        self._staged = None  # key -> bytes, not yet written

    def _load(self):
        if self._vals is None:
            self._vals = decode(self._store.get(_REC))
        return self._vals

    def get(self, cid, obis6, attr):
        k = key(cid, obis6, attr)
        lv = self._live.get(k)
        if lv is not None:
            return lv[0]()
        s = self._staged
        if s is not None and k in s:
            return s[k]
        return self._value(k)

    def stored(self, cid, obis6, attr):
        """The stored value (ignoring a live provider), or None."""
        return self._value(key(cid, obis6, attr))

    def _value(self, k):
        v = self._load().get(k)
        if isinstance(v, int):  # a large value: its own record, generation v
            b = self._store.get(_ext_name(k, v))
            if b is None:
                raise Reject("store-corrupt", None, "cosem value record %s missing" % _ext_name(k, v))
            return b
        return v

    def stage(self, cid, obis6, attr, data):
        """Keep a value for the next commit() (visible to get() already)."""
        if len(data) > _MAX_VALUE:
            raise Reject("value", None, "attribute value of %d bytes" % len(data))
        if self._staged is None:
            self._staged = {}
        self._staged[key(cid, obis6, attr)] = bytes(data)

    def commit(self):
        """Write every staged value in one store write, then hand live ones to their setters."""
        s = self._staged
        if not s:
            return
        self._staged = None
        old = self._load()
        vals = dict(old)
        calls = []
        gone = []
        for k in s:
            lv = self._live.get(k)
            if lv is not None and lv[1] is not None:
                calls.append((lv[1], s[k]))
                continue
            v = s[k]
            prev = old.get(k)
            if isinstance(prev, int):
                if len(v) > _BIG and self._store.get(_ext_name(k, prev)) == v:
                    continue  # unchanged large value
                gone.append(_ext_name(k, prev))
            if len(v) > _BIG:
                gen = (prev + 1) & 0xFFFFFFFF if isinstance(prev, int) else 1
                self._store.put(_ext_name(k, gen), v)  # not referenced until the main record
                v = gen
            vals[k] = v
        if len(vals) != len(old) or any(old.get(k) != vals[k] for k in vals):
            self._store.put(_REC, encode(vals))
            self._vals = vals
        for n in gone:
            self._store.delete(n)
        for fn, v in calls:
            fn(v)

    def discard(self):
        """Forget the staged values (a command that failed before commit)."""
        self._staged = None

    def set(self, cid, obis6, attr, data):
        """Persist one value now (durable when this returns)."""
        self.stage(cid, obis6, attr, data)
        self.commit()

    def provide(self, cid, obis6, attr, getter, setter=None):
        """Register a live attribute: getter() -> encoded DLMS bytes (overrides the store);
        setter(data_bytes) receives SETs of it (without one, SETs are stored)."""
        self._live[key(cid, obis6, attr)] = (getter, setter)

    def live(self, cid, obis6, attr):
        return key(cid, obis6, attr) in self._live


def _ext_name(k, gen):
    from binascii import hexlify

    return "cx" + hexlify(k).decode() + "%08x" % gen


def encode(vals):
    """Record bytes of a {key: data, or int generation of a large value} mapping (keys sorted, so
    equal contents give equal bytes)."""
    out = bytearray(_MAGIC)
    for k in sorted(vals):
        v = vals[k]
        out += k
        if isinstance(v, int):
            out += b"\xFF\xFF\xFF"
            out += bytes((v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF))
            continue
        n = len(v)
        out += bytes((n >> 16, (n >> 8) & 0xFF, n & 0xFF))
        out += v
    return bytes(out)


def decode(raw):
    """{key: data or int generation} of record bytes (None: never written -> {})."""
    vals = {}
    if raw is None:
        return vals
    if raw[:3] != _MAGIC:
        raise Reject("store-corrupt", None, "cosem record header")
    p = 3
    end = len(raw)
    while p < end:
        if p + 12 > end:
            raise Reject("store-corrupt", None, "cosem entry truncated at %d" % p)
        k = bytes(raw[p:p + 9])
        n = (raw[p + 9] << 16) | (raw[p + 10] << 8) | raw[p + 11]
        p += 12
        if n == _EXT:
            if p + 4 > end:
                raise Reject("store-corrupt", None, "cosem generation truncated at %d" % p)
            vals[k] = (raw[p] << 24) | (raw[p + 1] << 16) | (raw[p + 2] << 8) | raw[p + 3]
            p += 4
            continue
        if p + n > end:
            raise Reject("store-corrupt", None, "cosem value truncated at %d" % p)
        vals[k] = bytes(raw[p:p + n])
        p += n
    return vals
