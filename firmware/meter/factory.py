"""Factory provisioning of the ESME security state (GBCS §5 trust anchors, §4.3.3 static ECDH):
identity and private keys, trust anchor cells and counter floors written to the durable store, and
the static ECDH secrets Z precomputed for every KA cell (record sec_z) so that a booted device never
runs an ECDH. Runs once per device (firmware/provisioning.py, host tools, tests); a separate module
so the booted device's command path does not carry it (firmware/meter/security.py loads the state).
"""
from firmware.alerts import Reject
from firmware.meter.security import Cell, KA, SUPPLIER, _ID, _CELLS, _FLOORS, _ZREC, _h, _u, _z_id, \
    table_path


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


def precompute(store, table_dir=None):
    """Compute Z for every KA cell with the device KA key and persist them (record sec_z), so a
    booted device never needs an ECDH (the largest transient heap of the pipeline). Called by
    provisioning; entries are keyed by a hash of (device KA key, cell key), so a replaced key or
    anchor never picks up a stale Z, and the record is rewritten for the current cells only.

    With table_dir (the directory the device's SecurityState is given), the ECDSA comb table file
    of the supplier's DS cell is built now too: the supplier signs the routine critical commands,
    so the first of them only opens the file. Other DS anchors (root, recovery, network operator,
    ...) get theirs on first use, as does a missing or damaged table (firmware/crypto/keyfile.py):
    each table is 148 KB of flash. Returns the number of Z values stored."""
    from firmware.crypto.ecdh256 import ecdh

    d = store.get_json(_ID, None)
    if d is None:
        raise Reject("not-provisioned", None, "no device identity in the store")
    ka = _u(d["ka"])
    out = {}
    for c in store.get_json(_CELLS, []):
        cell = Cell.from_json(c)
        if cell.usage == KA:
            out[_z_id(ka, cell)] = _h(ecdh(ka, cell.pub))
        elif table_dir is not None and cell.role == SUPPLIER:
            from firmware.crypto.verifykey import VerifyKey

            VerifyKey(cell.pub, path=table_path(table_dir, cell)).close()
    store.put_json(_ZREC, out)
    return len(out)
