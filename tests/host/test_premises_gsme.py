"""A pre-configured premises with gas (docs/lab.md "Pre-configured premises";
host_tools/boards/premises.py gsme=True): a Comms Hub carrying the Gas Proxy Function, an ESME, an IHD
and a GSME, four MicroPython processes on one air, flashed from one image and provisioned already
paired from one bench PKI. Then:

  * the GSME boots joined (its TC link key, network key and short address preset) and runs its first
    wake with the GPF at once; the air's capture decrypted with the network key holds no beacon,
    MAC command, NWK-unsecured frame, ZDP frame or Key Establishment frame at any point of the test,
    while the GSME's ZSE Tunneling frames (0x0704) are there;
  * GPF reads over the WAN (GCS13a and GCS60a as RTDS has them, built and MAC'd on the host for the
    bench keys) are answered at once from the mirror, their MACs verified on the host: no credit yet;
  * a UTRN top-up typed at the GSME board's keypad is accepted by the GSME (life.keypad_accept through
    the front panel) and, at the GSME's next wake (both clocks 30 min on), reaches the GPF's mirror:
    GCS60a then reads the credit (once the hub applied the wake's mirror report), GCS13a the later
    report's time, and the mirror on the hub's flash holds the credit;
  * the hub's Device Log holds the GSME with the hash of the TC link key the GSME uses.
"""
import json
import os
import time

import pytest

from host_tools.boards import simctl
from host_tools.boards.premises import Premises, capture_kinds, credit_remaining
from host_tools.codes import utrn as U
from host_tools.gbcs import hub as H
from host_tools.keys import pki


