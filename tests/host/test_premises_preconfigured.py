"""A pre-configured premises of virtual boards (docs/lab.md "Pre-configured premises";
host_tools/boards/premises.py, firmware/han/preset.py): a Comms Hub, an ESME and an IHD, each its
own MicroPython process on one air, flashed from one image and provisioned already paired. Then:

  * no join happens after boot: the air's capture, decrypted with the premises' network key, holds
    no beacon, no MAC command (beacon request, association), no NWK-unsecured frame (the
    Transport-Key), no ZDP Device_annce and no Key Establishment (0x0800) frame — only the IHD's
    Metering / Prepayment reads and answers and the GBCS tunnel;
  * the IHD shows the ESME's balance and consumption from the HAN, and follows it: a UTRN top-up
    typed on the ESME's keypad, then a 2 kW load with the meter clock running; with the clock
    stopped its last line equals the ESME's own balance and import register, read on the ESME;
  * a WAN command routed hub -> HAN -> ESME (ECS42, signed) is answered and verified on the host;
  * the hub's Device Log holds both devices with the hashes of the TC link keys they use, and no join
    attempt, Device Log change or CS14 alert was ever recorded.
The command itself (`smlab premises create / status / stop`) is the second test.
"""
import os
import re
import time

import pytest

from host_tools.boards import simctl
from host_tools.boards.premises import Premises, capture_kinds
from host_tools.codes import utrn as U
from host_tools.gbcs import hub as H
from host_tools.gbcs import usecases
from host_tools.keys import pki

LINE = re.compile(r"^IHD BAL (-?\d+\.\d\d) KWH (\d+\.\d{3}) W (-?\d+)$")


