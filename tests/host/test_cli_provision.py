"""Provisioning: payload composed from a key store, applied by firmware/provisioning.py; the result is
a working ESME (ZAZ1: it authenticates the RTDS ECS42 command and its signed response verifies with
the DS key provisioning generated); end to end through `smlab provision` on a virtual board."""
import json
import os
import subprocess
import sys

import pytest

from firmware import provisioning
from firmware.alerts import Reject
from firmware.gbcs import frame
from firmware.roles.esme import Esme
from firmware.store.durable import Store
from host_tools.gbcs import verify as gbcs_verify
from host_tools.keys import pki, provision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "interop", "rtds")
BIN = os.path.dirname(sys.executable)
A0 = bytes.fromhex("00db1234567890a0")


def _zaz1(tmp_path):
    if not os.path.isdir(SHARED):
        pytest.skip("../shared/interop/rtds not present")
    d = str(tmp_path / "zaz1")
    pki.import_keystore(os.path.join(SHARED, "keystore"), d)
    return d


def test_zaz1_payload_makes_a_working_esme(tmp_path):
    ks = _zaz1(tmp_path)
    p = provision.payload(ks, A0, utrn={"max_credit": 5000})
    assert p["_generated_ds"] and p["_supplier"] == "90b3d51f30010000"
    cells = {(c["role"], c["usage"], c["cell"]): c for c in p["cells"]}
    assert cells[(2, "ka", "prepayment")]["kid"] == "41fb49221588c570"  # supplier pp-KA SKI
    assert cells[(4, "ka", "management")]["eui"] == "90b3d51f30000002"  # ACB keys every command MAC
    # the mislabelled WAN-provider KA file is never used as a trust anchor
    assert (6, "ka", "management") not in cells
    # second call reuses the generated DS key (no silent key change for a provisioned device)
    assert provision.payload(ks, A0)["ds"] == p["ds"]
    store = Store(str(tmp_path / "state"))
    store.boot()
    body = json.loads(json.dumps({k: v for k, v in p.items() if not k.startswith("_")}))
    assert provisioning.apply(store, body, A0)["cells"] == len(p["cells"])
    assert store.get_json("utrn_cfg")["max_credit"] == 5000
    esme = Esme(store)
    cmd = bytes.fromhex(open(os.path.join(SHARED, "RTDS-4.5.0", "7.1_ECS42",
                                          "ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX")).read().strip())
    resp = esme.process(cmd)
    dev = pki.load_keystore(ks)[A0]
    assert gbcs_verify.verify_signature(dev.public["ds"], frame.parse(resp))
    assert esme.model.supply == "connected"


def test_payload_for_another_board_is_refused(tmp_path):
    d = str(tmp_path / "pki")
    pki.create_bench_pki(d, [("esme", 2)])
    p = provision.payload(d, pki.bench_device_eui("esme", 1))
    store = Store(str(tmp_path / "s"))
    store.boot()
    body = {k: v for k, v in p.items() if not k.startswith("_")}
    e = pytest.raises(Reject, provisioning.apply, store, body, pki.bench_device_eui("esme", 2))
    assert "this board is" in str(e.value)
    assert store.get_json("sec_id") is None  # nothing written
    bad = dict(body, v=99)
    pytest.raises(Reject, provisioning.apply, store, bad)


def test_provision_virtual_board_cli(tmp_path):
    env = dict(os.environ, SMLAB_HOME=str(tmp_path / "home"))
    run = lambda *a: subprocess.run([os.path.join(BIN, "smlab"), *a], capture_output=True, text=True,
                                    timeout=180, env=env)
    ks = str(tmp_path / "pki")
    assert run("pki", "create", ks).returncode == 0
    try:
        assert run("sim", "start", "m").returncode == 0
        assert run("flash", "sim:m").returncode == 0
        r = run("--json", "provision", "sim:m", "--keys", ks, "--max-balance", "20000")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["eui"] == "02534d4c01010001" and out["cells"] == 9 and out["generated_ds"] is False
        # the board's own store now holds the identity, read back through stock mpremote
        con = os.path.realpath(str(tmp_path / "home" / "boards" / "m" / "console"))
        q = subprocess.run([os.path.join(BIN, "mpremote"), "connect", con, "resume", "exec",
                            "import board; s=board.get().store(); print(s.get_json('sec_id')['eui'],"
                            " s.get_json('utrn_cfg')['max_balance'])"],
                           capture_output=True, text=True, timeout=60)
        assert q.stdout.split() == ["02534d4c01010001", "20000"], q.stdout + q.stderr
        r = run("provision", "sim:m", "--keys", ks, "--eui", "02534d4c01010001", "--supplier", "0011")
        assert r.returncode == 2 and "supplier 0011 is not in the key store" in r.stderr
        r = run("provision", "sim:m", "--keys", ks, "--role", "toaster")
        assert r.returncode == 2 and "unknown role 'toaster'" in r.stderr and "esme" in r.stderr
    finally:
        run("sim", "stop")
