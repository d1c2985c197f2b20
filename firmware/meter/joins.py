"""Device-to-device joins on a meter's own device log (shared/reference/han.md §6; GBCS use cases
CS03 join, CS04 unjoin, CS07 read device join details; GBCS §7.3 DER content). Loaded on demand
by firmware/meter/der.py.

CS03 JoinDevice SEQUENCE {joinMethodAndRole INTEGER, otherDeviceEntityIdentifier OCTET STRING (8),
otherDeviceType INTEGER, otherDeviceKeyAgreementCertificate OPTIONAL} -> INTEGER:
   0 success                              7 key agreement unknown issuer
   1 message code does not fit the        8 key agreement unsupported suite
     method and role in the payload       9 key agreement bad message
   2 join method and role not supported  10 key agreement bad key confirm
     by this device for that partner     11 invalid or missing certificate
   3 incompatible with an existing entry 12 no partner link key received
   4 device log full                     13 no CBKE response (timeout)
   5 write failure (store write failed)
   6 key agreement no resources
Message code -> method and role: 0x000D method A initiator, 0x00AB method A responder, 0x000E
method B, 0x00AF method C. Which combinations a device supports [U] (han.md §6 infers the methods
from the codes): an ESME joins method A (either role) with an ESME, HCALCS or PPMID partner and
method B with a type 2 device; method C (GSME <-> PPMID) is not an ESME's -> 2. A GSME joins
method B only with a GPF (RTDS 8.7.2_CS03B ERROR: method B with a PPMID -> 2) and method C only
with a PPMID. Method C needs the partner's key-agreement certificate (absent -> 11).

Method A needs a partner link key from a CBKE with the partner over the HAN (ZSE cluster 0x0800,
firmware/zigbee/cbke.py). When the device has a HAN hook `device.partner_cbke(eui, initiator,
deadline)` (firmware/han/partner.py on a meter with a HAN), the join is PENDING (device._djp) while
the hook runs it; the HAN layer reports with outcome(device, eui, status, key): a Terminate status
(cbke.py) gives 6-11, success without a key 12, success with the key the entry (and key) in one
store write; no outcome by the deadline (device.join_clock() + CBKE_TIMEOUT seconds) gives 13.
The initiator's hook returns once the CBKE has ended, and its code answers the CS03. A hook that
returns True has armed the device as RESPONDER: the CS03 is answered 0 at once (ready for the
initiator's CBKE) and the outcome, when the HAN layer reports it, writes the entry or not; its code
is returned to the HAN layer, which logs it. Without the hook (RTDS runner, benches) the partner
link is taken as established and the entry is written.

CS04 unjoin: EUI-64 -> INTEGER 0 success, 1 not in the device log, 2 other failure (write failed).
CS07: SEQUENCE {INTEGER 0, SEQUENCE OF SEQUENCE {OCTET STRING EUI-64, INTEGER device type}};
a read failure is SEQUENCE {INTEGER 1} (as RTDS 8.9_CS07 ERROR). Every change is one store write of the record "devlog"
([[EUI-64 hex, device type(, partner link key hex)], ...]).
On a meter with a metering engine each outcome queues its alert after that write: 0x8F49 joined /
0x8F48 join failed (codes 3-13; 1 and 2 refuse the command itself), 0x8F4B unjoined / 0x8F4A
unjoin failed; an armed responder's at its CBKE outcome.
"""
from firmware.alerts import Reject
from firmware.core import asn1 as D

DEVLOG_REC = "devlog"
DEVICE_LOG_SIZE = 5  # [U] no normative size found for the ESME device log
# alerts of a join's outcome (shared/reference/han.md §7, gbcs.md §8): which response codes count as
# a failed join is not stated [U]; here every CS03 whose method and role were valid (codes 3-13)
JOIN_FAILED = 0x8F48
JOINED = 0x8F49
UNJOIN_FAILED = 0x8F4A
UNJOINED = 0x8F4B
CBKE_TIMEOUT = 60  # [U] seconds on the role's clock a method A join waits for the partner CBKE