def _wait_line(vb, pred, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [ln for ln in vb.display_lines() if LINE.match(ln)]
        if lines and pred(LINE.match(lines[-1])):
            return lines[-1]
        time.sleep(0.1)
    raise AssertionError("IHD display: %r" % vb.display_lines()[-5:])


@pytest.fixture(scope="module")
def premises(tmp_path_factory):
    d = tmp_path_factory.mktemp("prem")
    keys = str(d / "pki")
    pki.create_bench_pki(keys, [("esme", 1), ("chf", 1)])
    p = Premises(str(d), keys, meters=1, ihd=True, preconfigured=True, ihd_interval_ms=500)
    try:
        p.start_fast()
        p.provision()
        yield p
    finally:
        p.stop()


def test_preconfigured_premises(premises):
    import json

    p = premises
    esme, ihd = p.meters[0], p.ihd
    # the IHD shows the meter's state from its first reads: nothing credited, nothing consumed
    assert _wait_line(ihd, lambda m: True) == "IHD BAL 0.00 KWH 0.000 W 0"

    # a top-up typed on the ESME's keypad: the IHD follows
    parties = pki.load_keystore(p.keys)
    sup = [q for _, q in sorted(parties.items()) if q.role == pki.ROLES["supplier"]][0]
    eui = p.meter_euis[0]
    z = U.ecdh_z(sup.private["pp-ka"], parties[eui].public["ka"])
    code = U.topup(z, sup.eui, eui, U.next_counter(p.keys, sup.eui, eui), 1234)
    shown = esme.type_keys(code + "#", 20)
    assert any("12.34" in s for s in shown), shown
    assert _wait_line(ihd, lambda m: m.group(1) == "12.34") == "IHD BAL 12.34 KWH 0.000 W 0"

    # a 2 kW load, the meter clock at 600x: demand at once, consumption as it accrues (a credit-mode
    # meter: the prepayment balance is not charged)
    simctl.set_load(esme.path, watts=2000)
    simctl.clock(esme.path, rate=600)
    _wait_line(ihd, lambda m: m.group(3) == "2000" and float(m.group(2)) > 0.1)
    simctl.clock(esme.path, rate=0)  # meter time stops: the registers settle
    time.sleep(1.5)
    last = _wait_line(ihd, lambda m: True)
    time.sleep(1.5)
    assert _wait_line(ihd, lambda m: True) == last  # stable
    m = LINE.match(last)

    # a WAN command routed hub -> HAN -> ESME on the pre-configured HAN
    raw, counter = usecases.build("ECS42", p.keys, eui)
    with H.WanClient(p.wan[0], p.wan[1], timeout=20) as c:
        resp = c.request(raw)
    v = usecases.verify_response(resp, p.keys, eui, counter)
    assert v["auth"] and "success" in " ".join(v.get("results", [])), v

    # no join frame on the air since boot; the IHD's reads and the tunnel are all there is
    keys = json.load(open(os.path.join(p.dir, "han-keys.json")))
    k = capture_kinds(p.pcap_path, bytes.fromhex(keys["nwk"]))
    assert k["frames"] > 10 and k["undecoded"] == 0, k
    assert (k["beacon"], k["mac_command"], k["nwk_unsecured"], k["zdp"]) == (0, 0, 0, 0), k
    assert 0x0800 not in k["clusters"], k
    assert k["clusters"].get(0x0702, 0) >= 6 and k["clusters"].get(0x0705, 0) >= 6, k
    assert k["clusters"].get(0x0704, 0) >= 2, k  # the GBCS tunnel: RequestTunnel, TransferData

    # the ESME's own balance and import register (read on the ESME once the loop is stopped)
    out = esme.exec("import board\nfrom firmware import roles\nb = board.get()\n"
                    "r = roles.build('esme', b, b.store(), None)\n"
                    "print('STATE', r.meter.balance(), r.meter.r['ai'])")
    bal, ai = (int(x) for x in out.split("STATE", 1)[1].split())
    assert m.group(1) == "%s%d.%02d" % ("-" if bal < 0 else "", abs(bal) // 100, abs(bal) % 100), (last, bal)
    assert m.group(2) == "%d.%03d" % (ai // 1000, ai % 1000), (last, ai)
    assert bal == 1234 and ai > 100

    # the hub's Device Log: both devices with the hashes of the TC link keys they hold, as a
    # completed join leaves it; no join attempt or Device Log change logged, no CS14 waiting
    from firmware.hub.devicelog import hashed_key
    from host_tools.gbcs.hub import read_hub

    hub = read_hub(p.hub.console)
    want = sorted([{"eui": e.upper(), "hashed_key": hashed_key(bytes.fromhex(k)).hex().upper()}
                   for e, k in keys["tc_link"].items()], key=lambda x: x["eui"])
    assert sorted(hub["devices"], key=lambda x: x["eui"]) == want and len(want) == 2, hub
    assert hub["historic"] == [] and hub["pending_alerts"] == 0, hub
    assert not [e for e in hub["security"] + hub["events"] if e["code"] in ("8F12", "8F48")], hub


def test_cli_create_status_stop(tmp_path):
    """`smlab premises create DIR --meters 1 --ihd`: one command, a paired premises whose IHD shows
    the meter's reading; status and stop; bad input is exit status 2 with a one-line reason."""
    import json
    import subprocess
    import sys

    smlab = os.path.join(os.path.dirname(sys.executable), "smlab")
    d = str(tmp_path / "prem")
    bad = subprocess.run([smlab, "premises", "create", d, "--meters", "0", "--json"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and json.loads(bad.stderr.strip())["error"].startswith("--meters"), bad.stderr
    r = subprocess.run([smlab, "premises", "create", d, "--ihd", "--interval-ms", "500", "--json"],
                       capture_output=True, text=True, timeout=180)
    try:
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)
        assert [b["role"] for b in st["boards"]] == ["chf", "esme", "ihd"] and st["preconfigured"]
        deadline = time.monotonic() + 20
        while True:
            s = json.loads(subprocess.run([smlab, "premises", "status", d, "--json"], capture_output=True,
                                          text=True, timeout=60).stdout)
            ihd = [b for b in s["boards"] if b["role"] == "ihd"][0]
            if ihd["display"] == "IHD BAL 0.00 KWH 0.000 W 0" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert ihd["display"] == "IHD BAL 0.00 KWH 0.000 W 0" and s["air_running"], s
        again = subprocess.run([smlab, "premises", "create", d, "--ihd"], capture_output=True, text=True, timeout=60)
        assert again.returncode == 2 and "running" in again.stderr, again.stderr
    finally:
        subprocess.run([smlab, "premises", "stop", d], capture_output=True, text=True, timeout=60)
    s = json.loads(subprocess.run([smlab, "premises", "status", d, "--json"], capture_output=True, text=True,
                                  timeout=60).stdout)
    assert {b["state"] for b in s["boards"]} == {"stopped"} and not s["air_running"], s
