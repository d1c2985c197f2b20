"""The ESME's queued alerts (firmware/meter/engine.py) as GBCS alert messages (GBCS §7.2.9;
shared/reference/gbcs.md §7.9, §8), for the transport that delivers them (the HAN via the Comms Hub):

* future-dated execution outcome 0x8F66 / 0x8F67 of a payment-mode change: message code 0x00CC,
  data-notification {alert code, execution date-time, 19-byte payload: message code | originator
  counter | class 111 | OBIS 0-1:19.0.0.255 | attribute 13}, signed with the device DS key;
* other alerts 0x8Fxx: generic critical alert 0x1000, {alert code, date-time}, signed;
* alerts 0x81xx: generic non-critical alert 0x1001, MAC'd with the device KA key x the recipient's KA
  cell (KDF U=03).

Each message carries the device's own alert counter (store counter "esme_alert_ctr", advanced before
the message is built, so no counter is ever used twice). Recipient: the supplier.
"""
from firmware.compat import const
from firmware.gbcs import dlms

FUTURE_DATED = const(0x00CC)
GENERIC_CRITICAL = const(0x1000)
GENERIC_NON_CRITICAL = const(0x1001)
COUNTER = const("esme_alert_ctr")
_ACCOUNT = b"\x00\x6f\x00\x01\x13\x00\x00\xff\x0d"  # class 111, 0-1:19.0.0.255, attribute 13


def _datetime(t):
    """12-byte DLMS date-time of meter time t (day of week and deviation unspecified, as RTDS)."""
    from firmware.meter import clock as C

    b = bytearray(C.to_dlms(t))
    b[4] = 0xFF
    return bytes(b)


def build(trust, store, entry, recipient_role=None, counter=None):
    """The GBCS message bytes of one queued alert `entry` [seq, meter time, code, detail]."""
    import hashlib
    from firmware.gbcs import frame, parties as P
    from firmware.core.trust import KA

    _, t, code, extra = entry
    role = P.SUPPLIER if recipient_role is None else recipient_role
    cell = trust.cell(role, KA)
    if cell is None:
        from firmware.alerts import Reject
        from firmware.core import reasons

        raise Reject(reasons.NO_CELL, None, "no KA cell for alert recipient role %d" % role)
    if counter is None:
        counter = store.counter(COUNTER).increment()
    items = [(dlms.LONG_UNSIGNED, code), (dlms.OCTET_STRING, _datetime(t))]
    mc = GENERIC_CRITICAL if code >> 8 == 0x8F else GENERIC_NON_CRITICAL
    if code in (0x8F66, 0x8F67):
        f = extra.split()
        mc = FUTURE_DATED
        items.append((dlms.OCTET_STRING, bytes((int(f[0], 16) >> 8, int(f[0], 16) & 0xFF)) +
                      int(f[1]).to_bytes(8, "big") + _ACCOUNT))
    inv = 0x20000000 | (counter & 0xFFFFFF)
    content = bytes((0x0F, inv >> 24, (inv >> 16) & 0xFF, (inv >> 8) & 0xFF, inv & 0xFF, 0)) + \
        dlms.encode((dlms.STRUCTURE, items))
    m = frame.Message(cra=frame.CRA_ALERT, counter=counter, originator=trust.eui, recipient=cell.eui,
                      message_code=mc, content=content)
    if mc != GENERIC_NON_CRITICAL:
        m.mac_header = False
        m.signature = None
        body, _ = frame.build_grouping(m)
        m.signature = trust.sign(hashlib.sha256(body[1:]).digest())
        return frame.build(m)
    from firmware.crypto.gmac import gbcs_mac

    m.mac_header = True
    m.signature = b""
    frame.build(m)
    return frame.set_mac(m, gbcs_mac(trust.z(cell), trust.eui, P.U_ALERT, frame.u64(counter), cell.eui,
                                     m.mac_aad(), 12))
