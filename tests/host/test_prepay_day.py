"""A prepayment day on a virtual ESME (firmware/meter/engine.py; GBCS §7.5 ECS03, §7.3 ECS45, §9
UTRN; alerts gbcs.md §8), every step checked through the optical port (public readout, restricted
HHT reads of the alert queue) and GBCS commands through the optical pass-through:

ECS03 -> prepayment; a UTRN top-up at the keypad; a 4 kW simulated load in meter time (an hour per
second) runs the credit down: low credit 0x810D, emergency credit offered 0x8119; the credit falls
below the disablement threshold inside a non-disablement period (03:00-05:00), so the supply stays on
until the period ends, then is interrupted 0x8F0F (ECS45: disconnected); emergency credit taken at the keypad
('B', 0x81AB) arms the supply (0x8F32, ECS45: armed); the button ('A') restores it; the emergency
credit runs out and the supply is interrupted again; a UTRN top-up repays it and re-arms; the button
restores. Energy registers never go backwards through all of it. The clock is frozen (rate 0)
while a step is checked, so nothing moves under the checks."""
import json
import os
import re
import subprocess
import sys
import time

from conftest import provisioned_esme

BIN = os.path.dirname(sys.executable)
DEV = "02534d4c01010001"
T0 = 1772409600  # 2026-03-02 00:00 UTC
SETUP = (
    "import board\n"
    "from firmware.meter import engine as E\n"
    "st = board.get().store()\n"
    "st.put_json(E.CFG, {'low': 400, 'ec': 500, 'ect': 300, 'dis': 100, 'step': 900,\n"
    "                    'nd': [[10800, 18000]]})\n"  # a non-disablement period 03:00-05:00
    "st.put_json(E.TARIFF, {'pm': [[50000]]})\n"  # 50 p/kWh: 4 kW costs 200 p an hour
    "print('CONFIGURED')\n"
)


def _readout(run):
    d = json.loads(run("--json", "hht", "readout", "sim:m").stdout)
    return dict((a, v) for a, v, u in d["data_sets"])


def _ecs45(run, ks):
    r = json.loads(run("--json", "send", "sim:m", "ECS45", "--keys", ks).stdout)
    return r["results"][0].split("load switch ")[1]


def _alerts(run, cred, n):
    """The newest n alert codes, oldest first (restricted read C.AL(i))."""
    addrs = ["C.AL(%d)" % i for i in range(n - 1, -1, -1)]
    out = json.loads(run("--json", "hht", "read", "sim:m", "--cred", cred, *addrs).stdout)
    return [v.split()[2] for a, v, u in out]


def _keypad(run, keys):
    return run("keypad", "sim:m", keys).stdout.strip()


