"""ESME device security state (GBCS §4.3 key usage, §6.2.4 verification, Trust Anchor Cells;
shared/reference/gbcs.md §3.4, §5, §6): device identity and key pairs, trust anchor cells
(role x digitalSignature/keyAgreement x management/prePaymentTopUp), per-party originator counters
and per-role floors, all persisted through the durable store.

Store records (JSON, hex strings):
    sec_id      {"eui", "ka", "ds"}            device EUI-64 and private keys (32 bytes each)
    sec_cells   [{"role", "usage", "cell", "eui", "kid", "pub"}]   usage "ds"/"ka",
                                                cell "management"/"prepayment", pub = SEC1 65 bytes
    sec_floors  {"<role>": floor, "pp<role>": prepayment (UTRN) floor}
    sec_z       {"<id>": Z}  static ECDH secrets per KA cell (precompute(), at provisioning)
Counters: store.counter("oc_<role>_<eui hex>") = last accepted originator counter of that remote
party (per originator EUI-64 within its role, gbcs.md §6 [R]).

Expensive derived values are cached per key and shared between instances (they are pure functions
of the keys): the ECDH secret Z per (device KA key, cell KA key) and the ECDSA VerifyKey per DS key.
"""
import binascii
from firmware.alerts import Reject
from firmware.crypto import verifykey

ROOT = 0
RECOVERY = 1
SUPPLIER = 2
NETWORK_OPERATOR = 3
ACB = 4
TRANSITIONAL_COS = 5
WAN_PROVIDER = 6
ISSUING_AUTHORITY = 7
LOAD_CONTROLLER = 8
OTHER = 127

DS = "ds"
KA = "ka"
MANAGEMENT = "management"
PREPAYMENT = "prepayment"

_ID = "sec_id"
_CELLS = "sec_cells"
_FLOORS = "sec_floors"
_ZREC = "sec_z"

_Z_CACHE = {}
_VK_CACHE = {}


def _h(b):
    return binascii.hexlify(b).decode()


def _u(s):
    return binascii.unhexlify(s)


class Cell:
    """One Trust Anchor Cell."""

    __slots__ = ("role", "usage", "cell", "eui", "kid", "pub")

    def __init__(self, role, usage, eui, pub, kid=b"", cell=MANAGEMENT):
        if usage not in (DS, KA) or cell not in (MANAGEMENT, PREPAYMENT):
            raise Reject("cell", None, "bad usage %r / cell usage %r" % (usage, cell))
        if len(eui) != 8 or len(pub) != 65 or pub[0] != 4:
            raise Reject("cell", None, "cell EUI must be 8 bytes and key 65-byte SEC1")
        self.role = role
        self.usage = usage
        self.cell = cell
        self.eui = bytes(eui)
        self.kid = bytes(kid)
        self.pub = bytes(pub)

    def to_json(self):
        return {"role": self.role, "usage": self.usage, "cell": self.cell, "eui": _h(self.eui),
                "kid": _h(self.kid), "pub": _h(self.pub)}

    @staticmethod
    def from_json(d):
        return Cell(d["role"], d["usage"], _u(d["eui"]), _u(d["pub"]), _u(d["kid"]), d["cell"])


def _z_id(ka_priv, cell):
    import hashlib

    return _h(hashlib.sha256(ka_priv + cell.pub).digest()[:8])


def _stored_z(store, ka_priv, cell):
    d = store.get_json(_ZREC, None) or {}
    z = d.get(_z_id(ka_priv, cell))
    return _u(z) if z else None


def table_path(table_dir, cell):
    """File of the ECDSA comb table of a DS cell's key in table_dir (firmware/crypto/keyfile.py)."""
    return table_dir + "/vk_" + _h(cell.pub[1:9])


class SecurityState:
    """Loaded security state of the device; `table_dir` (optional) keeps ECDSA comb tables of the
    DS anchors in files there (fast verify with little RAM); without it verification uses no
    table."""

    def __init__(self, store, table_dir=None):
        self.store = store
        self.table_dir = table_dir
        d = store.get_json(_ID, None)
        if d is None:
            raise Reject("not-provisioned", None, "no device identity in the store")
        self.eui = _u(d["eui"])
        self.ka_priv = _u(d["ka"])
        self.ds_priv = _u(d["ds"])
        self.cells = [Cell.from_json(c) for c in store.get_json(_CELLS, [])]
        self.floors = store.get_json(_FLOORS, {})
        self._counters = {}

    # --- cells ---
    def cell(self, role, usage, cell=MANAGEMENT):
        for c in self.cells:
            if c.role == role and c.usage == usage and c.cell == cell:
                return c
        return None

    def party_role(self, eui):
        """Role of the remote party with this EUI-64 (a management cell whose Subject Unique ID
        equals it; gbcs.md §5.2 [U]), or None when unknown."""
        for c in self.cells:
            if c.eui == eui and c.cell == MANAGEMENT:
                return c.role
        return None

    def party_cell(self, eui, usage):
        for c in self.cells:
            if c.eui == eui and c.usage == usage and c.cell == MANAGEMENT:
                return c
        return None

    def z(self, cell):
        """Static ECDH secret Z between the device KA key and a KA cell: from RAM, else from the
        store (record sec_z, written by precompute() at provisioning), else computed (and kept in
        RAM). Both inputs are static keys, so Z is constant per cell (gbcs.md §3.4); it is as
        secret as the KA private key stored next to it."""
        k = self.ka_priv + cell.pub
        z = _Z_CACHE.get(k)
        if z is None:
            z = _stored_z(self.store, self.ka_priv, cell)
            if z is None:
                from firmware.crypto.ecdh256 import ecdh

                z = ecdh(self.ka_priv, cell.pub)
            _Z_CACHE[k] = z
        return z

    def verify_key(self, cell):
        """What verifykey.verify takes for a DS cell: its VerifyKey over the cell's comb table
        file (cached per key) when there is a table directory, else the SEC1 key bytes."""
        if self.table_dir is None:
            return cell.pub
        vk = _VK_CACHE.get(cell.pub)
        if vk is None:
            vk = verifykey.VerifyKey(cell.pub, path=table_path(self.table_dir, cell))
            _VK_CACHE[cell.pub] = vk
        return vk

    def verify(self, cell, hash32, sig64):
        """ECDSA verify with a DS cell."""
        return verifykey.verify(self.verify_key(cell), hash32, sig64)

    # --- counters ---
    def counter(self, role, eui):
        name = "oc_%d_%s" % (role, _h(eui))
        c = self._counters.get(name)
        if c is None:
            c = self.store.counter(name)
            self._counters[name] = c
        return c

    def floor(self, role):
        return self.floors.get(str(role), 0)

    def pp_floor(self, role):
        return self.floors.get("pp" + str(role), 0)
