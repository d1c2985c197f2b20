"""The ESME's catalogue of COSEM objects served on demand (GBCS §7.2 use-case content; DLMS/COSEM
interface classes as GBCS profiles them, shared/reference/usecases.md): the dispatch table's
`resolve` hook (firmware/core/gate.py Table) for every (class, OBIS, attribute/method) an ESME use
case addresses that the boot-time handlers (firmware/meter/handlers.py) do not.

    entry = resolve(kind, class_id, obis6, ident)   # (handler, signed, roles) or None

Each interface class has a module firmware/meter/ic_<class>.py, imported on first use (nothing of
it on the boot path), holding its tables

    ATTRS   = ((obis6, attribute, access, type spec), ...)
    METHODS = ((obis6, method, signed, parameter type spec), ...)

access bits: 1 GET, 2 SET, 4 SET only for a KRP-signed command, 8 GET only for a KRP-signed
command, 16 GET with an access selector (profile buffers). `signed` comes from the RTDS use case
that uses the object: an object a critical command writes runs only for a signed command (a MAC-only
command borrowing a non-critical message code is answered scope-of-access-violated by the gate).
Type specifications and the generic handlers: firmware/meter/ic_base.py. A class module may add
`act(ctx, obis, method, item)` (its methods' behaviour) and `select(raw, selection)`.
"""
from firmware.compat import const

_GET = const(1)  # firmware.gbcs.dlms GET, SET, ACTION, GET_WITH_SELECTION
_SET = const(2)
_ACTION = const(3)
_GET_SEL = const(4)

_A_GET = const(1)
_A_SET = const(2)
_A_SET_SIGNED = const(4)
_A_GET_SIGNED = const(8)
_A_SELECT = const(16)

# interface classes with a module here
CLASSES = (1, 3, 4, 7, 8, 9, 10, 11, 20, 21, 22, 30, 70, 71, 111, 112, 113, 9000)


def module(cid):
    """The class module of interface class `cid` (imported on first use), or None."""
    if cid not in CLASSES:
        return None
    import sys

    name = "firmware.meter.ic_%d" % cid
    m = sys.modules.get(name)
    if m is None:
        __import__(name)
        m = sys.modules[name]
    return m


def drop(name):
    """Unload firmware.meter.<name> (its bytecode is freed once nothing refers to it)."""
    import sys

    sys.modules.pop("firmware.meter." + name, None)
    pkg = sys.modules.get("firmware.meter")
    if pkg is not None and name in pkg.__dict__:
        delattr(pkg, name)


def resolve(kind, cid, obis, ident):
    mod = module(cid)
    if mod is None:
        return None
    r = _row(mod, kind, obis, ident)
    if r is None:
        # not an object of this meter: the class module and this one are dropped again, so an
        # undefined object costs no heap after its command
        drop("ic_%d" % cid)
        drop("catalog")
        return None
    from firmware.meter import ic_base as B

    if kind == _ACTION:
        return B.actor(mod, cid, obis, ident, r[3]), bool(r[2]), None
    acc = r[2]
    if kind == _SET:
        if not acc & _A_SET:
            return B.denied, False, None
        return B.setter(mod, cid, obis, ident, r[3]), bool(acc & _A_SET_SIGNED), None
    if kind != _GET and (kind != _GET_SEL or not acc & _A_SELECT):
        return None  # SET with selection, or a selector on an attribute that takes none
    if not acc & _A_GET:
        return B.denied, False, None
    return B.getter(mod, cid, obis, ident, r[3]), bool(acc & _A_GET_SIGNED), None


def _row(mod, kind, obis, ident):
    for r in (getattr(mod, "METHODS", ()) if kind == _ACTION else mod.ATTRS):
        if r[0] == obis and r[1] == ident:
            return r
    return None
