"""The pass-through HHT at the gas meter's optical port (firmware/gas/optical.py, host_tools/hht;
docs/gas.md "HHT"): a supplier-signed work order of gas commands re-signed for this visit (supplier DS
key, ACB MAC, fresh counters) for the RTDS GSME 00DB1234567890A1; the HHT logs in with a supplier
credential and applies the valve close (GCS32) over the optical port; the GSME runs it through its
own GBCS pipeline (signature, MAC, counter), the valve closes and the device-signed response
verifies; the same command again is refused as a replay, a credential from another supplier cannot
log in. Skips when ../shared (RTDS keystore) is absent."""
import json
import os
import tempfile

import pytest

from host_tools.gbcs import corpus as R

pytestmark = pytest.mark.skipif(not R.available(), reason="../shared RTDS keystore not present")

from firmware.gbcs import frame  # noqa: E402
from firmware.optical import auth  # noqa: E402
from firmware.store.durable import Store  # noqa: E402
from host_tools.gbcs import verify as V  # noqa: E402
from host_tools.gbcs.chf_rtds import RtdsBoard  # noqa: E402
from host_tools.gbcs.gsme_rtds import GsmeRole  # noqa: E402
from host_tools.hht import hht as H  # noqa: E402
from host_tools.hht import workorder as W  # noqa: E402
from test_hht_workorder import supplier_files  # noqa: E402
from test_optical_rig import PtyMeter  # noqa: E402

SUP = bytes.fromhex("90b3d51f30010000")
ACB = bytes.fromhex("90b3d51f30000002")
GSME = bytes.fromhex("00db1234567890a1")
CMDS = {"close": "7.2_GCS32/GCS32_7.2_SUCCESS_COMMAND_GBCS.HEX", "arm": "7.3_GCS39/GCS39_7.3_SUCCESS_COMMAND_GBCS.HEX"}


def command(name, counter):
    ks = R.keystore()
    m = frame.parse(R.load_hex(os.path.join(R.RTDS, CMDS[name])))
    return V.build_command(SUP, GSME, counter, m.message_code, m.content,
                           ds_priv=ks.parties[SUP].priv["ds"], acb_ka_priv=ks.parties[ACB].priv["ka"],
                           device_ka_pub=ks.device_pub(GSME, "ka"))


@pytest.fixture
def rig():
    from firmware import roles

    tmp = tempfile.TemporaryDirectory()
    GsmeRole().provision_store(Store(tmp.name), R.keystore())
    box = {}

    def factory(st):
        g = roles.build("gsme", RtdsBoard(), st)
        box["gsme"] = g
        return g

    m = PtyMeter(GSME, lambda issuer: box["gsme"].hht_anchor(issuer), root=tmp.name, esme_factory=factory).start()
    yield m, box
    m.close()
    tmp.cleanup()


def test_gas_work_order_closes_the_valve_over_the_optical_port(rig, tmp_path):
    meter, box = rig
    sk, pub_pem = supplier_files(str(tmp_path))
    items = [("command", "close the gas valve (GCS32)", command("close", 5101)),
             ("command", "arm the gas valve (GCS39)", command("arm", 5102))]
    wo = W.build(GSME, SUP, sk, items, wo_id="WO-GAS-1")
    wo_path = str(tmp_path / "wo.json")
    W.save(wo_path, wo)
    cred, hk = H.issue_credential(sk, SUP, bytes.fromhex("4848540000000020"), GSME, auth.PERM_PASS)
    cred_path = str(tmp_path / "cred.json")
    H.save_credential(cred_path, cred, hk)
    out = str(tmp_path / "responses.json")
    assert box["gsme"].gas.supply() == 2  # on
    rc = H.main(["workorder", "--port", meter.path, "--cred", cred_path, "--wo", wo_path,
                 "--supplier-pub", pub_pem, "--apply", "1", "--out", out])
    assert rc == 0
    assert box["gsme"].gas.supply() == 0  # closed; item 2 (arm) not applied
    with open(out) as f:
        up = json.load(f)
    assert [r["id"] for r in up["results"]] == [1] and up["results"][0]["status"] == "applied"
    resp = frame.parse(bytes.fromhex(up["results"][0]["response"]))
    assert resp.cra == frame.CRA_RESPONSE and resp.counter == 5101 and resp.originator == GSME
    assert V.verify_signature(GsmeRole().ds_pub(), resp)  # device-signed critical response
    h = H.Hht(meter.hht_serial())
    h.login(cred, hk, GSME)
    with pytest.raises(H.HhtError) as e:
        h.gbcs(items[0][2])
    assert e.value.text == "ER8F60"  # the same work order item again: a replay
    assert box["gsme"].gas.supply() == 0


def test_other_supplier_cannot_log_in_at_the_gas_meter(rig):
    meter, _ = rig
    ks = R.keystore()
    sup2 = bytes.fromhex("90b3d51f30030000")
    cred, hk = H.issue_credential(ks.parties[sup2].priv["ds"], sup2, bytes(8), GSME, auth.PERM_PASS)
    h = H.Hht(meter.hht_serial())
    with pytest.raises(H.HhtError) as e:
        h.login(cred, hk, GSME)
    assert e.value.text == "ER04"
