"""Pass-through HHT end to end: a supplier-signed work order of 3 RTDS-shaped commands re-signed for
this visit (supplier DS key, ACB MAC, fresh counters), the HHT CLI applies 2 of them over the
optical port, the meter runs each through the ESME's WAN pipeline (firmware.roles.esme), the state
changes and the device-signed responses verify; replayed, tampered and other-meter commands are
rejected with their GBCS alert codes (docs/hht.md). Skips when ../shared (RTDS keystore) is absent."""
import json
import os
import tempfile

import pytest
from cryptography.hazmat.primitives import serialization

from host_tools.gbcs import corpus as R

pytestmark = pytest.mark.skipif(not R.available(), reason="../shared RTDS keystore not present")

from firmware.gbcs import frame  # noqa: E402
from firmware.roles.esme import Esme, RTDS_CLOCK  # noqa: E402
from firmware.optical import auth  # noqa: E402
from firmware.store.durable import Store  # noqa: E402
from host_tools.gbcs import verify as V  # noqa: E402
from host_tools.hht import hht as H  # noqa: E402
from host_tools.hht import workorder as W  # noqa: E402
from test_optical_rig import PtyMeter  # noqa: E402

SUP = bytes.fromhex("90b3d51f30010000")
ACB = bytes.fromhex("90b3d51f30000002")
OTHER = bytes.fromhex("00db1234567890a1")
CMDS = {"open": "7.2_ECS43/ECS43_7.2_SUCCESS_COMMAND_GBCS.HEX",
        "close": "7.1_ECS42/ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX",
        "prepay": "1.6_ECS03/ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX"}


def command(name, counter, target=R.ESME_EUI):
    ks = R.keystore()
    m = frame.parse(R.load_hex(os.path.join(R.RTDS, CMDS[name])))
    return V.build_command(SUP, target, counter, m.message_code, m.content,
                           ds_priv=ks.parties[SUP].priv["ds"], acb_ka_priv=ks.parties[ACB].priv["ka"],
                           device_ka_pub=ks.device_pub(R.ESME_EUI, "ka"))


@pytest.fixture
def rig():
    tmp = tempfile.TemporaryDirectory()
    st = Store(tmp.name)
    R.provision_rtds_esme(st)
    m = PtyMeter(R.ESME_EUI, Esme(Store(tmp.name)).hht_anchor, root=tmp.name,
                 esme_factory=lambda s: Esme(s, clock=lambda: RTDS_CLOCK)).start()
    yield m, tmp.name
    m.close()
    tmp.cleanup()


def supplier_files(d):
    ks = R.keystore()
    sk = ks.parties[SUP].priv["ds"]
    pub = os.path.join(d, "sup.pem")
    with open(pub, "wb") as f:
        f.write(sk.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo))
    return sk, pub


def test_work_order_apply_two_of_three(rig, tmp_path):
    meter, _ = rig
    sk, pub_pem = supplier_files(str(tmp_path))
    items = [("command", "open supply (ECS43)", command("open", 5001)),
             ("command", "set prepayment mode (ECS03)", command("prepay", 5002)),
             ("command", "close supply (ECS42)", command("close", 5003))]
    wo = W.build(R.ESME_EUI, SUP, sk, items, wo_id="WO-1")
    wo_path = str(tmp_path / "wo.json")
    W.save(wo_path, wo)
    cred, hk = H.issue_credential(sk, SUP, bytes.fromhex("4848540000000010"), R.ESME_EUI,
                                  auth.PERM_PASS)
    cred_path = str(tmp_path / "cred.json")
    H.save_credential(cred_path, cred, hk)
    out = str(tmp_path / "responses.json")
    assert meter.model.supply == "connected" and meter.model.payment_mode == "credit"
    rc = H.main(["workorder", "--port", meter.path, "--cred", cred_path, "--wo", wo_path,
                 "--supplier-pub", pub_pem, "--apply", "1,2", "--out", out])
    assert rc == 0
    assert meter.model.supply == "disconnected" and meter.model.payment_mode == "prepayment"
    with open(out) as f:
        up = json.load(f)
    assert up["work_order"] == "WO-1" and [r["id"] for r in up["results"]] == [1, 2]
    for r, (_, _, raw) in zip(up["results"], items):
        assert r["status"] == "applied"
        resp = frame.parse(bytes.fromhex(r["response"]))
        assert resp.cra == frame.CRA_RESPONSE and resp.counter == frame.parse(raw).counter
        assert V.verify_signature(R.esme_ds_pub(), resp)  # device-signed critical response
    ents = meter.security()
    assert any(e.startswith("81A5 optical login hht=4848540000000010 perms=2") for e in ents)


