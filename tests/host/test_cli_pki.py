"""`smlab pki`: bench PKI creation and ZAZ1 keystore import, end to end through the console script."""
import json
import os
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from host_tools.keys import pki

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMLAB = os.path.join(os.path.dirname(sys.executable), "smlab")
KEYSTORE = os.path.join(os.path.dirname(ROOT), "shared", "interop", "rtds", "keystore")


def smlab(*args):
    return subprocess.run([SMLAB, *args], capture_output=True, text=True, timeout=60)


def test_create_bench_pki(tmp_path):
    d = str(tmp_path / "pki")
    r = smlab("--json", "pki", "create", d, "--esme", "2", "--chf", "1")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    roles = sorted(p["role"] for p in data["parties"])
    assert roles == sorted(["root", "recovery", "supplier", "networkOperator", "accessControlBroker",
                            "device", "device", "device"])
    parties = pki.load_keystore(d)
    sup = pki.find_role(parties, "supplier")
    assert sup.eui == bytes.fromhex("02534d4c00000200")
    assert sorted(sup.private) == ["ds", "ka", "pp-ka"]
    # organisation certificate: OU = role code, x500UniqueIdentifier = EUI, keyUsage per usage,
    # issued (and verifiably signed) by the bench organisation CA
    ca = x509.load_pem_x509_certificate(open(os.path.join(d, "ca-org.pem"), "rb").read())
    cert = sup.certs["ds"]
    assert cert.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "02"
    assert pki._cert_eui(cert) == sup.eui
    cert.verify_directly_issued_by(ca)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert sup.certs["ka"].extensions.get_extension_for_class(x509.KeyUsage).value.key_agreement
    # device certificates: empty subject, EUI in the SAN, device CA
    dca = x509.load_pem_x509_certificate(open(os.path.join(d, "ca-device.pem"), "rb").read())
    esme = parties[pki.bench_device_eui("esme", 2)]
    assert esme.is_device and esme.certs["ka"].subject == x509.Name([])
    assert pki._cert_eui(esme.certs["ka"]) == esme.eui
    esme.certs["ds"].verify_directly_issued_by(dca)
    # raw key bytes for provisioning match the certificate
    priv = ec.derive_private_key(int.from_bytes(esme.private_bytes("ka"), "big"), ec.SECP256R1())
    assert priv.public_key().public_numbers() == esme.public["ka"].public_numbers()
    assert len(esme.public_bytes("ds")) == 65 and esme.public_bytes("ds")[0] == 4


def test_create_refuses_to_overwrite(tmp_path):
    d = str(tmp_path / "pki")
    assert smlab("pki", "create", d).returncode == 0
    r = smlab("pki", "create", d)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "already exists" in r.stderr


def test_bad_input_one_line_reason(tmp_path):
    r = smlab("pki", "show", str(tmp_path / "missing"))
    assert r.returncode == 2 and r.stderr.startswith("smlab pki: error: no key store directory")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "0011223344556677-ds.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    r = smlab("pki", "show", str(bad))
    assert r.returncode == 2 and "0011223344556677-ds.pem" in r.stderr


def test_import_zaz1_keystore(tmp_path):
    if not os.path.isdir(KEYSTORE):
        pytest.skip("../shared/interop/rtds/keystore not present")
    d = str(tmp_path / "zaz1")
    r = smlab("--json", "pki", "import", KEYSTORE, d)
    assert r.returncode == 0, r.stderr
    parties = pki.load_keystore(d)
    want = {  # gbcs.md §5.3
        "90b3d51f30000001": "recovery", "90b3d51f30000002": "accessControlBroker",
        "90b3d51f30000004": "transitionalCoS", "90b3d51f30000007": "wanProvider",
        "90b3d51f30010000": "supplier", "90b3d51f30010008": "loadController",
        "90b3d51f30020000": "networkOperator", "90b3d51f30030000": "supplier",
    }
    for eui, role in want.items():
        assert pki.ROLE_NAMES[parties[bytes.fromhex(eui)].role] == role
    sup = parties[bytes.fromhex("90b3d51f30010000")]
    assert sup.ski("ds").hex().upper() == "44899792D196F4B8"
    assert sup.ski("pp-ka").hex().upper() == "41FB49221588C570"
    a0 = parties[bytes.fromhex("00db1234567890a0")]
    assert a0.is_device and sorted(a0.private) == ["ka"]
    assert a0.ski("ds").hex().upper() == "41978BA90C066FFA"
    # the one mislabelled file is flagged, not silently trusted as the WAN provider's KA key
    assert "mislabelled" in (parties[bytes.fromhex("90b3d51f30000007")].name or "")


def _bump_many(keys, key, n):
    return [pki.bump_ledger(keys, "ctr.json", key, lambda last: (last or 0) + 1) for _ in range(n)]


def test_counter_ledger_parallel_processes_never_reuse_or_lose(tmp_path):
    """A bench campaign's per-board processes share one key store: four processes bumping the
    same and different ledger keys at once hand out every counter exactly once and lose none."""
    import multiprocessing
    keys = str(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        got = pool.starmap(_bump_many, [(keys, "same", 40)] * 3 + [(keys, "other", 40)])
    same = sorted(c for g in got[:3] for c in g)
    assert same == list(range(1, 121))
    assert got[3] == list(range(1, 41))
    with open(os.path.join(keys, "ctr.json")) as f:
        assert json.load(f) == {"same": 120, "other": 40}
    assert not [n for n in os.listdir(keys) if n.endswith(".tmp")]


def test_counter_ledger_parallel_threads(tmp_path):
    """The same from threads of one process, which is how `smlab bench` drives its boards."""
    import threading
    keys, got = str(tmp_path), []
    ts = [threading.Thread(target=lambda: got.extend(_bump_many(keys, "same", 40))) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(got) == list(range(1, 161))
    assert not [n for n in os.listdir(keys) if n.endswith(".tmp")]


def test_counter_ledger_unreadable_is_refused_not_restarted(tmp_path):
    p = tmp_path / "ctr.json"
    p.write_text('{"same": 7')
    with pytest.raises(pki.PkiError, match="unreadable"):
        pki.bump_ledger(str(tmp_path), "ctr.json", "same", lambda last: (last or 0) + 1)
    assert p.read_text() == '{"same": 7'
