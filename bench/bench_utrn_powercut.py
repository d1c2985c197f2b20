"""Full exactly-once power-cut campaign for UTRN / configuration-code acceptance (single use:
shared/reference/gbcs.md §9.5).

Runs tests/unit/test_utrn_powercut.py's campaign in one MicroPython unix-port process: littlefs2 on the
simulated NOR flash, a power cut (clean and torn) at every program/erase operation of every step of a
scripted device life, reboot and check (state before-or-after only, balance = acknowledged credits
(+ the step's own at most), re-entry refused as duplicate iff applied, lockout never reset).
Prints cut points and violations; exit status 1 unless violations = 0 and cut points >= 2000.
Usage: .venv/bin/python bench/bench_utrn_powercut.py [rounds (default 16)]
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(os.path.dirname(sys.executable), "micropython")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    code = ("import sys\nsys.path.insert(0, %r)\nsys.path.insert(0, %r)\n"
            "import test_utrn_powercut as t\nt.main(%d, show=50)\n"
            % (os.path.join(ROOT, "tests", "unit"), ROOT, rounds))
    t0 = time.monotonic()
    p = subprocess.run([MP, "-X", "heapsize=1M", "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=3600)
    dt = time.monotonic() - t0
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    m = re.search(r"@@UTRN_POWERCUT steps=(\d+) cut_points=(\d+) violations=(\d+) credited=(\d+)", p.stdout)
    if not m:
        print("bench_utrn_powercut: campaign did not finish (rc %d)" % p.returncode)
        return 1
    steps, cuts, bad, credited = (int(x) for x in m.groups())
    print("bench_utrn_powercut: %d steps, cut points %d (clean + torn), violations %d, "
          "credited %d p, %.1f s" % (steps, cuts, bad, credited, dt))
    return 1 if bad or cuts < 2000 else 0


if __name__ == "__main__":
    sys.exit(main())
