"""Fault injection for test benches: make a command answer as a device failure does, the condition
DCC's RTDS ERROR variants assume (xDLMS access-response data-access-result, IEC 62056-5-3; GBCS
§7.2 use-case responses; shared/reference/usecases.md "Error-response pattern").

A fault armed for item K makes the DLMS command it hits answer: items before K run as usual, item K
answers hardware-fault (1) with null data, every later item other-reason (250) with null data and
is not run (a K beyond the last item faults the last item). A DER command (GBCS §7.3, no DLMS
items) it hits runs nothing and is answered by the role's `table.der_fault(device, msg, party,
log)` when the role sets one (its use case's failure answer), else INTEGER 3 (command failed).

    faults.arm(store, k, counter=0, table=None)   # hit the next command (counter 0) or the command
                                                  # with that originator counter; table: a running
                                                  # role's dispatch table (else armed at next boot)
    faults.clear(store, table=None)
    faults.armed(store) -> [(counter, k), ...]
    faults.load(table, store)                     # at boot, when the store holds the record

Nothing of this runs on a device with no fault armed: arming installs a wrapper as the dispatch
table's own `execute` (firmware/core/gate.py calls table.execute), removed again when the last
armed fault is consumed; the application loads this module at boot only when the store holds the
record (firmware/app.py), so the command path and its heap are those of a device not under test.

Persistence and one-shot: the armed faults are the store record "fault" (9 bytes each: item K |
originator counter, 8 bytes big-endian, 0 = any). A reset neither loses nor repeats a fault. A
fault is consumed by the command it hits after the gate has persisted that command's counter and
before any item runs, by one store write (the record rewritten without it, or removed). A power cut
before that write leaves the fault armed and the command burned (never run, never answered): the
fault hits the next command. A cut after it: the command consumed the fault and was never
answered, as any command cut short; the fault is not repeated.
"""
from firmware.alerts import Reject
from firmware.compat import const
from firmware.gbcs import dlms

REC = const("fault")
_ENTRY = const(9)
_DER_FAILED = const(b"\x02\x01\x03")  # ASN.1 INTEGER 3: the command failed (gate.py's answer too)


def parse(raw):
    """[[counter, k], ...] of record bytes."""
    out = []
    for i in range(0, len(raw) - _ENTRY + 1, _ENTRY):
        out.append([int.from_bytes(raw[i + 1:i + _ENTRY], "big"), raw[i]])
    return out


def encode(entries):
    b = bytearray()
    for ctr, k in entries:
        b.append(k)
        b += ctr.to_bytes(8, "big")
    return bytes(b)


def armed(store):
    raw = store.get(REC)
    return [tuple(e) for e in parse(raw)] if raw else []


def _install(table, entries):
    if entries:
        table.fault = entries
        table.execute = _Faulting(table)
    else:
        table.fault = None
        if "execute" in table.__dict__:
            del table.execute


def load(table, store):
    """Arm `table` with the faults `store` holds (at boot)."""
    raw = store.get(REC)
    _install(table, parse(raw) if raw else None)


def arm(store, k, counter=0, table=None):
    """Arm a fault at item `k` (0-255) of the next command, or of the command whose originator
    counter is `counter`; durable when this returns."""
    if not 0 <= k <= 255 or not 0 <= counter < (1 << 64):
        raise ValueError("fault item 0..255, counter 0..2^64-1")
    raw = store.get(REC) or b""
    entries = [e for e in parse(raw) if e[0] != counter] + [[counter, k]]
    store.put(REC, encode(entries))
    if table is not None:
        _install(table, entries)


def clear(store, table=None):
    store.delete(REC)
    if table is not None:
        _install(table, None)


def take(table, store, m):
    """The item index of the fault armed for command `m` (then consumed: one store write), or None."""
    entries = table.fault or ()
    hit = None
    for e in entries:
        if e[0] == m.counter:
            hit = e
            break
        if e[0] == 0 and hit is None:
            hit = e
    if hit is None:
        return None
    rest = [e for e in entries if e is not hit]
    if rest:
        store.put(REC, encode(rest))
    else:
        store.delete(REC)
    _install(table, rest)
    return hit[1]


class _Faulting:
    """table.execute while a fault is armed."""

    def __init__(self, table):
        self.table = table

    def __call__(self, device, m, party, log):
        t = self.table
        run = type(t).execute  # the table's own execute
        k = take(t, device.store, m)
        if k is None:
            return run(t, device, m, party, log)
        c = m.content
        if not c or c[0] != dlms.TAG_REQUEST:
            fn = getattr(t, "der_fault", None)
            return fn(device, m, party, log) if fn is not None else _DER_FAILED
        try:
            head, kinds, specs, data = _split(c)
        except Reject:
            return run(t, device, m, party, log)  # answered as a malformed request
        n = len(kinds)
        if k >= n:
            k = n - 1
        if k:
            m.content = head + _items(specs, k) + _items(data, k)
            try:
                r = run(t, device, m, party, log)  # the items before K, as usual
            finally:
                m.content = c
        else:
            r = dlms.build_response(dlms.parse_request(c).invoke_id, [])
        # r: tag, invoke-id, no date-time, count, data items, count, (kind, code) pairs
        lk = len(dlms.enc_len(k))
        pairs = r[len(r) - 2 * k:] if k else b""
        out = bytearray(r[:7])
        out += dlms.enc_len(n)
        out += r[7 + lk:len(r) - 2 * k - lk]
        out += bytes(n - k)  # null data for the failed items
        out += dlms.enc_len(n)
        out += pairs
        for i in range(k, n):
            out.append(kinds[i])
            out.append(dlms.HARDWARE_FAULT if i == k else dlms.OTHER_REASON)
        return bytes(out)


def _items(parts, k):
    return dlms.enc_len(k) + b"".join(parts[:k])


def _split(buf):
    """(header bytes, [result kind], [spec bytes], [data item bytes]) of an access-request."""
    end = len(buf)
    h = 6 if buf[5] == 0 else 18
    n, p = dlms.read_len(buf, h, end)
    head = bytes(buf[:h])
    kinds, specs, data = [], [], []
    for _ in range(n):
        q = p
        kind = buf[p]
        p += 10
        if kind >= dlms.GET_WITH_SELECTION:
            p = dlms.decode_at(buf, p + 1, end)[1]
        kinds.append(dlms.GET if kind == dlms.GET_WITH_SELECTION else
                     dlms.SET if kind == dlms.SET_WITH_SELECTION else kind)
        specs.append(bytes(buf[q:p]))
    _, p = dlms.read_len(buf, p, end)
    for _ in range(n):
        q = p
        p = dlms.decode_at(buf, p, end)[1]
        data.append(bytes(buf[q:p]))
    return head, kinds, specs, data
