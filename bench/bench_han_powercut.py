"""Power cuts during HAN joins: no frame counter reused (firmware/han/, firmware/zigbee/counters.py;
docs/han.md §11 "Power cuts").

Runs tests/unit/test_han_powercut.py's campaign under the MicroPython unix port for hubs with
1, 2, 4 and 8 logged meters joining and then exchanging APS-secured application frames: power
cut at every store write of the scenario (clean and torn), the node that was writing reboots
from its store, the scenario finishes; then every secured frame on air is checked for a reused
(sender, layer, frame counter), every meter is joined with the hub's TC link key, the Device Log
is intact. Exit status 1 on any violation.
Usage: .venv/bin/python bench/bench_han_powercut.py [device counts (default 1,2,4,8)] [traffic rounds (default 3)]
"""
import sys
import time

import devicerun


def main():
    counts = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "1,2,4,8").split(",")]
    traffic = devicerun.arg(2, 3)
    points = bad = 0
    t0 = time.monotonic()
    for n in counts:
        r = devicerun.campaign("import test_han_powercut as t\nt.main(%d, %d)" % (n, traffic), "HAN_POWERCUT",
                               heap="2M", timeout=7200, echo_err=3000)
        if r is None:
            print("bench_han_powercut: %d meters: campaign did not finish" % n)
            return 1
        points += r["cut_points"]
        bad += r["violations"]
    print("bench_han_powercut: meters %s, cut points %d (clean + torn), violations %d "
          "(reused frame counter, meter not joined, key mismatch, Device Log), %.1f s"
          % (",".join(map(str, counts)), points, bad, time.monotonic() - t0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