METHOD = {0x000D: 0, 0x00AB: 1, 0x000E: 2, 0x00AF: 3}
# own device type -> method -> partner types allowed ([U], see the docstring); None: any
ALLOWED = {
    1: {0: (1, 4, 5), 1: (1, 4, 5), 2: (6,), 3: ()},
    0: {2: (3,), 3: (5,)},
}
_ROLE_TYPE = {"esme": 1, "gsme": 0}
# CBKE Terminate status (firmware/zigbee/cbke.py) -> join response code
TERMINATE_CODE = {4: 6, 1: 7, 5: 8, 3: 9, 2: 10, 6: 11}


def _log(store):
    return store.get_json(DEVLOG_REC, []) or []


def _hex(b):
    import binascii

    return binascii.hexlify(b).decode()


def _put(store, lg):
    """One store write; False when it failed (OSError)."""
    try:
        store.put_json(DEVLOG_REC, lg)
    except OSError:
        return False
    return True


def check(store, eui, dtype):
    """0 when the entry may be added (or already is), 3 incompatible, 4 full."""
    h = _hex(eui)
    lg = _log(store)
    for x in lg:
        if x[0] == h:
            return 0 if x[1] == dtype else 3
    return 4 if len(lg) >= DEVICE_LOG_SIZE else 0


def add(store, eui, dtype, key=None):
    """Add the entry (one write): 0, 3, 4 as check(), 5 write failure."""
    c = check(store, eui, dtype)
    if c:
        return c
    h = _hex(eui)
    lg = _log(store)
    keep = [x for x in lg if x[0] != h]
    if len(keep) != len(lg) and key is None:
        return 0  # already in the log: nothing to write
    lg = keep
    e = [h, dtype]
    if key is not None:
        e.append(_hex(key))
    lg.append(e)
    return 0 if _put(store, lg) else 5


def parse_join(m):
    """(method, EUI-64, device type, certificate or None) of a JoinDevice; Reject when malformed."""
    buf = m.content
    top = D.head(buf, 0)
    if top[2] != len(buf):
        raise Reject("der", None, "trailing bytes")
    f = D.items(buf, top[1], top[2])
    if len(f) < 3 or len(f) > 4:
        raise Reject("der", None, "JoinDevice fields")
    method = D.uint(buf, *D.expect(f[0], D.INTEGER)[1:3])
    eui = bytes(buf[D.expect(f[1], D.OCTET_STRING)[1]:f[1][2]])
    dtype = D.uint(buf, *D.expect(f[2], D.INTEGER)[1:3])
    if len(eui) != 8 or dtype > 6 or method > 3:
        raise Reject("der", None, "JoinDevice values")
    cert = bytes(buf[f[3][0]:f[3][2]]) if len(f) > 3 else None
    return method, eui, dtype, cert


def join_device(device, m, party, log):
    """CS03 (see the module docstring) -> INTEGER response content."""
    method, eui, dtype, cert = parse_join(m)
    if METHOD[m.message_code] != method:
        return D.integer(1)
    rules = ALLOWED.get(_ROLE_TYPE.get(getattr(device, "name", None)), {})
    if method in rules and dtype not in rules[method]:
        return D.integer(2)
    st = device.store
    code = 11 if method == 3 and not cert else check(st, eui, dtype)
    if not code:
        hook = getattr(device, "partner_cbke", None)
        if method > 1 or hook is None:
            code = add(st, eui, dtype)
        else:
            code = _cbke_join(device, hook, eui, dtype, method == 0, log)
            if pending(device, eui):  # an armed responder: outcome() raises the alert
                return D.integer(code)
    _alert(device, JOINED if code == 0 else JOIN_FAILED)
    return D.integer(code)


