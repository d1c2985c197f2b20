"""Alerts of the Comms Hub Function as GBCS messages (GBCS §7.2.9 alerts; shared/reference/gbcs.md
§7.9, §8): the CS14 "CHF device log changed" alert (message code 0x0018, alert 0x8F12) and other
non-critical hub alerts under the generic code 0x1001, MAC'd with the CHF KA key x the recipient's
KA trust anchor (KDF U=03), carrying the hub's own originator counter (durable, advanced before the
message is built, so no counter is ever used twice).

    body = cs14_payload(now, pan_id, [(eui, hashed key)])   # A-XDR of the 8F12 alert payload
    msg = build(trust, store, code, now, payload)           # the GBCS alert bytes to the ACB
    dlms_datetime(epoch_seconds) -> 12 bytes                # DLMS date-time, UTC

The transport that delivers them (WAN) is not part of this module: the Device Log queues alerts
durably (firmware/hub/devicelog.py) and a transport builds and sends them.
"""
from firmware.compat import const
from firmware.gbcs import dlms

CS14 = const(0x0018)  # message code of the CS14 alert
GENERIC_NON_CRITICAL = const(0x1001)
ALERT_COUNTER = const("chf_alert_ctr")


def _civil(days):
    """(year, month, day) of a day count since 1970-01-01 (proleptic Gregorian)."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def dlms_datetime(t):
    """12-byte DLMS date-time of epoch seconds `t` (UTC; day of week not specified, deviation
    0x8000 unspecified, status FF: the form of the RTDS corpus)."""
    y, m, d = _civil(t // 86400)
    s = t % 86400
    return bytes((y >> 8, y & 0xFF, m, d, 0xFF, s // 3600, (s // 60) % 60, s % 60, 0, 0x80, 0, 0xFF))


def cs14_payload(now, pan, devices):
    """The 0x8F12 alert payload: structure {log timestamp, 8-byte PAN identifier, array of
    {EUI-64, hashed TC link key}} (gbcs.md §7.9)."""
    return dlms.encode((dlms.STRUCTURE, [
        (dlms.OCTET_STRING, dlms_datetime(now)), (dlms.OCTET_STRING, bytes(pan)),
        (dlms.ARRAY, [(dlms.STRUCTURE, [(dlms.OCTET_STRING, e), (dlms.OCTET_STRING, h)])
                      for e, h in devices])]))


def build(trust, store, code, now, payload=b"", recipient_role=None, counter=None):
    """The GBCS alert message (bytes): data-notification {alert code, date-time[, payload]} under
    message code 0x0018 (0x8F12) or 0x1001, MAC'd for the recipient (default: the ACB). The hub's
    alert counter is advanced first (durable) unless `counter` is given (tests)."""
    from firmware.gbcs import frame, parties as P
    from firmware.core.trust import KA
    from firmware.crypto.gmac import gbcs_mac

    role = P.ACB if recipient_role is None else recipient_role
    cell = trust.cell(role, KA)
    if cell is None:
        from firmware.alerts import Reject
        from firmware.core import reasons

        raise Reject(reasons.NO_CELL, None, "no KA cell for alert recipient role %d" % role)
    if counter is None:
        counter = store.counter(ALERT_COUNTER).increment()
    items = [(dlms.LONG_UNSIGNED, code), (dlms.OCTET_STRING, dlms_datetime(now))]
    if code == 0x8F12 and payload:
        items.append(dlms.decode(payload))
    inv = 0x20000000 | (counter & 0xFFFFFF)
    content = bytes((0x0F, inv >> 24, (inv >> 16) & 0xFF, (inv >> 8) & 0xFF, inv & 0xFF, 0)) + \
        dlms.encode((dlms.STRUCTURE, items))
    m = frame.Message(cra=frame.CRA_ALERT, counter=counter, originator=trust.eui, recipient=cell.eui,
                      message_code=CS14 if code == 0x8F12 else GENERIC_NON_CRITICAL, content=content)
    m.mac_header = True
    m.signature = b""
    frame.build(m)
    return frame.set_mac(m, gbcs_mac(trust.z(cell), trust.eui, P.U_ALERT, frame.u64(counter), cell.eui,
                                     m.mac_aad(), 12))
