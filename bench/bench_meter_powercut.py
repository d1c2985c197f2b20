"""Full power-cut campaign for consumption accounting, prepayment and future-dated activations
(firmware/meter/engine.py; docs/metering.md "Power cuts").

Runs tests/unit/test_meter_powercut.py's campaign in one MicroPython unix-port process: littlefs2 on
the simulated NOR flash, a power cut (clean and torn) at every program/erase operation of every step
of a scripted prepayment life, reboot and check (registers and charges never go backwards and are
before-or-after only, credit accepted once, the step repeated converges to the uncut reference state:
alert queue, supply, payment mode; each future-dated activation runs once). Prints cut points and
violations; exit status 1 unless violations = 0 and cut points >= 2000.
Usage: .venv/bin/python bench/bench_meter_powercut.py [rounds (default 3)]
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    code = ("import sys\nsys.path.insert(0, %r)\nsys.path.insert(0, %r)\n"
            "import test_meter_powercut as t\nt.main(%d, show=50)\n"
            % (os.path.join(ROOT, "tests", "unit"), ROOT, rounds))
    t0 = time.monotonic()
    p = subprocess.run([MP, "-X", "heapsize=1M", "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=3600)
    dt = time.monotonic() - t0
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    m = re.search(r"@@METER_POWERCUT steps=(\d+) cut_points=(\d+) violations=(\d+) activations=(\d+)",
                  p.stdout)
    if not m:
        print("bench_meter_powercut: campaign did not finish (rc %d)" % p.returncode)
        return 1
    steps, cuts, bad, fds = (int(x) for x in m.groups())
    print("bench_meter_powercut: %d steps, cut points %d (clean + torn), violations %d, "
          "future-dated activations run %d, %.1f s" % (steps, cuts, bad, fds, dt))
    return 1 if bad or cuts < 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
