"""GBCS commands for the implemented ESME use cases, built and signed on the host, and verification of
the device's responses (shared/reference/gbcs.md §2, §3, §7; docs/gbcs-profile.md). Message codes,
COSEM objects (class, OBIS, attribute or method), script selectors, payment modes and which use
cases are critical come from firmware/gbcs/cosem.py, the table the meter's handlers use.

One implementation of the format: the frame and DLMS encoders are firmware/gbcs (the code the meter
runs); signing and MACs use `cryptography` through host_tools/gbcs/verify.py, independent of the
firmware's crypto. Commands are MAC'd by the access control broker (its KA key x the device KA key,
gbcs.md §3.4) and, for critical use cases, signed by the originator's DS key.

Originator counters: strictly increasing per (originator, device), kept in the key store
(`gbcs-counters.json`), starting at the current time in milliseconds as DCC's signing tool does
(gbcs.md §6), so a counter is never reused even when the ledger file is lost.
"""
import time

from firmware.gbcs import cosem, dlms, dlms_client, frame
from firmware.gbcs.usecases import USE_CASES as _TABLE
from host_tools.errors import SmlabError
from host_tools.gbcs import verify as V
from host_tools.keys import pki

NOW = b"\x00" * 9 + b"\x80\x00\xff"  # DLMS date-time "now" (gbcs.md §7.4)
CONTROL_STATES = {0: "disconnected", 1: "connected", 2: "ready_for_reconnection (armed)"}
# credit and standing charge configuration an ECS02/ECS03 command carries (IC 111 attribute 11):
# the charge objects' OBIS codes 0-0:19.10.0.255, 0-0:19.20.0.255 and 0-0:19.20.4.255
_CHARGES = [(2, [(9, b"\x00\x00\x13\x0a\x00\xff"), (9, b"\x00\x00\x13\x14\x00\xff"), (4, (3, b"\xe0"))]),
            (2, [(9, b"\x00\x00\x13\x0a\x00\xff"), (9, b"\x00\x00\x13\x14\x04\xff"), (4, (3, b"\xe0"))])]
DESCRIPTIONS = {
    "ECS42": "close the load switch (supply on)",
    "ECS43": "open the load switch (supply off)",
    "ECS44": "arm the load switch (consumer reconnects)",
    "ECS45": "read the load switch state",
    "ECS02": "payment mode -> credit",
    "ECS03": "payment mode -> prepayment",
}


def _data(obj, value):
    """The request data of one COSEM object of a use case (cosem.OBJECTS row `obj`)."""
    kind, cls, obis, attr, _ = obj
    if kind == dlms.GET:
        return (dlms.NULL, None)
    if cls == 9:  # script table: execute(script selector)
        return (dlms.LONG_UNSIGNED, value)
    if cls == 111 and attr == 2:  # account mode and status: (payment mode, status)
        return (2, [(dlms.ENUM, value), (dlms.ENUM, 1)])
    if cls == 111 and attr == 11:
        return (1, list(_CHARGES))
    if cls == 111 and attr == 13:
        return (dlms.OCTET_STRING, NOW)
    raise UseCaseError("no host builder for class %d attribute %d" % (cls, attr))


def _builder(objects, value):
    """Content builder(invoke id) for a use case's objects, in request order."""
    rows = [cosem.OBJECTS[i] for i in objects]

    def build(inv):
        return dlms_client.build_request(inv, [(k, c, o, a) for k, c, o, a, _ in rows],
                                         [_data(r, value) for r in rows])
    return build


def _use_cases():
    out = {}
    for name, code, critical, objects, value in _TABLE:
        if name in DESCRIPTIONS:  # the use cases the host builds (CS01a: `smlab utrn` makes UTRNs)
            out[name] = (code, critical, _builder(objects, value), DESCRIPTIONS[name])
    return out


class UseCaseError(SmlabError):
    """Unknown use case or missing keys (one-line reason)."""


# name: (message code, critical, content builder(invoke id), description); codes, objects, script
# selectors, payment modes and critical flags from firmware/gbcs/cosem.py
USE_CASES = _use_cases()


