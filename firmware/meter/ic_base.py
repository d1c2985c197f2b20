"""Generic COSEM attribute and method handlers of the ESME's on-demand objects (DLMS/COSEM
interface classes, IEC 62056-6-2, as GBCS §7.2 uses them; shared/reference/gbcs.md §7.1): a GET
answers the attribute's stored or provided A-XDR value (firmware/meter/objects.py), a SET checks the
value's DLMS type against the attribute's type specification and stages it (one store write per
command, after all items), an ACTION checks its parameter and runs the class module's `act`.

Type specifications (strings in the class modules' tables, parsed once and cached):

    n b bs dl dlu i8 i16 u8 u16 e vs utf8 dt carr   null, boolean, bit-string, double-long(-unsigned),
                                                    integer, long, unsigned, long-unsigned, enum,
                                                    visible-string, utf8-string, date-time,
                                                    compact-array
    os  osN                                         octet-string (of exactly N bytes)
    a(X)  s(X,Y,...)  X|Y  *                        array of X, structure, either, anything

A value never written reads as the default of its specification (0, empty, a date-time "never"
FF..FF 80 00 FF, an empty array for a profile buffer).
"""
from firmware.gbcs import dlms
from firmware.meter import objects

_TAGS = {"n": 0x00, "b": 0x03, "bs": 0x04, "dl": 0x05, "dlu": 0x06, "vs": 0x0A, "utf8": 0x0C,
         "i8": 0x0F, "i16": 0x10, "u8": 0x11, "u16": 0x12, "e": 0x16, "carr": 0x13, "dt": 0x19,
         "os": 0x09}
_NEVER = b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x80\x00\xFF"
_parsed = {}


def parse(spec):
    """The tree of a type specification (cached): token str, ("a", X), ("s", [..]), ("|", [..])."""
    t = _parsed.get(spec)
    if t is None:
        t, p = _alt(spec, 0)
        if p != len(spec):
            raise ValueError("type spec " + spec)
        _parsed[spec] = t
    return t


def _alt(s, p):
    alts = []
    while True:
        t, p = _term(s, p)
        alts.append(t)
        if p < len(s) and s[p] == "|":
            p += 1
            continue
        return (alts[0] if len(alts) == 1 else ("|", alts)), p


def _term(s, p):
    q = p
    while q < len(s) and s[q] not in "(),|":
        q += 1
    tok = s[p:q]
    if q < len(s) and s[q] == "(":
        kids = []
        q += 1
        while True:
            t, q = _alt(s, q)
            kids.append(t)
            if q >= len(s):
                raise ValueError("type spec " + s)
            if s[q] == ",":
                q += 1
                continue
            if s[q] != ")":
                raise ValueError("type spec " + s)
            q += 1
            break
        if tok == "a" and len(kids) == 1:
            return ("a", kids[0]), q
        if tok == "s":
            return ("s", kids), q
        raise ValueError("type spec " + s)
    if not tok:
        raise ValueError("type spec " + s)
    return tok, q


def match(spec, item):
    """True when the decoded DLMS item has the type `spec` describes."""
    return _match(parse(spec), item)


def _match(t, item):
    tag, v = item
    if isinstance(t, str):
        if t == "*":
            return True
        if t[0:2] == "os" and len(t) > 2:
            return tag == 0x09 and len(v) == int(t[2:])
        return _TAGS.get(t, -1) == tag
    k = t[0]
    if k == "a":
        if tag != dlms.ARRAY:
            return False
        for it in v:
            if not _match(t[1], it):
                return False
        return True
    if k == "s":
        if tag != dlms.STRUCTURE or len(v) != len(t[1]):
            return False
        for i in range(len(v)):
            if not _match(t[1][i], v[i]):
                return False
        return True
    for a in t[1]:
        if _match(a, item):
            return True
    return False


def default(spec):
    """The A-XDR bytes of a never-written attribute of type `spec`."""
    return dlms.encode(_default(parse(spec)))


