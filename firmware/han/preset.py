"""The HAN state a join leaves behind, computed ahead for a pre-configured premises (docs/lab.md
"Pre-configured premises"): given the hub's network key and each device's TC link key, the store
records the Comms Hub and the devices would hold after every device had joined (IEEE 802.15.4
association, ZigBee spec 4.6.3.2 network key transport, CBKE for the TC link key: firmware/han/hub.py,
firmware/han/device.py) and, for a pair of devices joined to each other (GBCS CS03 method B: a meter
and a type 2 device such as an IHD), their application link key (ZigBee spec 4.4: the key a Trust
Centre hands both partners) and the meter's own device log entry (firmware/meter/joins.py).

Runs wherever the records are written from (the host's premises tool, tests in one process): the
records are built with the firmware's own encoders (the Device Log record of
firmware/hub/devicelog.py, the short addresses of firmware/han/hub.py), so a board boots from them
exactly as from a join it made itself.

    hub, devs = records(hub_eui8, nwk_key16, [(eui8, tc_link16)], pan=0x1A62,
                        partners=[(meter_eui8, other_eui8, other_type, app_key16)])
    hub -> {"han_hub": {...}, "chf_dlog": {"hex": ...}};  devs[eui8] -> {"han_join": {...}[, "devlog": [...]]}

Device type codes of the meter's device log are CS03's otherDeviceType (shared/reference/han.md §6:
type 2 device = 6).
"""
from firmware.compat import const

DEFAULT_PAN = const(0x1A62)
TYPE2 = const(6)  # CS03 otherDeviceType of a type 2 device (IHD, CAD)


def _hex(b):
    import binascii

    return binascii.hexlify(bytes(b)).decode()


def shorts(euis):
    """{eui8: short} as the hub assigns them to its Device Log at boot (in log order)."""
    from firmware.han.hub import short_for

    taken = {}
    out = {}
    for e in euis:
        out[bytes(e)] = short_for(int.from_bytes(bytes(e), "big"), taken)
    return out


def records(hub_eui, nwk_key, devices, pan=DEFAULT_PAN, partners=(), key_seq=0):
    """(hub records, {device eui8: its records}) for the premises (see the module docstring)."""
    from firmware.hub import devicelog as D

    if len(nwk_key) != 16:
        raise ValueError("network key must be 16 bytes")
    sh = shorts([e for e, _ in devices])
    entries = []
    devs = {}
    for eui, lk in devices:
        if len(lk) != 16:
            raise ValueError("TC link key must be 16 bytes")
        entries.append([bytes(eui), b"", bytes(lk), D.hashed_key(lk), 0, 0, 0, None])
        devs[bytes(eui)] = {"han_join": {"pan": pan, "short": sh[bytes(eui)], "nwk": _hex(nwk_key),
                                         "seq": key_seq, "tc_link": _hex(lk)}}
    for meter, other, otype, key in partners:
        meter, other = bytes(meter), bytes(other)
        if meter not in devs or other not in devs or len(key) != 16:
            raise ValueError("partners must both be in the Device Log, with a 16-byte key")
        devs[meter]["han_join"].setdefault("partners", {})[_hex(other)] = [sh[other], _hex(key)]
        devs[other]["han_join"].setdefault("partners", {})[_hex(meter)] = [sh[meter], _hex(key)]
        devs[meter].setdefault("devlog", []).append([_hex(other), otype])
    state = {"pan": bytes(hub_eui), "jt": 0, "je": True, "d": entries, "h": [], "q": []}
    hub = {"han_hub": {"nwk": _hex(nwk_key), "seq": key_seq}, "chf_dlog": {"hex": _hex(D.pack(state))}}
    return hub, devs