def next_counter(keys, originator, device):
    """Milliseconds now, and strictly above the last counter issued to this device."""
    return pki.bump_ledger(keys, "gbcs-counters.json", originator.hex() + ":" + device.hex(),
                           lambda last: max(int(time.time() * 1000), (last or 0) + 1))


def parties(keys, device, supplier=None):
    """(supplier, acb, device) Party objects from a key store."""
    try:
        dev, (sup, acb) = pki.find_parties(keys, device, [("supplier", "ds", supplier),
                                                          ("accessControlBroker", "ka", None)])
    except pki.PkiError as e:
        raise UseCaseError(str(e))
    return sup, acb, dev


def build(name, keys, device, counter=None, supplier=None):
    """The GBCS command bytes for use case `name` to `device`, and its originator counter."""
    if name not in USE_CASES:
        raise UseCaseError("unknown use case %s (known: %s)" % (name, ", ".join(sorted(USE_CASES))))
    code, critical, content, _ = USE_CASES[name]
    sup, acb, dev = parties(keys, device, supplier)
    c = counter if counter is not None else next_counter(keys, sup.eui, device)
    raw = V.build_command(sup.eui, device, c, code, content(0x20000000 | (c & 0xFFFFFF)),
                          ds_priv=sup.private["ds"] if critical else None,
                          acb_ka_priv=acb.private["ka"], device_ka_pub=dev.public["ka"])
    return raw, c


def verify_response(raw, keys, device, command_counter=None, supplier=None):
    """Check a device response independently of the firmware: device DS signature (critical) or
    MAC (device KA x supplier KA, U=02), CRA flag, counter echo. Returns a dict describing it."""
    sup, _, dev = parties(keys, device, supplier)
    m = frame.parse(raw)
    out = {"cra": m.cra, "counter": m.counter, "originator": m.originator.hex(),
           "recipient": m.recipient.hex(), "message_code": m.message_code}
    if m.cra != frame.CRA_RESPONSE:
        raise UseCaseError("not a response (CRA %d)" % m.cra)
    if command_counter is not None and m.counter != command_counter:
        raise UseCaseError("response counter %d does not echo the command's %d" % (m.counter, command_counter))
    if m.signature:
        if not V.verify_signature(dev.public["ds"], m):
            raise UseCaseError("response signature does not verify with the device DS key")
        out["auth"] = "signature (device DS key)"
    elif m.mac is not None:
        if not V.verify_mac(m, sup.private["ka"], dev.public["ka"]):
            raise UseCaseError("response MAC does not verify (supplier KA x device KA)")
        out["auth"] = "MAC (device KA x supplier KA)"
    else:
        raise UseCaseError("response carries neither signature nor MAC")
    if m.content[:1] == bytes([dlms.TAG_RESPONSE]):
        _, data, results = dlms_client.parse_response(m.content)
        out["results"] = [_describe(k, r, d, m.message_code) for (k, r), d in zip(results, data)]
        out["ok"] = all(r == dlms.SUCCESS for _, r in results)
    else:
        out["content"] = bytes(m.content).hex()
        out["ok"] = False
    return out


_RESULT_NAMES = {dlms.SUCCESS: "success", dlms.HARDWARE_FAULT: "hardware-fault",
                 dlms.TEMPORARY_FAILURE: "temporary-failure", dlms.READ_WRITE_DENIED: "read-write-denied",
                 dlms.OBJECT_UNDEFINED: "object-undefined", dlms.TYPE_UNMATCHED: "type-unmatched",
                 dlms.SCOPE_OF_ACCESS_VIOLATED: "scope-of-access-violated"}
_KINDS = {dlms.GET: "get", dlms.SET: "set", dlms.ACTION: "action"}


def _describe(kind, result, item, code):
    s = "%s %s" % (_KINDS.get(kind, kind), _RESULT_NAMES.get(result, "result %d" % result))
    if code == USE_CASES["ECS45"][0] and item and item[0] == dlms.ENUM:
        s += ": load switch %s" % CONTROL_STATES.get(item[1], item[1])
    return s