def _default(t):
    if isinstance(t, str):
        if t == "*" or t == "n":
            return (dlms.NULL, None)
        if t == "carr":
            return (dlms.ARRAY, [])
        if t == "b":
            return (dlms.BOOLEAN, False)
        if t == "bs":
            return (dlms.BIT_STRING, (0, b""))
        if t == "dt":
            return (0x19, _NEVER)
        if t[0:2] == "os":
            n = int(t[2:]) if len(t) > 2 else 0
            return (dlms.OCTET_STRING, _NEVER if n == 12 else bytes(n))
        tag = _TAGS[t]
        return (tag, b"") if tag == 0x0A or tag == 0x0C else (tag, 0)
    if t[0] == "a":
        return (dlms.ARRAY, [])
    if t[0] == "s":
        return (dlms.STRUCTURE, [_default(x) for x in t[1]])
    return _default(t[1][0])


def commit(ctx):
    """After-action of a command: its staged attribute values in one store write."""
    objects.of(ctx.device).commit()


def value(ctx, cid, obis, attr, spec):
    """The attribute's A-XDR bytes (stored, provided or the default of `spec`)."""
    raw = objects.of(ctx.device).get(cid, obis, attr)
    return default(spec) if raw is None else raw


def stage(ctx, cid, obis, attr, data):
    """Stage A-XDR bytes for the command's one store write."""
    objects.of(ctx.device).stage(cid, obis, attr, data)
    ctx.after(commit)


def getter(mod, cid, obis, attr, spec):
    """Handler of a GET (with or without an access selector: the class module's `select(raw,
    selection)` narrows the value when it has one)."""
    def h(ctx, item):
        raw = value(ctx, cid, obis, attr, spec)
        sel = ctx.request.selections[ctx.index]
        f = getattr(mod, "select", None)
        if sel is not None and f is not None:
            raw = f(raw, sel)
            if raw is None:
                return dlms.OTHER_REASON, None
        return dlms.SUCCESS, dlms.decode(raw)
    return h


def setter(mod, cid, obis, attr, spec):
    """Handler of a SET: type check (type-unmatched otherwise), then staged. A class module's
    ACTIVATE rows ((activation time attribute, ((passive, active), ...)), ...) make a SET of an
    activation time "now" (00..00 80 00 FF) copy the passive values (as this command left them)
    to the active attributes; "never" (FF..FF) and a future time leave them (a scheduled change
    runs at its time)."""
    def h(ctx, item):
        if not match(spec, item):
            return dlms.TYPE_UNMATCHED, None
        stage(ctx, cid, obis, attr, dlms.encode(item))
        for a, pairs in getattr(mod, "ACTIVATE", ()):
            if a == attr and item[0] == dlms.OCTET_STRING and _now(item[1]):
                o = objects.of(ctx.device)
                for passive, active in pairs:
                    v = o.get(cid, obis, passive)
                    if v is not None:
                        stage(ctx, cid, obis, active, v)
        return dlms.SUCCESS, None
    return h


def _now(dt):
    """A GBCS execution date-time meaning "now": date and time fields all zero."""
    if len(dt) != 12:
        return False
    for i in range(9):
        if dt[i]:
            return False
    return True


def actor(mod, cid, obis, method, spec):
    """Handler of an ACTION: parameter type check, then the class module's act(ctx, obis, method,
    item) -> (result, data item or None); a class without `act` acknowledges."""
    def h(ctx, item):
        if not match(spec, item):
            return dlms.TYPE_UNMATCHED, None
        f = getattr(mod, "act", None)
        return (dlms.SUCCESS, None) if f is None else f(ctx, obis, method, item)
    return h


def denied(ctx, item):
    """A defined attribute the request's kind may not access (GET of a write-only attribute...)."""
    return dlms.READ_WRITE_DENIED, None


def spec_of(attrs, obis, attr):
    """The type specification of attribute `attr` of `obis` in a class module's ATTRS, or None."""
    for r in attrs:
        if r[0] == obis and r[1] == attr:
            return r[3]
    return None
