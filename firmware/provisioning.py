"""Apply a provisioning payload to a device's durable store (factory / bench provisioning).

The host (host_tools/keys/provision.py) builds the payload from a key store; the same function runs on a
board (called over mpremote) and under CPython in tests, so there is one implementation of the
format. Payload (JSON-able dict, byte strings as hex):

    {"v": 1, "role": "esme", "eui": <8>, "ka": <32 private>, "ds": <32 private>,
     "cells": [{"role": int, "usage": "ds"|"ka", "cell": "management"|"prepayment",
                "eui": <8>, "kid": <8>, "pub": <65 SEC1>}],
     "floors": {"<role>": int}, "pp_floors": {"<role>": int},
     "utrn": {"max_credit": pennies, "max_balance": pennies, "lock_fails": n, ...},
     "z": [{"pub": <65 SEC1 KA cell key>, "z": <32>}],
     "han": {...},                 the HAN node's record (firmware/han/node.py): install code, Trust
                                   Centre and its KA key on a device; PAN and peers' KA keys on a hub
     "preset": {"<record>": JSON value, or {"hex": "<bytes>"} for a binary record}}
                                   a pre-configured premises (docs/lab.md): the HAN state a join
                                   would have left (PRESET records only), written as they are

"z" (bench only): static ECDH secrets computed elsewhere, one per KA cell, stored in place of the
ones the device would compute. It serves a device whose KA private key is not known (the RTDS
Comms Hub 00DB1234567890A2: Z = remote party's published KA private key x the device's published
KA certificate, computed on the host; docs/hub.md); "ka" is then a key of the bench's own that
only indexes the stored secrets.

Identity, keys and trust anchor cells go through firmware.core.provision.provision (GBCS §5 trust
anchor cells); UTRN thresholds and lockout settings are the "utrn_cfg" record the UTRN acceptor
reads (firmware/utrn/accept.py). Refuses a payload whose EUI is not the board's own identity.
"""
import binascii

from firmware.alerts import Reject
from firmware.core import reasons

VERSION = 1
_UTRN_KEYS = ("max_credit", "max_balance", "lock_fails", "lock_window", "lock_time", "config_codes")
# records a pre-configured premises may write: a device's join state (firmware/han/device.py), the
# hub's network key and Device Log (firmware/han/hub.py, firmware/hub/devicelog.py), a meter's own
# device log (firmware/meter/joins.py), an IHD's settings (firmware/han/ihd.py)
PRESET = ("han_join", "han_hub", "chf_dlog", "devlog", "ihd")


def _b(d, k, n):
    try:
        v = binascii.unhexlify(d[k])
    except (KeyError, ValueError, TypeError):
        raise Reject(reasons.PROVISION, None, "%s missing or not hex" % k)
    if len(v) != n:
        raise Reject(reasons.PROVISION, None, "%s must be %d bytes" % (k, n))
    return v


def apply(store, p, board_eui=None, table_dir=None):
    """Write payload p into store; returns a short summary dict. table_dir: where the device keeps
    the comb tables of its DS trust anchors (firmware.app.VK_DIR under the storage root); they are
    built now when given."""
    from firmware.core import trust
    from firmware.core import provision as factory

    if not isinstance(p, dict) or p.get("v") != VERSION:
        raise Reject(reasons.PROVISION, None, "unknown payload version")
    eui = _b(p, "eui", 8)
    if board_eui is not None and bytes(board_eui) != eui:
        raise Reject(reasons.PROVISION, None, "payload for %s, this board is %s" % (
            p["eui"], binascii.hexlify(board_eui).decode()))
    cells = []
    for c in p.get("cells", []):
        cells.append(trust.Cell(int(c["role"]), c["usage"], _b(c, "eui", 8), _b(c, "pub", 65),
                                   binascii.unhexlify(c.get("kid", "")), c.get("cell", trust.MANAGEMENT)))
    floors = {}
    for k, v in p.get("floors", {}).items():
        floors[int(k)] = int(v)
    pp = {}
    for k, v in p.get("pp_floors", {}).items():
        pp[int(k)] = int(v)
    utrn = p.get("utrn", {})
    for k in utrn:
        if k not in _UTRN_KEYS:
            raise Reject(reasons.PROVISION, None, "unknown UTRN setting %s" % k)
    for k in p.get("preset") or {}:
        if k not in PRESET:
            raise Reject(reasons.PROVISION, None, "record %s may not be preset" % k)
    factory.provision(store, eui, _b(p, "ka", 32), _b(p, "ds", 32), cells, floors, pp)
    if utrn:
        cfg = store.get_json("utrn_cfg", None) or {}
        cfg.update(utrn)
        store.put_json("utrn_cfg", cfg)
    store.put_json("role", {"role": p.get("role", "esme")})
    if p.get("han") is not None:  # the HAN node's settings (firmware/han/node.py, docs/han.md §11)
        store.put_json("han", p["han"])
    for k, v in (p.get("preset") or {}).items():
        if isinstance(v, dict) and list(v) == ["hex"]:
            store.put(k, binascii.unhexlify(v["hex"]))
        else:
            store.put_json(k, v)
    # static ECDH secrets (and DS comb tables) computed now, once, so the meter never runs an ECDH
    # or builds a table at command time
    nz = factory.precompute(store, table_dir)
    if p.get("z"):
        zs = store.get_json(trust.Z_REC, {})
        for e in p["z"]:
            cell = trust.Cell(0, trust.KA, bytes(8), _b(e, "pub", 65))
            zs[trust.z_id(_b(p, "ka", 32), cell)] = trust.hexs(_b(e, "z", 32))
        store.put_json(trust.Z_REC, zs)
    return {"eui": p["eui"], "cells": len(cells), "role": p.get("role", "esme"), "z": nz}
