"""Factory provisioning of the ESME security state (GBCS §5 trust anchors, §4.3.3 static ECDH):
identity and private keys, trust anchor cells and counter floors written to the durable store, and
the static ECDH secrets Z precomputed for every KA cell (record sec_z) so that a booted device never
runs an ECDH. Runs once per device (firmware/provisioning.py, host tools, tests); a separate module
so the booted device's command path does not carry it (firmware/meter/security.py loads the state).
"""
from firmware.alerts import Reject
from firmware.meter.security import Cell, KA, _ID, _CELLS, _FLOORS, _ZREC, _h, _u, _z_id


def provision(store, eui64, ka_priv, ds_priv, cells, floors=None, pp_floors=None):
    """Write identity, private keys and trust anchor cells (list of Cell) into `store`.

    floors / pp_floors: {role: counter floor} for ordinary and prepayment (UTRN) counters.
    Replaces any previous identity and cells (factory provisioning)."""
    if len(eui64) != 8 or len(ka_priv) != 32 or len(ds_priv) != 32:
        raise Reject("provision", None, "EUI-64 must be 8 bytes, private keys 32 bytes")
    seen = []
    for c in cells:
        k = (c.role, c.usage, c.cell)
        if k in seen:
            raise Reject("provision", None, "two cells for role %d %s %s" % k)
        seen.append(k)
    fl = {}
    for r, v in (floors or {}).items():
        fl[str(r)] = v
    for r, v in (pp_floors or {}).items():
        fl["pp" + str(r)] = v
    store.put_json(_ID, {"eui": _h(eui64), "ka": _h(ka_priv), "ds": _h(ds_priv)})
    store.put_json(_CELLS, [c.to_json() for c in cells])
    store.put_json(_FLOORS, fl)


def precompute(store):
    """Compute Z for every KA cell with the device KA key and persist them (record sec_z), so a
    booted device never needs an ECDH (the largest transient heap of the pipeline). Called by
    provisioning; entries are keyed by a hash of (device KA key, cell key), so a replaced key or
    anchor never picks up a stale Z, and the record is rewritten for the current cells only."""
    from firmware.crypto import p256

    d = store.get_json(_ID, None)
    if d is None:
        raise Reject("not-provisioned", None, "no device identity in the store")
    ka = _u(d["ka"])
    out = {}
    for c in store.get_json(_CELLS, []):
        cell = Cell.from_json(c)
        if cell.usage == KA:
            out[_z_id(ka, cell)] = _h(p256.ecdh(ka, cell.pub))
    store.put_json(_ZREC, out)
    return len(out)
