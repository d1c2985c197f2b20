"""Test PKI for the bench: create one, or import DCC's ZAZ1 test keystore (same on-disk layout).

Layout of a key store directory (the layout of shared/interop/rtds/keystore, which this module reads
unchanged):

    <eui>-ds.pem / <eui>-ka.pem / <eui>-pp-ka.pem   X.509 certificate (or bare SubjectPublicKeyInfo)
    <eui>-ds.key / <eui>-ka.key / <eui>-pp-ka.key   PKCS#8 private key, where the holder has it

A bench PKI written by `create_bench_pki` adds `index.json` (party names and roles) and the issuing
CA certificates. Organisation certificates follow the GBCS shape (subject OU = remote-party role as two
hex digits, x500UniqueIdentifier = EUI-64, issuer CN=<CA>, OU=07); device certificates have an empty
subject and the EUI-64 in a SAN hardwareModuleName (GBCS §12, RTDS keystore). PEM and X.509 stay on
the host: boards receive raw key bytes through provisioning.

EUI-64 scheme for bench parties (documented in docs/pki.md): first octet 0x02 (locally administered,
so bench identities never collide with real manufacturer EUIs), then "SML" (53 4D 4C):
    organisations  02 53 4D 4C 00 00 <role> <index>
    devices        02 53 4D 4C 01 <type> <serial hi> <serial lo>   type: 01 ESME, 02 GSME, 03 CHF
"""
import datetime
import fcntl
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from firmware.gbcs import parties
from host_tools.errors import SmlabError
from host_tools.util import ignore_all, write_atomic

# remote party role names and numbers (GBCS §4.3.2) from firmware/gbcs/parties.py
_NAMES = parties.NAMES.split() if isinstance(parties.NAMES, str) else \
    [parties.NAMES[n] for n in sorted(parties.NAMES) if n <= parties.LOAD_CONTROLLER]
ROLES = {name: n for n, name in enumerate(_NAMES)}
ROLE_NAMES = {v: k for k, v in ROLES.items()}
DEVICE_TYPES = {"esme": 1, "gsme": 2, "chf": 3, "gpf": 4}  # gpf: the Gas Proxy Function a hub carries
USAGES = ("ds", "ka", "pp-ka")

OID_X500_UNIQUE_ID = ObjectIdentifier("2.5.4.45")
OID_HW_MODULE_NAME = ObjectIdentifier("1.3.6.1.5.5.7.8.4")
# hwType used by the RTDS device certificates (as seen in the keystore); kept so our device
# certificates have the same shape.
_HW_TYPE_DER = bytes.fromhex("060d2a863a0001848fb90f01020201")
_ORG_POLICY = ObjectIdentifier("1.2.826.0.1.8641679.1.2.1.4")
_DEVICE_POLICY = ObjectIdentifier("1.2.826.0.1.1800000.1.2.1.4")


class PkiError(SmlabError):
    """Bad key-store content or request (one-line reason)."""


def bench_org_eui(role, index=0):
    return bytes([0x02, 0x53, 0x4D, 0x4C, 0, 0, ROLES[role], index])


def bench_device_eui(kind, serial):
    if not 0 <= serial <= 0xFFFF:
        raise PkiError("device serial out of range: %d" % serial)
    return bytes([0x02, 0x53, 0x4D, 0x4C, 1, DEVICE_TYPES[kind], serial >> 8, serial & 0xFF])


class Party:
    """One key holder: EUI-64, role (None for devices), and per-usage public/private keys."""

    def __init__(self, eui):
        self.eui = eui
        self.role = None
        self.name = None
        self.certs = {}  # usage -> x509.Certificate
        self.public = {}  # usage -> EllipticCurvePublicKey
        self.private = {}  # usage -> EllipticCurvePrivateKey

    @property
    def is_device(self):
        return self.role is None

    def public_bytes(self, usage):
        """Uncompressed SEC1 point (65 bytes), as devices store trust anchors."""
        return self.public[usage].public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def private_bytes(self, usage):
        """Raw 32-byte private scalar, as provisioning writes it to a board."""
        return self.private[usage].private_numbers().private_value.to_bytes(32, "big")

    def ski(self, usage):
        c = self.certs.get(usage)
        if c is None:
            return None
        return c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest

    def describe(self):
        return {
            "eui": self.eui.hex(),
            "role": ROLE_NAMES.get(self.role, self.role) if self.role is not None else "device",
            "name": self.name,
            "keys": {
                u: {
                    "public": self.public_bytes(u).hex(),
                    "private": u in self.private,
                    "ski": (self.ski(u) or b"").hex() or None,
                }
                for u in USAGES
                if u in self.public
            },
        }