def _wait_state(run, state, timeout=30):
    """Poll the readout until the load switch control state (96.3.10) is `state`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        ro = _readout(run)
        if ro["96.3.10"] == state:
            return ro
        time.sleep(0.2)
    raise AssertionError("control state %s not reached: %r" % (state, ro))


def _kwh(ro):
    return float(ro["1.8.0"])


def _money(ro, a):
    return float(ro[a])


def test_prepayment_day(tmp_path):
    t_start = time.monotonic()
    run, ks = provisioned_esme(tmp_path)
    try:
        bdir = str(tmp_path / "home" / "boards" / "m")
        con = os.path.realpath(os.path.join(bdir, "console"))
        out = subprocess.run([os.path.join(BIN, "mpremote"), "connect", con, "resume", "exec", SETUP],
                             capture_output=True, text=True, timeout=60).stdout
        assert "CONFIGURED" in out
        run("sim", "clock", "m", "--set", str(T0), "--rate", "0")
        assert json.loads(run("--json", "sim", "load", "m", "--kw", "4").stdout)["load"] == {"w": 4000}
        run("sim", "reset", "m")
        cred = str(tmp_path / "ro.json")
        run("hht", "issue", "--keys", ks, "--hht-id", "48485400000000c1", "--read-only", "--out", cred)

        # prepayment mode by GBCS (critical ECS03), then £8 of credit at the keypad
        r = json.loads(run("--json", "send", "sim:m", "ECS03", "--keys", ks).stdout)
        assert r["results"] == ["set success"] * 3
        c = json.loads(run("--json", "utrn", "gen", "--keys", ks, "--device", DEV, "--amount", "8").stdout)
        assert _keypad(run, c["utrn"]) == "ACCEPTED +8.00 BALANCE 8.00"
        ro = _readout(run)
        assert ro["1.8.0"] == "0000000.000" and ro["19.10.0"] == "8.00" and ro["96.3.10"] == "1"
        assert ro["0.9.2"] == "260302" and ro["0.9.1"] == "000000"  # meter time, frozen at T0
        assert _ecs45(run, ks) == "connected"

        # the load runs the credit down below the disablement threshold (£1) at ~03:45, inside the
        # non-disablement period: the supply stays on until it ends at 05:00, then is interrupted
        run("sim", "clock", "m", "--rate", "3600")
        _wait_state(run, "0")
        run("sim", "clock", "m", "--rate", "0")
        ro = _readout(run)
        kwh1 = _kwh(ro)
        assert ro["0.9.1"] >= "050000" and ro["0.9.2"] == "260302", ro
        assert 19.0 <= kwh1 <= 21.0, ro  # ~£10 at 50 p/kWh: £2 beyond the credit, in the period
        assert _money(ro, "19.10.0") < 0 and ro["C.EC"] == "available" and ro["1.7.0"] == "0.000"
        assert _ecs45(run, ks) == "disconnected"
        assert _alerts(run, cred, 3) == ["810D", "8119", "8F0F"]

        # emergency credit at the keypad arms the supply; the button restores it
        assert _keypad(run, "B") == "EMERGENCY CREDIT 5.00"
        ro = _wait_state(run, "2")
        assert ro["C.EC"] == "active" and _money(ro, "19.10.1") > 1.00
        assert _ecs45(run, ks) == "ready_for_reconnection (armed)"
        assert _alerts(run, cred, 2) == ["81AB", "8F32"]
        assert _keypad(run, "A") == "SUPPLY ON"
        assert _ecs45(run, ks) == "connected"

        # the emergency credit runs out: interrupted again; energy went on counting
        run("sim", "clock", "m", "--rate", "3600")
        _wait_state(run, "0")
        run("sim", "clock", "m", "--rate", "0")
        ro = _readout(run)
        kwh2 = _kwh(ro)
        assert kwh2 > kwh1 and _money(ro, "19.10.1") < 1.00, ro
        assert _ecs45(run, ks) == "disconnected"
        assert _alerts(run, cred, 1) == ["8F0F"]

        # a £10 UTRN top-up repays the emergency credit and re-arms; the button restores
        c = json.loads(run("--json", "utrn", "gen", "--keys", ks, "--device", DEV, "--amount", "10").stdout)
        msg = _keypad(run, c["utrn"])
        assert re.match(r"ACCEPTED \+10\.00 BALANCE \d+\.\d\d$", msg), msg
        ro = _wait_state(run, "2")
        assert ro["C.EC"] == "none" and 4.00 < _money(ro, "19.10.0") < 7.00 and _kwh(ro) >= kwh2
        assert _ecs45(run, ks) == "ready_for_reconnection (armed)"
        assert _alerts(run, cred, 1) == ["8F32"]
        assert _keypad(run, "A") == "SUPPLY ON"
        assert _ecs45(run, ks) == "connected"
        ro = _readout(run)
        assert ro["96.3.10"] == "1" and ro["1.7.0"] == "4.000" and _kwh(ro) >= kwh2
    finally:
        run("sim", "stop", check=False)
    print("prepayment day: %.1f s" % (time.monotonic() - t_start))
