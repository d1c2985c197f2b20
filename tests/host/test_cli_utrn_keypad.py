"""`smlab utrn` / `smlab code` / `smlab keypad` end to end on a flashed, provisioned virtual ESME:
a generated top-up is accepted once at the keypad, the duplicate refused (0x8F51), a code for
another meter refused (0x8F63), Enable Supply arms a disconnected supply, explain checks the MAC."""
import json
import os
import subprocess
import sys

import pytest
from conftest import provisioned_esme

BIN = os.path.dirname(sys.executable)
DEV = "02534d4c01010001"
OTHER = "02534d4c01010002"


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("utrnbench")
    run, ks = provisioned_esme(tmp)
    # the meter starts with its supply off (as after a disconnection for debt)
    con = os.path.realpath(str(tmp / "home" / "boards" / "m" / "console"))
    subprocess.run([os.path.join(BIN, "mpremote"), "connect", con, "resume", "exec",
                    "import board\nfrom firmware.meter.model import MeterModel\n"
                    "MeterModel(board.get().store()).disconnect()"], check=True, timeout=60)
    run("sim", "reset", "m")
    yield run, ks
    run("sim", "stop", check=False)


def _code(run, *a, code=0):
    return json.loads(run("--json", *a, code=code).stdout)


def test_topup_once_then_duplicate(bench):
    run, ks = bench
    c = _code(run, "utrn", "gen", "--keys", ks, "--device", DEV, "--amount", "12.50")
    assert c["amount_pennies"] == 1250 and c["counter"] == 1 and len(c["utrn"]) == 20
    assert run("keypad", "sim:m", c["utrn"]).stdout.strip() == "ACCEPTED +12.50 BALANCE 12.50"
    assert run("keypad", "sim:m", c["utrn"], code=1).stdout.strip() == "REJECTED 8F51 DUPLICATE"
    c2 = _code(run, "utrn", "gen", "--keys", ks, "--device", DEV, "--amount", "5")
    assert c2["counter"] == 2
    assert run("keypad", "sim:m", c2["utrn"]).stdout.strip() == "ACCEPTED +5.00 BALANCE 17.50"
    ex = _code(run, "utrn", "explain", c2["utrn"], "--keys", ks, "--device", DEV)
    assert ex["mac_ok"] and ex["counter"] == 2


def test_code_for_other_meter_refused(bench):
    run, ks = bench
    c = _code(run, "utrn", "gen", "--keys", ks, "--device", OTHER, "--amount", "50")
    out = run("keypad", "sim:m", c["utrn"], code=1).stdout.strip()
    assert out == "REJECTED 8F63 MAC"
    ex = _code(run, "utrn", "explain", c["utrn"], "--keys", ks, "--device", DEV, code=1)
    assert ex["mac_ok"] is False


def test_enable_supply_code_arms_then_button(bench):
    run, ks = bench
    c = _code(run, "code", "gen", "--keys", ks, "--device", DEV, "--op", "enable_supply")
    assert c["operation"] == "enable_supply" and c["value_class"] == 2
    assert run("keypad", "sim:m", c["utrn"]).stdout.strip() == "SUPPLY ARMED - PRESS A"
    assert run("keypad", "sim:m", "A").stdout.strip() == "SUPPLY ON"
    assert run("keypad", "sim:m", c["utrn"], code=1).stdout.strip() == "REJECTED 8F51 DUPLICATE"


def test_bad_input_one_line(bench):
    run, ks = bench
    r = run("utrn", "gen", "--keys", ks, "--device", DEV, "--amount", "1.234", check=False)
    assert r.returncode == 2 and "amount must be pounds" in r.stderr
    r = run("code", "gen", "--keys", ks, "--device", "zz", "--op", "enable_supply", check=False)
    assert r.returncode == 2 and "--device must be" in r.stderr
    r = run("keypad", "/dev/ttyUSB9", "123", check=False)
    assert r.returncode == 2 and "virtual boards" in r.stderr
    ex = run("utrn", "explain", "73943020261442576690", code=1).stdout
    assert "WRONG" in ex


def test_logs_read_back_and_decoded(bench):
    run, ks = bench
    c = _code(run, "utrn", "gen", "--keys", ks, "--device", DEV, "--amount", "1")
    run("keypad", "sim:m", c["utrn"])
    run("keypad", "sim:m", c["utrn"], code=1)
    logs = json.loads(run("--json", "logs", "sim:m", "--log", "utrn").stdout)
    dup = [e for e in logs["utrn"] if "0x8F51" in e["codes"]]
    assert dup and "duplicate" in dup[-1]["entry"]
    text = run("logs", "sim:m", "--log", "utrn").stdout
    assert "[0x8F51 duplicate UTRN entered]" in text
    # the firmware runs again after the read (the board was reset and reached READY)
    c2 = _code(run, "utrn", "gen", "--keys", ks, "--device", DEV, "--amount", "1")
    assert run("keypad", "sim:m", c2["utrn"]).stdout.startswith("ACCEPTED")
