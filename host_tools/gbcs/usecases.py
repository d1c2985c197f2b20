"""GBCS commands for the implemented ESME use cases, built and signed on the host, and verification of
the device's responses (shared/reference/gbcs.md §2, §3, §7; docs/gbcs-profile.md).

One implementation of the format: the frame and DLMS encoders are firmware/gbcs (the code the meter
runs); signing and MACs use `cryptography` through host_tools/gbcs/verify.py, independent of the
firmware's crypto. Commands are MAC'd by the access control broker (its KA key x the device KA key,
gbcs.md §3.4) and, for critical use cases, signed by the originator's DS key.

Originator counters: strictly increasing per (originator, device), kept in the key store
(`gbcs-counters.json`), starting at the current time in milliseconds as DCC's signing tool does
(gbcs.md §6), so a counter is never reused even when the ledger file is lost.
"""
import time

from firmware.gbcs import dlms, dlms_client, frame
from host_tools.gbcs import verify as V
from host_tools.errors import SmlabError
from host_tools.keys import pki

SCRIPT_TABLE = b"\x00\x00\x0a\x00\x6a\xff"  # 0-0:10.0.106.255, class 9
DISCONNECT_CONTROL = b"\x00\x00\x60\x03\x0a\xff"  # 0-0:96.3.10.255, class 70
ACCOUNT = b"\x00\x01\x13\x00\x00\xff"  # 0-1:19.0.0.255, class 111
NOW = b"\x00" * 9 + b"\x80\x00\xff"  # DLMS date-time "now" (gbcs.md §7.4)
CONTROL_STATES = {0: "disconnected", 1: "connected", 2: "ready_for_reconnection (armed)"}


def _action(selector):
    return lambda inv: dlms_client.build_request(inv, [(dlms.ACTION, 9, SCRIPT_TABLE, 1)],
                                          [(dlms.LONG_UNSIGNED, selector)])


def _payment_mode(mode):
    def build(inv):
        charges = (2, [(9, b"\x00\x00\x13\x0a\x00\xff"), (9, b"\x00\x00\x13\x14\x00\xff"), (4, (3, b"\xe0"))])
        standing = (2, [(9, b"\x00\x00\x13\x0a\x00\xff"), (9, b"\x00\x00\x13\x14\x04\xff"), (4, (3, b"\xe0"))])
        return dlms_client.build_request(inv, [(dlms.SET, 111, ACCOUNT, 2), (dlms.SET, 111, ACCOUNT, 11),
                                        (dlms.SET, 111, ACCOUNT, 13)],
                                  [(2, [(dlms.ENUM, mode), (dlms.ENUM, 1)]), (1, [charges, standing]),
                                   (dlms.OCTET_STRING, NOW)])
    return build


# name: (message code, critical, content builder(invoke id), description)
USE_CASES = {
    "ECS42": (0x004F, True, _action(51), "close the load switch (supply on)"),
    "ECS43": (0x0050, True, _action(52), "open the load switch (supply off)"),
    "ECS44": (0x0051, True, _action(54), "arm the load switch (consumer reconnects)"),
    "ECS45": (0x0052, False, lambda inv: dlms_client.build_request(inv, [(dlms.GET, 70, DISCONNECT_CONTROL, 3)],
                                                            [(dlms.NULL, None)]),
              "read the load switch state"),
    "ECS02": (0x001A, True, _payment_mode(1), "payment mode -> credit"),
    "ECS03": (0x001B, True, _payment_mode(2), "payment mode -> prepayment"),
}


class UseCaseError(SmlabError):
    """Unknown use case or missing keys (one-line reason)."""


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
