"""Work orders for the pass-through HHT (docs/hht.md "Work orders"; DUIS "Command for Local
Delivery", shared/reference/optical.md §4).

A work order is produced on the supplier side before the visit:

    {"format": "smlab-workorder-1", "id": "...", "target": "<meter EUI-64 hex>",
     "supplier": "<supplier EUI-64 hex>", "created": <unix s>,
     "items": [{"id": 1, "kind": "command"|"pairing", "label": "...", "gbcs": "<hex>"}, ...],
     "signature": "<hex r||s>"}

Every item is a complete GBCS command (KRP-signed by the supplier DS key where critical and MAC'd
for the ACB as any WAN command) addressed to the target meter; "pairing" items carry the signed
device-pairing commands. The work-order signature (supplier DS key over SHA-256 of the canonical
JSON without "signature") lets the HHT and the operator check the list is genuine and for this
meter; the meter itself never relies on it: each command is verified by the meter's own GBCS
pipeline (signature, MAC, originator counter) exactly as if it came over the WAN.

CLI:
    python -m host_tools.hht.workorder build --target EUI --supplier-key K.pem --supplier-eui EUI
        --acb-ka-key A.pem --device-ka-pub D.pem --counter N --command LABEL:CODE:CONTENTHEX ...
        --out wo.json
"""
import argparse
import hashlib
import json
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from host_tools.errors import SmlabError
from host_tools.util import write_atomic

FORMAT = "smlab-workorder-1"


class WorkOrderError(SmlabError):
    """A work order that is malformed, for another meter or not signed by the supplier."""


def canonical(wo):
    body = dict((k, v) for k, v in wo.items() if k != "signature")
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def digest(wo):
    return hashlib.sha256(b"SMLAB-WORKORDER-1" + canonical(wo)).digest()


def build(target, supplier_eui, supplier_priv, items, wo_id=None, created=None):
    """items: [(kind, label, gbcs_bytes)] -> signed work order dict."""
    from host_tools.hht.hht import sign_prehashed

    created = int(time.time()) if created is None else created
    wo = {"format": FORMAT, "id": wo_id or "WO-%s-%d" % (target.hex().upper(), created),
          "target": target.hex().upper(), "supplier": supplier_eui.hex().upper(),
          "created": created, "items": []}
    for n, (kind, label, raw) in enumerate(items, 1):
        if kind not in ("command", "pairing"):
            raise WorkOrderError("item kind %r" % kind)
        wo["items"].append({"id": n, "kind": kind, "label": label, "gbcs": raw.hex().upper()})
    wo["signature"] = sign_prehashed(supplier_priv, digest(wo)).hex().upper()
    return wo


def verify(wo, supplier_pub, target=None):
    """Check format, target and the supplier signature; raise WorkOrderError otherwise."""
    if wo.get("format") != FORMAT:
        raise WorkOrderError("not a work order")
    if target is not None and wo["target"] != target.hex().upper():
        raise WorkOrderError("work order for %s, meter is %s" % (wo["target"], target.hex().upper()))
    try:
        sig = bytes.fromhex(wo["signature"])
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        supplier_pub.verify(encode_dss_signature(r, s), digest(wo),
                            ec.ECDSA(Prehashed(hashes.SHA256())))
    except (InvalidSignature, ValueError, KeyError) as e:
        raise WorkOrderError("work order signature does not verify (%s)" % type(e).__name__)
    return True


def items(wo):
    return list(wo["items"])


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise WorkOrderError("%s: %s" % (path, e))


def save(path, wo):
    write_atomic(path, json.dumps(wo, indent=1))


def main(argv=None):
    from cryptography.hazmat.primitives import serialization

    from host_tools.gbcs import verify as V

    ap = argparse.ArgumentParser(prog="python -m host_tools.hht.workorder", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    b = sub.add_parser("build", help="build and sign a work order from GBCS command contents")
    b.add_argument("--target", required=True, help="meter EUI-64 (16 hex digits)")
    b.add_argument("--supplier-key", required=True, help="supplier DS private key PEM")
    b.add_argument("--supplier-eui", required=True, help="supplier EUI-64 (16 hex digits)")
    b.add_argument("--acb-ka-key", required=True, help="ACB KA private key PEM (command MAC)")
    b.add_argument("--device-ka-pub", required=True, help="meter KA public key / cert PEM")
    b.add_argument("--counter", type=int, required=True, help="first originator counter")
    b.add_argument("--command", action="append", required=True,
                   help="LABEL:MESSAGECODEHEX:CONTENTHEX[:pairing]")
    b.add_argument("--out", required=True, help="work order file to write")
    a = ap.parse_args(argv)

    def pem_priv(p):
        with open(p, "rb") as f:
            return serialization.load_pem_private_key(f.read(), None)

    def pem_pub(p):
        from cryptography import x509

        data = open(p, "rb").read()
        try:
            k = x509.load_pem_x509_certificate(data).public_key()
        except ValueError:
            k = serialization.load_pem_public_key(data)
        return k.public_bytes(serialization.Encoding.X962,
                              serialization.PublicFormat.UncompressedPoint)

    sk = pem_priv(a.supplier_key)
    acb = pem_priv(a.acb_ka_key)
    dev = pem_pub(a.device_ka_pub)
    target = bytes.fromhex(a.target)
    sup = bytes.fromhex(a.supplier_eui)
    its = []
    for n, spec in enumerate(a.command):
        parts = spec.split(":")
        label, code, content = parts[0], int(parts[1], 16), bytes.fromhex(parts[2])
        kind = parts[3] if len(parts) > 3 else "command"
        raw = V.build_command(sup, target, a.counter + n, code, content, ds_priv=sk,
                              acb_ka_priv=acb, device_ka_pub=dev)
        its.append((kind, label, raw))
    save(a.out, build(target, sup, sk, its))
    print("work order %s: %d items" % (a.out, len(its)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
