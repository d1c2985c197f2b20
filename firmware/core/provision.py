"""Factory provisioning of a device's trust state (GBCS §5 trust anchors, §4.3.3 static ECDH):
identity and private keys, trust anchor cells and counter floors written to the durable store, and
the static ECDH secrets Z precomputed for every KA cell so that a booted device never runs an ECDH.
Runs once per device (firmware/provisioning.py, host tools, tests); a separate module so the booted
device's command path does not carry it (firmware/core/trust.py loads the state).
"""
from firmware.alerts import Reject
from firmware.core import reasons
from firmware.core.trust import Cell, KA, ID_REC, CELLS_REC, FLOORS_REC, Z_REC, hexs, unhex, \
    z_id, table_path, identity


def provision(store, eui64, ka_priv, ds_priv, cells, floors=None, pp_floors=None):
    """Write identity, private keys and trust anchor cells (list of Cell) into `store`.

    floors / pp_floors: {role: counter floor} for ordinary and prepayment (UTRN) counters.
    Replaces any previous identity and cells (factory provisioning)."""
    if len(eui64) != 8 or len(ka_priv) != 32 or len(ds_priv) != 32:
        raise Reject(reasons.PROVISION, None, "EUI-64 must be 8 bytes, private keys 32 bytes")
    seen = []
    for c in cells:
        k = (c.role, c.usage, c.cell)
        if k in seen:
            raise Reject(reasons.PROVISION, None, "two cells for role %d %s %s" % k)
        seen.append(k)
    fl = {}
    for r, v in (floors or {}).items():
        fl[str(r)] = v
    for r, v in (pp_floors or {}).items():
        fl["pp" + str(r)] = v
    store.put_json(ID_REC, {"eui": hexs(eui64), "ka": hexs(ka_priv), "ds": hexs(ds_priv)})
    store.put_json(CELLS_REC, [c.to_json() for c in cells])
    store.put_json(FLOORS_REC, fl)


def precompute(store, table_dir=None):
    """Compute Z for every KA cell with the device KA key and persist them (Z_REC), so a booted
    device never needs an ECDH (the largest transient heap of the pipeline). Entries are keyed by
    z_id (device KA key, cell key), and the record is rewritten for the current cells only.

    With table_dir (the directory the device's Trust is given), the ECDSA comb table file of the
    supplier's DS cell is built now too: the supplier signs the routine critical commands, so the
    first of them only opens the file. Other DS anchors (root, recovery, network operator, ...) get
    theirs on first use, as does a missing or damaged table (firmware/crypto/keyfile.py): each
    table is 148 KB of flash. Returns the number of Z values stored."""
    from firmware.crypto.ecdh256 import ecdh
    from firmware.gbcs.parties import SUPPLIER

    ka = unhex(identity(store)["ka"])
    out = {}
    for c in store.get_json(CELLS_REC, []):
        cell = Cell.from_json(c)
        if cell.usage == KA:
            out[z_id(ka, cell)] = hexs(ecdh(ka, cell.pub))
        elif table_dir is not None and cell.role == SUPPLIER:
            from firmware.crypto.verifykey import VerifyKey

            VerifyKey(cell.pub, path=table_path(table_dir, cell)).close()
    store.put_json(Z_REC, out)
    return len(out)
