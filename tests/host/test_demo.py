"""`make demo` runs inside `make test` in its quiet mode and must pass every step (the hub and the ESME on one
HAN, WAN -> hub -> HAN -> meter, the optical port and keypad; with the RTDS corpus, the gas steps: the GSME's
mirror on the GPF, a GPF read at once, a valve close via the WAN fetched at the GSME's wake, a gas top-up),
the whole run under 60 s."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_demo_quiet_passes():
    r = subprocess.run([sys.executable, "-m", "host_tools.campaigns.demo", "--quiet"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.strip().splitlines()[-1]
    from host_tools.gbcs import corpus as C

    steps = 21 if C.available() else 17  # the 4 gas steps need ../shared's RTDS GSME, GPF and keys
    assert last.startswith("%d steps, 0 failed" % steps), r.stdout
    assert float(last.split(",")[2].split()[0]) < 60, last  # the whole demo under a minute
