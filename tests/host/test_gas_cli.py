"""`smlab gas` (host_tools/cli/cmd_gas.py) with the commands a user types, each its own process: start
(the RTDS hub carrying the GPF and the RTDS GSME on virtual boards, the air in its own process, CCS01
over the WAN, the GSME joined and reported), the RTDS GCS13a file to the GPF over the WAN answered at
once and verified with the imported RTDS keystore, the RTDS GCS32 file to the GSME held at the hub
until `smlab sim clock ... --advance 1800` on both boards brings the GSME's wake and its response
(signature verified), status, stop. Skips without ../shared's RTDS corpus and keystore."""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import smlab_runner
from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")


def _rtds(name):
    for f in C.corpus_files():
        if os.path.basename(f) == name:
            return f
    raise KeyError(name)


def test_smlab_gas_premises(tmp_path):
    t0 = time.monotonic()
    home = tmp_path / "home"
    run = smlab_runner(home)
    st = json.loads(run("gas", "start", "--hub-heap", "448K", "--json").stdout)  # stops what it started on failure
    try:
        assert st["gpf_eui"] == "00DB1234567890A3" and st["gsme_eui"] == "00DB1234567890A1"
        keys = st["keys"]
        r = json.loads(run("send", "sim:hub", "--via", "wan", "--eui", st["gpf_eui"], "--keys", keys, "--raw",
                           _rtds("GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX"), "--timeout", "5",
                           "--json").stdout)
        assert r["verified"] is True and r["auth"] == "MAC", r
        env = dict(os.environ, SMLAB_HOME=str(home))
        proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "smlab"), "send", "sim:gsme", "--via",
                                 "wan", "--keys", keys, "--raw", _rtds("GCS32_7.2_SUCCESS_COMMAND_GBCS.HEX"),
                                 "--timeout", "60", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            time.sleep(2.0)
            assert proc.poll() is None, proc.communicate()  # held at the hub while the GSME sleeps
            run("sim", "clock", st["hub"], "--advance", "1800")
            run("sim", "clock", st["gsme"], "--advance", "1800")
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, (out, err)
        r = json.loads(out)
        assert r["verified"] is True and r["auth"] == "signature" and r["message_code"] == "0081", r
        s = json.loads(run("gas", "status", "--json").stdout)
        assert [b["state"] for b in s["boards"]] == ["running", "running"] and s["air_running"] is True
    finally:
        run("gas", "stop")
    s = json.loads(run("gas", "status", "--json").stdout)
    assert [b["state"] for b in s["boards"]] == ["stopped", "stopped"]
    assert time.monotonic() - t0 < 90