def _alert(device, code):
    """Queue alert `code` on the meter's engine, which sends its alerts through the hub
    (firmware/wan/node.py); a role without one (the GSME keeps its own queue) raises nothing here.
    After the device log's write: a power cut between loses the alert, never the join."""
    f = getattr(getattr(device, "meter", None), "raise_alert", None)
    if f is not None:
        f(code)


def now(device):
    """Seconds on the clock join deadlines run on: device.join_clock() (the HAN layer's), else
    the RTC."""
    c = getattr(device, "join_clock", None)
    if c is None:
        import time

        return int(time.time())
    return c()


def _cbke_join(device, hook, eui, dtype, initiator, log):
    h = _hex(eui)
    deadline = now(device) + CBKE_TIMEOUT
    p = getattr(device, "_djp", None)
    if p is None:
        p = device._djp = {}
    e = p[h] = [dtype, deadline, None, False]
    armed = False
    try:
        armed = hook(eui, initiator, deadline) is True
    except (Reject, OSError, ValueError) as x:  # the HAN layer failed: no CBKE response
        log.append("cs03 cbke hook %s" % x)
    if armed and not initiator and e[2] is None:
        e[3] = True  # the responder waits for the initiator: the outcome comes later
        return 0
    p.pop(h, None)
    return 13 if e[2] is None else e[2]


def pending(device, eui):
    """True while a method A join with `eui` waits for its CBKE outcome."""
    e = (getattr(device, "_djp", None) or {}).get(_hex(eui))
    return e is not None and e[2] is None


def outcome(device, eui, status, key=None):
    """The HAN layer's report of the partner CBKE of a pending method A join: status 0 (key: the
    partner link key, KeyData) or a Terminate status of firmware/zigbee/cbke.py; None: no CBKE
    response. Returns the join response code (None: no such pending join)."""
    p = getattr(device, "_djp", None) or {}
    h = _hex(eui)
    e = p.get(h)
    if e is None or e[2] is not None:
        return None
    if e[3]:  # an armed responder: nobody waits for this entry
        del p[h]
    if status is None or now(device) > e[1]:
        code = 13
    elif status:
        code = TERMINATE_CODE.get(status, 9)
    elif not key:
        code = 12
    else:
        code = add(device.store, eui, e[0], key)
    e[2] = code
    if e[3]:
        _alert(device, JOINED if code == 0 else JOIN_FAILED)
    return code


def unjoin_device(device, m, party, log):
    """CS04: EUI-64 -> INTEGER 0 removed, 1 not in the device log, 2 other failure."""
    buf = m.content
    top = D.head(buf, 0)
    if top[2] != len(buf):
        raise Reject("der", None, "trailing bytes")
    D.expect(top, D.OCTET_STRING)
    if top[2] - top[1] != 8:
        raise Reject("der", None, "entity id length")
    h = _hex(bytes(buf[top[1]:top[2]]))
    st = device.store
    lg = _log(st)
    keep = [x for x in lg if x[0] != h]
    if len(keep) == len(lg):
        _alert(device, UNJOIN_FAILED)
        return D.integer(1)
    if not _put(st, keep):
        _alert(device, UNJOIN_FAILED)
        return D.integer(2)
    _alert(device, UNJOINED)
    forget = getattr(device, "partner_forget", None)  # the HAN's copy of the partner link key
    if forget is not None:
        forget(bytes(buf[top[1]:top[2]]))
    return D.integer(0)


def read_details(device, m, party, log):
    """CS07: SEQUENCE {INTEGER 0, SEQUENCE OF SEQUENCE {EUI-64, type}}; SEQUENCE {INTEGER 1}."""
    import binascii

    body = b""
    try:
        for x in _log(device.store):
            body += D.seq(D.octets(binascii.unhexlify(x[0])), D.integer(x[1]))
    except (OSError, ValueError, TypeError, IndexError) as e:
        log.append("cs07 read %s" % e)
        return D.seq(D.integer(1))  # as RTDS 8.9_CS07 ERROR: 30 03 02 01 01, no list
    return D.seq(D.integer(0), D.tlv(D.SEQUENCE, body))

