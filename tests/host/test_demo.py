"""`make demo` runs inside `make test` in its quiet mode and must pass every step (the hub and the ESME on one
HAN, WAN -> hub -> HAN -> meter, the optical port and keypad), the whole run under 60 s."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_demo_quiet_passes():
    r = subprocess.run([sys.executable, "-m", "host_tools.campaigns.demo", "--quiet"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("17 steps, 0 failed"), r.stdout
    assert float(last.split(",")[2].split()[0]) < 60, last  # the whole demo under a minute
