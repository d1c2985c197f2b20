"""The RTDS gas meter on a virtual board (docs/gas.md "RTDS on a virtual board"): `smlab rtds sim:X
--role gsme` — the runner provisions the board, logs in at its optical port with the supplier's HHT
credential (firmware/gas/optical.py), and before each session writes the records the GSME's seed()
writes in process (host_tools/gbcs/boardseed.py); the board's virtual clock stands still at the
corpus time for the run (runner.ImageResetter), as the in-process clock does; every command's verdict (authenticated, verified, content equal) equals the in-process run's. About 40 s.
Skips when ../shared/interop is absent."""
import json
import os
import subprocess

import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

from conftest import BIN, smlab_runner  # noqa: E402

GSME = "00db1234567890a1"
KEYS = ("authenticated", "verified", "content_equal")


def test_gsme_on_a_virtual_board_matches_in_process(tmp_path):
    home = tmp_path / "home"
    run = smlab_runner(home)
    env = dict(os.environ, SMLAB_HOME=str(home))
    ip = subprocess.run([os.path.join(BIN, "smlab"), "rtds", "--role", "gsme", "--json", "--report",
                         str(tmp_path / "ip.json")], capture_output=True, text=True, timeout=300, env=env)
    assert ip.returncode in (0, 1), ip.stderr[-500:]
    run("sim", "start", "gs", "--eui", GSME)
    try:
        run("flash", "sim:gs")
        b = subprocess.run([os.path.join(BIN, "smlab"), "rtds", "sim:gs", "--role", "gsme", "--json", "--report",
                            str(tmp_path / "board.json")], capture_output=True, text=True, timeout=400, env=env)
        assert b.returncode in (0, 1), b.stderr[-500:]
        # the clock stood still at the RTDS instant for the run only: the board runs on the host's again
        sim = os.path.join(str(home), "boards", "gs", "sim.json")
        assert "clock" not in (json.load(open(sim)) if os.path.exists(sim) else {})
    finally:
        run("sim", "stop", check=False)
    board, inproc = json.load(open(tmp_path / "board.json")), json.load(open(tmp_path / "ip.json"))
    assert board["device"] == "board" and board["commands"] == 142
    assert board["authenticated"] == board["verified"] == 140
    per = {r["file"]: [r[k] for k in KEYS] for u in inproc["use_cases"] for r in u["results"]}
    diff = [r["file"] for u in board["use_cases"] for r in u["results"] if [r[k] for k in KEYS] != per[r["file"]]]
    assert diff == []
    for k in ("success_content_equal", "error_content_equal"):
        assert board[k] == inproc[k], k