def _wait(vb, text, offset, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(os.path.join(vb.path, "console.log"), "rb") as f:
            f.seek(offset)
            if text in f.read().decode(errors="replace"):
                return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def premises(tmp_path_factory):
    d = tmp_path_factory.mktemp("premgas")
    keys = str(d / "pki")
    pki.create_bench_pki(keys, [("esme", 1), ("chf", 1), ("gsme", 1), ("gpf", 1)])
    p = Premises(str(d), keys, meters=1, ihd=True, gsme=True, preconfigured=True, ihd_interval_ms=1000)
    try:
        p.start_fast()
        p.provision()
        yield p
    finally:
        p.stop()


def test_gsme_preconfigured_top_up_reaches_the_mirror(premises):
    from firmware.gbcs import frame
    from firmware.hub.devicelog import hashed_key

    p = premises
    t0 = time.monotonic()
    gsme, hub = p.gsme, p.hub
    assert _wait(gsme, "gsme wake 1: fetched 0, answered 0", 0, 30), gsme.display_lines()[-5:]
    t_wake1 = time.monotonic() - t0
    nwk = bytes.fromhex(json.load(open(os.path.join(p.dir, "han-keys.json")))["nwk"])
    # the wake reached the hub: RequestTunnel and its response, GET and its answer, the mirror report
    assert capture_kinds(p.pcap_path, nwk)["clusters"].get(0x0704, 0) >= 5

    # a GPF read over the WAN, answered from the mirror the first wake reported
    raw, ctr = p.gas_read()
    t = time.monotonic()
    with H.WanClient(p.wan[0], p.wan[1], timeout=10) as c:
        resp1 = c.request(raw)
    t_read = time.monotonic() - t
    comps = p.check_gas_read(resp1, ctr)
    assert comps and comps[0][0] == 0x0702 and comps[0][1] == 0x01, comps  # Read Attributes Response
    stamp1 = frame.parse(resp1).date_time
    raw, ctr = p.gas_read("GCS60a")
    with H.WanClient(p.wan[0], p.wan[1], timeout=10) as c:
        credit0 = credit_remaining(p.check_gas_read(c.request(raw), ctr))
    assert credit0 == 0

    # a £7.89 UTRN typed at the GSME's keypad, from the bench supplier's prepayment key
    parties = pki.load_keystore(p.keys)
    sup = [q for _, q in sorted(parties.items()) if q.role == pki.ROLES["supplier"]][0]
    z = U.ecdh_z(sup.private["pp-ka"], parties[p.gsme_eui].public["ka"])
    code = U.topup(z, sup.eui, p.gsme_eui, U.next_counter(p.keys, sup.eui, p.gsme_eui), 789)
    shown = gsme.type_keys(code + "#", 20)
    assert any("ACCEPTED" in ln for ln in shown), shown

    # both clocks 30 min on: the GSME's next wake reports the credit to its mirror
    off = gsme.log_size()
    for vb in (hub, gsme):
        simctl.clock(vb.path, advance=1800)
    assert _wait(gsme, "gsme wake 2: fetched 0, answered 0", off, 20), gsme.display_lines()[-5:]
    # the balance read over the WAN (GCS60a) is the mirror's: the top-up is there once the hub has
    # applied the wake's last frame, the mirror report (read again meanwhile, at most 5 s)
    deadline = time.monotonic() + 5
    while True:
        raw, ctr = p.gas_read("GCS60a")
        with H.WanClient(p.wan[0], p.wan[1], timeout=10) as c:
            credit = credit_remaining(p.check_gas_read(c.request(raw), ctr))
        if credit != credit0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert credit == 789 * 1000
    raw, ctr = p.gas_read()
    with H.WanClient(p.wan[0], p.wan[1], timeout=10) as c:
        resp2 = c.request(raw)
    p.check_gas_read(resp2, ctr)
    assert frame.parse(resp2).date_time != stamp1

    # no join frame on the air at any time; the GSME's tunnel is there
    keys = json.load(open(os.path.join(p.dir, "han-keys.json")))
    k = capture_kinds(p.pcap_path, nwk)
    assert k["undecoded"] == 0, k
    assert (k["beacon"], k["mac_command"], k["nwk_unsecured"], k["zdp"]) == (0, 0, 0, 0), k
    assert 0x0800 not in k["clusters"] and k["clusters"].get(0x0704, 0) >= 10, k

    # the hub's Device Log holds the GSME with the hash of its TC link key; the mirror on the hub's
    # flash holds the credit the GSME reported (1e-5 GBP)
    from host_tools.gbcs.hub import read_hub

    dl = read_hub(hub.console)
    want = hashed_key(bytes.fromhex(keys["tc_link"][p.gsme_eui.hex().upper()])).hex().upper()
    assert {"eui": p.gsme_eui.hex().upper(), "hashed_key": want} in dl["devices"], dl
    assert len(dl["devices"]) == 3 and dl["historic"] == [], dl
    out = hub.exec("import board\nfrom firmware.store.durable import Store\nfrom firmware.gas.model import GasModel\n"
                   "print('CREDIT', GasModel(Store(board.get().storage_root().rstrip('/') + '/gpf')).credit())\n")
    assert "CREDIT %d" % (789 * 1000) in out, out
    print("premises gsme: wake 1 %.1f s after provisioning, GPF read %.2f s, test %.1f s"
          % (t_wake1, t_read, time.monotonic() - t0))


def test_cli_create_with_gsme(tmp_path):
    """`smlab premises create DIR --gsme`: hub (with the GPF), ESME and GSME from one command, the
    GSME's first wake with the GPF done without a join; a premises the Device Log cannot hold and a
    hub heap too small for the GPF are refused with exit status 2."""
    import subprocess
    import sys

    smlab = os.path.join(os.path.dirname(sys.executable), "smlab")
    d = str(tmp_path / "prem")
    for bad, why in ((["--meters", "15", "--ihd", "--gsme"], "--meters 15"), (["--gsme", "--heap", "384K"], "--heap")):
        r = subprocess.run([smlab, "premises", "create", d, "--json"] + bad, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and json.loads(r.stderr.strip())["error"].startswith(why), r.stderr
    r = subprocess.run([smlab, "premises", "create", d, "--gsme", "--json"], capture_output=True, text=True,
                       timeout=120)
    try:
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)
        assert [b["role"] for b in st["boards"]] == ["chf", "esme", "gsme"] and st["gpf_eui"], st
        g = [b for b in st["boards"] if b["role"] == "gsme"][0]
        from host_tools.boards.vboard import VBoard

        assert _wait(VBoard(g["dir"]), "gsme wake 1: fetched 0, answered 0", 0, 30)
        keys = json.load(open(os.path.join(d, "han-keys.json")))
        assert g["eui"] in keys["tc_link"], keys
    finally:
        subprocess.run([smlab, "premises", "stop", d], capture_output=True, text=True, timeout=60)
    k = capture_kinds(st["pcap"], bytes.fromhex(keys["nwk"]))
    assert (k["beacon"], k["mac_command"], k["nwk_unsecured"], k["zdp"]) == (0, 0, 0, 0), k
    assert k["clusters"].get(0x0704, 0) >= 5 and 0x0800 not in k["clusters"], k