def test_replayed_tampered_other_meter_rejected(rig, tmp_path):
    meter, _ = rig
    sk, _ = supplier_files(str(tmp_path))
    cred, hk = H.issue_credential(sk, SUP, bytes.fromhex("4848540000000011"), R.ESME_EUI,
                                  auth.PERM_PASS)
    h = H.Hht(meter.hht_serial())
    h.login(cred, hk, R.ESME_EUI)
    c1 = command("open", 6001)
    h.gbcs(c1)
    assert meter.model.supply == "disconnected"
    state = (meter.store.get("meter"),)

    def refused(raw):
        with pytest.raises(H.HhtError) as e:
            h.gbcs(raw)
        assert (meter.store.get("meter"),) == state
        return e.value.text

    assert refused(c1) == "ER8F60"  # replay: counter not above the last accepted
    close = bytearray(command("close", 6002))
    close[-20] ^= 0x01  # tampered content byte under the MAC / signature
    assert refused(bytes(close)) == "ER8F3D"
    assert refused(command("close", 6003, target=OTHER)) == "ER8F3E"
    assert refused(b"\xdd\x00\x01") == "ER8F1E"  # malformed GBCS
    # the genuine, fresh command still applies after all that
    resp = h.gbcs(command("close", 6004))
    assert meter.model.supply == "connected"
    assert V.verify_signature(R.esme_ds_pub(), frame.parse(resp))
    h.sign_off()
    log = meter.gbcs_security()
    assert any(e.startswith("replay 8F60") for e in log)
    assert any(e.startswith("target 8F3E") for e in log)


def test_work_order_signature_checked_by_the_hht(tmp_path):
    ks = R.keystore()
    sk = ks.parties[SUP].priv["ds"]
    wo = W.build(R.ESME_EUI, SUP, sk, [("command", "open", command("open", 7001))])
    assert W.verify(wo, sk.public_key(), R.ESME_EUI)
    with pytest.raises(W.WorkOrderError):
        W.verify(wo, sk.public_key(), OTHER)
    bad = json.loads(json.dumps(wo))
    bad["items"][0]["label"] = "close"
    with pytest.raises(W.WorkOrderError):
        W.verify(bad, sk.public_key(), R.ESME_EUI)
    other_sup = ks.parties[bytes.fromhex("90b3d51f30030000")].priv["ds"]
    with pytest.raises(W.WorkOrderError):
        W.verify(wo, other_sup.public_key(), R.ESME_EUI)


def test_hht_credential_from_other_supplier_cannot_log_in(rig):
    meter, _ = rig
    ks = R.keystore()
    sup2 = bytes.fromhex("90b3d51f30030000")
    cred, hk = H.issue_credential(ks.parties[sup2].priv["ds"], sup2, bytes(8), R.ESME_EUI,
                                  auth.PERM_PASS)
    h = H.Hht(meter.hht_serial())
    with pytest.raises(H.HhtError) as e:
        h.login(cred, hk, R.ESME_EUI)
    assert e.value.text == "ER04"
    assert any("login-issuer" in x for x in meter.security())


def test_cli_issue_build_and_apply(rig, tmp_path):
    meter, _ = rig
    ksd = R.KEYSTORE
    cred = str(tmp_path / "cred.json")
    assert H.main(["issue", "--supplier-key", os.path.join(ksd, "90b3d51f30010000-ds.key"),
                   "--supplier-eui", SUP.hex(), "--hht-id", "4848540000000012",
                   "--scope", R.ESME_EUI.hex(), "--perms", "2", "--out", cred]) == 0
    m43 = frame.parse(R.load_hex(os.path.join(R.RTDS, CMDS["open"])))
    m42 = frame.parse(R.load_hex(os.path.join(R.RTDS, CMDS["close"])))
    wo = str(tmp_path / "wo.json")
    assert W.main(["build", "--target", R.ESME_EUI.hex(),
                   "--supplier-key", os.path.join(ksd, "90b3d51f30010000-ds.key"),
                   "--supplier-eui", SUP.hex(),
                   "--acb-ka-key", os.path.join(ksd, "90b3d51f30000002-ka.key"),
                   "--device-ka-pub", os.path.join(ksd, "00db1234567890a0-ka.pem"),
                   "--counter", "8001",
                   "--command", "open:%04X:%s" % (m43.message_code, m43.content.hex()),
                   "--command", "close:%04X:%s" % (m42.message_code, m42.content.hex()),
                   "--out", wo]) == 0
    _, pub_pem = supplier_files(str(tmp_path))
    out = str(tmp_path / "up.json")
    assert H.main(["workorder", "--port", meter.path, "--cred", cred, "--wo", wo,
                   "--supplier-pub", pub_pem, "--apply", "1", "--out", out]) == 0
    assert meter.model.supply == "disconnected"
    with open(out) as f:
        assert [r["status"] for r in json.load(f)["results"]] == ["applied"]
    # a work order altered after signing is refused by the HHT before anything is sent
    d = W.load(wo)
    d["items"][0]["label"] = "harmless"
    W.save(wo, d)
    assert H.main(["workorder", "--port", meter.path, "--cred", cred, "--wo", wo,
                   "--supplier-pub", pub_pem, "--apply", "2"]) == 2  # bad input (docs/host-tools.md exit codes)
    assert meter.model.supply == "disconnected"
