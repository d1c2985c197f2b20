"""`smlab send` and `smlab hht` end to end on a flashed, provisioned virtual ESME over its optical
pty: pass-through of signed commands with independently verified responses, a replay refused,
a work order with 3 commands of which 2 are applied, restricted reads, readout, bad input."""
import json

import pytest
from conftest import provisioned_esme

DEV = "02534d4c01010001"


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hhtbench")
    run, ks = provisioned_esme(tmp)
    run("sim", "reset", "m")
    yield run, ks, tmp
    run("sim", "stop", check=False)


def test_send_signed_and_macd(bench):
    run, ks, _ = bench
    r = json.loads(run("--json", "send", "sim:m", "ECS43", "--keys", ks).stdout)
    assert r["ok"] and r["auth"].startswith("signature") and r["results"] == ["action success"]
    r = json.loads(run("--json", "send", "sim:m", "ECS45", "--keys", ks).stdout)
    assert r["auth"].startswith("MAC") and r["results"] == ["get success: load switch disconnected"]


def test_workorder_two_of_three_and_replay(bench):
    run, ks, tmp = bench
    wo = str(tmp / "wo.json")
    cred = str(tmp / "cred.json")
    run("hht", "issue", "--keys", ks, "--hht-id", "48485400000000a7", "--device", DEV, "--out", cred)
    run("hht", "workorder", "--keys", ks, "--device", DEV, "ECS42", "ECS44", "ECS45", "--out", wo)
    up = str(tmp / "upload.json")
    out = run("--json", "hht", "apply", "sim:m", "--cred", cred, "--keys", ks, "--wo", wo,
              "--apply", "1,3", "--out", up).stdout
    recs = json.loads(out)
    assert [r["id"] for r in recs] == [1, 3] and all(r["status"] == "applied" for r in recs)
    assert recs[1]["verified"]["results"] == ["get success: load switch connected"]
    assert json.load(open(up))["records"][0]["response"] == recs[0]["response"]
    # replaying an applied item: refused by the meter's counter check, alert 0x8F60
    recs = json.loads(run("--json", "hht", "apply", "sim:m", "--cred", cred, "--keys", ks, "--wo", wo,
                          "--apply", "1", code=1).stdout)
    assert recs[0]["status"] == "rejected" and "8F60" in recs[0]["error"]
    # an item the work order does not have is reported, and the run exits 1 too
    recs = json.loads(run("--json", "hht", "apply", "sim:m", "--cred", cred, "--keys", ks, "--wo", wo,
                          "--apply", "9", code=1).stdout)
    assert recs == [{"id": 9, "label": "", "kind": None, "status": "missing",
                     "error": "no item 9 in work order %s" % json.load(open(wo))["id"]}]
    # a tampered work order is refused on the host before anything is sent
    d = json.load(open(wo))
    d["items"][1]["gbcs"] = d["items"][1]["gbcs"][:-2] + ("00" if d["items"][1]["gbcs"][-2:] != "00" else "01")
    json.dump(d, open(wo, "w"))
    r = run("hht", "apply", "sim:m", "--cred", cred, "--keys", ks, "--wo", wo, check=False)
    assert r.returncode == 2 and "signature does not verify" in r.stderr


def test_restricted_reads_and_readout(bench):
    run, ks, tmp = bench
    cred = str(tmp / "ro.json")
    run("hht", "issue", "--keys", ks, "--hht-id", "48485400000000b1", "--read-only", "--out", cred)
    out = json.loads(run("--json", "hht", "read", "sim:m", "--cred", cred, "C.LS", "C.1.0").stdout)
    assert out[0][1] in ("connected", "disconnected", "armed") and out[1][1] == DEV.upper()
    ro = json.loads(run("--json", "hht", "readout", "sim:m").stdout)
    assert ro["ident"].endswith("SMLAB-ESME") and ["C.1.0", DEV.upper(), None] in [
        [a, v, u or None] for a, v, u in ro["data_sets"]]
    # a read-only credential cannot pass commands through
    wo = str(tmp / "wo2.json")
    run("hht", "workorder", "--keys", ks, "--device", DEV, "ECS42", "--out", wo)
    recs = json.loads(run("--json", "hht", "apply", "sim:m", "--cred", cred, "--keys", ks, "--wo", wo,
                          code=1).stdout)
    assert recs[0]["status"] == "rejected"


def test_command_for_other_meter_refused(bench):
    run, ks, _ = bench
    r = run("send", "sim:m", "ECS42", "--keys", ks, "--eui", "02534d4c01010002", check=False)
    assert r.returncode == 1 and ("refused" in r.stderr or "rejected" in r.stderr)
