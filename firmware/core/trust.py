"""Device trust state (GBCS §4.3 key usage, §6.2.4 verification, Trust Anchor Cells; GBCS §4.3.3
static ECDH; shared/reference/gbcs.md §3.4, §5, §6): device identity and key pairs, trust anchor
cells (party role x digitalSignature/keyAgreement x management/prePaymentTopUp), per-party
originator counters and per-role floors (command and prepayment), static ECDH secrets Z, DS verify
keys and device signing, all persisted through the durable store. Role-independent: every device
role authenticates with it (firmware/core/gate.py).

    t = Trust(store, table_dir)            # Reject(NOT_PROVISIONED) without an identity
    t.eui                                  # device EUI-64
    t.cell(role, usage, cell=MANAGEMENT)   # a trust anchor Cell, or None
    t.party_role(eui) / t.party_cell(eui, usage)
    t.z(ka_cell)                           # static ECDH secret with a KA cell (cached)
    t.verify_key(ds_cell) / t.verify(ds_cell, hash32, sig64)
    t.sign(hash32)                         # device DS signature r||s
    t.counter(role, eui)                   # durable originator Counter of a remote party
    t.floor(role) / t.pp_floor(role)       # command / prepayment (UTRN) counter floors

Store records (JSON, hex strings), written by firmware/core/provision.py:
    ID_REC      {"eui", "ka", "ds"}            device EUI-64 and private keys (32 bytes each)
    CELLS_REC   [{"role", "usage", "cell", "eui", "kid", "pub"}]   usage "ds"/"ka",
                                                cell "management"/"prepayment", pub = SEC1 65 bytes
    FLOORS_REC  {"<role>": floor, "pp<role>": prepayment (UTRN) floor}
    Z_REC       {"<z_id>": Z}  static ECDH secrets per KA cell
    PENDING_REC {"cells": [...], "floors": {...}}  a trust anchor replacement (CS02b) committed
                                                but not yet written to CELLS_REC / FLOORS_REC;
                                                finished by firmware/core/credentials.py or
                                                when the trust state next loads
Counters: store.counter("oc_<role>_<eui hex>") = last accepted originator counter of that remote
party (per originator EUI-64 within its role, gbcs.md §6 [R]).

Expensive derived values are cached per key and shared between instances (pure functions of the
keys): Z per (device KA key, cell KA key) and the ECDSA VerifyKey per DS key.
"""
import binascii
from firmware.alerts import Reject
from firmware.core import reasons
from firmware.crypto import verifykey
# imported with the module (at boot), not mid-command: code loaded in the middle of a command would
# sit between that command's temporaries and fragment the heap (docs/board-memory.md)
from firmware.crypto.sign256 import sign as _sign

DS = "ds"
KA = "ka"
MANAGEMENT = "management"
PREPAYMENT = "prepayment"

ID_REC = "sec_id"
CELLS_REC = "sec_cells"
FLOORS_REC = "sec_floors"
Z_REC = "sec_z"
PENDING_REC = "sec_pending"

_Z_CACHE = {}
_VK_CACHE = {}


def hexs(b):
    """Lower-case hex text of bytes (the store's JSON form)."""
    return binascii.hexlify(b).decode()


def unhex(s):
    return binascii.unhexlify(s)


class Cell:
    """One Trust Anchor Cell."""

    __slots__ = ("role", "usage", "cell", "eui", "kid", "pub")

    def __init__(self, role, usage, eui, pub, kid=b"", cell=MANAGEMENT):
        if usage not in (DS, KA) or cell not in (MANAGEMENT, PREPAYMENT):
            raise Reject(reasons.CELL, None, "bad usage %r / cell usage %r" % (usage, cell))
        if len(eui) != 8 or len(pub) != 65 or pub[0] != 4:
            raise Reject(reasons.CELL, None, "cell EUI must be 8 bytes and key 65-byte SEC1")
        self.role = role
        self.usage = usage
        self.cell = cell
        self.eui = bytes(eui)
        self.kid = bytes(kid)
        self.pub = bytes(pub)

    def to_json(self):
        return {"role": self.role, "usage": self.usage, "cell": self.cell, "eui": hexs(self.eui),
                "kid": hexs(self.kid), "pub": hexs(self.pub)}

    @staticmethod
    def from_json(d):
        return Cell(d["role"], d["usage"], unhex(d["eui"]), unhex(d["pub"]), unhex(d["kid"]),
                    d["cell"])


def z_id(ka_priv, cell):
    """Key of a Z in Z_REC: a hash of (device KA private key, cell key), so a replaced key or anchor
    never picks up a stale Z."""
    import hashlib

    return hexs(hashlib.sha256(ka_priv + cell.pub).digest()[:8])


def table_path(table_dir, cell):
    """File of the ECDSA comb table of a DS cell's key in table_dir (firmware/crypto/keyfile.py)."""
    return table_dir + "/vk_" + hexs(cell.pub[1:9])


def identity(store):
    """The ID_REC record of a provisioned store; Reject(NOT_PROVISIONED) when there is none."""
    d = store.get_json(ID_REC, None)
    if d is None:
        raise Reject(reasons.NOT_PROVISIONED, None, "no device identity in the store")
    return d


class Trust:
    """Loaded trust state of the device; `table_dir` (optional) keeps ECDSA comb tables of the DS
    anchors in files there (fast verify with little RAM); without it verification uses no table."""

    def __init__(self, store, table_dir=None):
        self.store = store
        self.table_dir = table_dir
        d = identity(store)
        self.eui = unhex(d["eui"])
        self._ka = unhex(d["ka"])
        self._ds = unhex(d["ds"])
        if store.get(PENDING_REC) is not None:  # a CS02b cut short by a power cut: finish it
            from firmware.core.credentials import finish_pending

            finish_pending(store)
        self.cells = [Cell.from_json(c) for c in store.get_json(CELLS_REC, [])]
        self.floors = store.get_json(FLOORS_REC, {})
        self._counters = {}

    # --- trust anchor cells ---
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

    # --- keys ---
    def z(self, cell):
        """Static ECDH secret Z between the device KA key and a KA cell: from RAM, else from the
        store (Z_REC, written at provisioning), else computed (and kept in RAM). Both inputs are
        static keys, so Z is constant per cell (gbcs.md §3.4); it is as secret as the KA private
        key stored next to it."""
        k = self._ka + cell.pub
        z = _Z_CACHE.get(k)
        if z is None:
            s = (self.store.get_json(Z_REC, None) or {}).get(z_id(self._ka, cell))
            if s:
                z = unhex(s)
            else:
                from firmware.crypto.ecdh256 import ecdh

                z = ecdh(self._ka, cell.pub)
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

    def sign(self, hash32):
        """Device DS signature (64 bytes r||s) of a SHA-256 hash."""
        return _sign(self._ds, hash32)

    # --- counters ---
    def counter(self, role, eui):
        """The durable originator counter (last accepted value) of remote party `eui` in `role`."""
        name = "oc_%d_%s" % (role, hexs(eui))
        c = self._counters.get(name)
        if c is None:
            c = self.store.counter(name)
            self._counters[name] = c
        return c

    def floor(self, role):
        return self.floors.get(str(role), 0)

    def pp_floor(self, role):
        return self.floors.get("pp" + str(role), 0)
