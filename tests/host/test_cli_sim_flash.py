"""`smlab sim` + `smlab flash`: two virtual boards flashed in parallel with stock mpremote, hashes
verified on both (by smlab, and again independently with the mpremote CLI), firmware runs from
flash after reset; power cut through the CLI reboots the board from its image."""
import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from host_tools.boards import build

BIN = os.path.dirname(sys.executable)
SMLAB = os.path.join(BIN, "smlab")
MPREMOTE = os.path.join(BIN, "mpremote")


def smlab(home, *args, timeout=180):
    env = dict(os.environ, SMLAB_HOME=str(home))
    return subprocess.run([SMLAB, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def home(tmp_path):
    yield tmp_path
    smlab(tmp_path, "sim", "stop")


def test_two_boards_flashed_in_parallel_and_verified(home, tmp_path):
    r = smlab(home, "--json", "sim", "start", "a", "b")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [x["state"] for x in rows] == ["repl", "repl"]
    assert rows[0]["eui"] != rows[1]["eui"] and rows[0]["console"] != rows[1]["console"]
    r = smlab(home, "--json", "flash", "sim:a", "sim:b", "--reset")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)["boards"]
    assert len(res) == 2 and all(x["verified"] == x["files"] > 10 for x in res)
    # --reset says it reset, and the boards run their firmware (not "booting")
    assert all(x["reset"] and x["state"] == "running" for x in res), res
    assert [x["state"] for x in json.loads(smlab(home, "sim", "list", "--json").stdout)] == ["running"] * 2
    # independent check: the stock mpremote CLI hashes a file on each board
    man = dict((p, h) for p, _, h in build.build("host", str(tmp_path / "ref")))
    for row in rows:
        out = subprocess.run([MPREMOTE, "connect", os.path.realpath(row["console"]), "resume", "exec",
                              "import hashlib,binascii;h=hashlib.sha256(open('/firmware/gbcs/frame.mpy','rb').read());"
                              "print(binascii.hexlify(h.digest()).decode())"],
                             capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == man["firmware/gbcs/frame.mpy"], out.stdout + out.stderr
        # after the reset the firmware is imported from the littlefs flash, compiled
        out = subprocess.run([MPREMOTE, "connect", os.path.realpath(row["console"]), "resume", "exec",
                              "import firmware.gbcs.frame as f; print(f.__file__)"],
                             capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "/firmware/gbcs/frame.mpy"
    st = json.loads(smlab(home, "--json", "sim", "status", "a").stdout)
    assert st[0]["boots"] == 2
    assert "reset (running)" in smlab(home, "flash", "sim:a", "--reset").stdout


def test_power_cut_through_cli(home):
    assert smlab(home, "sim", "start", "c").returncode == 0
    r = smlab(home, "sim", "cut", "c", "3")
    assert r.returncode == 0 and "armed after 3" in r.stdout
    # make the firmware write: the cut fires during these writes and the board reboots from its image
    subprocess.run([MPREMOTE, "connect", os.path.realpath(os.path.join(home, "boards", "c", "console")),
                    "resume", "exec", "--no-follow", "for i in range(20):\n with open('/x%d' % i, 'wb') as f: f.write(b'z' * 600)"],
                   capture_output=True, text=True, timeout=60)
    deadline = time.monotonic() + 30
    notices = []
    while time.monotonic() < deadline:
        r = smlab(home, "--json", "sim", "status", "c")
        notices += [json.loads(ln) for ln in r.stderr.splitlines()]
        st = json.loads(r.stdout)[0]
        if st["boots"] >= 3 and st["state"] == "repl":
            break
        time.sleep(0.2)
    assert st["boots"] >= 3 and st["state"] == "repl"
    with open(os.path.join(home, "boards", "c", "flash-events.log")) as f:
        assert "power cut after 3 writes" in f.read()
    # the first command after the cut fired said so (once), in JSON under --json
    r = smlab(home, "sim", "list")
    notices += [{"notice": ln} for ln in r.stderr.splitlines()]
    assert len(notices) == 1 and "virtual board c: power cut after 3 writes" in notices[0]["notice"], notices


def test_unknown_board_one_line_error(home):
    r = smlab(home, "flash", "sim:ghost")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no virtual board 'ghost'" in r.stderr
