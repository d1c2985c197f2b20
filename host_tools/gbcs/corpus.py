"""RTDS 4.5.0 corpus and ZAZ1 test keystore loaders for the GBCS tests, bench and tools
(shared/reference/gbcs.md §5.3, §10). CPython only (uses `cryptography` for PEM/X.509).

* `corpus_files()` / `load_hex(path)`: the 1,275 `.HEX` files.
* `Keystore(dir)`: organisation cells (role from subject OU, EUI-64 from x500UniqueIdentifier, SKI),
  private keys, device public keys.
* `provision_rtds_esme(store, ds_priv=None)`: provision ESME 00DB1234567890A0 with its published KA
  key, a DS key of our own (RTDS did not publish the ESME DS key) and every organisation cell.
* `esme_use_cases()`: per use-case folder, the commands addressed to the ESME (ascending counter).
"""
import binascii
import glob
import hashlib
import os

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from host_tools.util import ROOT

SHARED = os.path.join(os.path.dirname(ROOT), "shared")
RTDS = os.path.join(SHARED, "interop", "rtds", "RTDS-4.5.0")
KEYSTORE = os.path.join(SHARED, "interop", "rtds", "keystore")
ESME_EUI = bytes.fromhex("00db1234567890a0")
# deterministic DS key of our own for the RTDS ESME (responses are signed with it)
ESME_DS_PRIV = hashlib.sha256(b"smlab RTDS ESME 00DB1234567890A0 DS key").digest()
_OID_UID = x509.ObjectIdentifier("2.5.4.45")


def available():
    return os.path.isdir(RTDS) and os.path.isdir(KEYSTORE)


def corpus_files():
    return sorted(glob.glob(os.path.join(RTDS, "*", "*.HEX")))


def load_hex(path):
    with open(path) as f:
        return binascii.unhexlify(f.read().strip())


def pub_bytes(pub):
    return pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def priv_bytes(priv):
    return priv.private_numbers().private_value.to_bytes(32, "big")


class RtdsParty:
    def __init__(self, eui, role):
        self.eui = eui
        self.role = role
        self.pub = {}  # "ds"/"ka"/"pp-ka" -> SEC1 65 bytes
        self.kid = {}
        self.priv = {}  # -> cryptography private key


class Keystore:
    def __init__(self, path=KEYSTORE):
        self.path = path
        self.parties = {}
        for f in sorted(os.listdir(path)):
            if not f.endswith(".pem") or f.startswith("00db"):
                continue
            eui_hex, kind = f[:16], f[17:-4]
            try:
                cert = x509.load_pem_x509_certificate(open(os.path.join(path, f), "rb").read())
            except ValueError:
                continue
            uid = cert.subject.get_attributes_for_oid(_OID_UID)
            ou = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
            if not uid or not ou:
                continue
            eui = bytes(uid[0].value)[-8:]
            if eui.hex() != eui_hex:  # 90b3d51f30000007-ka.pem is mislabelled (gbcs.md §5.3)
                continue
            p = self.parties.setdefault(eui, RtdsParty(eui, int(ou[0].value, 16)))
            p.pub[kind] = pub_bytes(cert.public_key())
            p.kid[kind] = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            kf = os.path.join(path, f[:-4] + ".key")
            if os.path.exists(kf):
                p.priv[kind] = serialization.load_pem_private_key(open(kf, "rb").read(), None)

    def device_pub(self, eui, kind):
        f = os.path.join(self.path, "%s-%s.pem" % (eui.hex(), kind))
        data = open(f, "rb").read()
        try:
            return pub_bytes(x509.load_pem_x509_certificate(data).public_key())
        except ValueError:
            return pub_bytes(serialization.load_pem_public_key(data))

    def private_key(self, name):
        """cryptography private key from `<name>.key` (e.g. "00db1234567890a0-ka")."""
        with open(os.path.join(self.path, name + ".key"), "rb") as f:
            return serialization.load_pem_private_key(f.read(), None)

    def cells(self):
        """firmware Cell objects: one per (role, usage, cell usage); DS/KA management and
        prePaymentTopUp KA. With two parties of one role (supplier 1 and 2) the first EUI wins."""
        from firmware.core.trust import Cell, MANAGEMENT, PREPAYMENT

        out = []
        seen = set()
        for eui in sorted(self.parties):
            p = self.parties[eui]
            for kind, usage, cu in (("ds", "ds", MANAGEMENT), ("ka", "ka", MANAGEMENT),
                                    ("pp-ka", "ka", PREPAYMENT)):
                if kind in p.pub and (p.role, usage, cu) not in seen:
                    seen.add((p.role, usage, cu))
                    out.append(Cell(p.role, usage, eui, p.pub[kind], p.kid[kind], cu))
        return out


_KS = None


def keystore():
    global _KS
    if _KS is None:
        _KS = Keystore()
    return _KS


def esme_ka_priv():
    return priv_bytes(keystore().private_key("00db1234567890a0-ka"))


def provision_rtds_esme(store, ds_priv=ESME_DS_PRIV):
    from firmware.core import provision as factory

    factory.provision(store, ESME_EUI, esme_ka_priv(), ds_priv, keystore().cells())


def esme_ds_pub(ds_priv=ESME_DS_PRIV):
    k = ec.derive_private_key(int.from_bytes(ds_priv, "big"), ec.SECP256R1())
    return pub_bytes(k.public_key())


def esme_use_cases():
    """{folder: [(path, bytes, Message)]} of the commands to the ESME (not pre-commands),
    sorted by ascending originator counter within each folder."""
    from firmware.gbcs import frame

    out = {}
    for f in corpus_files():
        name = os.path.basename(f)
        if not name.endswith("_COMMAND_GBCS.HEX") or "PRECOMMAND" in name:
            continue
        b = load_hex(f)
        m = frame.parse(b)
        if m.recipient != ESME_EUI:
            continue
        out.setdefault(os.path.basename(os.path.dirname(f)), []).append((f, b, m))
    for v in out.values():
        v.sort(key=lambda t: (t[2].counter, t[0]))
    return out


def response_for(command_path):
    p = command_path.replace("_COMMAND_GBCS.HEX", "_RESPONSE_GBCS.HEX")
    return p if os.path.exists(p) else None
