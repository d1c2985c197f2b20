"""COSEM interface class 30 (Data protection) objects of the ESME that RTDS use cases address (GBCS
§7.2; shared/reference/usecases.md): table rows per firmware/meter/catalog.py, handlers
firmware/meter/ic_base.py; method 1 (a GBCS protected read, gbcs.md §3.7) answers the values of the
attribute descriptors it lists, as one structure, AES-128-GCM encrypted for the party named in its
protection parameters: K = KDF(Z(device KA, the party's KA cell), device, U=04, the transaction
counter, party), IV = device || 00000000, AAD 31, the octet string 31 00000000 || ciphertext ||
12-byte tag, after the parameters echoed with originator and recipient swapped. A party without a
KA trust anchor cell, or parameters not naming this device and the command's originator, get other-
reason."""
from firmware.gbcs import dlms

CLASS = 30

ATTRS = (
)
# {attribute descriptors, protection parameters}
_PARAM = "s(a(s(u16,os6,i8,u16,s(e,*))),a(s(e,s(os,os,os,os,*))))"
METHODS = (
    (b"\x00\x00\x2B\x02\x01\xFF", 1, 0, _PARAM),  # 0-0:43.2.1.255
    (b"\x00\x00\x2B\x02\x02\xFF", 1, 0, _PARAM),  # 0-0:43.2.2.255
    (b"\x00\x00\x2B\x02\x03\xFF", 1, 0, _PARAM),  # 0-0:43.2.3.255
    (b"\x00\x00\x2B\x02\x04\xFF", 1, 0, _PARAM),  # 0-0:43.2.4.255
    (b"\x00\x00\x2B\x02\x05\xFF", 1, 0, _PARAM),  # 0-0:43.2.5.255
    (b"\x00\x00\x2B\x02\x06\xFF", 1, 0, _PARAM),  # 0-0:43.2.6.255
    (b"\x00\x00\x2B\x02\x07\xFF", 1, 0, _PARAM),  # 0-0:43.2.7.255
    (b"\x00\x00\x2B\x02\x08\xFF", 1, 0, _PARAM),  # 0-0:43.2.8.255
    (b"\x00\x00\x2B\x02\x09\xFF", 1, 0, _PARAM),  # 0-0:43.2.9.255
    (b"\x00\x00\x2B\x02\x0A\xFF", 1, 0, _PARAM),  # 0-0:43.2.10.255
)


def act(ctx, obis, method, item):
    from firmware.meter import objects

    descs, params = item[1]
    if len(params[1]) != 1:
        return dlms.OTHER_REASON, None
    kind, p = params[1][0][1]
    p = p[1]
    if len(p) != 5 or p[0][0] != dlms.OCTET_STRING or len(p[0][1]) != 9 or p[0][1][0] != 4 \
            or p[1][0] != dlms.OCTET_STRING or p[2][0] != dlms.OCTET_STRING:
        return dlms.TYPE_UNMATCHED, None
    dev = ctx.device
    party, me = p[1][1], p[2][1]
    m = ctx.msg
    if me != dev.eui or party != (m.supp_remote_id or m.originator):
        return dlms.OTHER_REASON, None
    from firmware.core.trust import KA

    cell = dev.trust.party_cell(party, KA)
    if cell is None:
        return dlms.OTHER_REASON, None
    objs = objects.of(dev)
    pt = bytearray((dlms.STRUCTURE,))
    pt += dlms.enc_len(len(descs[1]))
    for d in descs[1]:
        d = d[1]
        if d[2][1] < 0:
            return dlms.OTHER_REASON, None
        raw = objs.get(d[0][1], d[1][1], d[2][1])
        pt += b"\x00" if raw is None else raw
    from firmware.crypto.gmac import gbcs_key
    from firmware.crypto import gcm

    k = gbcs_key(dev.trust.z(cell), me, 4, p[0][1][1:], party)
    c, tag = gcm.encrypt(k, me + b"\x00\x00\x00\x00", bytes(pt), b"\x31", 12)
    echo = (dlms.STRUCTURE, [kind, (dlms.STRUCTURE, [p[0], p[2], p[1], p[3], p[4]])])
    return dlms.SUCCESS, (dlms.STRUCTURE, [(dlms.ARRAY, [echo]),
                                           (dlms.OCTET_STRING, b"\x31\x00\x00\x00\x00" + c + tag)])
