"""Compose a device's provisioning payload from a key store and deliver it to a board.

The payload format and the code that applies it are firmware/provisioning.py (one implementation,
run on the board over mpremote). Trust anchor cells written for an ESME (GBCS §5.2): supplier DS, KA
and prepayment-top-up KA; network operator DS and KA; access control broker DS and KA (the ACB KA
cell keys every command MAC); recovery and root DS where the key store has them; transitional CoS
and WAN provider DS where present.

A device whose DS private key is not in the key store (DCC publishes only the KA key of ESME
00DB1234567890A0) gets a fresh DS key of our own, written back to the key store as <eui>-ds.key
with its public key as <eui>-ds.pem, so host tools verify its signed responses.
"""
import json
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from host_tools.errors import SmlabError
from host_tools.keys import pki
from host_tools.util import write_atomic

ESME_CELLS = (  # (role, usage in key store, cell usage)
    ("supplier", "ds", "management"),
    ("supplier", "ka", "management"),
    ("supplier", "pp-ka", "prepayment"),
    ("networkOperator", "ds", "management"),
    ("networkOperator", "ka", "management"),
    ("accessControlBroker", "ds", "management"),
    ("accessControlBroker", "ka", "management"),
    ("recovery", "ds", "management"),
    ("root", "ds", "management"),
    ("transitionalCoS", "ds", "management"),
    ("wanProvider", "ds", "management"),
)


class ProvisionError(SmlabError):
    """The key store cannot provision this device (one-line reason)."""


def ensure_device_ds(keystore, eui, parties=None):
    """Return the device's DS private key, generating and saving one if the store has none.
    parties: the key store already loaded (pki.load_keystore), kept up to date with the new key."""
    if parties is None:
        parties = pki.load_keystore(keystore)
    dev = parties.get(eui)
    if dev is None:
        raise ProvisionError("device %s is not in the key store %s" % (eui.hex(), keystore))
    if "ds" in dev.private:
        return dev.private["ds"], False
    key = ec.generate_private_key(ec.SECP256R1())
    base = os.path.join(keystore, "%s-ds" % eui.hex())
    pem = serialization.Encoding.PEM
    write_atomic(base + ".key", key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    write_atomic(base + ".pem", key.public_key().public_bytes(
        pem, serialization.PublicFormat.SubjectPublicKeyInfo))
    dev.private["ds"] = key
    dev.public["ds"] = key.public_key()
    return key, True


def payload(keystore, eui, supplier=None, role="esme", utrn=None, floors=None, pp_floors=None,
            parties=None):
    """The provisioning payload (dict) for device `eui` (8 bytes) from key store `keystore`.
    parties: the key store loaded once (pki.load_keystore) for many devices (a campaign)."""
    if parties is None:
        parties = pki.load_keystore(keystore)
    ds_key, generated = ensure_device_ds(keystore, eui, parties)
    dev = parties[eui]
    if "ka" not in dev.private:
        raise ProvisionError("no KA private key for device %s in %s" % (eui.hex(), keystore))
    chosen = {}
    for r in ("supplier", "networkOperator", "accessControlBroker", "recovery", "root",
              "transitionalCoS", "wanProvider"):
        cands = [p for e, p in sorted(parties.items()) if p.role == pki.ROLES[r]
                 and not (p.name or "").startswith("mislabelled")]
        if r == "supplier" and supplier is not None:
            cands = [p for p in cands if p.eui == supplier]
            if not cands:
                raise ProvisionError("supplier %s is not in the key store" % supplier.hex())
        if cands:
            chosen[r] = cands[0]
    for need in ("supplier", "accessControlBroker"):
        if need not in chosen:
            raise ProvisionError("key store has no %s (needed by every ESME)" % need)
    cells = []
    for r, usage, cell in ESME_CELLS:
        p = chosen.get(r)
        if p is None or usage not in p.public:
            continue
        cells.append({"role": pki.ROLES[r], "usage": "ka" if usage == "pp-ka" else usage, "cell": cell,
                      "eui": p.eui.hex(), "kid": (p.ski(usage) or b"").hex(),
                      "pub": p.public_bytes(usage).hex()})
    d = ds_key.private_numbers().private_value.to_bytes(32, "big")
    return {"v": 1, "role": role, "eui": eui.hex(), "ka": dev.private_bytes("ka").hex(), "ds": d.hex(),
            "cells": cells, "floors": {str(k): v for k, v in (floors or {}).items()},
            "pp_floors": {str(k): v for k, v in (pp_floors or {}).items()},
            "utrn": dict(utrn or {}), "_generated_ds": generated,
            "_supplier": chosen["supplier"].eui.hex()}


def device_code(p):
    """MicroPython source that applies payload p to the running board's store."""
    body = {k: v for k, v in p.items() if not k.startswith("_")}
    return ("import json, board\n"
            "from firmware import provisioning\n"
            "from firmware.app import VK_DIR, ensure_dir\n"
            "_b = board.get()\n"
            "_st = _b.store()  # mounts the board's flash\n"
            "_vk = _b.storage_root().rstrip('/') + VK_DIR\n"
            "ensure_dir(_vk)\n"
            "print('PROVISIONED', json.dumps(provisioning.apply(_st, json.loads(%r), _b.eui64(), _vk)))\n"
            % json.dumps(body, separators=(",", ":")))


def provision_board(port, p):
    """Apply payload p on the board at `port` (mpremote raw REPL); returns the board's summary."""
    from host_tools.boards.flash import RawRepl

    with RawRepl(port) as b:
        out = b.exec(device_code(p)).decode()
    for line in out.splitlines():
        if line.startswith("PROVISIONED "):
            return json.loads(line[len("PROVISIONED "):])
    raise ProvisionError("board did not confirm provisioning: %s" % out.strip()[-300:])