def _split_name(fname):
    base, ext = os.path.splitext(fname)
    if ext not in (".pem", ".key") or "-" not in base:
        return None
    eui_hex, usage = base.split("-", 1)
    if usage not in USAGES or len(eui_hex) != 16:
        return None
    try:
        return bytes.fromhex(eui_hex), usage, ext
    except ValueError:
        return None


def _role_from_cert(cert):
    ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not ous:
        return None
    try:
        return int(ous[0].value, 16)
    except ValueError:
        raise PkiError("certificate OU is not a role code: %r" % ous[0].value)


def _cert_eui(cert):
    ids = cert.subject.get_attributes_for_oid(OID_X500_UNIQUE_ID)
    if ids:
        v = ids[0].value
        return bytes(v[1:]) if len(v) == 9 else bytes(v)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for g in san:
        if isinstance(g, x509.OtherName) and g.type_id == OID_HW_MODULE_NAME:
            return bytes(g.value[-8:])
    return None


def load_keystore(path):
    """Read a key-store directory (ZAZ1 layout) into {eui: Party}."""
    if not os.path.isdir(path):
        raise PkiError("no key store directory at %s" % path)
    parties = {}
    names = {}
    idx = os.path.join(path, "index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            names = json.load(f).get("parties", {})
    for fname in sorted(os.listdir(path)):
        parsed = _split_name(fname)
        if parsed is None:
            continue
        eui, usage, ext = parsed
        party = parties.get(eui) or parties.setdefault(eui, Party(eui))
        with open(os.path.join(path, fname), "rb") as f:
            data = f.read()
        try:
            if ext == ".key":
                key = serialization.load_pem_private_key(data, None)
                party.private[usage] = key
                party.public.setdefault(usage, key.public_key())
            elif b"BEGIN CERTIFICATE" in data:
                cert = x509.load_pem_x509_certificate(data)
                party.certs[usage] = cert
                party.public[usage] = cert.public_key()
                party.role = _role_from_cert(cert) if party.role is None else party.role
                cert_eui = _cert_eui(cert)
                # the ZAZ1 store has one mislabelled file (90b3d51f30000007-ka.pem holds supplier 2's
                # certificate): keep the file name's EUI but remember the certificate's subject
                if cert_eui is not None and cert_eui != eui:
                    party.name = party.name or "mislabelled: certificate subject %s" % cert_eui.hex()
            else:
                party.public[usage] = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as e:
            raise PkiError("%s: %s" % (fname, e))
        for k in party.public.values():
            if not isinstance(k, ec.EllipticCurvePublicKey) or k.curve.name != "secp256r1":
                raise PkiError("%s: not a P-256 key" % fname)
        if eui.hex() in names:
            party.name = names[eui.hex()].get("name", party.name)
            r = names[eui.hex()].get("role")
            if r not in (None, "device"):
                party.role = ROLES[r]
    return parties


# ---- creating a bench PKI -------------------------------------------------------------------------

_NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)


def _key_usage(usage, ca=False):
    return x509.KeyUsage(
        digital_signature=usage == "ds",
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=usage in ("ka", "pp-ka"),
        key_cert_sign=ca,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _ski(pub):
    return x509.SubjectKeyIdentifier.from_public_key(pub).digest[:8]


class _CA:
    def __init__(self, name, ou, key):
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                               x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou)])
        self.key = key
        self.ski = _ski(key.public_key())

    def issue(self, subject, pub, usage, extra_exts=(), policy=_ORG_POLICY):
        b = (x509.CertificateBuilder()
             .subject_name(subject)
             .issuer_name(self.name)
             .public_key(pub)
             .serial_number(x509.random_serial_number())
             .not_valid_before(_NOT_BEFORE)
             .not_valid_after(_NOT_AFTER)
             .add_extension(_key_usage(usage), critical=True)
             .add_extension(x509.SubjectKeyIdentifier(_ski(pub)), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier(self.ski, None, None), critical=False)
             .add_extension(x509.CertificatePolicies([x509.PolicyInformation(policy, None)]),
                            critical=True))
        for ext, crit in extra_exts:
            b = b.add_extension(ext, critical=crit)
        return b.sign(self.key, hashes.SHA256())

    def self_cert(self):
        pub = self.key.public_key()
        return (x509.CertificateBuilder()
                .subject_name(self.name).issuer_name(self.name).public_key(pub)
                .serial_number(x509.random_serial_number())
                .not_valid_before(_NOT_BEFORE).not_valid_after(_NOT_AFTER)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_key_usage("ds", ca=True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier(self.ski), critical=False)
                .sign(self.key, hashes.SHA256()))


