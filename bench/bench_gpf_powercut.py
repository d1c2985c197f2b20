"""Full power-cut campaign over the Gas Proxy Function's queue and mirror (firmware/roles/gpf.py,
firmware/gas/gpf.py; docs/gas.md "Power cuts").

Runs tests/unit/test_gpf_powercut.py's campaign in one MicroPython unix-port process: littlefs2 on
the simulated NOR flash, a power cut (clean and torn) at every program/erase operation of every step
of a scripted GPF life (messages queued for the GSME, mirror reports, GPF reads and a GCS59 restore
through the command gate, GET / taken / PUT with a tap-off, expiry, removal), reboot and check (the
GPF boots; its state is the state before or after the step, or the command burned; a message queued
is never lost or duplicated; a tap-off lands exactly with its dequeue; nothing runs twice). Prints
cut points and violations; exit status 1 unless violations = 0 and cut points >= 2000.
Usage: .venv/bin/python bench/bench_gpf_powercut.py [rounds (default 10)]
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    code = ("import sys\nsys.path.insert(0, %r)\nsys.path.insert(0, %r)\n"
            "import test_gpf_powercut as t\nt.main(%d, show=50)\n"
            % (os.path.join(ROOT, "tests", "unit"), ROOT, rounds))
    t0 = time.monotonic()
    p = subprocess.run([MP, "-X", "heapsize=1M", "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=3600)
    dt = time.monotonic() - t0
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    m = re.search(r"@@GPF_POWERCUT steps=(\d+) cut_points=(\d+) violations=(\d+)", p.stdout)
    if not m:
        print("bench_gpf_powercut: campaign did not finish (rc %d)" % p.returncode)
        return 1
    steps, cuts, bad = (int(x) for x in m.groups())
    print("bench_gpf_powercut: %d steps, cut points %d (clean + torn), violations %d, %.1f s"
          % (steps, cuts, bad, dt))
    return 1 if bad or cuts < 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