# organisations of a bench PKI: (role, usages)
BENCH_ORGS = (
    ("root", ("ds",)),
    ("recovery", ("ds",)),
    ("supplier", ("ds", "ka", "pp-ka")),
    ("networkOperator", ("ds", "ka")),
    ("accessControlBroker", ("ds", "ka")),
)


def create_bench_pki(path, devices=(("esme", 1),), seed_serial=1):
    """Write a complete bench PKI: organisation CA + device CA, the five GBCS organisations of
    BENCH_ORGS with their keys, and `count` devices of each kind with DS and KA keys.

    Returns {eui: Party}. Refuses to overwrite an existing key store (keys are precious even on a
    bench: boards provisioned from them would stop verifying).
    """
    if os.path.exists(os.path.join(path, "index.json")):
        raise PkiError("a key store already exists at %s (use another directory)" % path)
    os.makedirs(path, exist_ok=True)
    ignore_all(path)
    org_ca = _CA("SMLAB-ORG-CA", "07", ec.generate_private_key(ec.SECP256R1()))
    dev_ca = _CA("SMLAB-DEVICE-CA", "07", ec.generate_private_key(ec.SECP256R1()))
    index = {"parties": {}, "scheme": "bench-v1"}
    pem = serialization.Encoding.PEM

    def put_key(eui, usage, key, cert):
        base = os.path.join(path, "%s-%s" % (eui.hex(), usage))
        write_atomic(base + ".key", key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
        write_atomic(base + ".pem", cert.public_bytes(pem))

    for role, usages in BENCH_ORGS:
        eui = bench_org_eui(role)
        subject = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, "SMLAB-" + role.upper()),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "%02X" % ROLES[role]),
            x509.NameAttribute(OID_X500_UNIQUE_ID, b"\x00" + eui, _type=x509.name._ASN1Type.BitString),
        ])
        for usage in usages:
            key = ec.generate_private_key(ec.SECP256R1())
            put_key(eui, usage, key, org_ca.issue(subject, key.public_key(), usage))
        index["parties"][eui.hex()] = {"role": role, "name": "bench " + role}
    serial = seed_serial
    for kind, count in devices:
        for _ in range(count):
            eui = bench_device_eui(kind, serial)
            serial += 1
            hw = _HW_TYPE_DER + b"\x04\x08" + eui
            san = x509.SubjectAlternativeName(
                [x509.OtherName(OID_HW_MODULE_NAME, b"\x30" + bytes([len(hw)]) + hw)])
            for usage in ("ds", "ka"):
                key = ec.generate_private_key(ec.SECP256R1())
                cert = dev_ca.issue(x509.Name([]), key.public_key(), usage, ((san, True),),
                                    policy=_DEVICE_POLICY)
                put_key(eui, usage, key, cert)
            index["parties"][eui.hex()] = {"role": "device", "name": "bench %s %d" % (kind, serial - 1),
                                           "kind": kind}
    write_atomic(os.path.join(path, "ca-org.pem"), org_ca.self_cert().public_bytes(pem))
    write_atomic(os.path.join(path, "ca-device.pem"), dev_ca.self_cert().public_bytes(pem))
    write_atomic(os.path.join(path, "index.json"), json.dumps(index, indent=1, sort_keys=True))
    return load_keystore(path)


def import_keystore(src, dst):
    """Copy a ZAZ1-layout key store (e.g. ../shared/interop/rtds/keystore) into dst with an
    index.json naming each party's role, validating every file on the way."""
    parties = load_keystore(src)
    os.makedirs(dst, exist_ok=True)
    ignore_all(dst)
    index = {"parties": {}, "scheme": "imported"}
    for fname in sorted(os.listdir(src)):
        if _split_name(fname):
            with open(os.path.join(src, fname), "rb") as f:
                write_atomic(os.path.join(dst, fname), f.read())
    for eui, p in parties.items():
        index["parties"][eui.hex()] = {
            "role": ROLE_NAMES.get(p.role, "device") if p.role is not None else "device",
            "name": p.name,
        }
    write_atomic(os.path.join(dst, "index.json"), json.dumps(index, indent=1, sort_keys=True))
    return parties


def supplier(keys):
    """The supplier that signs on this bench: the first supplier (by EUI) holding a DS private key."""
    ps = load_keystore(keys)
    sups = [p for e, p in sorted(ps.items()) if p.role == ROLES["supplier"] and "ds" in p.private]
    if not sups:
        raise PkiError("no supplier DS private key in %s" % keys)
    return sups[0]


def find_role(parties, role):
    """The first organisation with this role (sorted by EUI), e.g. the supplier of a bench PKI."""
    code = ROLES[role]
    for eui in sorted(parties):
        if parties[eui].role == code:
            return parties[eui]
    raise PkiError("no %s in the key store" % role)


def bump_ledger(keys, fname, key, propose):
    """Counter ledgers kept in a key store (e.g. the next UTRN or GBCS originator counter per
    device): c = propose(last recorded value or None); records max(last, c); returns c.

    The read-modify-write holds an exclusive lock on `<ledger>.lock`, so parallel processes
    sharing a key store (a bench campaign) neither lose another's update nor hand out one
    counter twice. A ledger that exists but cannot be parsed is an error, not a fresh start:
    restarting counters would only produce commands the meters reject as replays."""
    path = os.path.join(keys, fname)
    with open(path + ".lock", "a") as lk:
        fcntl.flock(lk.fileno(), fcntl.LOCK_EX)
        try:
            try:
                with open(path) as f:
                    led = json.load(f)
            except FileNotFoundError:
                led = {}
            except ValueError as e:
                raise PkiError("counter ledger %s is unreadable (%s); not restarting its counters"
                               % (path, e))
            last = led.get(key)
            c = propose(last)
            led[key] = c if last is None else max(last, c)
            write_atomic(path, json.dumps(led, indent=1, sort_keys=True).encode())
            return c
        finally:
            fcntl.flock(lk.fileno(), fcntl.LOCK_UN)


class Ledger:
    """An in-process allocator over one counter ledger (the file bump_ledger keeps) for a campaign:
    it holds the ledger's lock from open to close (the one writer: other processes' bump_ledger
    wait), keeps the counters in memory and hands them out under a thread lock, so parallel step
    threads never queue behind a file lock and fsync per counter.

    Durability by reservation: before it hands out a counter above what the file records it writes
    the file with that key's counter advanced by `reserve` (one fsync'd write per `reserve`
    counters of a key); a crash leaves the file at or above every counter handed out, so nothing is
    ever issued twice. close() writes the exact last counters (never below what the file held)."""

    def __init__(self, keys, fname, reserve=16):
        import threading

        self.path = os.path.join(keys, fname)
        self.reserve = max(1, int(reserve))
        self._lk = open(self.path + ".lock", "a")
        fcntl.flock(self._lk.fileno(), fcntl.LOCK_EX)
        try:
            with open(self.path) as f:
                self.file = json.load(f)
        except FileNotFoundError:
            self.file = {}
        except ValueError as e:
            self._release()
            raise PkiError("counter ledger %s is unreadable (%s); not restarting its counters"
                           % (self.path, e))
        self.start = dict(self.file)  # the file as found: close() never writes below it
        self.last = dict(self.file)  # last counter handed out (or recorded) per key
        self.mu = threading.Lock()

    def bump(self, key, propose):
        """As bump_ledger: c = propose(last or None); records max(last, c); returns c."""
        with self.mu:
            last = self.last.get(key)
            c = propose(last)
            self.last[key] = c if last is None else max(last, c)
            if self.last[key] > (self.file.get(key) or 0) or key not in self.file:
                self.file[key] = self.last[key] + self.reserve - 1
                write_atomic(self.path, json.dumps(self.file, indent=1, sort_keys=True).encode())
            return c

    def close(self):
        if self._lk is None:
            return
        try:
            with self.mu:
                out = dict(self.start)
                for k, v in self.last.items():
                    out[k] = v if k not in out else max(out[k], v)
                write_atomic(self.path, json.dumps(out, indent=1, sort_keys=True).encode())
        finally:
            self._release()

    def _release(self):
        fcntl.flock(self._lk.fileno(), fcntl.LOCK_UN)
        self._lk.close()
        self._lk = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def find_parties(keys, device, need):
    """(device Party, [Party for each (role, usage) in need]) from key store `keys`: the first party
    of that role holding that private key. Raises PkiError naming what is missing."""
    ps = load_keystore(keys)
    dev = ps.get(device)
    if dev is None or "ka" not in dev.public:
        raise PkiError("device %s has no KA key in %s" % (device.hex(), keys))
    out = []
    for role, usage, eui in need:
        cands = [p for e, p in sorted(ps.items()) if p.role == ROLES[role] and usage in p.private
                 and (eui is None or p.eui == eui)]
        if not cands:
            raise PkiError("no %s with a %s private key in %s" % (role, usage.upper(), keys))
        out.append(cands[0])
    return dev, out
